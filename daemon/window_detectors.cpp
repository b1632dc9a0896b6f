#include "daemon/window_detectors.h"

#include <cmath>
#include <string>

#include "daemon/detector_options.h"
#include "daemon/window_table.h"
#include "detectors/performance_thresholds.h"
#include "detectors/segment_gaps.h"

namespace mw::daemon {

void set_drift_gauges(DaemonMetrics& metrics, const std::string& model, const drift::DriftVerdict& verdict) {
    for (const auto& feature : verdict.features) {
        // The effect size is a different distance for numeric and categorical
        // features (detectors/feature_drift.h), so each has its own gauge.
        auto& effect = feature.categorical ? metrics.feature_drift_jensen_shannon : metrics.feature_drift_wasserstein;
        effect.Add({{"model", model}, {"feature", feature.feature}}).Set(feature.effect_size);
        metrics.feature_drifted.Add({{"model", model}, {"feature", feature.feature}}).Set(feature.drifted ? 1 : 0);
    }
    metrics.dataset_drift.Add({{"model", model}}).Set(verdict.dataset_drift ? 1 : 0);
    metrics.drift_share.Add({{"model", model}}).Set(verdict.share);
}

drift::DriftVerdict detect_drift(ReferenceFit& fitted, const config::ModelOptions& options,
                                 const drift::DriftTable& table, const WindowSpan& span, DaemonMetrics& metrics,
                                 WindowVerdicts& verdicts) {
    const auto& model = options.schema.name;
    const auto& schema = fitted.judged;
    auto& findings = verdicts.findings;
    findings.clear();
    drift::DatasetDriftResult overall;
    // No feature reference: the model declares no feature the rows hold (a
    // profile-only model's features are judged from profiles).
    if (fitted.features) {
        overall = fitted.features->evaluate(features_view(table, schema, {}));
        findings = drift::to_findings(overall, model, span.start_us, span.end_us);
        set_drift_gauges(metrics, model, overall.overall);
    }
    for (auto& [attribute, reference] : fitted.segments) {
        // The segment references repeat the overall evaluation; keep only
        // what is per segment (subjects "feature[attribute=value]").
        const auto segmented = reference.evaluate(features_view(table, schema, {attribute}));
        for (auto& finding : drift::to_findings(segmented, model, span.start_us, span.end_us))
            if (finding.subject.find('[') != std::string::npos) findings.push_back(std::move(finding));
        for (auto& finding : segments::segment_drift_findings(segmented, options.drift.drift_share, model,
                                                              span.start_us, span.end_us,
                                                              segments::SegmentGapOptions{}.min_segment_rows))
            findings.push_back(std::move(finding));
    }
    if (fitted.outputs) {
        for (auto& finding : drift::to_findings(fitted.outputs->evaluate(outputs_view(table)), model,
                                                span.start_us, span.end_us)) {
            if (finding.kind != "feature_drift") continue;
            finding.kind = "prediction_drift";
            findings.push_back(std::move(finding));
        }
    }
    return overall.overall;
}

void check_quality(const ReferenceFit& fitted, const config::ModelOptions& options,
                   const std::vector<store::WindowRow>& rows, const std::vector<nlohmann::json>& feature_objects,
                   const WindowSpan& span, WindowVerdicts& verdicts) {
    std::vector<std::string> ids;
    ids.reserve(rows.size());
    for (const auto& row : rows) ids.push_back(row.id);
    const auto report = quality::evaluate_quality(*fitted.quality, options.schema, feature_objects, ids, {});
    for (auto& finding : quality::to_findings(report, options.schema.name, span.start_us, span.end_us))
        verdicts.findings.push_back(std::move(finding));
    for (const auto& metric : report.metrics)
        if (std::isfinite(metric.value))
            verdicts.metrics.push_back({"quality_" + metric.name, metric.feature, metric.value, false});
}

void estimate_performance(const ReferenceFit& fitted, const config::ModelOptions& options,
                          const std::vector<store::WindowRow>& rows, const WindowSpan& span,
                          WindowVerdicts& verdicts) {
    // Until labels arrive: performance estimated from the scores (CBPE).
    const auto window_view = performance_window(rows, false);
    if (window_view.score.empty()) return;
    const auto spec = performance_spec(options, "");
    std::vector<bool> predicted;
    for (const auto& label : window_view.y_pred) predicted.push_back(label == spec.positive_class);
    const auto estimate = performance::estimate_cbpe(window_view.score, predicted, &*fitted.cbpe);
    if (!estimate.ok()) return;
    for (const auto& metric : estimate.metrics)
        if (metric.value) verdicts.metrics.push_back({metric.name, "", *metric.value, true});
    for (auto& finding : performance::evaluate_thresholds(performance::to_metric_set(estimate), true,
                                                          metric_thresholds(options.performance), fitted.bands,
                                                          {options.schema.name, "", span.start_us, span.end_us}))
        verdicts.findings.push_back(std::move(finding));
}

}  // namespace mw::daemon
