#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include "stats/bootstrap_wasserstein.h"
#include "stats/distances.h"

using namespace mw::stats;

namespace {

std::vector<double> sorted_normal_sample(std::size_t n, bool rounded, std::uint64_t seed) {
    std::mt19937_64 engine(seed);
    std::normal_distribution<double> normal(0.0, 1.0);
    std::vector<double> values(n);
    for (double& x : values) x = rounded ? std::round(normal(engine) * 4.0) / 4.0 : normal(engine);
    std::sort(values.begin(), values.end());
    return values;
}

double mean_of(const std::vector<double>& values) {
    return std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
}

double sd_of(const std::vector<double>& values) {
    const double mean = mean_of(values);
    double squares = 0;
    for (double v : values) squares += (v - mean) * (v - mean);
    return std::sqrt(squares / static_cast<double>(values.size() - 1));
}

}  // namespace

TEST_CASE("bootstrap W1 equals W1 to the materialised resample, in and across blocks, ties included",
          "[bootstrap]") {
    constexpr std::uint64_t seed = 99;
    // One partial block, then full blocks and a partial last one.
    for (const std::size_t n : {std::size_t{700}, std::size_t{5000}}) {
        for (const bool rounded : {false, true}) {
            const std::vector<double> sorted = sorted_normal_sample(n, rounded, n + rounded);
            for (const std::uint64_t draws : {1, 700, 5000, 12000}) {
                INFO("n " << n << ", rounded " << rounded << ", draws " << draws);
                const std::vector<double> distances = bootstrap_wasserstein_distances(sorted, draws, 3, seed);
                REQUIRE(distances.size() == 3);
                for (std::size_t r = 0; r < distances.size(); ++r) {
                    const auto counts = bootstrap_draw_counts(n, draws, seed, r);
                    REQUIRE(std::accumulate(counts.begin(), counts.end(), std::uint64_t{0}) == draws);
                    std::vector<double> resample;
                    for (std::size_t p = 0; p < n; ++p) resample.insert(resample.end(), counts[p], sorted[p]);
                    const double expected = wasserstein_distance_sorted(sorted, resample).value;
                    CHECK(expected > 0.0);
                    CHECK(std::fabs(distances[r] - expected) <= 1e-12 * expected);
                }
                CHECK(bootstrap_wasserstein_distances(sorted, draws, 3, seed) == distances);
                CHECK(bootstrap_wasserstein_distances(sorted, draws, 3, seed + 1) != distances);
            }
        }
    }
}

TEST_CASE("bootstrap draw counts are multinomial: every position equally likely, across blocks", "[bootstrap]") {
    // 5000 positions in blocks of 2048, 2048 and 904; 5000 draws per resample.
    // Under Multinomial(5000; 1/5000 each) a block of size s gets 5000 s / 5000
    // draws on average (sd sqrt(5000 p (1 - p))), and a position is missed
    // with probability (1 - 1/5000)^5000 = 0.36784.
    constexpr std::size_t n = 5000;
    constexpr std::uint64_t draws = 5000;
    constexpr std::size_t resamples = 400;
    const std::size_t block_sizes[] = {2048, 2048, 904};
    std::vector<double> block_totals[3];
    double missed = 0;
    for (std::size_t r = 0; r < resamples; ++r) {
        const auto counts = bootstrap_draw_counts(n, draws, 7, r);
        std::size_t start = 0;
        for (std::size_t b = 0; b < 3; ++b) {
            block_totals[b].push_back(
                std::accumulate(counts.begin() + static_cast<std::ptrdiff_t>(start),
                                counts.begin() + static_cast<std::ptrdiff_t>(start + block_sizes[b]), 0.0));
            start += block_sizes[b];
        }
        missed += static_cast<double>(std::count(counts.begin(), counts.end(), 0u));
    }
    for (std::size_t b = 0; b < 3; ++b) {
        const double p = static_cast<double>(block_sizes[b]) / n;
        const double sd = std::sqrt(draws * p * (1 - p));
        INFO("block " << b);
        // The mean of 400 totals within 5 standard errors; their sd within 20 %.
        CHECK(std::fabs(mean_of(block_totals[b]) - draws * p) < 5 * sd / std::sqrt(double(resamples)));
        CHECK(sd_of(block_totals[b]) == Approx(sd).epsilon(0.2));
    }
    // 2M positions seen: the missed share within 5 standard errors of 0.36784.
    const double expected_missed = std::pow(1.0 - 1.0 / n, double(draws));
    const double positions = double(n) * resamples;
    CHECK(std::fabs(missed / positions - expected_missed) <
          5 * std::sqrt(expected_missed * (1 - expected_missed) / positions));
}

TEST_CASE("bootstrap W1 has the distribution of drawing positions one by one", "[bootstrap]") {
    // The same resamples drawn the plain way (n uniform positions, counted):
    // 300 resamples each, means within 5 standard errors of their difference.
    const std::vector<double> sorted = sorted_normal_sample(6000, true, 3);
    constexpr std::uint64_t draws = 3000;
    constexpr std::size_t resamples = 300;
    const std::vector<double> blocked = bootstrap_wasserstein_distances(sorted, draws, resamples, 11);
    std::mt19937_64 engine(12);
    std::uniform_int_distribution<std::size_t> position(0, sorted.size() - 1);
    std::vector<double> plain;
    std::vector<double> resample(draws);
    for (std::size_t r = 0; r < resamples; ++r) {
        for (double& x : resample) x = sorted[position(engine)];
        std::sort(resample.begin(), resample.end());
        plain.push_back(wasserstein_distance_sorted(sorted, resample).value);
    }
    const double standard_error =
        std::sqrt((sd_of(blocked) * sd_of(blocked) + sd_of(plain) * sd_of(plain)) / double(resamples));
    CHECK(std::fabs(mean_of(blocked) - mean_of(plain)) < 5 * standard_error);
    CHECK(sd_of(blocked) == Approx(sd_of(plain)).epsilon(0.25));
}
