#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "detectors/anomaly_registry.h"

namespace {

using mw::anomaly::anomaly_methods;
using mw::anomaly::make_anomaly_detector;
using Settings = std::vector<std::string>;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("anomaly registry: every method builds with its defaults", "[anomaly]") {
    REQUIRE(anomaly_methods().size() >= 2);
    CHECK(anomaly_methods().front().info.name == "ensemble");
    for (const auto& method : anomaly_methods()) {
        auto made = make_anomaly_detector(method.info.name, {});
        INFO(method.info.name << ": " << made.error);
        REQUIRE(made.detector);
        CHECK(made.error.empty());
        for (const auto& option : method.info.options()) CHECK_FALSE(option.help.empty());
    }
}

TEST_CASE("anomaly registry: bad settings are errors that name what is wrong", "[anomaly]") {
    struct Case {
        std::string method;
        Settings settings;
        std::string expected;
    };
    const std::vector<Case> cases = {
        {"nope", {}, "unknown anomaly detector \"nope\"; known: ensemble, robust, contextual, windowed_gaussian"},
        {"robust", {"windw=3"}, "robust: unknown option \"windw\" (options: level_window,"},
        {"robust", {"level_windw=3"}, "robust: unknown option \"level_windw\"; did you mean \"level_window\"? (options: level_window,"},
        {"robust", {"level_window=ten"}, "robust: level_window: expected an integer in [3, 1000000], got \"ten\""},
        {"robust", {"level_window=10x"}, "got \"10x\""},
        {"robust", {"raw_decades=nan"}, "raw_decades: expected a number in [1, 300], got \"nan\""},
        {"robust", {"level_window=12.5"}, "level_window: expected an integer in [3, 1000000], got \"12.5\""},
        {"robust", {"level_window=1"}, "level_window: expected an integer in [3, 1000000], got \"1\""},
        {"robust", {"raw_offset=-1"}, "raw_offset: expected a number in [0, 300], got \"-1\""},
        {"robust", {"residual_window=20", "min_residuals=30"}, "min_residuals must not exceed"},
        {"robust", {"seasonal_occurrences=2", "seasonal_min_occurrences=3"}, "seasonal_min_occurrences"},
        {"robust", {"likelihood_window=50"}, "min_likelihood_history must not exceed likelihood_window"},
        {"robust", {"daily_slot_s=7000"}, "daily_slot_s must divide a day"},
        {"robust", {"weekly_slot_s=7000"}, "weekly_slot_s must divide a week"},
        {"windowed_gaussian", {"window_size=1"}, "window_size: expected an integer in [2, 1000000], got \"1\""},
        {"robust", {"level_window=1", "raw_offset=-1"}, "level_window: expected an integer in [3, 1000000], got \"1\"; robust: raw_offset"},
    };
    for (const auto& c : cases) {
        auto made = make_anomaly_detector(c.method, c.settings);
        INFO(c.method << " -> " << made.error);
        CHECK_FALSE(made.detector);
        CHECK(contains(made.error, c.expected));
    }
}

TEST_CASE("anomaly registry: settings change the detector", "[anomaly]") {
    // A window of 2 forgets a spike two points later; the default of 1000 does not.
    auto narrow = make_anomaly_detector("windowed_gaussian", Settings{"window_size=2"});
    auto wide = make_anomaly_detector("windowed_gaussian", {});
    REQUIRE(narrow.detector);
    REQUIRE(wide.detector);
    const std::vector<double> values = {1, 2, 1, 2, 100, 1, 2, 1.5};
    double narrow_last = 0;
    double wide_last = 0;
    for (std::size_t i = 0; i < values.size(); ++i) {
        narrow_last = narrow.detector->score(static_cast<double>(i), values[i]);
        wide_last = wide.detector->score(static_cast<double>(i), values[i]);
    }
    // Last point 1.5 against [1, 2] (mean 1.5): Phi(0) = 0.5; against the
    // whole past (which holds 100) it is far below the mean.
    CHECK(narrow_last == Approx(0.5));
    CHECK(wide_last < 0.4);
}
