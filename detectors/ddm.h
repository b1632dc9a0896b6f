// DDM (drift detection method): watches the error rate p_i of a stream of
// errors (1) and successes (0) with its binomial standard deviation
// s_i = sqrt(p_i (1 - p_i) / i); warns when p_i + s_i > p_min + 2 s_min and
// reports a drift when p_i + s_i > p_min + 3 s_min, where (p_min, s_min) are
// taken where p_i + s_i was smallest. Gama, Medas, Castillo & Rodrigues,
// "Learning with drift detection", SBIA 2004. Follows river.drift.binary.DDM
// (River 0.21).
#pragma once

#include <cstdint>
#include <span>

#include "detectors/concept_detector.h"

namespace mw::concept_drift {

std::span<const config::SettingRow> ddm_option_table();

class Ddm final : public ConceptDetector {
public:
    // `options` must have been validated against ddm_option_table().
    explicit Ddm(config::Settings options);

    DriftState update(double x) override;
    void reset() override;
    std::string_view name() const override { return "ddm"; }
    const config::Settings& options() const override { return options_; }
    nlohmann::json save_state() const override;
    void restore_state(const nlohmann::json& state) override;

private:
    config::Settings options_;
    double warm_start_;
    double warning_threshold_;
    double drift_threshold_;

    double n_ = 0.0;     // river.stats.Mean: count and running mean of x
    double mean_ = 0.0;
    double p_min_ = 0.0;
    double s_min_ = 0.0;
    double ps_min_ = 0.0;
    bool warning_ = false;
    bool drift_ = false;
};

}  // namespace mw::concept_drift
