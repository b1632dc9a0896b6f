// KSWIN (Kolmogorov-Smirnov windowing): keeps the last window_size values;
// once the window is full, compares its newest stat_size values with
// stat_size values drawn at random from the older ones using the two-sample
// Kolmogorov-Smirnov test, and reports a drift when p <= alpha and D > 0.1.
// Raab, Heusinger & Schleif, "Reactive soft prototype computing for concept
// drift streams", Neurocomputing 416, 2020. Follows river.drift.KSWIN
// (River 0.21), including its seeded sampling: River draws the indices with
// random.Random(seed).sample(), and PythonRandom below reproduces CPython's
// generator and sample() exactly, so the same seed gives the same draws.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <vector>

#include "detectors/concept_detector.h"

namespace mw::concept_drift {

std::span<const config::SettingRow> kswin_option_table();
// Checks between options; empty when fine.
std::string kswin_check_options(const config::Settings& options);

// CPython's random.Random (Lib/random.py, Modules/_randommodule.c): MT19937
// seeded from a non-negative integer with init_by_array, getrandbits(k) for
// k <= 32, and sample() of range(n). Reproduced so that KSWIN's seeded draws
// are River's.
class PythonRandom {
public:
    explicit PythonRandom(std::uint64_t seed);

    std::uint32_t next_uint32();
    // random.getrandbits(k), 1 <= k <= 32.
    std::uint32_t getrandbits(int k);
    // random._randbelow_with_getrandbits(n), 1 <= n < 2^32.
    std::uint32_t randbelow(std::uint32_t n);
    // random.sample(range(n), k), 0 <= k <= n < 2^32.
    std::vector<std::uint32_t> sample_range(std::uint32_t n, std::uint32_t k);

    // The generator's state (detectors/detector_state.h), for KSWIN's.
    nlohmann::json save_state() const;
    void restore_state(const nlohmann::json& state);

private:
    std::array<std::uint32_t, 624> state_{};
    std::size_t index_ = 624;
};

class Kswin final : public ConceptDetector {
public:
    // `options` must have passed kswin_option_table() and kswin_check_options().
    explicit Kswin(config::Settings options);

    DriftState update(double x) override;
    void reset() override;
    std::string_view name() const override { return "kswin"; }
    const config::Settings& options() const override { return options_; }
    nlohmann::json save_state() const override;
    void restore_state(const nlohmann::json& state) override;

    double p_value() const { return p_value_; }

private:
    config::Settings options_;
    double alpha_;
    std::size_t window_size_;
    std::size_t stat_size_;
    std::uint64_t seed_;

    std::deque<double> window_;
    PythonRandom rng_;
    double p_value_ = 0.0;
    bool drift_ = false;
    // p-value by h = n * D: the exact p depends only on h for n = stat_size,
    // so it is computed once per h instead of once per value.
    std::vector<double> p_value_by_gap_;
    std::vector<double> reference_;  // scratch space, reused
    std::vector<double> recent_;
};

}  // namespace mw::concept_drift
