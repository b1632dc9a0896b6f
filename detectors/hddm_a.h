// HDDM_A: drift detection with Hoeffding's inequality on moving averages.
// Keeps the overall mean of a stream of errors (1) and successes (0) and the
// mean up to a cut point (where the mean plus its Hoeffding bound was lowest);
// a rise of the overall mean above the cut-point mean by more than the bound
// for the warning (drift) confidence is a warning (drift). Frias-Blanco, del
// Campo-Avila, Ramos-Jimenez, Morales-Bueno, Ortiz-Diaz & Caballero-Mota,
// "Online and non-parametric drift detection methods based on Hoeffding's
// bounds", IEEE TKDE 27(3), 2015 (the A-test). Follows
// river.drift.binary.HDDM_A (River 0.21), itself a port of MOA's HDDM_A_Test.
#pragma once

#include <span>

#include "detectors/concept_detector.h"

namespace mw::concept_drift {

std::span<const config::SettingRow> hddm_a_option_table();

class HddmA final : public ConceptDetector {
public:
    // `options` must have been validated against hddm_a_option_table().
    explicit HddmA(config::Settings options);

    DriftState update(double x) override;
    void reset() override;
    std::string_view name() const override { return "hddm_a"; }
    const config::Settings& options() const override { return options_; }
    nlohmann::json save_state() const override;
    void restore_state(const nlohmann::json& state) override;

private:
    double hoeffding_bound(double n) const;
    bool mean_increased(double confidence) const;
    bool mean_decreased(double confidence) const;

    config::Settings options_;
    double drift_confidence_;
    double warning_confidence_;
    bool two_sided_test_;

    RiverMean z_;      // the global mean
    RiverMean x_min_;  // cut point for an increase of the mean
    RiverMean x_max_;  // cut point for a decrease of the mean
    bool warning_ = false;
    bool drift_ = false;
};

}  // namespace mw::concept_drift
