#include "registry/catalog.h"

#include "alerts/sink_registry.h"
#include "detectors/anomaly_registry.h"
#include "detectors/concept_registry.h"
#include "detectors/feature_drift.h"
#include "detectors/performance_metrics.h"
#include "detectors/profile_drift.h"
#include "fairness/report_formats.h"
#include "retrain/runner_registry.h"

namespace mw::registry {

namespace {

template <typename Entry>
std::vector<config::ComponentInfo> infos(std::span<const Entry> entries) {
    std::vector<config::ComponentInfo> out;
    for (const auto& entry : entries) out.push_back(entry.info);
    return out;
}

config::Catalog build() {
    config::Catalog catalog;
    catalog.drift_methods = infos(drift::drift_methods());
    catalog.drift_modes = infos(drift::drift_modes());
    catalog.corrections = infos(drift::corrections());
    catalog.performance_metrics = infos(performance::performance_metrics());
    catalog.concept_detectors = infos(concept_drift::concept_detectors());
    catalog.anomaly_detectors = infos(anomaly::anomaly_methods());
    catalog.report_formats = infos(fairness::report_formats());
    catalog.retrain_runners = infos(retrain::job_runners());
    catalog.retrain_hooks = infos(retrain::retrain_hooks());
    catalog.alert_sinks = infos(alerts::alert_sinks());
    catalog.drift_method_not_from_profiles = [](std::string_view name, std::string_view mode_name,
                                                bool numeric_feature) -> std::string {
        const auto* method = drift::parse_drift_method(name);
        const auto mode = drift::parse_drift_mode(mode_name);
        if (method == nullptr || !mode) return {};
        return drift::profile_unsupported_reason(*method, *mode, numeric_feature,
                                                 !numeric_feature || method->categories_only);
    };
    return catalog;
}

}  // namespace

const config::Catalog& catalog() {
    static const config::Catalog built = build();
    return built;
}

config::LoadResult load_config_file(const std::string& path, const config::Environment& environment) {
    return config::load_config_file(path, environment, &catalog());
}

}  // namespace mw::registry
