// A small RFC 4180 CSV reader for the offline drift report (`modelwatch
// drift`): a header row naming the columns, then rows of the same width.
// Quoted fields (with doubled quotes, separators and newlines inside), CRLF
// or LF line ends and a leading UTF-8 byte-order mark are accepted. The files
// come from anywhere, so every size is bounded and a malformed file is an
// error value naming the line where the problem starts, never an exception.
// Ragged rows are refused rather than skipped: comparing distributions over
// misaligned columns would give a confident wrong answer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

namespace mw::drift {

struct CsvLimits {
    std::uint64_t max_bytes = 16ull << 30;  // the whole input
    std::size_t max_field_bytes = 1 << 20;  // one cell
    std::size_t max_columns = 10'000;
    std::uint64_t max_rows = 100'000'000;
};

struct CsvTable {
    std::vector<std::string> header;
    std::vector<std::vector<std::string>> rows;  // every row has header.size() cells
    std::vector<std::uint64_t> row_lines;        // 1-based line where each row starts
    std::string error;                           // "REF.csv: line 17: expected 6 fields, got 5"

    bool ok() const { return error.empty(); }
    // Index of the column named `name`, or -1.
    int column_index(std::string_view name) const;
};

// `source` names the input in messages (a file name).
CsvTable read_csv(std::istream& in, std::string_view source, const CsvLimits& limits = {});

}  // namespace mw::drift
