#include "detectors/hddm_w.h"

#include <cmath>

#include "detectors/detector_state.h"

namespace mw::concept_drift {

namespace {

// River's defaults (river.drift.binary.HDDM_W, River 0.21).
const config::SettingRow hddm_w_options[] = {
    {.key = "drift_confidence", .kind = config::ValueKind::number, .default_text = "0.001", .min_number = 0, .max_number = 1, .min_exclusive = true, .max_exclusive = true, .help = "confidence (a probability) of the drift test"},
    {.key = "warning_confidence", .kind = config::ValueKind::number, .default_text = "0.005", .min_number = 0, .max_number = 1, .min_exclusive = true, .max_exclusive = true, .help = "confidence (a probability) of the warning test"},
    {.key = "lambda", .kind = config::ValueKind::number, .default_text = "0.05", .min_number = 0, .max_number = 1, .min_exclusive = true, .help = "weight of the newest value in the moving averages"},
    {.key = "two_sided_test", .kind = config::ValueKind::choice, .default_text = "false", .choices = config::boolean_choices, .help = "also report decreases of the error rate, not only increases"},
};

}  // namespace

std::span<const config::SettingRow> hddm_w_option_table() { return hddm_w_options; }

// river.stats.EWMean as River 0.21 runs it (watermill's EWMean in Rust): a
// mean that is exactly 0 is replaced by x instead of being faded, so after a
// run of zeros the first 1 sets the average to 1. On a 0/1 stream that
// starts with a 0 this matters, and it is what River reports, so it is kept.
// ibc is the sum of the squared EWMA weights, which McDiarmid's bound needs
// (Frias-Blanco et al. 2015, section on the W-test).
void HddmW::SampleInfo::update(double x, double lambda) {
    ewma = ewma == 0.0 ? x : lambda * x + (1.0 - lambda) * ewma;
    is_init = true;
    // River: lambda * lambda + (1 - lambda) ** 2 * ibc; `**` is CPython's pow().
    ibc = lambda * lambda + std::pow(1 - lambda, 2.0) * ibc;
}

HddmW::HddmW(config::Settings options)
    : options_(std::move(options)),
      drift_confidence_(options_.number("drift_confidence")),
      warning_confidence_(options_.number("warning_confidence")),
      lambda_(options_.number("lambda")),
      two_sided_test_(options_.boolean("two_sided_test")) {
    reset();
}

void HddmW::reset() {
    total_ = {};
    s1_decrease_ = {};
    s1_increase_ = {};
    s2_decrease_ = {};
    s2_increase_ = {};
    increase_cutpoint_ = std::numeric_limits<double>::infinity();
    decrease_cutpoint_ = -std::numeric_limits<double>::infinity();
    warning_ = false;
    drift_ = false;
}

// McDiarmid's inequality for a weighted mean with sum of squared weights ibc:
// eps = sqrt(ibc * ln(1 / confidence) / 2).
double HddmW::mcdiarmid_bound(double ibc, double confidence) {
    return std::sqrt(ibc * std::log(1 / confidence) / 2);
}

bool HddmW::mean_changed(const SampleInfo& first, const SampleInfo& second, double confidence) {
    if (!(first.is_init && second.is_init)) return false;
    const double bound = mcdiarmid_bound(first.ibc + second.ibc, confidence);
    return second.ewma - first.ewma > bound;
}

// River moves both cut points with the drift confidence, as MOA does.
void HddmW::update_increase_stats(double x) {
    const double eps = mcdiarmid_bound(total_.ibc, drift_confidence_);
    if (total_.ewma + eps < increase_cutpoint_) {
        increase_cutpoint_ = total_.ewma + eps;
        s1_increase_ = total_;
        s2_increase_ = {};
    } else {
        s2_increase_.update(x, lambda_);
    }
}

void HddmW::update_decrease_stats(double x) {
    const double eps = mcdiarmid_bound(total_.ibc, drift_confidence_);
    if (total_.ewma - eps > decrease_cutpoint_) {
        decrease_cutpoint_ = total_.ewma - eps;
        s1_decrease_ = total_;
        s2_decrease_ = {};
    } else {
        s2_decrease_.update(x, lambda_);
    }
}

DriftState HddmW::update(double x) {
    if (drift_) reset();

    total_.update(x, lambda_);

    update_increase_stats(x);
    if (mean_changed(s1_increase_, s2_increase_, drift_confidence_)) {
        warning_ = false;
        drift_ = true;
    } else if (mean_changed(s1_increase_, s2_increase_, warning_confidence_)) {
        warning_ = true;
        drift_ = false;
    } else {
        warning_ = false;
        drift_ = false;
    }

    update_decrease_stats(x);
    if (two_sided_test_) {
        if (mean_changed(s2_decrease_, s1_decrease_, drift_confidence_))
            drift_ = true;
        else if (mean_changed(s2_decrease_, s1_decrease_, warning_confidence_))
            warning_ = true;
    }
    if (drift_) return DriftState::drift;
    return warning_ ? DriftState::warning : DriftState::none;
}

}  // namespace mw::concept_drift

namespace mw::concept_drift {

namespace {

template <typename Sample>
nlohmann::json hddm_w_sample(const Sample& sample) {
    return {detector_state::from_double(sample.ewma), sample.is_init, detector_state::from_double(sample.ibc)};
}

template <typename Sample>
void hddm_w_sample_of(const nlohmann::json& triple, Sample& sample) {
    sample.ewma = detector_state::to_double(triple.at(0));
    sample.is_init = triple.at(1).get<bool>();
    sample.ibc = detector_state::to_double(triple.at(2));
}

}  // namespace

nlohmann::json HddmW::save_state() const {
    return {{"total", hddm_w_sample(total_)}, {"s1_decrease", hddm_w_sample(s1_decrease_)},
            {"s1_increase", hddm_w_sample(s1_increase_)}, {"s2_decrease", hddm_w_sample(s2_decrease_)},
            {"s2_increase", hddm_w_sample(s2_increase_)}, {"increase_cutpoint", detector_state::from_double(increase_cutpoint_)},
            {"decrease_cutpoint", detector_state::from_double(decrease_cutpoint_)}, {"warning", warning_}, {"drift", drift_}};
}

void HddmW::restore_state(const nlohmann::json& state) {
    hddm_w_sample_of(state.at("total"), total_);
    hddm_w_sample_of(state.at("s1_decrease"), s1_decrease_);
    hddm_w_sample_of(state.at("s1_increase"), s1_increase_);
    hddm_w_sample_of(state.at("s2_decrease"), s2_decrease_);
    hddm_w_sample_of(state.at("s2_increase"), s2_increase_);
    increase_cutpoint_ = detector_state::to_double(state.at("increase_cutpoint"));
    decrease_cutpoint_ = detector_state::to_double(state.at("decrease_cutpoint"));
    warning_ = state.at("warning").get<bool>();
    drift_ = state.at("drift").get<bool>();
}

}  // namespace mw::concept_drift
