// The audit as one self-contained HTML file for people: no network, no
// scripts, no external fonts; charts are inline SVG. A summary of what passed
// and what failed in plain language comes first, then per grouping the rates
// with Wilson whiskers, the disparities against their tolerance band, tables,
// the trend over past audits (when history is given), definitions and the
// data window. Colours are the Okabe-Ito palette (colour-blind safe) and every
// verdict is also written in words, so nothing depends on colour alone.
#pragma once

#include <string>

#include "fairness/audit.h"

namespace mw::fairness {

std::string render_html(const AuditResult& result);

}  // namespace mw::fairness
