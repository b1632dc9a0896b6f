#include "detectors/ddm.h"

#include <cmath>
#include <limits>

#include "detectors/detector_state.h"

namespace mw::concept_drift {

namespace {

// River's defaults (river.drift.binary.DDM, River 0.21).
const config::SettingRow ddm_options[] = {
    {.key = "warm_start", .kind = config::ValueKind::integer, .default_text = "30", .min = 0, .max = 1'000'000'000'000, .help = "values seen before a warning or a drift can be reported"},
    {.key = "warning_threshold", .kind = config::ValueKind::number, .default_text = "2", .min_number = 0, .max_number = 1e6, .min_exclusive = true, .help = "standard deviations above the best error rate that mean a warning"},
    {.key = "drift_threshold", .kind = config::ValueKind::number, .default_text = "3", .min_number = 0, .max_number = 1e6, .min_exclusive = true, .help = "standard deviations above the best error rate that mean a drift"},
};

constexpr double infinity = std::numeric_limits<double>::infinity();

}  // namespace

std::span<const config::SettingRow> ddm_option_table() { return ddm_options; }

Ddm::Ddm(config::Settings options)
    : options_(std::move(options)),
      warm_start_(static_cast<double>(options_.integer("warm_start"))),
      warning_threshold_(options_.number("warning_threshold")),
      drift_threshold_(options_.number("drift_threshold")) {
    reset();
}

void Ddm::reset() {
    n_ = 0.0;
    mean_ = 0.0;
    p_min_ = infinity;
    s_min_ = infinity;
    ps_min_ = infinity;
    warning_ = false;
    drift_ = false;
}

DriftState Ddm::update(double x) {
    if (drift_) reset();

    // river.stats.Mean.update: mean += (w / n) * (x - mean), same operation order.
    n_ += 1.0;
    mean_ += (1.0 / n_) * (x - mean_);

    const double p_i = mean_;
    // Standard deviation of a Bernoulli mean over n trials.
    const double s_i = std::sqrt(p_i * (1 - p_i) / n_);

    if (n_ > warm_start_) {
        if (p_i + s_i <= ps_min_) {
            p_min_ = p_i;
            s_min_ = s_i;
            ps_min_ = p_min_ + s_min_;
        }
        warning_ = p_i + s_i > p_min_ + warning_threshold_ * s_min_;
        if (p_i + s_i > p_min_ + drift_threshold_ * s_min_) {
            drift_ = true;
            warning_ = false;
        }
    }
    if (drift_) return DriftState::drift;
    return warning_ ? DriftState::warning : DriftState::none;
}

}  // namespace mw::concept_drift

namespace mw::concept_drift {

nlohmann::json Ddm::save_state() const {
    return {{"n", detector_state::from_double(n_)}, {"mean", detector_state::from_double(mean_)}, {"p_min", detector_state::from_double(p_min_)}, {"s_min", detector_state::from_double(s_min_)},
            {"ps_min", detector_state::from_double(ps_min_)}, {"warning", warning_}, {"drift", drift_}};
}

void Ddm::restore_state(const nlohmann::json& state) {
    n_ = detector_state::to_double(state.at("n"));
    mean_ = detector_state::to_double(state.at("mean"));
    p_min_ = detector_state::to_double(state.at("p_min"));
    s_min_ = detector_state::to_double(state.at("s_min"));
    ps_min_ = detector_state::to_double(state.at("ps_min"));
    warning_ = state.at("warning").get<bool>();
    drift_ = state.at("drift").get<bool>();
}

}  // namespace mw::concept_drift
