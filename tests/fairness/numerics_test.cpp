// The normal quantile against scipy, the Wilson interval against its defining
// equation and by simulated coverage, and numpy's linear percentile.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "fairness/numerics.h"

using namespace mw::fairness;

TEST_CASE("normal_quantile matches scipy.stats.norm.ppf") {
    // Values printed by scipy 1.10 (Debian 12): repr(norm.ppf(p)).
    const std::pair<double, double> cases[] = {
        {0.975, 1.959963984540054},   {0.5, 0.0},
        {0.995, 2.5758293035489004},  {1e-10, -6.361340902404056},
        {0.02425, -1.972961051311885}, {0.9, 1.2815515655446004},
        {0.999999, 4.753424308817087}, {0.3, -0.5244005127080409},
    };
    for (const auto& [p, expected] : cases) {
        INFO("p = " << p);
        CHECK(normal_quantile(p) == Approx(expected).margin(1e-15).epsilon(1e-14));
    }
    CHECK(std::isnan(normal_quantile(0.0)));
    CHECK(std::isnan(normal_quantile(1.0)));
}

TEST_CASE("Wilson interval endpoints solve the score equation") {
    // Wilson's interval is the set of p0 with |p_hat - p0| <= z sqrt(p0 (1 - p0) / n);
    // its endpoints make the two sides equal.
    const double z = normal_quantile(0.975);
    const std::pair<std::uint64_t, std::uint64_t> cases[] = {{3, 10}, {0, 20}, {20, 20}, {517, 1000}, {1, 3}};
    for (const auto& [k, n] : cases) {
        const Interval ci = wilson_interval(k, n, 0.95);
        const double p_hat = static_cast<double>(k) / static_cast<double>(n);
        for (double p0 : {ci.lower, ci.upper}) {
            INFO(k << "/" << n << " endpoint " << p0);
            CHECK(std::fabs(p_hat - p0) == Approx(z * std::sqrt(p0 * (1 - p0) / static_cast<double>(n))).margin(1e-12));
        }
        CHECK(ci.lower <= p_hat);
        CHECK(ci.upper >= p_hat);
        CHECK(ci.lower >= -1e-15);
        CHECK(ci.upper <= 1 + 1e-15);
    }
    // 3 of 10: statsmodels' Wilson formula evaluated in numpy gives (0.10779126740630099, 0.6032218525388546).
    const Interval three_of_ten = wilson_interval(3, 10, 0.95);
    CHECK(three_of_ten.lower == Approx(0.1077912674).margin(1e-9));
    CHECK(three_of_ten.upper == Approx(0.6032218525).margin(1e-9));
    CHECK_FALSE(wilson_interval(0, 0, 0.95).defined());
}

TEST_CASE("95% Wilson intervals cover the true rate 93-97% of the time") {
    std::mt19937_64 rng(7);
    // Exact coverages (sum of binomial probabilities of the k whose interval holds p):
    // 0.9466, 0.9491, 0.9499, 0.9509; 2000 trials put 93-97% about 3 standard errors away.
    const std::pair<double, std::uint64_t> settings[] = {{0.3, 200}, {0.2, 300}, {0.05, 500}, {0.7, 1000}};
    for (const auto& [p, n] : settings) {
        std::binomial_distribution<std::uint64_t> draw(n, p);
        int covered = 0;
        const int trials = 2000;
        for (int t = 0; t < trials; ++t) {
            const Interval ci = wilson_interval(draw(rng), n, 0.95);
            covered += ci.lower <= p && p <= ci.upper ? 1 : 0;
        }
        const double coverage = static_cast<double>(covered) / trials;
        INFO("p = " << p << ", n = " << n << ", coverage " << coverage);
        CHECK(coverage >= 0.93);
        CHECK(coverage <= 0.97);
    }
}

TEST_CASE("percentile_linear matches numpy.percentile and skips NaN") {
    const std::vector<double> values = {3, 1, std::nan(""), 2, 4};
    CHECK(percentile_linear(values, 2.5) == Approx(1.075));  // numpy.percentile([1, 2, 3, 4], 2.5)
    CHECK(percentile_linear(values, 97.5) == Approx(3.925));
    CHECK(percentile_linear(values, 50) == Approx(2.5));
    CHECK(std::isnan(percentile_linear(std::vector<double>{std::nan("")}, 50)));
}
