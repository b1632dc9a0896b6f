#include "daemon/profile_detectors.h"

#include <cmath>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/log.h"
#include "daemon/detector_options.h"
#include "daemon/window_detectors.h"
#include "detectors/profile_drift.h"
#include "detectors/profile_quality.h"
#include "detectors/segment_gaps.h"

namespace mw::daemon {
namespace {

// What never runs for a profile-only model and why (config/sections.cpp
// refuses the settings that would ask for them explicitly).
const char* const profile_only_not_computed[][2] = {
    {"multivariate_drift", "the PCA reconstruction error needs every row's features together"},
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

nlohmann::json profile_feature_evidence(const drift::ProfileFeatureDrift& feature) {
    nlohmann::json extra{{"basis", feature.basis}, {"exact", feature.exact}, {"undecided", feature.undecided}};
    if (feature.statistic_bound) extra["statistic_bound"] = *feature.statistic_bound;
    if (feature.effect_size_bound) extra["effect_size_bound"] = *feature.effect_size_bound;
    return extra;
}

// Each declared feature of `options` evaluated from the two sets and decided
// together (the correction across them); what could not be is added to
// `not_computed` (subjects suffixed with `suffix`, e.g. "[sex=F]").
std::vector<drift::ProfileFeatureDrift> evaluate_profile_features(const stats::ProfileSet& reference,
                                                                  const stats::ProfileSet& window,
                                                                  const config::ModelOptions& options,
                                                                  const drift::DriftOptions& drift,
                                                                  drift::ProfileNoiseGates& noise,
                                                                  const std::string& suffix,
                                                                  nlohmann::json& not_computed) {
    std::vector<drift::ProfileFeatureDrift> features;
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
        not_computed.push_back({{"subject", feature.name + suffix},
                                {"reason", reference.find_numeric(feature.name) == nullptr &&
                                                   reference.find_categorical(feature.name) == nullptr
                                               ? "not in the reference's profile (added since it was taken)"
                                               : "no profile of this type in the window"}});
    }
    noise.set(features, reference, suffix, drift);
    drift::decide_profile_drift(features, drift);
    for (const auto& feature : features)
        if (!feature.result.ok())
            not_computed.push_back({{"subject", feature.result.feature + suffix}, {"reason", feature.result.error}});
    return features;
}

drift::DriftVerdict profile_drift_verdict(const std::vector<drift::ProfileFeatureDrift>& features, double drift_share) {
    drift::DriftVerdict verdict;
    for (const auto& feature : features) {
        verdict.features.push_back(feature.result);
        if (!feature.result.ok()) continue;
        ++verdict.evaluated;
        if (feature.result.drifted) ++verdict.drifted;
    }
    verdict.share = verdict.evaluated == 0 ? 0.0
                                           : static_cast<double>(verdict.drifted) / static_cast<double>(verdict.evaluated);
    verdict.drift_share = drift_share;
    verdict.dataset_drift = verdict.evaluated > 0 && verdict.share >= drift_share;
    return verdict;
}

// Why `attribute`'s segments cannot be judged from these two sets ("" when
// they can).
std::string segments_unavailable(const stats::SegmentProfiles* reference, const stats::SegmentProfiles* window,
                                 std::uint32_t max_values) {
    using State = stats::SegmentProfiles::State;
    for (const auto& [side, segments] : {std::pair{"reference", reference}, std::pair{"window", window}}) {
        if (segments == nullptr)
            return fmt::format("the {}'s profile has no segments of this attribute (profiled before it was one of "
                               "drift.segments)",
                               side);
        if (segments->state == State::overflowed)
            return fmt::format("more than drift.max_segment_values = {} values of this attribute in the {}: no "
                               "value's profile is kept",
                               max_values, side);
        if (segments->state == State::partial)
            return fmt::format("some of the {}'s rows were profiled before this attribute was one of "
                               "drift.segments",
                               side);
    }
    return {};
}

// Segment drift from each drift.segments attribute's per-value profiles, as
// daemon/window_detectors.cpp's from rows: a value's features judged against
// the same value's reference profile when it has enough reference rows,
// feature_drift and dataset_drift findings with "[attribute=value]"
// subjects, and segment_drift findings (detectors/segment_gaps.h).
void detect_profile_segment_drift(const stats::ProfileSet& reference, const stats::ProfileSet& window,
                                  const drift::DriftVerdict& overall, const config::ModelOptions& options,
                                  const drift::DriftOptions& drift, drift::ProfileNoiseGates& noise,
                                  const WindowSpan& span, nlohmann::json& not_computed, WindowVerdicts& verdicts) {
    const auto& model = options.schema.name;
    const std::size_t min_reference_rows = drift::DatasetDriftOptions{}.min_segment_reference_rows;
    for (const auto& attribute : options.drift.segments) {
        const auto* reference_segments = reference.find_segments(attribute);
        const auto* window_segments = window.find_segments(attribute);
        if (auto why = segments_unavailable(reference_segments, window_segments, options.drift.max_segment_values);
            !why.empty()) {
            not_computed.push_back({{"subject", "segment drift of " + attribute}, {"reason", std::move(why)}});
            continue;
        }
        drift::DatasetDriftResult segmented;
        segmented.overall = overall;
        segmented.segment_column = attribute;
        std::map<std::string, nlohmann::json> evidence;  // finding subject -> the profile evidence
        for (const auto& [value, current] : window_segments->by_value) {
            drift::SegmentDriftResult segment;
            segment.value = value;
            segment.current_rows = current.rows();
            const auto found = reference_segments->by_value.find(value);
            if (found == reference_segments->by_value.end()) {
                segment.error = "value never seen in the reference";
            } else if (segment.reference_rows = found->second.rows(); segment.reference_rows < min_reference_rows) {
                segment.error = fmt::format("{} reference rows, fewer than the {} needed", segment.reference_rows,
                                            min_reference_rows);
            } else {
                const std::string suffix = fmt::format("[{}={}]", attribute, value);
                const auto features =
                    evaluate_profile_features(found->second, current, options, drift, noise, suffix, not_computed);
                segment.verdict = profile_drift_verdict(features, drift.drift_share);
                nlohmann::json undecided = nlohmann::json::array();
                for (const auto& feature : features) {
                    evidence[feature.result.feature + suffix] = profile_feature_evidence(feature);
                    if (feature.undecided) undecided.push_back(feature.result.feature);
                }
                evidence[suffix] = {{"undecided_features", undecided}};
            }
            segmented.segments.push_back(std::move(segment));
        }
        for (auto& finding : drift::to_findings(segmented, model, span.start_us, span.end_us)) {
            if (finding.subject.find('[') == std::string::npos) continue;
            const auto found = evidence.find(finding.subject);
            mark_from_profiles(finding, found == evidence.end() ? nlohmann::json::object() : found->second);
            verdicts.findings.push_back(std::move(finding));
        }
        for (auto& finding : segments::segment_drift_findings(segmented, options.drift.drift_share, model,
                                                              span.start_us, span.end_us,
                                                              segments::SegmentGapOptions{}.min_segment_rows)) {
            // The segment's features undecided within the sketches' bounds, if any.
            const auto found = evidence.find("[" + finding.subject + "]");
            mark_from_profiles(finding, found == evidence.end() ? nlohmann::json::object() : found->second);
            verdicts.findings.push_back(std::move(finding));
        }
    }
}

}  // namespace

drift::DriftVerdict detect_profile_drift(const stats::ProfileSet& reference, const stats::ProfileSet& window,
                                         std::size_t window_rows, const config::ModelOptions& options,
                                         drift::ProfileNoiseGates& noise, const WindowSpan& span,
                                         DaemonMetrics& metrics, WindowVerdicts& verdicts,
                                         std::span<const store::SkippedChunk> skipped) {
    const auto& model = options.schema.name;
    const auto drift = drift_options(options.drift);
    nlohmann::json not_computed = nlohmann::json::array();
    const auto features = evaluate_profile_features(reference, window, options, drift, noise, "", not_computed);
    drift::DatasetDriftResult result;
    result.overall = profile_drift_verdict(features, drift.drift_share);
    const auto& verdict = result.overall;
    for (const auto& [subject, reason] : profile_only_not_computed)
        not_computed.push_back({{"subject", subject}, {"reason", reason}});

    WindowVerdicts segment_verdicts;
    detect_profile_segment_drift(reference, window, verdict, options, drift, noise, span, not_computed,
                                 segment_verdicts);

    auto findings = drift::to_findings(result, model, span.start_us, span.end_us);
    for (auto& finding : findings) {
        nlohmann::json extra = nlohmann::json::object();
        if (finding.kind == "dataset_drift") {
            extra["not_computed"] = not_computed;
            extra["profile_rows"] = window.rows();
            extra["window_rows"] = window_rows;
            if (!skipped.empty()) {
                nlohmann::json chunks = nlohmann::json::array();
                for (const auto& chunk : skipped)
                    chunks.push_back({{"id", chunk.id}, {"rows", chunk.rows}, {"error", chunk.error}});
                extra["skipped_chunks"] = std::move(chunks);
            }
        } else {
            for (const auto& feature : features)
                if (feature.result.feature == finding.subject) extra = profile_feature_evidence(feature);
        }
        mark_from_profiles(finding, extra);
    }
    set_drift_gauges(metrics, model, verdict);
    for (auto& finding : findings) verdicts.findings.push_back(std::move(finding));
    for (auto& finding : segment_verdicts.findings) verdicts.findings.push_back(std::move(finding));
    return verdict;
}

void log_skipped_chunks(std::string_view model, std::string_view merging,
                        std::span<const store::SkippedChunk> skipped) {
    for (const auto& chunk : skipped)
        log::error("profile_chunk_skipped model={} {} chunk={} rows={} error=\"{}\"", model, merging, chunk.id,
                   chunk.rows, chunk.error);
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
