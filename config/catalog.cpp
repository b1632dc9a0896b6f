#include "config/catalog.h"

#include "core/finding_kinds.h"

namespace mw::config {

namespace {

std::vector<std::string_view> names_of(const std::vector<ComponentInfo>& infos) {
    std::vector<std::string_view> names;
    for (const auto& info : infos) names.push_back(info.name);
    return names;
}

}  // namespace

std::vector<std::string_view> trigger_kind_names() {
    std::vector<std::string_view> names;
    for (const auto& kind : finding_kinds()) names.push_back(kind.name);
    names.push_back(manual_trigger);
    return names;
}

bool is_trigger_kind(std::string_view kind) { return kind == manual_trigger || is_finding_kind(kind); }

const std::vector<ComponentInfo>* Catalog::components(std::string_view registry) const {
    if (registry == "drift_methods") return &drift_methods;
    if (registry == "drift_modes") return &drift_modes;
    if (registry == "corrections") return &corrections;
    if (registry == "performance_metrics") return &performance_metrics;
    if (registry == "concept_detectors") return &concept_detectors;
    if (registry == "anomaly_detectors") return &anomaly_detectors;
    if (registry == "report_formats") return &report_formats;
    if (registry == "retrain_runners") return &retrain_runners;
    if (registry == "retrain_hooks") return &retrain_hooks;
    if (registry == "alert_sinks") return &alert_sinks;
    return nullptr;
}

std::vector<std::string_view> Catalog::names(std::string_view registry) const {
    if (registry == "finding_kinds") {
        std::vector<std::string_view> names;
        for (const auto& kind : finding_kinds()) names.push_back(kind.name);
        return names;
    }
    if (registry == "trigger_kinds") return trigger_kind_names();
    const auto* infos = components(registry);
    return infos ? names_of(*infos) : std::vector<std::string_view>();
}

const ComponentInfo* Catalog::find(std::string_view registry, std::string_view name) const {
    const auto* infos = components(registry);
    if (infos == nullptr) return nullptr;
    for (const auto& info : *infos)
        if (info.name == name) return &info;
    return nullptr;
}

}  // namespace mw::config
