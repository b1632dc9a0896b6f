#include "daemon/performance_judgement.h"

#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

#include "core/log.h"
#include "daemon/detector_options.h"
#include "daemon/window_table.h"
#include "detectors/performance_metrics.h"
#include "detectors/performance_thresholds.h"
#include "detectors/segment_gaps.h"
#include "stats/descriptive.h"

namespace mw::daemon {
namespace {

// The outcomes of a window's labelled rows, as labels_view() gives them.
drift::DriftTable window_labels(const std::vector<store::WindowRow>& rows, bool regression) {
    drift::DriftTable table;
    table.rows = rows.size();
    drift::ColumnData label;
    label.name = label_column;
    label.numeric = regression;
    for (const auto& row : rows) {
        if (regression)
            label.numbers.push_back(row.value.value_or(std::nan("")));
        else
            label.texts.push_back(row.label.value_or(""));
    }
    table.columns.push_back(std::move(label));
    return labels_view(table);
}

std::string attribute_of(const nlohmann::json& attributes, const std::string& name) {
    const auto it = attributes.is_object() ? attributes.find(name) : attributes.end();
    if (it == attributes.end()) return {};
    return it->is_string() ? it->get<std::string>() : it->dump();
}

}  // namespace

double label_coverage(const std::vector<store::WindowRow>& rows, bool regression) {
    std::size_t labelled = 0;
    for (const auto& row : rows) labelled += (regression ? row.value.has_value() : row.label.has_value()) ? 1 : 0;
    return static_cast<double>(labelled) / static_cast<double>(rows.size());
}

WindowVerdicts judge_window_performance(ReferenceFit& fitted, const config::ModelOptions& options,
                                        concept_drift::ConceptDetector* concept_detector,
                                        const std::vector<store::WindowRow>& rows, const store::StoredWindow& window,
                                        double coverage) {
    WindowVerdicts judged;
    const auto& model = options.schema.name;
    const bool regression = options.schema.prediction_type == PredictionType::regression;
    const std::int64_t start_us = window.first.ts_us;
    const std::int64_t end_us = window.last.ts_us;
    const auto thresholds = metric_thresholds(options.performance);
    judged.metrics.push_back({"label_coverage", "", coverage, false});
    const auto view = performance_window(rows, regression);
    const auto report = performance::compute_performance(view, performance_spec(options, ""));
    if (!report.ok()) {
        log::warning("performance_unavailable model={} window={} error=\"{}\"", model, window.sequence, report.error);
        return judged;
    }
    const auto& overall = report.overall;
    if (overall.delay.p50_seconds) judged.metrics.push_back({"label_delay_p50_seconds", "", *overall.delay.p50_seconds, false});
    if (overall.delay.p95_seconds) judged.metrics.push_back({"label_delay_p95_seconds", "", *overall.delay.p95_seconds, false});
    for (const auto& metric : overall.metrics)
        if (metric.value) judged.metrics.push_back({metric.name, "", *metric.value, false});
    for (auto& finding :
         performance::evaluate_thresholds(overall, false, thresholds, fitted.bands, {model, "", start_us, end_us}))
        judged.findings.push_back(std::move(finding));
    if (const auto labels = window_labels(rows, regression); fitted.labels && labels.rows >= min_labelled_rows) {
        for (auto& finding : drift::to_findings(fitted.labels->evaluate(labels), model, start_us, end_us)) {
            if (finding.kind != "feature_drift") continue;
            finding.kind = "label_drift";
            judged.findings.push_back(std::move(finding));
        }
    }

    // Per segment: the metrics, and the gap of each segment against the rest.
    std::vector<nlohmann::json> attributes;
    if (!options.drift.segments.empty())
        for (const auto& row : rows) attributes.push_back(nlohmann::json::parse(row.attributes_json, nullptr, false));
    for (const auto& attribute : options.drift.segments) {
        auto segmented = view;
        for (const auto& row_attributes : attributes) segmented.segment.push_back(attribute_of(row_attributes, attribute));
        const auto by_segment = performance::compute_performance(segmented, performance_spec(options, attribute));
        // A segment's metrics are stored only from the model's minimum segment
        // size, the one its segment gaps and root-cause ranking use (for one
        // row, accuracy is that person's right-or-wrong), and rounded
        // (segments::published_rate_step / 10): exact rates give their
        // fractions, hence the segments' counts, away.
        const std::size_t min_rows = options.performance.min_segment_rows;
        for (const auto& set : by_segment.segments) {
            if (set.predictions < min_rows) continue;
            for (const auto& metric : set.metrics)
                if (metric.value)
                    judged.metrics.push_back({metric.name, attribute + "=" + set.segment_value,
                                              std::round(*metric.value / (segments::published_rate_step / 10)) *
                                                  (segments::published_rate_step / 10),
                                              false});
        }
        if (regression) continue;
        std::vector<segments::SegmentRow> gap_rows;
        const auto positive = performance_spec(options, "").positive_class;
        for (std::size_t r = 0; r < rows.size(); ++r) {
            const auto& row = rows[r];
            segments::SegmentRow gap_row;
            gap_row.attributes = {{attribute, segmented.segment[r]}};
            gap_row.predicted_positive = row.prediction_label.value_or("") == positive;
            if (row.label && row.prediction_label) gap_row.metric_success = *row.label == *row.prediction_label;
            gap_rows.push_back(std::move(gap_row));
        }
        segments::SegmentGapOptions gap_options;
        gap_options.attributes = {attribute};
        gap_options.min_segment_rows = options.performance.min_segment_rows;
        for (auto& finding : segments::to_findings(segments::evaluate_segment_gaps(gap_rows, gap_options), model,
                                                   start_us, end_us))
            judged.findings.push_back(std::move(finding));
    }

    if (concept_detector != nullptr) {
        std::vector<double> errors;  // per labelled row, in prediction order
        for (const auto& row : rows) {
            if (regression && row.value && row.prediction_value)
                errors.push_back(std::abs(*row.value - *row.prediction_value));
            else if (!regression && row.label && row.prediction_label)
                errors.push_back(*row.label == *row.prediction_label ? 0.0 : 1.0);
        }
        if (errors.empty()) return judged;
        std::vector<std::size_t> drifts;
        std::size_t warnings = 0;
        for (std::size_t i = 0; i < errors.size(); ++i) {
            const auto state = concept_detector->update(errors[i]);
            if (state == concept_drift::DriftState::drift) drifts.push_back(i);
            if (state == concept_drift::DriftState::warning) ++warnings;
        }
        judged.findings.push_back(
            {.model = model,
             .kind = "concept_drift",
             .subject = regression ? "absolute_error" : "error",
             .method = std::string(concept_detector->name()),
             .statistic = stats::finite_mean(errors),
             .triggered = !drifts.empty(),
             .severity = drifts.empty() ? Severity::info : Severity::warning,
             .window_start_us = start_us,
             .window_end_us = end_us,
             .evidence_json = nlohmann::json{{"drift_positions", drifts},
                                             {"warnings", warnings},
                                             {"labelled_rows", errors.size()},
                                             {"statistic", "the window's mean error; drift_positions index its "
                                                           "labelled rows in prediction order"}}
                                  .dump()});
    }
    return judged;
}

}  // namespace mw::daemon
