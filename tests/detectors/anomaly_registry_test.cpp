#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "detectors/anomaly_registry.h"

namespace {

using mw::anomaly::anomaly_methods;
using mw::anomaly::make_anomaly_detector;
using Settings = std::vector<std::pair<std::string, std::string>>;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("anomaly registry: every method builds with its defaults", "[anomaly]") {
    REQUIRE(anomaly_methods().size() >= 2);
    CHECK(anomaly_methods().front().name == "robust");
    for (const auto& method : anomaly_methods()) {
        auto made = make_anomaly_detector(method.name, {});
        INFO(method.name << ": " << made.error);
        REQUIRE(made.detector);
        CHECK(made.error.empty());
        for (const auto& option : method.options) {
            CHECK(option.default_value >= option.min_value);
            CHECK(option.default_value <= option.max_value);
            CHECK_FALSE(option.help.empty());
        }
    }
}

TEST_CASE("anomaly registry: bad settings are errors that name what is wrong", "[anomaly]") {
    struct Case {
        std::string method;
        Settings settings;
        std::string expected;
    };
    const std::vector<Case> cases = {
        {"nope", {}, "unknown anomaly detector 'nope' (known: robust, windowed_gaussian"},
        {"robust", {{"windw", "3"}}, "robust: unknown option 'windw' (known: level_window,"},
        {"robust", {{"level_window", "ten"}}, "option level_window: expected a number, got 'ten'"},
        {"robust", {{"level_window", "10x"}}, "expected a number, got '10x'"},
        {"robust", {{"level_window", "nan"}}, "expected a number, got 'nan'"},
        {"robust", {{"level_window", "12.5"}}, "option level_window: expected a whole number, got '12.5'"},
        {"robust", {{"level_window", "1"}}, "option level_window: 1 is outside [3, 1000000]"},
        {"robust", {{"raw_offset", "-1"}}, "option raw_offset: -1 is outside [0, 300]"},
        {"robust", {{"residual_window", "20"}, {"min_residuals", "30"}}, "min_residuals must not exceed"},
        {"robust", {{"seasonal_occurrences", "2"}, {"seasonal_min_occurrences", "3"}}, "seasonal_min_occurrences"},
        {"robust", {{"likelihood_window", "50"}}, "min_likelihood_history must not exceed likelihood_window"},
        {"robust", {{"daily_slot_s", "7000"}}, "daily_slot_s must divide a day"},
        {"robust", {{"weekly_slot_s", "7000"}}, "weekly_slot_s must divide a week"},
        {"windowed_gaussian", {{"window_size", "1"}}, "window_size: 1 is outside [2, 1000000]"},
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
    auto narrow = make_anomaly_detector("windowed_gaussian", {{"window_size", "2"}});
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
