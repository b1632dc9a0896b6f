#include "detectors/page_hinkley.h"

#include <limits>

namespace mw::concept_drift {

namespace {

// River's defaults (river.drift.PageHinkley, River 0.21; alpha = 1 - 0.0001).
constexpr OptionSpec page_hinkley_options[] = {
    {"min_instances", OptionType::integer, "30", {0, 1e12}, "",
     "values seen before a drift can be reported"},
    {"delta", OptionType::real, "0.005", {0, 1e12}, "", "tolerated deviation from the mean"},
    {"threshold", OptionType::real, "50", {0, 1e12, true, false}, "",
     "cumulative deviation that means a drift (lambda)"},
    {"alpha", OptionType::real, "0.9999", {0, 1, true, false}, "",
     "forgetting factor of the cumulative sums"},
    {"mode", OptionType::choice, "both", {}, "up|down|both",
     "watch increases of the mean, decreases, or both"},
};

}  // namespace

std::span<const OptionSpec> page_hinkley_option_table() { return page_hinkley_options; }

PageHinkley::PageHinkley(OptionValues options)
    : options_(std::move(options)),
      min_instances_(static_cast<double>(options_.integer("min_instances"))),
      delta_(options_.real("delta")),
      threshold_(options_.real("threshold")),
      alpha_(options_.real("alpha")),
      test_increase_(options_.text("mode") != "down"),
      test_decrease_(options_.text("mode") != "up") {
    reset();
}

void PageHinkley::reset() {
    x_mean_ = {};
    sum_increase_ = 0.0;
    sum_decrease_ = 0.0;
    min_increase_ = std::numeric_limits<double>::infinity();
    max_decrease_ = -1.0;  // River's initial value, not -infinity
    drift_ = false;
}

DriftState PageHinkley::update(double x) {
    if (drift_) reset();

    x_mean_.update(x);
    const double deviation = x - x_mean_.mean;
    sum_increase_ = alpha_ * sum_increase_ + deviation - delta_;
    sum_decrease_ = alpha_ * sum_decrease_ + deviation + delta_;
    if (sum_increase_ < min_increase_) min_increase_ = sum_increase_;
    if (sum_decrease_ > max_decrease_) max_decrease_ = sum_decrease_;

    if (x_mean_.n >= min_instances_) {
        const bool increased = test_increase_ && sum_increase_ - min_increase_ > threshold_;
        const bool decreased = test_decrease_ && max_decrease_ - sum_decrease_ > threshold_;
        drift_ = increased || decreased;
    }
    return drift_ ? DriftState::drift : DriftState::none;
}

}  // namespace mw::concept_drift
