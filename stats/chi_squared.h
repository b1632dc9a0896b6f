// Chi-squared test of independence on an r x c contingency table, as
// scipy.stats.chi2_contingency(observed, correction=True) in scipy 1.10
// (scipy/stats/contingency.py):
// - expected[i][j] = row_sum[i] * column_sum[j] / total;
// - dof = r*c - r - c + 1; when dof == 0 (a single row or column) the
//   statistic is 0 and the p-value 1, as scipy;
// - when dof == 1 and yates_correction (scipy's default) every observed cell
//   moves towards its expected value by min(0.5, |expected - observed|)
//   (Yates' continuity correction, capped as in scipy gh-13875);
// - statistic = sum (observed - expected)^2 / expected (Pearson),
//   p-value = chi_squared_sf(statistic, dof).
// Errors (scipy raises ValueError for all of them): an empty table, a
// negative or non-finite count, and a row or column that sums to zero (its
// expected frequencies would be zero); the message names the row or column.
#pragma once

#include <cstddef>
#include <limits>
#include <span>
#include <string>
#include <vector>

namespace mw::stats {

struct ContingencyResult {
    double statistic = std::numeric_limits<double>::quiet_NaN();
    double p_value = std::numeric_limits<double>::quiet_NaN();
    long dof = 0;
    std::vector<double> expected;  // row-major, same shape as the table
    std::string error;             // empty when the result is valid

    bool ok() const { return error.empty(); }
};

// `observed` is the table in row-major order, rows * columns counts.
ContingencyResult chi2_contingency(std::span<const double> observed, std::size_t rows, std::size_t columns,
                                   bool yates_correction = true);

}  // namespace mw::stats
