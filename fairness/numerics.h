// The few numerics the fairness audit needs, kept here rather than in stats/
// so that fairness/ builds on its own: the normal quantile, Wilson score
// intervals for rates, and numpy's linear percentile for bootstrap intervals.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <vector>

namespace mw::fairness {

// A closed interval; both ends are NaN when it is undefined (no data).
struct Interval {
    double lower = std::numeric_limits<double>::quiet_NaN();
    double upper = std::numeric_limits<double>::quiet_NaN();
    bool defined() const;
};

// Inverse of the standard normal CDF for p in (0, 1); must match
// scipy.stats.norm.ppf. NaN outside (0, 1).
double normal_quantile(double p);

// Wilson score interval for successes/trials at the given two-sided
// confidence; must match statsmodels proportion_confint(method="wilson").
// Undefined when trials is 0.
Interval wilson_interval(std::uint64_t successes, std::uint64_t trials, double confidence);

// numpy.percentile(values, q_percent) with the default "linear" method, over
// the finite values only (NaN replicates are skipped); NaN when none is finite.
double percentile_linear(std::span<const double> values, double q_percent);

}  // namespace mw::fairness
