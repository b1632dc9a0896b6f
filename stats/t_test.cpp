#include "stats/t_test.h"

#include <cmath>
#include <limits>
#include <string>

#include "stats/sample_checks.h"
#include "stats/special_functions.h"

namespace mw::stats {
namespace {

struct Moments {
    double mean = 0;
    double variance = 0;  // ddof = 1
};

// Two passes, as numpy's mean and var: the second pass sums squared
// deviations from the mean, which avoids the cancellation of sum(x^2) - n m^2.
// Sums are accumulated in long double to stay within rounding of numpy's
// pairwise summation. A constant sample has exactly its value as mean and 0
// as variance: the rounded mean of n equal values can differ from the value
// in the last bit (0.003467 x 5,000), which would leave a variance of about
// 1e-36 and a t statistic out of rounding error instead of the 0/0 error
// (and the profiles' exact moments, stats/feature_profile.h, give 0).
Moments moments(std::span<const double> values) {
    long double sum = 0;
    bool constant = true;
    for (double v : values) {
        sum += v;
        constant = constant && v == values.front();
    }
    if (constant) return {values.front(), 0.0};
    const double n = static_cast<double>(values.size());
    Moments m;
    m.mean = static_cast<double>(sum / n);
    long double squares = 0;
    for (double v : values) squares += (static_cast<long double>(v) - m.mean) * (static_cast<long double>(v) - m.mean);
    m.variance = static_cast<double>(squares / (n - 1));
    return m;
}

}  // namespace

WelchResult welch_t_test(std::span<const double> x, std::span<const double> y) {
    WelchResult result;
    if (x.size() < 2 || y.size() < 2) {
        result.error = "welch_t_test: each sample needs at least 2 values, got " + std::to_string(x.size()) +
                       " and " + std::to_string(y.size());
        return result;
    }
    if (std::string problem = find_nan("welch_t_test", x, y); !problem.empty()) {
        result.error = std::move(problem);
        return result;
    }
    const Moments mx = moments(x);
    const Moments my = moments(y);
    return welch_t_test_from_moments({x.size(), mx.mean, mx.variance}, {y.size(), my.mean, my.variance});
}

WelchResult welch_t_test_from_moments(const SampleMoments& x, const SampleMoments& y) {
    WelchResult result;
    if (x.count < 2 || y.count < 2) {
        result.error = "welch_t_test: each sample needs at least 2 values, got " + std::to_string(x.count) +
                       " and " + std::to_string(y.count);
        return result;
    }
    const double nx = static_cast<double>(x.count);
    const double ny = static_cast<double>(y.count);
    const double vnx = x.sample_variance / nx;
    const double vny = y.sample_variance / ny;
    const double denominator = std::sqrt(vnx + vny);
    const double difference = x.mean - y.mean;
    if (denominator == 0.0) {
        if (difference == 0.0) {
            result.error = "welch_t_test: both samples are constant with the same value, so t is 0/0";
            return result;
        }
        result.dof = 1.0;
        result.statistic = difference > 0 ? std::numeric_limits<double>::infinity()
                                          : -std::numeric_limits<double>::infinity();
        result.p_value = 0.0;
        return result;
    }
    result.dof = (vnx + vny) * (vnx + vny) / (vnx * vnx / (nx - 1) + vny * vny / (ny - 1));
    result.statistic = difference / denominator;
    result.p_value = 2 * student_t_sf(std::fabs(result.statistic), result.dof);
    return result;
}

}  // namespace mw::stats
