#include "detectors/performance_thresholds.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "detectors/performance_metrics.h"

namespace mw::performance {

namespace {

bool lower_is_better(const std::string& metric) {
    const auto* entry = performance::find_performance_metric(metric);
    return entry != nullptr && entry->lower_is_better;
}

const ReferenceBand* find_band(const std::vector<ReferenceBand>& bands, const std::string& metric) {
    for (const auto& band : bands) {
        if (band.metric == metric) return &band;
    }
    return nullptr;
}

nlohmann::json optional_json(const std::optional<double>& value) {
    return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

// The tighter of two optional bounds.
std::optional<double> tighter(std::optional<double> current, std::optional<double> candidate, bool is_lower) {
    if (!candidate) return current;
    if (!current) return candidate;
    return is_lower ? std::max(*current, *candidate) : std::min(*current, *candidate);
}

}  // namespace

BandFit fit_reference_band(const PerformanceWindow& reference, const PerformanceSpec& spec, std::size_t chunk_rows,
                           const std::vector<std::string>& metrics) {
    BandFit fit;
    if (chunk_rows == 0) {
        fit.error = "chunk_rows: must be at least 1";
        return fit;
    }
    const PerformanceReport whole = compute_performance(reference, spec);
    if (!whole.ok()) {
        fit.error = "reference: " + whole.error;
        return fit;
    }
    const std::size_t n =
        spec.task == Task::classification ? reference.y_pred.size() : reference.predicted_value.size();
    const std::size_t chunks = n / chunk_rows;
    if (chunks < 2) {
        fit.error = fmt::format("reference: {} rows make {} complete chunks of {}; a band needs at least 2", n, chunks,
                                chunk_rows);
        return fit;
    }
    std::vector<std::vector<double>> values(metrics.size());
    for (std::size_t c = 0; c < chunks; ++c) {
        PerformanceWindow chunk;
        const auto take = [&](const auto& column, auto& out) {
            if (column.empty()) return;
            const auto first = column.begin() + static_cast<std::ptrdiff_t>(c * chunk_rows);
            out.assign(first, first + static_cast<std::ptrdiff_t>(chunk_rows));
        };
        take(reference.y_pred, chunk.y_pred);
        take(reference.y_true, chunk.y_true);
        take(reference.score, chunk.score);
        take(reference.predicted_value, chunk.predicted_value);
        take(reference.target, chunk.target);
        const PerformanceReport report = compute_performance(chunk, spec);
        for (std::size_t m = 0; m < metrics.size(); ++m) {
            const MetricValue* metric = report.overall.find(metrics[m]);
            if (metric != nullptr && metric->value) values[m].push_back(*metric->value);
        }
    }
    for (std::size_t m = 0; m < metrics.size(); ++m) {
        const MetricValue* overall = whole.overall.find(metrics[m]);
        if (overall == nullptr) {
            fit.error = fmt::format("metrics[{}]: \"{}\" is not a metric of this task", m, metrics[m]);
            return fit;
        }
        if (values[m].size() < 2) {
            fit.error = fmt::format("metrics[{}]: \"{}\" is defined on {} of {} reference chunks; a band needs 2",
                                    m, metrics[m], values[m].size(), chunks);
            return fit;
        }
        ReferenceBand band;
        band.metric = metrics[m];
        band.chunks = values[m].size();
        const double count = static_cast<double>(values[m].size());
        double total = 0;
        for (double v : values[m]) total += v;
        band.mean = total / count;
        double squares = 0;
        for (double v : values[m]) squares += (v - band.mean) * (v - band.mean);
        band.sd = std::sqrt(squares / count);
        band.reference_value = overall->value;
        fit.bands.push_back(band);
    }
    return fit;
}

std::vector<Finding> evaluate_thresholds(const MetricSet& metrics, bool estimated,
                                         const std::vector<MetricThreshold>& thresholds,
                                         const std::vector<ReferenceBand>& bands, const FindingContext& context) {
    std::vector<Finding> findings;
    for (const auto& threshold : thresholds) {
        const MetricValue* metric = metrics.find(threshold.metric);
        if (metric == nullptr || !metric->value) continue;
        const double value = *metric->value;

        std::optional<double> lower = threshold.lower;
        std::optional<double> upper = threshold.upper;
        nlohmann::json evidence{{"absolute_lower", optional_json(threshold.lower)},
                                {"absolute_upper", optional_json(threshold.upper)}};
        const ReferenceBand* band = find_band(bands, threshold.metric);
        if (threshold.reference_band && band != nullptr && band->chunks > 0) {
            const double band_lower = band->mean - threshold.band_k * band->sd;
            const double band_upper = band->mean + threshold.band_k * band->sd;
            lower = tighter(lower, band_lower, true);
            upper = tighter(upper, band_upper, false);
            evidence["band"] = {{"mean", band->mean}, {"sd", band->sd},           {"k", threshold.band_k},
                                {"chunks", band->chunks}, {"lower", band_lower}, {"upper", band_upper}};
        }
        if (threshold.max_drop && band != nullptr && band->reference_value) {
            const double reference_value = *band->reference_value;
            const double drop = *threshold.max_drop;
            if (lower_is_better(threshold.metric)) {
                upper = tighter(upper, reference_value * (1.0 + drop), false);
            } else {
                lower = tighter(lower, reference_value * (1.0 - drop), true);
            }
            evidence["reference_value"] = reference_value;
            if (band->rebased_by_job) evidence["reference_rebased_by_job"] = *band->rebased_by_job;
            evidence["max_drop"] = drop;
        }
        if (!lower && !upper) continue;

        Finding finding;
        finding.model = context.model;
        finding.kind = "performance";
        finding.subject = threshold.metric;
        if (!metrics.segment_value.empty()) {
            finding.subject += fmt::format("[{}={}]", context.segment_name, metrics.segment_value);
        }
        finding.method = estimated ? "cbpe" : "realised";
        finding.statistic = value;
        finding.severity = threshold.severity;
        finding.window_start_us = context.window_start_us;
        finding.window_end_us = context.window_end_us;
        if (lower && value < *lower) {
            finding.triggered = true;
            finding.threshold = *lower;
        } else if (upper && value > *upper) {
            finding.triggered = true;
            finding.threshold = *upper;
        } else {
            // Not crossed: report the bound on the side that matters for this metric.
            const bool prefer_upper = lower_is_better(threshold.metric) ? upper.has_value() : !lower.has_value();
            finding.threshold = prefer_upper ? *upper : *lower;
        }
        evidence["lower"] = optional_json(lower);
        evidence["upper"] = optional_json(upper);
        evidence["label_coverage"] = optional_json(metrics.label_coverage);
        evidence["n"] = estimated ? metrics.predictions : metrics.labelled;
        evidence["estimated"] = estimated;
        finding.evidence_json = evidence.dump();
        findings.push_back(std::move(finding));
    }
    return findings;
}

std::vector<Finding> evaluate_thresholds(const PerformanceReport& report, const std::vector<MetricThreshold>& thresholds,
                                         const std::vector<ReferenceBand>& bands, const FindingContext& context) {
    std::vector<Finding> findings = evaluate_thresholds(report.overall, false, thresholds, bands, context);
    for (const auto& segment : report.segments) {
        auto more = evaluate_thresholds(segment, false, thresholds, bands, context);
        findings.insert(findings.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
    }
    return findings;
}

MetricSet to_metric_set(const CbpeEstimate& estimate) {
    MetricSet set;
    set.predictions = estimate.n;
    for (const auto& metric : estimate.metrics) {
        set.metrics.push_back(MetricValue{metric.name, metric.value, metric.absent_reason});
    }
    return set;
}

}  // namespace mw::performance
