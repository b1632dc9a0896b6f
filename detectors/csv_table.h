// The tables of the offline drift report (`modelwatch drift`) and of an
// uploaded reference: CSV read by core/csv.h (RFC 4180, bounded, errors as
// values), with a header whose every column has a name of its own, since
// columns are matched by name across files. Ragged rows are refused rather
// than skipped: comparing distributions over misaligned columns would give a
// confident wrong answer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include "core/csv.h"
#include "detectors/text_column.h"

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

// A cell no value was recorded in: empty, NA, NaN, nan or null.
bool is_missing_cell(std::string_view cell);
// A cell that is a finite number in full (std::from_chars, so "1e3" and
// "-0.5" but not " 1", "0x1", "inf").
bool parse_number_cell(std::string_view cell, double& value);

// One column read into a typed array. It is numeric while every non-missing
// cell is a number (numbers: one per row, NaN where missing); from its first
// other cell on it is text (texts: one per row, "" where missing).
struct CsvColumn {
    bool numeric = true;
    std::vector<double> numbers;
    TextColumn texts;
};

// A whole file read column by column, as `modelwatch drift` compares it:
// 8 bytes per numeric cell and 4 per text cell of a column with few distinct
// values, instead of a std::string per cell of CsvTable (about 60 bytes),
// and the text of a numeric cell is never kept. Errors as
// CsvTable's (the header, ragged rows, the limits).
struct CsvColumns {
    std::vector<std::string> header;
    std::vector<CsvColumn> columns;  // one per header column
    std::size_t rows = 0;
    std::string error;

    bool ok() const { return error.empty(); }
    int column_index(std::string_view name) const;
};

// Reads the file at `path` (named so in messages), mapped and parsed in
// place when it is a regular file (streamed otherwise). The columns named in
// `text_columns` are read as text whatever their cells. A column that turns
// out to be text after numeric cells is read again as text in a second pass
// over the file, so no cell's text is kept on the chance it is needed.
CsvColumns read_csv_columns(const std::string& path, const std::vector<std::string>& text_columns,
                            const CsvLimits& limits = {});
// The texts of one column of the file at `path` (one per row, "" where
// missing): for a column that is numeric in one file but text in the other.
TextColumn read_csv_text_column(const std::string& path, std::string_view name, std::string& error,
                                const CsvLimits& limits = {});

}  // namespace mw::drift
