#include "stats/proportions_z_test.h"

#include <cmath>
#include <string>

#include "stats/special_functions.h"

namespace mw::stats {

TestResult two_proportion_z_test(std::int64_t successes1, std::int64_t n1, std::int64_t successes2,
                                 std::int64_t n2) {
    TestResult result;
    if (n1 < 1 || n2 < 1) {
        result.error = "two_proportion_z_test: sample sizes must be at least 1, got n1=" + std::to_string(n1) +
                       " n2=" + std::to_string(n2);
        return result;
    }
    if (successes1 < 0 || successes1 > n1 || successes2 < 0 || successes2 > n2) {
        result.error = "two_proportion_z_test: successes must lie in [0, n], got " + std::to_string(successes1) +
                       "/" + std::to_string(n1) + " and " + std::to_string(successes2) + "/" + std::to_string(n2);
        return result;
    }
    const double p1 = static_cast<double>(successes1) / static_cast<double>(n1);
    const double p2 = static_cast<double>(successes2) / static_cast<double>(n2);
    const double pooled = static_cast<double>(successes1 + successes2) / static_cast<double>(n1 + n2);
    const double variance = pooled * (1 - pooled) * (1.0 / static_cast<double>(n1) + 1.0 / static_cast<double>(n2));
    if (variance == 0.0) {
        result.error = "two_proportion_z_test: the pooled proportion is " + std::to_string(pooled) +
                       ", so the variance is zero and z is undefined";
        return result;
    }
    result.statistic = (p1 - p2) / std::sqrt(variance);
    result.p_value = 2 * normal_sf(std::fabs(result.statistic));
    return result;
}

}  // namespace mw::stats
