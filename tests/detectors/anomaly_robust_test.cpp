#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <vector>

#include <catch2/catch.hpp>

#include "anomaly_synthetic.h"
#include "detectors/anomaly_registry.h"

namespace {

using mw::anomaly::AnomalyDetector;
using mw::anomaly::make_anomaly_detector;
using mw::anomaly::test::max_score_in;
using mw::anomaly::test::Noise;
using mw::anomaly::test::Point;
using mw::anomaly::test::score_all;
using mw::anomaly::test::start_s;

constexpr double five_minutes_s = 300;
constexpr std::size_t points_per_day = 288;

std::unique_ptr<AnomalyDetector> make_robust() {
    auto made = make_anomaly_detector("robust", {});
    REQUIRE(made.detector);
    return std::move(made.detector);
}

// Stationary noise: mean 100, standard deviation 5, one point every 5 minutes.
std::vector<Point> stationary(std::size_t count, std::uint64_t seed) {
    Noise noise(seed);
    std::vector<Point> series;
    for (std::size_t i = 0; i < count; ++i)
        series.push_back({start_s + five_minutes_s * static_cast<double>(i), 100 + 5 * noise.normal()});
    return series;
}

// A daily cycle (requests per minute: 1000 at night, 3000 in the afternoon)
// with noise of standard deviation 50.
std::vector<Point> daily_sine(std::size_t days, std::uint64_t seed) {
    Noise noise(seed);
    std::vector<Point> series;
    for (std::size_t i = 0; i < days * points_per_day; ++i) {
        const double t = start_s + five_minutes_s * static_cast<double>(i);
        const double phase = 2 * std::numbers::pi * static_cast<double>(i % points_per_day) / points_per_day;
        series.push_back({t, 2000 - 1000 * std::cos(phase) + 50 * noise.normal()});
    }
    return series;
}

}  // namespace

TEST_CASE("robust: every score is in [0, 1], whatever the series", "[anomaly]") {
    std::vector<std::vector<Point>> inputs = {stationary(2000, 1), daily_sine(4, 2)};
    std::vector<Point> constant_then_jump;
    std::vector<Point> random_walk;
    Noise noise(3);
    double walk = 0;
    for (std::size_t i = 0; i < 2000; ++i) {
        const double t = start_s + 60.0 * static_cast<double>(i);
        constant_then_jump.push_back({t, i < 1000 ? 7.0 : 1e9});
        walk += noise.normal();
        random_walk.push_back({t, walk});
    }
    inputs.push_back(constant_then_jump);
    inputs.push_back(random_walk);
    for (const auto& series : inputs) {
        auto detector = make_robust();
        for (double score : score_all(*detector, series)) {
            REQUIRE(score >= 0.0);
            REQUIRE(score <= 1.0);
        }
    }
}

TEST_CASE("robust: a clear spike in a stationary series scores high, normal points low", "[anomaly]") {
    auto series = stationary(3000, 11);
    const std::size_t spike = 2500;
    series[spike].value = 100 + 5 * 12;  // 12 standard deviations
    auto detector = make_robust();
    const auto scores = score_all(*detector, series);

    CHECK(scores[spike] >= 0.5);
    // NAB's optimised threshold for this detector is about 0.5; normal points stay well below it.
    CHECK(max_score_in(scores, 500, spike) < 0.3);
}

TEST_CASE("robust: a daily cycle with noise raises no alarm after warm-up", "[anomaly]") {
    const auto series = daily_sine(14, 21);
    auto detector = make_robust();
    const auto scores = score_all(*detector, series);
    // Warm-up: the first day (the level and previous-value baselines cover it).
    CHECK(max_score_in(scores, points_per_day, scores.size()) < 0.3);
}

TEST_CASE("robust: a normal value at the wrong time of day is an anomaly once the day is learnt", "[anomaly]") {
    auto series = daily_sine(14, 31);
    // Day 12 stays at the night-time level (1000) with the usual noise: the
    // afternoon peak never comes. Every value is one the series takes daily
    // and no step is larger than the noise, so only the time-of-day baseline
    // sees that the morning rise is missing.
    const std::size_t from = 12 * points_per_day;
    Noise noise(32);
    for (std::size_t i = from; i < from + points_per_day; ++i) series[i].value = 1000 + 50 * noise.normal();
    auto detector = make_robust();
    const auto scores = score_all(*detector, series);
    // Detected by noon (the expected value is then 3000).
    CHECK(max_score_in(scores, from, from + points_per_day / 2) >= 0.5);
    CHECK(max_score_in(scores, points_per_day, from) < 0.3);
}

TEST_CASE("robust: a level shift is detected within a few points", "[anomaly]") {
    auto series = stationary(3000, 41);
    const std::size_t shift = 2000;
    for (std::size_t i = shift; i < series.size(); ++i) series[i].value += 5 * 4;  // 4 standard deviations
    auto detector = make_robust();
    const auto scores = score_all(*detector, series);
    CHECK(max_score_in(scores, shift, shift + 10) >= 0.5);
    CHECK(max_score_in(scores, 500, shift) < 0.3);
}

TEST_CASE("robust: a flat series scores near 0 until it changes", "[anomaly]") {
    std::vector<Point> series;
    for (std::size_t i = 0; i < 1500; ++i)
        series.push_back({start_s + 60.0 * static_cast<double>(i), i < 1200 ? 42.0 : 43.0});
    auto detector = make_robust();
    const auto scores = score_all(*detector, series);
    // Not exactly 0: the likelihood's floors (mean 0.03) put a surprise of 0 slightly in the tail.
    CHECK(max_score_in(scores, 0, 1200) < 0.01);
    CHECK(scores[1200] >= 0.5);
}

TEST_CASE("robust: the same input gives the same scores", "[anomaly]") {
    const auto series = daily_sine(5, 51);
    auto first = make_robust();
    auto second = make_robust();
    CHECK(score_all(*first, series) == score_all(*second, series));
}

TEST_CASE("robust: no look-ahead: the first points' scores ignore what follows", "[anomaly]") {
    const std::size_t prefix = 1500;
    auto series = daily_sine(7, 61);
    auto altered = series;
    Noise noise(62);
    for (std::size_t i = prefix; i < altered.size(); ++i) altered[i].value = 1e6 * noise.uniform();

    auto original_detector = make_robust();
    auto altered_detector = make_robust();
    const auto original_scores = score_all(*original_detector, series);
    const auto altered_scores = score_all(*altered_detector, altered);
    REQUIRE(original_scores != altered_scores);  // the change is visible after the prefix
    CHECK(std::vector(original_scores.begin(), original_scores.begin() + prefix) ==
          std::vector(altered_scores.begin(), altered_scores.begin() + prefix));
}

TEST_CASE("robust: a long anomaly alerts at its start, not at every point", "[anomaly]") {
    auto series = stationary(3000, 71);
    for (std::size_t i = 2000; i < 2100; ++i) series[i].value = 100 + 5 * 10 * (i % 2 == 0 ? 1 : -1);
    auto detector = make_robust();
    const auto scores = score_all(*detector, series);
    const auto high = std::count_if(scores.begin() + 2000, scores.begin() + 2100, [](double s) { return s >= 0.5; });
    CHECK(high >= 1);
    CHECK(high <= 10);
}

TEST_CASE("robust: a non-finite value scores 0 and leaves the model as it was", "[anomaly]") {
    const auto series = stationary(1500, 81);
    auto clean = make_robust();
    auto poisoned = make_robust();
    std::vector<double> clean_scores;
    std::vector<double> poisoned_scores;
    for (std::size_t i = 0; i < series.size(); ++i) {
        if (i == 700) {
            CHECK(poisoned->score(series[i].timestamp_s, std::nan("")) == 0.0);
            CHECK(poisoned->score(series[i].timestamp_s, std::numeric_limits<double>::infinity()) == 0.0);
        }
        clean_scores.push_back(clean->score(series[i].timestamp_s, series[i].value));
        poisoned_scores.push_back(poisoned->score(series[i].timestamp_s, series[i].value));
    }
    CHECK(clean_scores == poisoned_scores);
}

TEST_CASE("robust: on a random walk, the return from an isolated spike is no second alarm", "[anomaly]") {
    // Steps of standard deviation 1 a minute; spikes of 6 standard deviations
    // that last one point. The previous-value baseline sees two jumps, out
    // and back; holding the spike out of it makes the return an ordinary step.
    Noise noise(91);
    std::vector<Point> series;
    double walk = 0;
    for (std::size_t i = 0; i < 4000; ++i) {
        walk += noise.normal();
        series.push_back({start_s + 60.0 * static_cast<double>(i), walk});
    }
    const std::vector<std::size_t> spikes = {2000, 2500, 3000, 3500};
    for (std::size_t spike : spikes) series[spike].value += 6;
    auto detector = make_robust();
    const auto scores = score_all(*detector, series);
    for (std::size_t spike : spikes) {
        INFO("spike at " << spike);
        CHECK(max_score_in(scores, spike + 1, spike + 11) < 0.5);
        CHECK(max_score_in(scores, spike + 1, spike + 11) <= scores[spike] + 0.05);
    }
    CHECK(max_score_in(scores, 500, spikes.front()) < 0.5);
}

TEST_CASE("robust: after a level shift on a random walk the previous value follows within two points", "[anomaly]") {
    // A step of 20 standard deviations that stays: the shift alarms, and the
    // walk after it is ordinary again (no point held out for good).
    Noise noise(101);
    std::vector<Point> series;
    double walk = 0;
    for (std::size_t i = 0; i < 4000; ++i) {
        walk += noise.normal() + (i == 2500 ? 20 : 0);
        series.push_back({start_s + 60.0 * static_cast<double>(i), walk});
    }
    auto detector = make_robust();
    const auto scores = score_all(*detector, series);
    CHECK(max_score_in(scores, 2500, 2510) >= 0.5);
    CHECK(max_score_in(scores, 2600, scores.size()) < 0.5);
}
