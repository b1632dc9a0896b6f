// Reads the input of an offline audit (`modelwatch audit`) from CSV (read by
// core/csv.h: RFC 4180, a header row naming the columns). The file may come
// from anywhere, so every size is bounded and every bad row is named by its
// line number; a bad row is skipped and counted, a malformed file is an error
// value, never an exception.
#pragma once

#include <cstddef>
#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <vector>

#include "fairness/audit_data.h"

namespace mw::fairness {

struct CsvLimits {
    std::uint64_t max_bytes = 8ull << 30;   // the whole input
    std::size_t max_field_bytes = 64 << 10;
    std::size_t max_columns = 4096;
    std::uint64_t max_rows = 200'000'000;
    std::size_t max_distinct_values = default_max_distinct_values;  // per sensitive attribute
    std::uint64_t max_rejected_rows = 1000;    // beyond this the file is refused
    std::size_t max_reported_problems = 20;    // bad rows named in the messages
};

struct CsvAuditSpec {
    std::vector<std::string> sensitive_columns;
    std::string y_true_column;
    std::string y_pred_column;
    std::optional<std::string> score_column;
    std::string positive_label = "1";
    CsvLimits limits;
};

struct CsvAuditRead {
    AuditData data;
    std::uint64_t rows_rejected = 0;
    std::vector<std::string> problems;  // "line 17: expected 6 fields, got 5", up to max_reported_problems
    std::string error;                  // empty unless the whole file is refused
    bool ok() const { return error.empty(); }
};

CsvAuditRead read_audit_csv(std::istream& in, const CsvAuditSpec& spec);

}  // namespace mw::fairness
