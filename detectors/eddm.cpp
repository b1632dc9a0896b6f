#include "detectors/eddm.h"

#include <cmath>

#include <fmt/format.h>

#include "detectors/detector_state.h"

namespace mw::concept_drift {

namespace {

// River's defaults (river.drift.binary.EDDM, River 0.21).
const config::SettingRow eddm_options[] = {
    {.key = "warm_start", .kind = config::ValueKind::integer, .default_text = "30", .min = 0, .max = 1'000'000'000'000, .help = "values and errors seen before a warning or a drift can be reported"},
    {.key = "alpha", .kind = config::ValueKind::number, .default_text = "0.95", .min_number = 0, .max_number = 1, .min_exclusive = true, .max_exclusive = true, .help = "warning when (p' + 2 s') / max falls below this; must be >= beta"},
    {.key = "beta", .kind = config::ValueKind::number, .default_text = "0.9", .min_number = 0, .max_number = 1, .min_exclusive = true, .max_exclusive = true, .help = "drift when (p' + 2 s') / max falls below this"},
};

}  // namespace

std::span<const config::SettingRow> eddm_option_table() { return eddm_options; }

std::string eddm_check_options(const config::Settings& options) {
    if (options.number("alpha") < options.number("beta"))
        return fmt::format("alpha must be >= beta, got alpha={} beta={}", options.number("alpha"),
                           options.number("beta"));
    return "";
}

Eddm::Eddm(config::Settings options)
    : options_(std::move(options)),
      warm_start_(static_cast<double>(options_.integer("warm_start"))),
      alpha_(options_.number("alpha")),
      beta_(options_.number("beta")) {
    reset();
}

void Eddm::reset() {
    distance_n_ = 0.0;
    distance_mean_ = 0.0;
    distance_s_ = 0.0;
    n_ = 0;
    last_error_ = 0;
    n_errors_ = 0;
    p2s_max_ = -1.0;
    warning_ = false;
    drift_ = false;
}

DriftState Eddm::update(double x) {
    if (drift_) reset();

    ++n_;
    if (x == 1.0) {
        ++n_errors_;
        // river.stats.Var.update (Welford), same operation order as River.
        const double distance = static_cast<double>(n_ - last_error_);
        const double mean_old = distance_mean_;
        distance_n_ += 1.0;
        distance_mean_ += (1.0 / distance_n_) * (distance - distance_mean_);
        distance_s_ += (distance - mean_old) * (distance - distance_mean_);

        if (static_cast<double>(n_) > warm_start_) {
            const double p_prime = distance_mean_;
            const double variance = distance_n_ > 1.0 ? distance_s_ / (distance_n_ - 1.0) : 0.0;
            // River writes `** 0.5`, which CPython evaluates with pow().
            const double s_prime = std::pow(variance, 0.5);
            const double p2s_prime = p_prime + 2 * s_prime;
            if (p2s_prime > p2s_max_) {
                p2s_max_ = p2s_prime;
            } else if (static_cast<double>(n_errors_) > warm_start_) {
                const double level = p2s_prime / p2s_max_;
                if (level < beta_)
                    drift_ = true;
                else if (level < alpha_)
                    warning_ = true;
                else
                    warning_ = false;
            }
        }
        last_error_ = n_;
    }
    // As in River, the warning flag only changes on errors: it stays up
    // through the successes that follow the error that raised it.
    if (drift_) return DriftState::drift;
    return warning_ ? DriftState::warning : DriftState::none;
}

}  // namespace mw::concept_drift

namespace mw::concept_drift {

nlohmann::json Eddm::save_state() const {
    return {{"distance_n", detector_state::from_double(distance_n_)}, {"distance_mean", detector_state::from_double(distance_mean_)},
            {"distance_s", detector_state::from_double(distance_s_)}, {"n", n_}, {"last_error", last_error_}, {"n_errors", n_errors_},
            {"p2s_max", detector_state::from_double(p2s_max_)}, {"warning", warning_}, {"drift", drift_}};
}

void Eddm::restore_state(const nlohmann::json& state) {
    distance_n_ = detector_state::to_double(state.at("distance_n"));
    distance_mean_ = detector_state::to_double(state.at("distance_mean"));
    distance_s_ = detector_state::to_double(state.at("distance_s"));
    n_ = state.at("n").get<std::int64_t>();
    last_error_ = state.at("last_error").get<std::int64_t>();
    n_errors_ = state.at("n_errors").get<std::int64_t>();
    p2s_max_ = detector_state::to_double(state.at("p2s_max"));
    warning_ = state.at("warning").get<bool>();
    drift_ = state.at("drift").get<bool>();
}

}  // namespace mw::concept_drift
