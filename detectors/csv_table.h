// The tables of the offline drift report (`modelwatch drift`) and of an
// uploaded reference: CSV read by core/csv.h (RFC 4180, bounded, errors as
// values), with a header whose every column has a name of its own, since
// columns are matched by name across files. Ragged rows are refused rather
// than skipped: comparing distributions over misaligned columns would give a
// confident wrong answer.
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include "core/csv.h"

namespace mw::drift {

using CsvLimits = csv::Limits;

struct CsvTable {
    std::vector<std::string> header;
    std::vector<std::vector<std::string>> rows;  // every row has header.size() cells
    std::vector<std::uint64_t> row_lines;        // 1-based line where each row starts
    std::string error;                           // "REF.csv: line 17: expected 6 fields (as the header), got 5"

    bool ok() const { return error.empty(); }
    // Index of the column named `name`, or -1.
    int column_index(std::string_view name) const;
};

// `source` names the input in messages (a file name).
CsvTable read_csv(std::istream& in, std::string_view source, const CsvLimits& limits = {});
CsvTable read_csv(std::string_view text, std::string_view source, const CsvLimits& limits = {});

}  // namespace mw::drift
