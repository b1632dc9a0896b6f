#include "daemon/profile_detectors.h"

#include <cmath>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/detector_options.h"
#include "daemon/window_detectors.h"
#include "detectors/profile_drift.h"
#include "detectors/profile_quality.h"

namespace mw::daemon {
namespace {

// What never runs for a profile-only model and why (config/sections.cpp
// refuses the settings that would ask for them explicitly).
const char* const profile_only_not_computed[][2] = {
    {"multivariate_drift", "the PCA reconstruction error needs every row's features together"},
    {"segment drift", "per-segment drift needs each row's features beside its attributes"},
    {"root cause by feature", "the ranking bins rows by their feature values; segments by attribute are ranked"},
};

// The data-quality checks that read every row's JSON or id
// (detectors/profile_quality.h); duplicate_ids still runs on the rows.
const char* const quality_checks_not_from_profiles[] = {"type_error_rate", "declared_feature_absent",
                                                        "undeclared_feature", "not_an_object"};

void mark_from_profiles(Finding& finding, const nlohmann::json& extra) {
    auto evidence = nlohmann::json::parse(finding.evidence_json, nullptr, false);
    if (evidence.is_discarded() || !evidence.is_object()) evidence = nlohmann::json::object();
    evidence["from_profiles"] = true;
    for (const auto& [key, value] : extra.items()) evidence[key] = value;
    finding.evidence_json = evidence.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

drift::DriftVerdict detect_profile_drift(const stats::ProfileSet& reference, const stats::ProfileSet& window,
                                         std::size_t window_rows, const config::ModelOptions& options,
                                         const WindowSpan& span, DaemonMetrics& metrics, WindowVerdicts& verdicts) {
    const auto& model = options.schema.name;
    const auto drift = drift_options(options.drift);
    std::vector<drift::ProfileFeatureDrift> features;
    nlohmann::json not_computed = nlohmann::json::array();
    for (const auto& feature : options.schema.features) {
        const auto chosen = drift.per_feature.find(feature.name);
        const auto& choice = chosen != drift.per_feature.end() ? chosen->second : drift.default_choice;
        if (feature.type == FeatureType::numeric) {
            const auto* ref = reference.find_numeric(feature.name);
            const auto* cur = window.find_numeric(feature.name);
            if (ref != nullptr && cur != nullptr) {
                features.push_back(drift::evaluate_numeric_profiles(feature.name, *ref, *cur, choice, drift));
                continue;
            }
        } else {
            const auto* ref = reference.find_categorical(feature.name);
            const auto* cur = window.find_categorical(feature.name);
            if (ref != nullptr && cur != nullptr) {
                features.push_back(drift::evaluate_categorical_profiles(feature.name, *ref, *cur, choice, drift));
                continue;
            }
        }
        not_computed.push_back({{"subject", feature.name},
                                {"reason", reference.find_numeric(feature.name) == nullptr &&
                                                   reference.find_categorical(feature.name) == nullptr
                                               ? "not in the reference's profile (added since it was taken)"
                                               : "no profile of this type in the window"}});
    }
    drift::decide_profile_drift(features, drift);

    drift::DatasetDriftResult result;
    auto& verdict = result.overall;
    for (const auto& feature : features) {
        verdict.features.push_back(feature.result);
        if (!feature.result.ok()) {
            not_computed.push_back({{"subject", feature.result.feature}, {"reason", feature.result.error}});
            continue;
        }
        ++verdict.evaluated;
        if (feature.result.drifted) ++verdict.drifted;
    }
    verdict.share = verdict.evaluated == 0 ? 0.0
                                           : static_cast<double>(verdict.drifted) / static_cast<double>(verdict.evaluated);
    verdict.dataset_drift = verdict.evaluated > 0 && verdict.share >= drift.drift_share;
    if (drift.mode == drift::DriftMode::robust && drift.noise_resamples > 0)
        not_computed.push_back({{"subject", "noise gate"},
                                {"reason", "robust mode's noise gate resamples the reference's rows, which a profile "
                                           "does not keep; the correction and the effect floor apply"}});
    for (const auto& [subject, reason] : profile_only_not_computed)
        not_computed.push_back({{"subject", subject}, {"reason", reason}});

    auto findings = drift::to_findings(result, model, span.start_us, span.end_us);
    for (auto& finding : findings) {
        nlohmann::json extra = nlohmann::json::object();
        if (finding.kind == "dataset_drift") {
            extra["not_computed"] = not_computed;
            extra["profile_rows"] = window.rows();
            extra["window_rows"] = window_rows;
        } else {
            for (const auto& feature : features) {
                if (feature.result.feature != finding.subject) continue;
                extra["basis"] = feature.basis;
                extra["exact"] = feature.exact;
                if (feature.statistic_bound) extra["statistic_bound"] = *feature.statistic_bound;
                if (feature.effect_size_bound) extra["effect_size_bound"] = *feature.effect_size_bound;
            }
        }
        mark_from_profiles(finding, extra);
    }
    set_drift_gauges(metrics, model, verdict);
    for (auto& finding : findings) verdicts.findings.push_back(std::move(finding));
    return verdict;
}

void check_profile_quality(const stats::ProfileSet& reference, const stats::ProfileSet& window,
                           const config::ModelOptions& options, const WindowSpan& span, WindowVerdicts& verdicts) {
    quality::QualityReport report;
    report.rows = window.rows();
    for (const auto& feature : options.schema.features) {
        if (feature.type == FeatureType::numeric) {
            const auto* ref = reference.find_numeric(feature.name);
            const auto* cur = window.find_numeric(feature.name);
            if (ref != nullptr && cur != nullptr)
                quality::evaluate_numeric_profile_quality(feature.name, *ref, *cur, {}, report);
        } else {
            const auto* ref = reference.find_categorical(feature.name);
            const auto* cur = window.find_categorical(feature.name);
            if (ref != nullptr && cur != nullptr)
                quality::evaluate_categorical_profile_quality(feature.name, *ref, *cur, {}, report);
        }
    }
    nlohmann::json not_computed = nlohmann::json::array();
    for (const char* check : quality_checks_not_from_profiles) not_computed.push_back(check);
    for (auto& finding : quality::to_findings(report, options.schema.name, span.start_us, span.end_us)) {
        mark_from_profiles(finding, {{"checks_not_computed", not_computed}});
        verdicts.findings.push_back(std::move(finding));
    }
    for (const auto& metric : report.metrics)
        if (std::isfinite(metric.value))
            verdicts.metrics.push_back({"quality_" + metric.name, metric.feature, metric.value, false});
}

}  // namespace mw::daemon
