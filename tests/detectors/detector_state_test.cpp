// Checkpointed detector state (detectors/detector_state.h, docs/scaling.md):
// for every concept-drift and anomaly detector in the registries, running N
// points, saving the state as text, restoring it into a fresh detector with
// the same options and running M more gives exactly what running N + M
// straight gives: the same states or scores, bit for bit, and the same state
// at the end.
#include <catch2/catch.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "detectors/anomaly_registry.h"
#include "detectors/concept_registry.h"
#include "detectors/detector_state.h"
#include "tests/detectors/anomaly_synthetic.h"

namespace {

namespace cd = mw::concept_drift;
namespace an = mw::anomaly;

// Errors with a rate that jumps from 0.1 to 0.45 at 1500 and back at 3000
// (a drift for every detector), or a level shift of a numeric stream for
// the detectors that take numbers; seeded.
std::vector<double> checkpoint_stream(bool binary) {
    an::test::Noise noise(17);
    std::vector<double> values;
    for (int i = 0; i < 4000; ++i) {
        const bool shifted = i >= 1500 && i < 3000;
        if (binary)
            values.push_back(noise.uniform() < (shifted ? 0.45 : 0.1) ? 1.0 : 0.0);
        else
            values.push_back((shifted ? 0.8 : 0.2) + 0.1 * noise.normal());
    }
    return values;
}

std::unique_ptr<cd::ConceptDetector> make_concept(std::string_view name) {
    auto made = cd::make_concept_detector(name, {});
    REQUIRE(made.ok());
    return std::move(made.detector);
}

// The state as it travels: JSON text written and read back.
nlohmann::json through_text(const nlohmann::json& state) { return nlohmann::json::parse(state.dump()); }

}  // namespace

TEST_CASE("every concept-drift detector resumes from its saved state exactly where it stopped", "[detector_state]") {
    for (const auto& entry : cd::concept_detectors()) {
        const std::string name(entry.info.name);
        const auto values = checkpoint_stream(entry.binary_input);
        auto straight = make_concept(name);
        std::vector<cd::DriftState> expected;
        int drifts = 0;
        for (const double value : values) {
            expected.push_back(straight->update(value));
            drifts += expected.back() == cd::DriftState::drift;
        }
        INFO(name);
        CHECK(drifts > 0);  // the cuts below include the restart after a drift
        for (std::size_t cut : {std::size_t{0}, std::size_t{1}, std::size_t{37}, std::size_t{1499}, std::size_t{1777},
                                std::size_t{3333}}) {
            INFO("checkpoint after " << cut << " values");
            auto first = make_concept(name);
            for (std::size_t i = 0; i < cut; ++i) REQUIRE(first->update(values[i]) == expected[i]);
            const auto saved = first->save_state();
            REQUIRE_FALSE(saved.is_null());
            auto resumed = make_concept(name);
            resumed->restore_state(through_text(saved));
            bool same = true;
            for (std::size_t i = cut; i < values.size() && same; ++i) same = resumed->update(values[i]) == expected[i];
            CHECK(same);
            CHECK(resumed->save_state() == straight->save_state());
        }
    }
}

TEST_CASE("every anomaly detector resumes from its saved state exactly where it stopped", "[detector_state]") {
    // A daily cycle with noise, sampled every 10 minutes for three weeks, and a
    // spike and a level shift late, so the seasonal profiles and the
    // likelihood's red zone are part of the saved state.
    an::test::Noise noise(5);
    std::vector<an::test::Point> series;
    for (int i = 0; i < 3 * 7 * 144; ++i) {
        const double t = an::test::start_s + 600.0 * i;
        double value = 10 + 3 * std::sin(2 * 3.141592653589793 * i / 144.0) + 0.3 * noise.normal();
        if (i == 2500) value += 30;
        if (i > 2800) value += 8;
        series.push_back({t, value});
    }
    for (const auto& method : an::anomaly_methods()) {
        const std::string name(method.info.name);
        INFO(name);
        const auto make = [&] {
            auto made = an::make_anomaly_detector(name, {});
            REQUIRE(made.detector);
            return std::move(made.detector);
        };
        auto straight = make();
        const auto expected = an::test::score_all(*straight, series);
        CHECK(*std::max_element(expected.begin(), expected.end()) > 0.5);  // the state decides alerts
        // 149 and 150: either side of the end of the contextual detector's
        // calibration (its default calibration_points); 153: its first full context.
        for (std::size_t cut : {std::size_t{0}, std::size_t{3}, std::size_t{149}, std::size_t{150}, std::size_t{153},
                                std::size_t{400}, std::size_t{2501}, std::size_t{2900}}) {
            INFO("checkpoint after " << cut << " points");
            auto first = make();
            for (std::size_t i = 0; i < cut; ++i) first->score(series[i].timestamp_s, series[i].value);
            const auto saved = first->save_state();
            REQUIRE_FALSE(saved.is_null());
            auto resumed = make();
            resumed->restore_state(through_text(saved));
            bool same = true;
            for (std::size_t i = cut; i < series.size() && same; ++i)
                same = std::bit_cast<std::uint64_t>(resumed->score(series[i].timestamp_s, series[i].value)) ==
                       std::bit_cast<std::uint64_t>(expected[i]);
            CHECK(same);
            CHECK(resumed->save_state() == straight->save_state());
        }
    }
}

TEST_CASE("a saved double reads back bit for bit, infinities, NaN and -0 included", "[detector_state]") {
    namespace ds = mw::detector_state;
    for (const double value : {0.1, 1.0 / 3.0, 5e-324, 1.7976931348623157e308, -0.0, 0.0,
                               std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()}) {
        INFO(value);
        const double back = ds::to_double(through_text(ds::from_double(value)));
        CHECK(std::bit_cast<std::uint64_t>(back) == std::bit_cast<std::uint64_t>(value));
    }
    CHECK(std::isnan(ds::to_double(through_text(ds::from_double(std::nan(""))))));
    CHECK_THROWS_AS(ds::to_double(nlohmann::json("infinite")), std::invalid_argument);
}

// (Which detector and options a state belongs to is checked by its reader,
// daemon/monitor_checkpoint.h, before it restores anything.)
TEST_CASE("a state of another detector is refused", "[detector_state]") {
    auto adwin = make_concept("adwin");
    for (int i = 0; i < 500; ++i) adwin->update(i % 7 == 0 ? 1.0 : 0.0);
    auto ddm = make_concept("ddm");
    CHECK_THROWS(ddm->restore_state(adwin->save_state()));
    CHECK_THROWS(make_concept("kswin")->restore_state(nlohmann::json::object()));

    const auto make_anomaly = [](std::string_view name, std::vector<std::string> params) {
        auto made = an::make_anomaly_detector(name, params);
        REQUIRE(made.detector);
        return std::move(made.detector);
    };
    auto contextual = make_anomaly("contextual", {});
    for (int i = 0; i < 400; ++i) contextual->score(an::test::start_s + 60.0 * i, i % 17);
    const auto saved = through_text(contextual->save_state());
    // Another context length or fewer levels: keys or levels this detector cannot have.
    CHECK_THROWS_AS(make_anomaly("contextual", {"context_length=2"})->restore_state(saved), std::invalid_argument);
    CHECK_THROWS_AS(make_anomaly("contextual", {"levels=2"})->restore_state(saved), std::invalid_argument);
    CHECK_NOTHROW(make_anomaly("contextual", {})->restore_state(saved));
    auto outside_ring = saved;
    outside_ring["likelihood"]["averages_next"] = 5000;
    CHECK_THROWS_AS(make_anomaly("contextual", {})->restore_state(outside_ring), std::invalid_argument);
    auto ensemble = make_anomaly("ensemble", {});
    CHECK_THROWS(ensemble->restore_state(saved));
}
