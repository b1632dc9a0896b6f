// Welch's two-sample t-test (unequal variances), two-sided, as
// scipy.stats.ttest_ind(x, y, equal_var=False) in scipy 1.10:
//   v = sample variance (ddof=1), vn = v / n,
//   dof = (vn_x + vn_y)^2 / (vn_x^2 / (n_x - 1) + vn_y^2 / (n_y - 1))
//         (Welch-Satterthwaite; 1 when that is 0/0, as scipy),
//   t = (mean_x - mean_y) / sqrt(vn_x + vn_y),  p = 2 * student_t_sf(|t|, dof).
// Two constant samples with different means give t = +-inf and p = 0, as
// scipy. Errors: a sample with fewer than 2 values (the variance is
// undefined), NaN values, and two constant samples with equal means (t is
// 0/0; scipy returns NaN).
#pragma once

#include <cstddef>
#include <span>

#include "stats/result.h"

namespace mw::stats {

struct WelchResult : TestResult {
    double dof = 0;  // Welch-Satterthwaite degrees of freedom
};

WelchResult welch_t_test(std::span<const double> x, std::span<const double> y);

// The same test from each sample's size, mean and sample variance (ddof = 1):
// what a profile keeps (stats/feature_profile.h), so the test is exact, up
// to rounding, without the values.
struct SampleMoments {
    std::size_t count = 0;
    double mean = 0;
    double sample_variance = 0;
};
WelchResult welch_t_test_from_moments(const SampleMoments& x, const SampleMoments& y);

}  // namespace mw::stats
