#include "daemon/monitor_checkpoint.h"

#include <nlohmann/json.hpp>

#include "detectors/anomaly_registry.h"
#include "detectors/concept_registry.h"

namespace mw::daemon {
namespace {

constexpr int checkpoint_format = 1;

nlohmann::json checkpoint_detector_options(const std::string& detector, const std::vector<std::string>& params) {
    return {{"detector", detector}, {"params", params}};
}

}  // namespace

std::string save_monitor_state(const config::ModelOptions& options, const concept_drift::ConceptDetector* concept_detector,
                               const AnomalyDetectors& anomaly) {
    nlohmann::json state{{"format", checkpoint_format}};
    if (concept_detector != nullptr) {
        auto saved = checkpoint_detector_options(options.concept_drift.detector, options.concept_drift.params);
        saved["state"] = concept_detector->save_state();
        state["concept"] = std::move(saved);
    }
    auto series = nlohmann::json::object();
    for (const auto& [name, detector] : anomaly)
        if (detector) series[name] = detector->save_state();
    auto saved = checkpoint_detector_options(options.anomaly.detector, options.anomaly.params);
    saved["series"] = std::move(series);
    state["anomaly"] = std::move(saved);
    return state.dump();
}

RestoredMonitorState restore_monitor_state(const config::ModelOptions& options, const std::string& state_json) {
    RestoredMonitorState restored;
    const auto note = [&](const std::string& what) {
        restored.not_restored += (restored.not_restored.empty() ? "" : "; ") + what;
    };
    const auto& concept_options = options.concept_drift;
    if (!concept_options.detector.empty()) {
        auto made = concept_drift::make_concept_detector(concept_options.detector, concept_options.params);
        if (made.ok()) restored.concept_detector = std::move(made.detector);
    }
    const auto state = nlohmann::json::parse(state_json, nullptr, false);
    if (!state.is_object() || state.value("format", 0) != checkpoint_format) {
        note("the checkpoint is not one this daemon writes");
        return restored;
    }
    // Concept-drift detector.
    if (restored.concept_detector) {
        const auto saved = state.find("concept");
        if (saved == state.end() || !saved->is_object()) {
            note("no concept-drift state saved");
        } else if (saved->value("detector", "") != concept_options.detector ||
                   saved->value("params", nlohmann::json::array()) != nlohmann::json(concept_options.params)) {
            note("the concept-drift detector or its options changed");
        } else {
            try {
                restored.concept_detector->restore_state(saved->at("state"));
            } catch (const std::exception& failure) {
                auto fresh = concept_drift::make_concept_detector(concept_options.detector, concept_options.params);
                restored.concept_detector = std::move(fresh.detector);
                note(std::string("the concept-drift state is unusable: ") + failure.what());
            }
        }
    }
    // Anomaly detectors, one per series, made as score_anomalies makes them.
    const auto& anomaly_options = options.anomaly;
    const auto saved = state.find("anomaly");
    if (anomaly_options.detector.empty() || saved == state.end() || !saved->is_object()) return restored;
    if (saved->value("detector", "") != anomaly_options.detector ||
        saved->value("params", nlohmann::json::array()) != nlohmann::json(anomaly_options.params)) {
        note("the anomaly detector or its options changed");
        return restored;
    }
    const auto series = saved->find("series");
    if (series == saved->end() || !series->is_object()) return restored;
    for (const auto& [name, detector_state] : series->items()) {
        auto made = anomaly::make_anomaly_detector(anomaly_options.detector, anomaly_options.params);
        if (!made.detector) continue;
        try {
            made.detector->restore_state(detector_state);
            restored.anomaly[name] = std::move(made.detector);
        } catch (const std::exception& failure) {
            note("the anomaly state of " + name + " is unusable: " + failure.what());
        }
    }
    return restored;
}

}  // namespace mw::daemon
