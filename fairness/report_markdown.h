// The audit as Markdown (GitHub-flavoured tables): for tickets, pull
// requests and chat, where an HTML file is awkward.
#pragma once

#include <string>

#include "fairness/audit.h"

namespace mw::fairness {

std::string render_markdown(const AuditResult& result);

}  // namespace mw::fairness
