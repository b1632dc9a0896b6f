#include "daemon/operational_series.h"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "core/log.h"
#include "core/time.h"
#include "daemon/window_table.h"
#include "detectors/anomaly_registry.h"
#include "stats/descriptive.h"

namespace mw::daemon {

void measure_operations(pqxx::connection_base& connection, const config::ModelOptions& options,
                        const std::vector<store::WindowRow>& rows, const drift::DriftTable& table,
                        WindowVerdicts& verdicts) {
    const auto& model = options.schema.name;
    const auto add = [&](const std::string& name, double value) {
        if (std::isfinite(value)) verdicts.metrics.push_back({name, "", value, false});
    };
    // The window's rows were received in these whole seconds; rates and the
    // rejected share are taken over them, the grid rejections are counted on.
    std::int64_t first_received_us = rows.front().received_at_us;
    std::int64_t last_received_us = first_received_us;
    std::vector<double> latencies_s;
    latencies_s.reserve(rows.size());
    for (const auto& row : rows) {
        first_received_us = std::min(first_received_us, row.received_at_us);
        last_received_us = std::max(last_received_us, row.received_at_us);
        latencies_s.push_back(static_cast<double>(row.received_at_us - row.ts_us) / 1e6);
    }
    const std::int64_t grid_start_us = floor_to(first_received_us, 1000000);
    const std::int64_t grid_end_us = floor_to(last_received_us, 1000000) + 1000000;
    const double minutes = static_cast<double>(grid_end_us - grid_start_us) / 60e6;
    const double predictions = static_cast<double>(rows.size());

    add("rows", predictions);
    add("rows_per_minute", predictions / minutes);
    std::nth_element(latencies_s.begin(), latencies_s.begin() + static_cast<std::ptrdiff_t>(latencies_s.size() / 2),
                     latencies_s.end());
    add("ingest_latency_p50_seconds", latencies_s[latencies_s.size() / 2]);

    std::int64_t rejected_predictions = 0;
    for (const auto& count : store::rejections_between(connection, model, grid_start_us, grid_end_us - 1)) {
        if (count.kind == to_string(RecordKind::prediction)) rejected_predictions += count.count;
        verdicts.metrics.push_back({"rejected", count.kind + ":" + count.reason, static_cast<double>(count.count), false});
    }
    add("rejected_share", static_cast<double>(rejected_predictions) /
                              (static_cast<double>(rejected_predictions) + predictions));
    const auto outcomes =
        static_cast<double>(store::outcomes_received_between(connection, model, grid_start_us, grid_end_us - 1));
    add("outcomes_per_minute", outcomes / minutes);
    add("label_rate", outcomes / predictions);

    if (const auto* score = table.find(score_column)) {
        add("score_mean", stats::finite_mean(score->numbers));
        add("score_sd", stats::finite_sample_sd(score->numbers));
    }
    std::size_t cells = 0;
    std::size_t missing = 0;
    for (const auto& feature : options.schema.features) {
        const auto* column = table.find(feature.name);
        if (column == nullptr) continue;
        cells += column->size();
        missing += column->numeric
                       ? static_cast<std::size_t>(std::count_if(column->numbers.begin(), column->numbers.end(),
                                                                [](double v) { return !std::isfinite(v); }))
                       : static_cast<std::size_t>(std::count(column->texts.begin(), column->texts.end(), ""));
    }
    if (cells > 0) add("missing_rate", static_cast<double>(missing) / static_cast<double>(cells));
}

void score_anomalies(AnomalyDetectors& detectors, const config::ModelOptions& options, const WindowSpan& span,
                     DaemonMetrics& metrics, WindowVerdicts& verdicts) {
    const auto& model = options.schema.name;
    const auto& anomaly = options.anomaly;
    // One point per window on each operational series; "rows" is the window's
    // size (fixed for count windows), per-segment and estimated values are not series.
    for (const auto& metric : verdicts.metrics) {
        if (metric.name == "rows" || metric.estimated || !metric.segment.empty() || metric.name.starts_with("quality_"))
            continue;
        auto& detector = detectors[metric.name];
        if (!detector) {
            auto made = anomaly::make_anomaly_detector(anomaly.detector, anomaly.params);
            if (!made.detector) {
                log::error("anomaly_detector_unusable model={} error=\"{}\"", model, made.error);
                return;
            }
            detector = std::move(made.detector);
        }
        const double score = detector->score(static_cast<double>(span.end_us) / 1e6, metric.value);
        metrics.anomaly_score.Add({{"model", model}, {"series", metric.name}}).Set(score);
        const bool triggered = score >= anomaly.threshold;
        verdicts.findings.push_back({.model = model,
                                     .kind = "anomaly",
                                     .subject = metric.name,
                                     .method = anomaly.detector,
                                     .statistic = score,
                                     .threshold = anomaly.threshold,
                                     .triggered = triggered,
                                     .severity = triggered ? Severity::warning : Severity::info,
                                     .window_start_us = span.start_us,
                                     .window_end_us = span.end_us,
                                     .evidence_json = nlohmann::json{{"value", metric.value}}.dump()});
    }
}

}  // namespace mw::daemon
