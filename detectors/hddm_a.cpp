#include "detectors/hddm_a.h"

#include <cmath>

#include "detectors/detector_state.h"

namespace mw::concept_drift {

namespace {

// River's defaults (river.drift.binary.HDDM_A, River 0.21).
const config::SettingRow hddm_a_options[] = {
    {.key = "drift_confidence", .kind = config::ValueKind::number, .default_text = "0.001", .min_number = 0, .max_number = 1, .min_exclusive = true, .max_exclusive = true, .help = "confidence (a probability) of the drift test"},
    {.key = "warning_confidence", .kind = config::ValueKind::number, .default_text = "0.005", .min_number = 0, .max_number = 1, .min_exclusive = true, .max_exclusive = true, .help = "confidence (a probability) of the warning test"},
    {.key = "two_sided_test", .kind = config::ValueKind::choice, .default_text = "false", .choices = config::boolean_choices, .help = "also report decreases of the error rate, not only increases"},
};

}  // namespace

std::span<const config::SettingRow> hddm_a_option_table() { return hddm_a_options; }

HddmA::HddmA(config::Settings options)
    : options_(std::move(options)),
      drift_confidence_(options_.number("drift_confidence")),
      warning_confidence_(options_.number("warning_confidence")),
      two_sided_test_(options_.boolean("two_sided_test")) {
    reset();
}

void HddmA::reset() {
    z_ = {};
    x_min_ = {};
    x_max_ = {};
    warning_ = false;
    drift_ = false;
}

// Hoeffding's bound for a mean of n values in [0, 1]: sqrt(ln(1 / delta) / (2 n)),
// written as River writes it. River uses the drift confidence here for both
// tests, as MOA does.
double HddmA::hoeffding_bound(double n) const {
    return std::sqrt(1.0 / (2 * n) * std::log(1.0 / drift_confidence_));
}

// Frias-Blanco et al. (2015), the A-test: for the means of the first
// n_cut values and of all n values, the difference is significant when it
// exceeds sqrt(m / 2 * ln(2 / confidence)), m = (n - n_cut) / n_cut / n.
bool HddmA::mean_increased(double confidence) const {
    if (x_min_.n == z_.n) return false;
    const double m = (z_.n - x_min_.n) / x_min_.n * (1.0 / z_.n);
    const double eps = std::sqrt(m / 2 * std::log(2.0 / confidence));
    return z_.mean - x_min_.mean >= eps;
}

bool HddmA::mean_decreased(double confidence) const {
    if (x_max_.n == z_.n) return false;
    const double m = (z_.n - x_max_.n) / x_max_.n * (1.0 / z_.n);
    const double eps = std::sqrt(m / 2 * std::log(2.0 / confidence));
    return x_max_.mean - z_.mean >= eps;
}

DriftState HddmA::update(double x) {
    if (drift_) reset();

    z_.update(x);
    if (x_min_.n == 0) x_min_ = z_;
    if (x_max_.n == 0) x_max_ = z_;

    const double eps_z = hoeffding_bound(z_.n);
    if (x_min_.mean + hoeffding_bound(x_min_.n) >= z_.mean + eps_z) x_min_ = z_;
    if (x_max_.mean - hoeffding_bound(x_max_.n) <= z_.mean - eps_z) x_max_ = z_;

    if (mean_increased(drift_confidence_)) {
        warning_ = false;
        drift_ = true;
    } else if (mean_increased(warning_confidence_)) {
        warning_ = true;
        drift_ = false;
    } else {
        warning_ = false;
        drift_ = false;
    }
    if (two_sided_test_) {
        if (mean_decreased(drift_confidence_))
            drift_ = true;
        else if (mean_decreased(warning_confidence_))
            warning_ = true;
    }
    if (drift_) return DriftState::drift;
    return warning_ ? DriftState::warning : DriftState::none;
}

}  // namespace mw::concept_drift

namespace mw::concept_drift {

namespace {

nlohmann::json hddm_a_mean(const RiverMean& mean) { return {detector_state::from_double(mean.n), detector_state::from_double(mean.mean)}; }

RiverMean hddm_a_mean_of(const nlohmann::json& pair) {
    return RiverMean{detector_state::to_double(pair.at(0)), detector_state::to_double(pair.at(1))};
}

}  // namespace

nlohmann::json HddmA::save_state() const {
    return {{"z", hddm_a_mean(z_)}, {"x_min", hddm_a_mean(x_min_)}, {"x_max", hddm_a_mean(x_max_)},
            {"warning", warning_}, {"drift", drift_}};
}

void HddmA::restore_state(const nlohmann::json& state) {
    z_ = hddm_a_mean_of(state.at("z"));
    x_min_ = hddm_a_mean_of(state.at("x_min"));
    x_max_ = hddm_a_mean_of(state.at("x_max"));
    warning_ = state.at("warning").get<bool>();
    drift_ = state.at("drift").get<bool>();
}

}  // namespace mw::concept_drift
