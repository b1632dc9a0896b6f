// Two-proportion Z-test, pooled variance, two-sided, as statsmodels
// proportions_ztest([s1, s2], [n1, n2], value=0, alternative='two-sided',
// prop_var=False):
//   p = (s1 + s2) / (n1 + n2),  z = (s1/n1 - s2/n2) / sqrt(p (1-p) (1/n1 + 1/n2)),
//   p-value = 2 * normal_sf(|z|).
// Errors: a sample size below 1, successes outside [0, n], and a pooled
// proportion of exactly 0 or 1 (the variance is zero and z is 0/0; statsmodels
// returns NaN).
#pragma once

#include <cstdint>

#include "stats/result.h"

namespace mw::stats {

TestResult two_proportion_z_test(std::int64_t successes1, std::int64_t n1, std::int64_t successes2,
                                 std::int64_t n2);

}  // namespace mw::stats
