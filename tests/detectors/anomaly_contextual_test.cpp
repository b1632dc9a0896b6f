#include <cstddef>
#include <memory>
#include <string>
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

std::unique_ptr<AnomalyDetector> make_named_detector(const std::string& name) {
    auto made = make_anomaly_detector(name, std::vector<std::string>{});
    REQUIRE(made.detector);
    return std::move(made.detector);
}

// A sawtooth of period 20 (0, 1, ..., 19) with a little noise, one point a minute.
std::vector<Point> sawtooth_series(std::size_t count, std::uint64_t seed) {
    Noise noise(seed);
    std::vector<Point> series;
    for (std::size_t i = 0; i < count; ++i)
        series.push_back({start_s + 60.0 * static_cast<double>(i), static_cast<double>(i % 20) + 0.05 * noise.normal()});
    return series;
}

}  // namespace

TEST_CASE("contextual: a repeated shape raises nothing; a break in it does, though every value is usual",
          "[anomaly]") {
    auto series = sawtooth_series(4000, 61);
    // From point 3000 the sawtooth runs backwards for one period: the same
    // values, in an order the series has never taken.
    const std::size_t from = 3000;
    for (std::size_t i = from; i < from + 20; ++i) series[i].value = static_cast<double>(19 - (i % 20));
    auto detector = make_named_detector("contextual");
    const auto scores = score_all(*detector, series);
    CHECK(max_score_in(scores, 500, from) < 0.3);
    CHECK(max_score_in(scores, from, from + 20) >= 0.5);
}

TEST_CASE("contextual and ensemble: scores in [0, 1]; bad values score 0 and change nothing", "[anomaly]") {
    for (const std::string name : {"contextual", "ensemble"}) {
        INFO(name);
        auto series = sawtooth_series(3000, 71);
        series[100].value = 1e12;
        series[200].value = -1e12;
        auto detector = make_named_detector(name);
        for (double score : score_all(*detector, series)) {
            REQUIRE(score >= 0.0);
            REQUIRE(score <= 1.0);
        }
        auto clean = make_named_detector(name);
        auto dirty = make_named_detector(name);
        const auto clean_scores = score_all(*clean, series);
        std::vector<double> dirty_scores;
        for (std::size_t i = 0; i < series.size(); ++i) {
            if (i == 1500) CHECK(dirty->score(series[i].timestamp_s, std::nan("")) == 0.0);
            dirty_scores.push_back(dirty->score(series[i].timestamp_s, series[i].value));
        }
        CHECK(clean_scores == dirty_scores);
    }
}

TEST_CASE("ensemble: each point scores the larger of the robust and contextual scores", "[anomaly]") {
    auto series = sawtooth_series(3000, 81);
    series[2500].value = 200;  // far outside the range: both members see it
    for (std::size_t i = 2700; i < 2720; ++i) series[i].value = static_cast<double>(19 - (i % 20));
    auto ensemble = make_named_detector("ensemble");
    auto robust = make_named_detector("robust");
    auto contextual = make_named_detector("contextual");
    const auto ensemble_scores = score_all(*ensemble, series);
    const auto robust_scores = score_all(*robust, series);
    const auto contextual_scores = score_all(*contextual, series);
    for (std::size_t i = 0; i < series.size(); ++i)
        REQUIRE(ensemble_scores[i] == std::max(robust_scores[i], contextual_scores[i]));
}
