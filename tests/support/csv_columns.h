// A column of a CSV table (detectors/csv_table.h) read by name into the
// column types the detectors take (drift::ColumnData, rootcause::Column: a
// `name`, `numeric`, `numbers` and `texts`), for the tests that load the
// bundled data sets. Header-only, like the rest of tests/support.
#pragma once

#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>

#include <catch2/catch.hpp>

#include "detectors/csv_table.h"

namespace mw::testing {

// Numeric: one number per row, NaN where a cell is not a number in full
// (drift::parse_number_cell). Otherwise one text per row, "" where `missing`
// says the cell is missing (by default drift::is_missing_cell).
template <typename Column>
Column csv_column(const mw::drift::CsvTable& table, const std::string& name, bool numeric,
                  bool (*missing)(std::string_view) = mw::drift::is_missing_cell) {
    Column column;
    column.name = name;
    column.numeric = numeric;
    const int index = table.column_index(name);
    REQUIRE(index >= 0);
    for (const auto& row : table.rows) {
        const std::string& cell = row[static_cast<std::size_t>(index)];
        if (numeric) {
            double value = 0;
            column.numbers.push_back(mw::drift::parse_number_cell(cell, value) ? value : std::nan(""));
        } else {
            column.texts.emplace_back(missing(cell) ? std::string_view() : std::string_view(cell));
        }
    }
    return column;
}

}  // namespace mw::testing
