// finite_mean and finite_sample_sd against numpy.nanmean and
// numpy.nanstd(ddof=1) (infinities removed first, as the functions skip them).
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "stats/descriptive.h"

using mw::stats::finite_mean;
using mw::stats::finite_sample_sd;

namespace {
constexpr double missing = std::numeric_limits<double>::quiet_NaN();
constexpr double infinite = std::numeric_limits<double>::infinity();
}  // namespace

TEST_CASE("finite_mean and finite_sample_sd skip NaN and infinities") {
    // numpy.nanmean([1, 2, 3, 4, 10]) = 4.0; numpy.nanstd([1, 2, 3, 4, 10], ddof=1) = 3.5355339059327378
    const std::vector<double> values{1, missing, 2, infinite, 3, -infinite, 4, 10};
    CHECK(finite_mean(values) == Approx(4.0).epsilon(1e-15));
    CHECK(finite_sample_sd(values) == Approx(3.5355339059327378).epsilon(1e-14));
}

TEST_CASE("finite_mean is NaN without a finite value; finite_sample_sd needs two") {
    CHECK(std::isnan(finite_mean(std::vector<double>{})));
    CHECK(std::isnan(finite_mean(std::vector<double>{missing, infinite})));
    CHECK(finite_mean(std::vector<double>{missing, 7.5}) == 7.5);
    CHECK(std::isnan(finite_sample_sd(std::vector<double>{missing, 7.5})));
    CHECK(finite_sample_sd(std::vector<double>{7.5, 7.5}) == 0.0);
}

TEST_CASE("pearson_correlation matches scipy.stats.pearsonr over the finite pairs") {
    using mw::stats::pearson_correlation;
    // scipy.stats.pearsonr([1, 2, 3, 4, 5.5], [2, 1, 4, 3, 7]).statistic = 0.8580868382401787;
    // the pairs with a NaN or an infinity on either side are left out.
    const std::vector<double> x{1, 2, missing, 3, 4, 9, 5.5};
    const std::vector<double> y{2, 1, 5, 4, 3, infinite, 7};
    CHECK(pearson_correlation(x, y) == Approx(0.8580868382401787).epsilon(1e-14));
    CHECK(pearson_correlation(std::vector<double>{1, 2, 3}, std::vector<double>{3, 2, 1}) == Approx(-1.0));
    // Constant on one side, or fewer than two pairs: undefined.
    CHECK(std::isnan(pearson_correlation(std::vector<double>{1, 2, 3}, std::vector<double>{4, 4, 4})));
    CHECK(std::isnan(pearson_correlation(std::vector<double>{1}, std::vector<double>{2})));
}
