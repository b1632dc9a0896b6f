// Page-Hinkley test: cumulative sums of the deviations of each value from the
// running mean (minus/plus a tolerance delta, faded by alpha); a drift is
// reported when a cumulative sum rises (falls) more than `threshold` above
// (below) its running extreme. Page, "Continuous inspection schemes",
// Biometrika 41, 1954; the two-sided form as in Sebastiao & Fernandes, 2017.
// Follows river.drift.PageHinkley (River 0.21). It never reports warnings.
#pragma once

#include <span>

#include "detectors/concept_detector.h"

namespace mw::concept_drift {

std::span<const config::SettingRow> page_hinkley_option_table();

class PageHinkley final : public ConceptDetector {
public:
    // `options` must have been validated against page_hinkley_option_table().
    explicit PageHinkley(config::Settings options);

    DriftState update(double x) override;
    void reset() override;
    std::string_view name() const override { return "page_hinkley"; }
    const config::Settings& options() const override { return options_; }
    nlohmann::json save_state() const override;
    void restore_state(const nlohmann::json& state) override;

private:
    config::Settings options_;
    double min_instances_;
    double delta_;
    double threshold_;
    double alpha_;
    bool test_increase_;
    bool test_decrease_;

    RiverMean x_mean_;
    double sum_increase_ = 0.0;
    double sum_decrease_ = 0.0;
    double min_increase_ = 0.0;
    double max_decrease_ = 0.0;
    bool drift_ = false;
};

}  // namespace mw::concept_drift
