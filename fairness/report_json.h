// The audit as JSON, schema_version 1 (documented in fairness/REPORT_SCHEMA.md):
// what machines read, stored with every audit, and read back as history.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fairness/audit.h"

namespace mw::fairness {

inline constexpr int report_schema_version = 1;

nlohmann::json report_json(const AuditResult& result);
std::string render_json(const AuditResult& result);  // indented, ends with a newline

struct HistoryRead {
    std::vector<HistoryPoint> points;
    std::string error;  // empty on success
};

// The between-groups judged values of a previous JSON report, labelled with
// its generated_at, for the trend chart.
HistoryRead history_from_report_json(const std::string& text);

}  // namespace mw::fairness
