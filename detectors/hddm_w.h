// HDDM_W: drift detection with McDiarmid's inequality on exponentially
// weighted moving averages (EWMA) of a stream of errors (1) and successes (0).
// Keeps the EWMA up to a cut point (where EWMA plus its bound was lowest) and
// an EWMA of what came after; the second exceeding the first by more than the
// bound for the warning (drift) confidence is a warning (drift). Frias-Blanco
// et al., "Online and non-parametric drift detection methods based on
// Hoeffding's bounds", IEEE TKDE 27(3), 2015 (the W-test). Follows
// river.drift.binary.HDDM_W (River 0.21), itself a port of MOA's HDDM_W_Test.
#pragma once

#include <limits>
#include <span>

#include "detectors/concept_detector.h"

namespace mw::concept_drift {

std::span<const config::SettingRow> hddm_w_option_table();

class HddmW final : public ConceptDetector {
public:
    // `options` must have been validated against hddm_w_option_table().
    explicit HddmW(config::Settings options);

    DriftState update(double x) override;
    void reset() override;
    std::string_view name() const override { return "hddm_w"; }
    const config::Settings& options() const override { return options_; }
    nlohmann::json save_state() const override;
    void restore_state(const nlohmann::json& state) override;

private:
    // river.drift.binary.hddm_w.SampleInfo: an EWMA and its independent bound
    // condition sum_i w_i^2 (for EWMA weights, lambda^2 + (1 - lambda)^2 * previous).
    struct SampleInfo {
        double ewma = 0.0;
        bool is_init = false;
        double ibc = 1.0;

        void update(double x, double lambda);
    };

    static double mcdiarmid_bound(double ibc, double confidence);
    static bool mean_changed(const SampleInfo& first, const SampleInfo& second, double confidence);
    void update_increase_stats(double x);
    void update_decrease_stats(double x);

    config::Settings options_;
    double drift_confidence_;
    double warning_confidence_;
    double lambda_;
    bool two_sided_test_;

    SampleInfo total_;
    SampleInfo s1_decrease_;
    SampleInfo s1_increase_;
    SampleInfo s2_decrease_;
    SampleInfo s2_increase_;
    double increase_cutpoint_ = std::numeric_limits<double>::infinity();
    double decrease_cutpoint_ = -std::numeric_limits<double>::infinity();
    bool warning_ = false;
    bool drift_ = false;
};

}  // namespace mw::concept_drift
