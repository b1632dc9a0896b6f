// The audit report formats by name (STYLE.md section 2): one explicit table
// of name, description, file extension and renderer. The configuration's
// audits[].formats, `modelwatch audit --format` and the audit runner all
// read it; adding a format is one renderer file pair and one row.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "config/component.h"
#include "fairness/audit.h"

namespace mw::fairness {

struct ReportFormatEntry {
    config::ComponentInfo info;  // name as configured ("html", "json", "md")
    std::string_view extension;  // of the report file
    std::string (*render)(const AuditResult& result);
};

std::span<const ReportFormatEntry> report_formats();
// nullptr for an unknown name.
const ReportFormatEntry* find_report_format(std::string_view name);

}  // namespace mw::fairness
