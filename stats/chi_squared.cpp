#include "stats/chi_squared.h"

#include <algorithm>
#include <cmath>

#include "stats/sample_checks.h"
#include "stats/special_functions.h"

namespace mw::stats {

ContingencyResult chi2_contingency(std::span<const double> observed, std::size_t rows, std::size_t columns,
                                   bool yates_correction) {
    ContingencyResult result;
    if (rows == 0 || columns == 0) {
        result.error = "chi2_contingency: the table is empty";
        return result;
    }
    if (observed.size() != rows * columns) {
        result.error = "chi2_contingency: " + std::to_string(observed.size()) + " counts given for a " +
                       std::to_string(rows) + "x" + std::to_string(columns) + " table";
        return result;
    }
    if (std::string problem = find_bad_count("chi2_contingency", "observed", observed); !problem.empty()) {
        result.error = std::move(problem);
        return result;
    }
    std::vector<double> row_sum(rows, 0.0);
    std::vector<double> column_sum(columns, 0.0);
    double total = 0.0;
    for (std::size_t i = 0; i < rows; ++i) {
        for (std::size_t j = 0; j < columns; ++j) {
            row_sum[i] += observed[i * columns + j];
            column_sum[j] += observed[i * columns + j];
        }
    }
    for (double s : row_sum) total += s;
    for (std::size_t i = 0; i < rows; ++i) {
        if (row_sum[i] == 0.0) {
            result.error = "chi2_contingency: row " + std::to_string(i) +
                           " sums to zero, so its expected frequencies are zero and the statistic is undefined";
            return result;
        }
    }
    for (std::size_t j = 0; j < columns; ++j) {
        if (column_sum[j] == 0.0) {
            result.error = "chi2_contingency: column " + std::to_string(j) +
                           " sums to zero, so its expected frequencies are zero and the statistic is undefined";
            return result;
        }
    }
    result.expected.resize(rows * columns);
    for (std::size_t i = 0; i < rows; ++i) {
        for (std::size_t j = 0; j < columns; ++j) result.expected[i * columns + j] = row_sum[i] * column_sum[j] / total;
    }
    result.dof = static_cast<long>(rows * columns) - static_cast<long>(rows + columns) + 1;
    if (result.dof == 0) {
        result.statistic = 0.0;
        result.p_value = 1.0;
        return result;
    }
    const bool correct = result.dof == 1 && yates_correction;
    double statistic = 0.0;
    for (std::size_t k = 0; k < observed.size(); ++k) {
        const double expected = result.expected[k];
        double o = observed[k];
        if (correct) {
            const double diff = expected - o;
            const double magnitude = std::min(0.5, std::fabs(diff));
            o += diff > 0 ? magnitude : (diff < 0 ? -magnitude : 0.0);
        }
        statistic += (o - expected) * (o - expected) / expected;
    }
    result.statistic = statistic;
    result.p_value = chi_squared_sf(statistic, static_cast<double>(result.dof));
    return result;
}

}  // namespace mw::stats
