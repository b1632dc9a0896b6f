#include "detectors/anomaly_ensemble.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mw::anomaly {

namespace {

// No options of its own: each member takes its defaults (see the header).
std::span<const config::SettingRow> ensemble_option_table() { return {}; }

std::unique_ptr<AnomalyDetector> make_member(std::string_view name) {
    auto made = make_anomaly_detector(name, std::vector<std::string>{});
    // The members' defaults are checked by their own tests; failing here is a programming error.
    if (!made.detector) throw std::logic_error("ensemble member " + std::string(name) + ": " + made.error);
    return std::move(made.detector);
}

}  // namespace

EnsembleDetector::EnsembleDetector(std::unique_ptr<AnomalyDetector> robust, std::unique_ptr<AnomalyDetector> contextual)
    : robust_(std::move(robust)), contextual_(std::move(contextual)) {}

double EnsembleDetector::score(double timestamp_s, double value) {
    // Both members see every point, so each keeps its own model of the series.
    const double robust = robust_->score(timestamp_s, value);
    const double contextual = contextual_->score(timestamp_s, value);
    return std::max(robust, contextual);
}

nlohmann::json EnsembleDetector::save_state() const {
    return {{"robust", robust_->save_state()}, {"contextual", contextual_->save_state()}};
}

void EnsembleDetector::restore_state(const nlohmann::json& state) {
    robust_->restore_state(state.at("robust"));
    contextual_->restore_state(state.at("contextual"));
}

std::span<const config::SettingRow> EnsembleDetector::options() { return ensemble_option_table(); }

std::unique_ptr<AnomalyDetector> EnsembleDetector::make(const config::Settings&) {
    return std::make_unique<EnsembleDetector>(make_member("robust"), make_member("contextual"));
}

}  // namespace mw::anomaly
