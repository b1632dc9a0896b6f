// EDDM (early drift detection method): watches the distance (in values)
// between consecutive errors of a stream of errors (1) and successes (0); with
// p' and s' the running mean and standard deviation of that distance and
// (p' + 2 s')_max its largest value so far, the ratio (p' + 2 s') / (p' + 2 s')_max
// below alpha is a warning and below beta a drift. Baena-Garcia, del
// Campo-Avila, Fidalgo, Bifet, Gavalda & Morales-Bueno, "Early drift detection
// method", 2006. Follows river.drift.binary.EDDM (River 0.21).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "detectors/concept_detector.h"

namespace mw::concept_drift {

std::span<const config::SettingRow> eddm_option_table();
// Checks between options (River raises on alpha < beta); empty when fine.
std::string eddm_check_options(const config::Settings& options);

class Eddm final : public ConceptDetector {
public:
    // `options` must have passed eddm_option_table() and eddm_check_options().
    explicit Eddm(config::Settings options);

    // x == 1 is an error; any other value a success (River compares x == 1).
    DriftState update(double x) override;
    void reset() override;
    std::string_view name() const override { return "eddm"; }
    const config::Settings& options() const override { return options_; }
    nlohmann::json save_state() const override;
    void restore_state(const nlohmann::json& state) override;

private:
    config::Settings options_;
    double warm_start_;
    double alpha_;
    double beta_;

    // river.stats.Var (ddof = 1) of the distances between errors.
    double distance_n_ = 0.0;
    double distance_mean_ = 0.0;
    double distance_s_ = 0.0;  // sum of squared deviations

    std::int64_t n_ = 0;
    std::int64_t last_error_ = 0;
    std::int64_t n_errors_ = 0;
    double p2s_max_ = -1.0;
    bool warning_ = false;
    bool drift_ = false;
};

}  // namespace mw::concept_drift
