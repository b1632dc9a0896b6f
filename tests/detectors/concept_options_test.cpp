// Option parsing of the concept-drift detectors: defaults come from the
// tables, and each kind of bad input gives an error naming the detector, the
// key and what was wrong.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "detectors/concept_registry.h"

namespace {

namespace cd = mw::concept_drift;

std::string error_of(const std::string& detector, std::vector<std::string> params) {
    auto made = cd::make_concept_detector(detector, params);
    CHECK(made.detector == nullptr);
    return made.error;
}

}  // namespace

TEST_CASE("defaults are River's", "[concept][options]") {
    const std::vector<std::string> none;
    struct Expected {
        const char* detector;
        const char* options;
    };
    const Expected expected[] = {
        {"adwin", "delta=0.002 clock=32 max_buckets=5 min_window_length=5 grace_period=10"},
        {"adwin_river021", "delta=0.002 clock=32 max_buckets=5 min_window_length=5 grace_period=10"},
        {"ddm", "warm_start=30 warning_threshold=2 drift_threshold=3"},
        {"eddm", "warm_start=30 alpha=0.95 beta=0.9"},
        {"hddm_a", "drift_confidence=0.001 warning_confidence=0.005 two_sided_test=false"},
        {"hddm_w", "drift_confidence=0.001 warning_confidence=0.005 lambda=0.05 two_sided_test=false"},
        {"kswin", "alpha=0.005 window_size=100 stat_size=30 seed=42"},
        {"page_hinkley", "min_instances=30 delta=0.005 threshold=50 alpha=0.9999 mode=both"},
    };
    REQUIRE(cd::concept_detectors().size() == std::size(expected));
    for (const auto& e : expected) {
        auto made = cd::make_concept_detector(e.detector, none);
        REQUIRE(made.ok());
        CHECK(made.detector->name() == e.detector);
        CHECK(made.detector->options().to_string() == e.options);
    }
}

TEST_CASE("given options override the defaults and keep table order", "[concept][options]") {
    auto made = cd::make_concept_detector("adwin", std::vector<std::string>{"clock=1", "delta=0.5"});
    REQUIRE(made.ok());
    CHECK(made.detector->options().to_string() ==
          "delta=0.5 clock=1 max_buckets=5 min_window_length=5 grace_period=10");
    CHECK(made.detector->options().number("delta") == 0.5);
    CHECK(made.detector->options().integer("clock") == 1);

    auto ph = cd::make_concept_detector("page_hinkley", std::vector<std::string>{"mode=up"});
    REQUIRE(ph.ok());
    CHECK(ph.detector->options().text("mode") == "up");
    auto hddm = cd::make_concept_detector("hddm_a", std::vector<std::string>{"two_sided_test=true"});
    REQUIRE(hddm.ok());
    CHECK(hddm.detector->options().boolean("two_sided_test"));
}

TEST_CASE("bad options are errors that say what and where", "[concept][options]") {
    CHECK(error_of("adwin", {"delta=2"}) == "adwin: delta: expected a number in (0, 1), got \"2\"");
    CHECK(error_of("adwin", {"delta=0"}) == "adwin: delta: expected a number in (0, 1), got \"0\"");
    CHECK(error_of("adwin", {"delta=abc"}) == "adwin: delta: expected a number in (0, 1), got \"abc\"");
    CHECK(error_of("adwin", {"delta=nan"}) == "adwin: delta: expected a number in (0, 1), got \"nan\"");
    CHECK(error_of("adwin", {"delta="}) == "adwin: delta: must not be empty");
    CHECK(error_of("adwin", {"clock=1.5"}) == "adwin: clock: expected an integer in [1, 1000000000], got \"1.5\"");
    CHECK(error_of("adwin", {"clock=0"}) == "adwin: clock: expected an integer in [1, 1000000000], got \"0\"");
    CHECK(error_of("adwin", {"delta"}) == "adwin: expected key=value, got \"delta\"");
    CHECK(error_of("adwin", {"=3"}) == "adwin: expected key=value, got \"=3\"");
    CHECK(error_of("adwin", {"window=3"}) ==
          "adwin: unknown option \"window\" (options: delta, clock, max_buckets, min_window_length, grace_period)");
    CHECK(error_of("adwin", {"delt=0.1"}) ==
          "adwin: unknown option \"delt\"; did you mean \"delta\"? (options: delta, clock, max_buckets, "
          "min_window_length, grace_period)");
    CHECK(error_of("adwin", {"delta=0.1", "delta=0.2"}) == "adwin: delta: given more than once");
    CHECK(error_of("ddm", {"drift_threshold=0"}) == "ddm: drift_threshold: expected a number in (0, 1000000], got \"0\"");
    CHECK(error_of("hddm_w", {"two_sided_test=maybe"}) ==
          "hddm_w: two_sided_test: expected one of false, true, got \"maybe\"");
    CHECK(error_of("page_hinkley", {"mode=sideways"}) ==
          "page_hinkley: mode: expected one of up, down, both, got \"sideways\"");
    CHECK(error_of("page_hinkley", {"min_instances=-1"}) ==
          "page_hinkley: min_instances: expected an integer in [0, 1000000000000], got \"-1\"");
    // Every problem, not the first.
    CHECK(error_of("adwin", {"delta=2", "clock=0"}) ==
          "adwin: delta: expected a number in (0, 1), got \"2\"; adwin: clock: expected an integer in [1, 1000000000], "
          "got \"0\"");
    CHECK(error_of("nope", {}) ==
          "unknown concept detector \"nope\"; known: adwin, adwin_river021, ddm, eddm, hddm_a, hddm_w, kswin, "
          "page_hinkley");
}

TEST_CASE("checks between options", "[concept][options]") {
    CHECK(error_of("eddm", {"alpha=0.8", "beta=0.85"}) == "eddm: alpha must be >= beta, got alpha=0.8 beta=0.85");
    CHECK(cd::make_concept_detector("eddm", std::vector<std::string>{"alpha=0.8", "beta=0.8"}).ok());
    CHECK(error_of("kswin", {"window_size=50"}) ==
          "kswin: window_size must be at least 2 * stat_size (stat_size older values are drawn from the "
          "window_size - stat_size oldest), got window_size=50 stat_size=30");
    CHECK(cd::make_concept_detector("kswin", std::vector<std::string>{"window_size=60"}).ok());
}

TEST_CASE("every option table row has a valid default and help", "[concept][options]") {
    for (const auto& entry : cd::concept_detectors()) {
        INFO(entry.info.name);
        CHECK(!entry.info.summary.empty());
        for (const auto& option : entry.info.options()) {
            INFO(option.key);
            CHECK(!option.help.empty());
            // A single explicit assignment of the default must parse.
            const std::vector<std::string> one{std::string(option.key) + "=" + std::string(option.default_text)};
            CHECK(mw::config::parse_settings(entry.info.options(), one).ok());
        }
    }
}
