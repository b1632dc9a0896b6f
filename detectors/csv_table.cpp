#include "detectors/csv_table.h"

#include <set>

#include <fmt/format.h>

namespace mw::drift {

int CsvTable::column_index(std::string_view name) const {
    for (std::size_t i = 0; i < header.size(); ++i)
        if (header[i] == name) return static_cast<int>(i);
    return -1;
}

namespace {

csv::Options options_with(const CsvLimits& limits) {
    csv::Options options;
    options.limits = limits;
    return options;
}

// The header's columns must have distinct, non-empty names.
std::string check_header(const std::vector<std::string>& header) {
    std::set<std::string_view> seen;
    for (std::size_t i = 0; i < header.size(); ++i) {
        if (header[i].empty()) return fmt::format("header column {} has no name", i + 1);
        if (!seen.insert(header[i]).second) return fmt::format("header names column '{}' twice", header[i]);
    }
    return "";
}

CsvTable to_drift_table(csv::Table table, std::string_view source) {
    CsvTable result;
    if (!table.ok()) {
        result.error = fmt::format("{}: {}", source, table.error->to_string());
        return result;
    }
    if (const std::string problem = check_header(table.header); !problem.empty()) {
        result.error = fmt::format("{}: line {}: {}", source, table.header_line, problem);
        return result;
    }
    result.header = std::move(table.header);
    result.rows = std::move(table.rows);
    result.row_lines = std::move(table.row_lines);
    return result;
}

}  // namespace

CsvTable read_csv(std::istream& in, std::string_view source, const CsvLimits& limits) {
    return to_drift_table(csv::read_table(in, options_with(limits)), source);
}

CsvTable read_csv(std::string_view text, std::string_view source, const CsvLimits& limits) {
    return to_drift_table(csv::read_table(text, options_with(limits)), source);
}

}  // namespace mw::drift
