#include "fairness/audit_csv.h"

#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "core/csv.h"

namespace mw::fairness {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool parse_probability(std::string_view text, double& value) {
    text = trim(text);
    if (text.empty()) return false;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    return ec == std::errc() && end == text.data() + text.size() && std::isfinite(value) && value >= 0.0 && value <= 1.0;
}

}  // namespace

CsvAuditRead read_audit_csv(std::istream& in, const CsvAuditSpec& spec) {
    CsvAuditRead read;
    csv::Options options;
    options.limits.max_input_bytes = spec.limits.max_bytes;
    options.limits.max_field_bytes = spec.limits.max_field_bytes;
    options.limits.max_columns = spec.limits.max_columns;
    options.limits.max_rows = spec.limits.max_rows;
    options.allow_ragged = true;  // a ragged row is skipped and counted below, not fatal
    // Text after a closing quote ("ab"c) and quotes inside unquoted fields
    // are kept, as most readers do, so files accepted before still are.
    options.quotes = csv::Quotes::lenient;
    csv::Reader reader(in, options);
    const csv::Status header_status = reader.read_header();
    if (header_status != csv::Status::record) {
        read.error = header_status == csv::Status::end ? "the input is empty (no header row)"
                                                       : reader.error().to_string();
        return read;
    }
    const std::vector<std::string>& header = reader.header();
    auto column = [&](const std::string& name) -> int {
        for (std::size_t i = 0; i < header.size(); ++i)
            if (trim(header[i]) == name) return static_cast<int>(i);
        return -1;
    };
    auto require = [&](const std::string& name, const char* role) -> int {
        const int index = column(name);
        if (index < 0 && read.error.empty())
            read.error = fmt::format("line {}: the header has no column '{}' ({})", reader.header_line(), name, role);
        return index;
    };
    std::vector<int> sensitive;
    for (const auto& name : spec.sensitive_columns) sensitive.push_back(require(name, "--sensitive"));
    const int y_true = require(spec.y_true_column, "--y-true");
    const int y_pred = require(spec.y_pred_column, "--y-pred");
    const int score = spec.score_column ? require(*spec.score_column, "--score") : -1;
    if (!read.error.empty()) return read;

    AuditData& data = read.data;
    data.attributes.resize(sensitive.size());
    std::vector<AttributeEncoder> encoders;
    for (std::size_t a = 0; a < sensitive.size(); ++a) {
        data.attributes[a].name = spec.sensitive_columns[a];
        encoders.emplace_back(data.attributes[a]);
    }

    auto reject = [&](std::string problem) {
        ++read.rows_rejected;
        if (read.problems.size() < spec.limits.max_reported_problems) read.problems.push_back(std::move(problem));
    };
    csv::Record fields;
    while (true) {
        const csv::Status status = reader.next(fields);
        if (status == csv::Status::end) break;
        if (status == csv::Status::error) {
            read.error = reader.error().to_string();
            return read;
        }
        const std::uint64_t line = fields.line();
        if (fields.size() != header.size()) {
            reject(fmt::format("line {}: expected {} fields as in the header, got {}", line, header.size(), fields.size()));
        } else if (trim(fields[y_true]).empty()) {
            reject(fmt::format("line {}: column '{}' is empty", line, spec.y_true_column));
        } else if (trim(fields[y_pred]).empty()) {
            reject(fmt::format("line {}: column '{}' is empty", line, spec.y_pred_column));
        } else {
            double probability = 0;
            if (score >= 0 && !parse_probability(fields[score], probability)) {
                reject(fmt::format("line {}: column '{}' is '{}', not a number in [0, 1]", line, *spec.score_column,
                                   fields[score].substr(0, 40)));
            } else {
                for (std::size_t a = 0; a < sensitive.size(); ++a) {
                    const std::string_view value = trim(fields[sensitive[a]]);
                    encoders[a].append(value.empty() ? std::string_view("(missing)") : value);
                    if (encoders[a].distinct() > spec.limits.max_distinct_values) {
                        read.error = fmt::format("line {}: column '{}' has more than {} distinct values; is it really "
                                                 "a group attribute?",
                                                 line, spec.sensitive_columns[a], spec.limits.max_distinct_values);
                        return read;
                    }
                }
                data.y_true.push_back(trim(fields[y_true]) == spec.positive_label ? 1 : 0);
                data.y_pred.push_back(trim(fields[y_pred]) == spec.positive_label ? 1 : 0);
                if (score >= 0) data.score.push_back(probability);
            }
        }
        if (read.rows_rejected > spec.limits.max_rejected_rows) {
            read.error = fmt::format("more than {} rows rejected, the last at line {}; first: {}",
                                     spec.limits.max_rejected_rows, line, read.problems.front());
            return read;
        }
    }
    if (data.rows() == 0)
        read.error = read.rows_rejected > 0 ? fmt::format("every row was rejected; first: {}", read.problems.front())
                                            : "the input has a header but no rows";
    return read;
}

}  // namespace mw::fairness
