// What the statistics functions return. Bad input (an empty sample, a NaN, a
// contingency table with an all-zero row) is an expected outcome, not a bug,
// so it comes back as a value whose `error` names what was wrong and where;
// the numbers are then NaN and must not be used.
#pragma once

#include <limits>
#include <string>

namespace mw::stats {

// A two-sample test: the statistic and its p-value under the null hypothesis.
struct TestResult {
    double statistic = std::numeric_limits<double>::quiet_NaN();
    double p_value = std::numeric_limits<double>::quiet_NaN();
    std::string error;  // empty when the result is valid

    bool ok() const { return error.empty(); }
};

// A distance or divergence between two samples or two histograms.
struct DistanceResult {
    double value = std::numeric_limits<double>::quiet_NaN();
    std::string error;  // empty when the result is valid

    bool ok() const { return error.empty(); }
};

}  // namespace mw::stats
