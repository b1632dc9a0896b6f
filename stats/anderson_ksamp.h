// Anderson-Darling k-sample test, as scipy.stats.anderson_ksamp(samples,
// midrank=True) in scipy 1.10 (scipy/stats/_morestats.py):
// - A2akN of Scholz & Stephens (JASA 82(399), 1987), eq. 7 (midranks, for
//   data with ties), standardised: statistic = (A2akN - (k-1)) / sigma_N;
// - the significance level is interpolated from the 7 critical values of
//   Scholz & Stephens' Table 2 (b0 + b1/sqrt(k-1) + b2/(k-1)) by a quadratic
//   least-squares fit of log(level) against the critical values (numpy
//   polyfit, degree 2) and is CAPPED to [0.001, 0.25]: scipy 1.10 returns
//   0.25 when the statistic is below the smallest critical value and 0.001
//   when above the largest (with a warning). `capped` says when that
//   happened; then the level is only a bound, not a p-value.
// Errors: fewer than 2 samples, an empty sample, NaN values, fewer than 2
// distinct values overall (scipy raises for all of these), and fewer than 4
// values in total (scipy divides by (N-2)(N-3) there and returns inf/NaN or
// fails).
#pragma once

#include <array>
#include <limits>
#include <span>
#include <string>

namespace mw::stats {

struct AndersonKsampResult {
    double statistic = std::numeric_limits<double>::quiet_NaN();
    double significance_level = std::numeric_limits<double>::quiet_NaN();  // scipy's pvalue
    bool capped = false;  // significance_level is 0.25 or 0.001 from the cap
    // Critical values for significance 25%, 10%, 5%, 2.5%, 1%, 0.5%, 0.1%.
    std::array<double, 7> critical_values{};
    std::string error;  // empty when the result is valid

    bool ok() const { return error.empty(); }
};

AndersonKsampResult anderson_ksamp(std::span<const std::span<const double>> samples);

// The same test on samples already sorted ascending (no copy, no sort, no
// pooled array: the pooled order is a merge of the sorted samples).
// Sortedness is the caller's promise and is not checked.
AndersonKsampResult anderson_ksamp_sorted(std::span<const std::span<const double>> sorted_samples);

}  // namespace mw::stats
