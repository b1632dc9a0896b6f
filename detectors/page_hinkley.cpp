#include "detectors/page_hinkley.h"

#include <limits>

#include "detectors/detector_state.h"

namespace mw::concept_drift {

namespace {

// River's defaults (river.drift.PageHinkley, River 0.21; alpha = 1 - 0.0001).
constexpr config::Choice mode_choices[] = {{"up", 0}, {"down", 1}, {"both", 2}};

const config::SettingRow page_hinkley_options[] = {
    {.key = "min_instances", .kind = config::ValueKind::integer, .default_text = "30", .min = 0, .max = 1'000'000'000'000, .help = "values seen before a drift can be reported"},
    {.key = "delta", .kind = config::ValueKind::number, .default_text = "0.005", .min_number = 0, .max_number = 1e12, .help = "tolerated deviation from the mean"},
    {.key = "threshold", .kind = config::ValueKind::number, .default_text = "50", .min_number = 0, .max_number = 1e12, .min_exclusive = true, .help = "cumulative deviation that means a drift (lambda)"},
    {.key = "alpha", .kind = config::ValueKind::number, .default_text = "0.9999", .min_number = 0, .max_number = 1, .min_exclusive = true, .help = "forgetting factor of the cumulative sums"},
    {.key = "mode", .kind = config::ValueKind::choice, .default_text = "both", .choices = mode_choices, .help = "watch increases of the mean, decreases, or both"},
};

}  // namespace

std::span<const config::SettingRow> page_hinkley_option_table() { return page_hinkley_options; }

PageHinkley::PageHinkley(config::Settings options)
    : options_(std::move(options)),
      min_instances_(static_cast<double>(options_.integer("min_instances"))),
      delta_(options_.number("delta")),
      threshold_(options_.number("threshold")),
      alpha_(options_.number("alpha")),
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

namespace mw::concept_drift {

nlohmann::json PageHinkley::save_state() const {
    return {{"n", detector_state::from_double(x_mean_.n)}, {"mean", detector_state::from_double(x_mean_.mean)}, {"sum_increase", detector_state::from_double(sum_increase_)},
            {"sum_decrease", detector_state::from_double(sum_decrease_)}, {"min_increase", detector_state::from_double(min_increase_)},
            {"max_decrease", detector_state::from_double(max_decrease_)}, {"drift", drift_}};
}

void PageHinkley::restore_state(const nlohmann::json& state) {
    x_mean_.n = detector_state::to_double(state.at("n"));
    x_mean_.mean = detector_state::to_double(state.at("mean"));
    sum_increase_ = detector_state::to_double(state.at("sum_increase"));
    sum_decrease_ = detector_state::to_double(state.at("sum_decrease"));
    min_increase_ = detector_state::to_double(state.at("min_increase"));
    max_decrease_ = detector_state::to_double(state.at("max_decrease"));
    drift_ = state.at("drift").get<bool>();
}

}  // namespace mw::concept_drift
