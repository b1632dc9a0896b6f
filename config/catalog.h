// The names a configuration may give to pluggable components, and the checks
// they need, as the loader sees them. The registries live beside the code
// they register, in the stages above config/ (detectors/, alerts/, retrain/,
// fairness/); config/ must not depend on them, so the loader consults them
// only through this struct of plain ComponentInfo rows, which the one place
// that sees every stage (registry/catalog.cpp) fills. Finding kinds, cron
// expressions and time zones come from core/ directly. A loader given no
// catalog checks the file's own shape only, not component names, their
// options or programs on this machine (the config folder's unit tests); the
// daemon and the CLI always give registry::catalog().
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "config/component.h"

namespace mw::config {

struct Catalog {
    std::vector<ComponentInfo> drift_methods;
    std::vector<ComponentInfo> drift_modes;  // how a feature's verdict is reached (drift.mode)
    std::vector<ComponentInfo> corrections;  // multiple-testing corrections (drift.correction)
    std::vector<ComponentInfo> performance_metrics;
    std::vector<ComponentInfo> concept_detectors;
    std::vector<ComponentInfo> anomaly_detectors;
    std::vector<ComponentInfo> report_formats;
    std::vector<ComponentInfo> retrain_runners;
    std::vector<ComponentInfo> retrain_hooks;
    std::vector<ComponentInfo> alert_sinks;
    // Why a profile-only model (store_raw: false) may not use drift method
    // `method` in drift mode `mode` for a feature of this kind ("" when it
    // may, or for an unknown name): it cannot be computed from feature
    // profiles, or its verdict from them measured below issue 18's bar;
    // detectors/profile_drift.h holds the rule (profile_unsupported_reason).
    // Null: not checked.
    std::string (*drift_method_not_from_profiles)(std::string_view method, std::string_view mode,
                                                  bool numeric_feature) = nullptr;

    // The names of the registry an option row names (Option::registry):
    // "drift_methods", "drift_modes", "corrections", "performance_metrics", "concept_detectors",
    // "anomaly_detectors", "report_formats", "retrain_runners",
    // "retrain_hooks", "alert_sinks", "finding_kinds", "trigger_kinds". Empty for an unknown registry.
    std::vector<std::string_view> names(std::string_view registry) const;
    // The component `name` of a registry with option tables; nullptr when unknown.
    const ComponentInfo* find(std::string_view registry, std::string_view name) const;

private:
    const std::vector<ComponentInfo>* components(std::string_view registry) const;
};

// A retrain trigger's kind: a finding kind, or "manual" (POST /v1/jobs).
bool is_trigger_kind(std::string_view kind);
std::vector<std::string_view> trigger_kind_names();

}  // namespace mw::config
