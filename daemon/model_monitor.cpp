#include "daemon/model_monitor.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/log.h"
#include "core/time.h"
#include "daemon/window_table.h"
#include "detectors/anomaly_registry.h"
#include "detectors/cbpe.h"
#include "detectors/concept_registry.h"
#include "detectors/data_quality.h"
#include "detectors/performance_metrics.h"
#include "detectors/performance_thresholds.h"
#include "detectors/segment_gaps.h"
#include "detectors/reference_sample.h"

namespace mw::daemon {
namespace {

// A time window holds at most this many predictions; beyond it the detectors
// read the first ones (the tests' sampling error is then that of this many).
constexpr std::size_t max_time_window_rows = 200000;
// Fewer outcomes than this (in a reference or a window) are not compared for
// label drift: the tests' sampling error would swamp any verdict.
constexpr std::size_t min_labelled_rows = 30;

// The start of the width_us-long interval holding t_us (floor, also before 1970).
std::int64_t floor_to(std::int64_t t_us, std::int64_t width_us) {
    return t_us - ((t_us % width_us) + width_us) % width_us;
}

bool key_less(const store::RowKey& a, const store::RowKey& b) {
    return a.ts_us != b.ts_us ? a.ts_us < b.ts_us : a.id < b.id;
}

drift::DriftOptions drift_options(const config::DriftConfig& config) {
    drift::DriftOptions options;
    options.mode = config.mode == config::DriftModeChoice::legacy ? drift::DriftMode::legacy : drift::DriftMode::robust;
    // Method names were checked when the configuration was loaded.
    options.default_choice.method = drift::parse_drift_method(config.method).value_or(drift::DriftMethod::auto_select);
    options.default_choice.threshold = config.threshold;
    for (const auto& feature : config.features)
        options.per_feature[feature.name] = {
            drift::parse_drift_method(feature.method).value_or(drift::DriftMethod::auto_select), feature.threshold};
    switch (config.correction) {
        case config::CorrectionChoice::none: options.correction = drift::Correction::none; break;
        case config::CorrectionChoice::bonferroni: options.correction = drift::Correction::bonferroni; break;
        case config::CorrectionChoice::benjamini_hochberg:
            options.correction = drift::Correction::benjamini_hochberg;
            break;
    }
    options.effect_floor = config.effect_floor;
    options.noise_resamples = config.noise_resamples;
    options.drift_share = config.drift_share;
    return options;
}

double mean_of(const std::vector<double>& values) {
    double sum = 0;
    std::size_t n = 0;
    for (const double value : values)
        if (std::isfinite(value)) sum += value, ++n;
    return n == 0 ? std::nan("") : sum / static_cast<double>(n);
}

double sd_of(const std::vector<double>& values) {
    const double mean = mean_of(values);
    double sum = 0;
    std::size_t n = 0;
    for (const double value : values)
        if (std::isfinite(value)) sum += (value - mean) * (value - mean), ++n;
    return n < 2 ? std::nan("") : std::sqrt(sum / static_cast<double>(n - 1));
}

// Feature objects as the store holds them, rebuilt from a table (a stored
// reference sample keeps columns, not the original JSON).
std::vector<nlohmann::json> feature_objects(const drift::DriftTable& table, const ModelSchema& schema) {
    std::vector<nlohmann::json> rows(table.rows, nlohmann::json::object());
    for (const auto& feature : schema.features) {
        const auto* column = table.find(feature.name);
        if (column == nullptr) continue;
        for (std::size_t r = 0; r < table.rows; ++r) {
            if (column->numeric)
                rows[r][feature.name] = std::isfinite(column->numbers[r]) ? nlohmann::json(column->numbers[r])
                                                                         : nlohmann::json(nullptr);
            else if (column->texts[r].empty())
                rows[r][feature.name] = nullptr;
            else if (feature.type == FeatureType::boolean)
                rows[r][feature.name] = column->texts[r] == "true";
            else
                rows[r][feature.name] = column->texts[r];
        }
    }
    return rows;
}

// The performance library's view of rows: labels, scores, values, delays.
performance::PerformanceWindow performance_window(const std::vector<store::WindowRow>& rows, bool regression) {
    performance::PerformanceWindow window;
    for (const auto& row : rows) {
        if (regression) {
            window.predicted_value.push_back(row.prediction_value.value_or(std::nan("")));
            window.target.push_back(row.value);
        } else {
            window.y_pred.push_back(row.prediction_label.value_or(""));
            window.y_true.push_back(row.label);
        }
        window.label_delay_seconds.push_back(row.label_delay_s);
    }
    const bool all_scored =
        !rows.empty() && std::all_of(rows.begin(), rows.end(), [](const auto& row) { return row.score.has_value(); });
    if (all_scored && !regression)
        for (const auto& row : rows) window.score.push_back(*row.score);
    return window;
}

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

struct ModelMonitor::Fitted {
    std::int64_t reference_id = 0;
    std::int64_t reference_rows = 0;
    std::optional<store::RowKey> data_end;
    // The model's schema cut to the features the reference can judge: those
    // its sample holds, as numbers or as texts like the schema says. A
    // feature added since, or whose type changed across a restart, is not
    // compared for drift until the model has a new reference (docs/monitoring.md "Reloading").
    ModelSchema judged;
    std::optional<drift::FittedReference> features;
    std::vector<std::pair<std::string, drift::FittedReference>> segments;
    std::optional<drift::FittedReference> outputs;
    std::optional<drift::FittedReference> labels;  // when the reference was captured with its outcomes
    std::optional<quality::QualityReference> quality;
    std::optional<performance::CbpeReference> cbpe;  // binary models whose reference has scores and labels
    std::vector<performance::ReferenceBand> bands;   // of the performance thresholds, from reference chunks
    std::string error;  // why the reference cannot be used
};

ModelMonitor::ModelMonitor(config::ModelOptions options, DaemonMetrics& metrics)
    : options_(std::move(options)), metrics_(metrics) {}

ModelMonitor::~ModelMonitor() = default;

void ModelMonitor::reconfigure(config::ModelOptions options) {
    options_ = std::move(options);
    fitted_.reset();
    anomaly_.clear();
}

void ModelMonitor::step(pqxx::connection_base& connection, std::int64_t now_us, PassControl& control) {
    if (!ensure_reference(connection, now_us, control)) return;
    // Bounded work per pass, so one model catching up cannot starve the others.
    for (int closed = 0; closed < 20; ++closed) {
        control.checkpoint();
        const auto previous = store::last_window(connection, model());
        auto rows = next_window_rows(connection, previous, now_us);
        if (!rows) break;
        evaluate_window(connection, std::move(*rows), previous, control);
    }
    judge_performance(connection, now_us, control);
}

bool ModelMonitor::ensure_reference(pqxx::connection_base& connection, std::int64_t now_us, PassControl& control) {
    auto stored = store::active_reference(connection, model());
    const auto& options = options_.reference;
    const auto wait = [&](std::string what) {
        if (what != waiting_for_) log::info("reference_waiting model={} for=\"{}\"", model(), what);
        waiting_for_ = std::move(what);
        return false;
    };
    if (!stored || stored->pending()) {
        if (!stored && options.source == config::ReferenceSource::upload)
            return wait("an uploaded reference (POST /v1/models/" + model() + "/reference)");
        std::vector<store::WindowRow> rows;
        std::string source = "first_n";
        std::string version = stored ? stored->model_version : options.model_version;
        if (!stored && options.source == config::ReferenceSource::time_range) {
            source = "time_range";
            const auto start = parse_rfc3339_us(options.start).value_or(0);
            const auto end = parse_rfc3339_us(options.end).value_or(0);
            if (now_us < end + static_cast<std::int64_t>(options_.window.lateness_ms) * 1000)
                return wait("the end of the reference time range " + options.end);
            rows = store::read_predictions_between(connection, model(), start, end, options.rows);
            if (rows.empty()) return wait("predictions between " + options.start + " and " + options.end);
        } else {
            if (stored) source = "promotion";
            rows = store::read_predictions_after(connection, model(), std::nullopt, options.rows, version);
            if (rows.size() < options.rows)
                return wait(fmt::format("{} reference predictions{} (have {})", options.rows,
                                        version.empty() ? "" : " of version " + version, rows.size()));
        }
        const auto table = rows_to_table(rows, options_.schema);
        store::NewReference reference;
        reference.model = model();
        reference.source = source;
        reference.model_version = version;
        reference.rows = static_cast<std::int64_t>(rows.size());
        reference.sample_json = drift::reference_sample_to_json(table);
        reference.data_start_us = rows.front().ts_us;
        reference.data_end = store::RowKey{rows.back().ts_us, rows.back().id};
        reference.description = fmt::format("{} predictions from {} to {}{}", rows.size(),
                                            format_rfc3339_us(rows.front().ts_us), format_rfc3339_us(rows.back().ts_us),
                                            version.empty() ? "" : " of version " + version);
        control.checkpoint();
        if (stored)
            store::complete_reference(connection, stored->id, reference);
        else
            store::insert_reference(connection, reference);
        log::notice("reference_stored model={} source={} rows={} version={}", model(), source, rows.size(),
                    version.empty() ? "any" : version);
        stored = store::active_reference(connection, model());
        if (!stored) return false;
    }
    waiting_for_.clear();
    control.checkpoint();
    // No checkpoint inside fit(): an interrupted fit would leave a half-fitted
    // reference that looks complete.
    if (!fitted_ || fitted_->reference_id != stored->id) fit(*stored);
    control.checkpoint();
    return fitted_->error.empty();
}

void ModelMonitor::fit(const store::StoredReference& reference) {
    fitted_ = std::make_unique<Fitted>();
    fitted_->reference_id = reference.id;
    fitted_->reference_rows = reference.rows;
    fitted_->data_end = reference.data_end;
    metrics_.reference_rows.Add({{"model", model()}}).Set(static_cast<double>(reference.rows));
    const auto sample = drift::reference_sample_from_json(reference.sample_json);
    if (!sample.ok()) {
        fitted_->error = "stored reference " + std::to_string(reference.id) + " is unreadable: " + sample.error;
        log::error("reference_unusable model={} error=\"{}\"", model(), fitted_->error);
        return;
    }
    fitted_->judged = options_.schema;
    fitted_->judged.features.clear();
    for (const auto& feature : options_.schema.features) {
        const auto* column = sample.table.find(feature.name);
        const char* reason = column == nullptr ? "not in the reference sample (added since it was captured)"
                             : column->numeric != (feature.type == FeatureType::numeric)
                                 ? "of another type in the reference sample"
                                 : nullptr;
        if (reason == nullptr) {
            fitted_->judged.features.push_back(feature);
            continue;
        }
        log::warning("reference_feature_skipped model={} reference={} feature={} reason=\"{}; not compared "
                     "until the model has a new reference\"",
                     model(), reference.id, feature.name, reason);
    }
    const auto& schema = fitted_->judged;
    drift::DatasetDriftOptions options;
    options.feature = drift_options(options_.drift);
    for (const auto& feature : schema.features) options.columns.push_back(feature.name);
    options.multivariate.enabled = options_.drift.multivariate;
    auto features = drift::FittedReference::fit(features_view(sample.table, schema, {}), options);
    if (!features.ok()) {
        fitted_->error = features.error;
        log::error("reference_unusable model={} error=\"{}\"", model(), features.error);
        return;
    }
    fitted_->features = std::move(features.reference);
    for (const auto& attribute : options_.drift.segments) {
        auto segment_options = options;
        segment_options.segment_column = attribute;
        segment_options.multivariate.enabled = false;
        auto segment = drift::FittedReference::fit(features_view(sample.table, schema, {attribute}), segment_options);
        if (segment.ok())
            fitted_->segments.emplace_back(attribute, std::move(*segment.reference));
        else
            log::warning("segment_reference_unusable model={} attribute={} error=\"{}\"", model(), attribute,
                         segment.error);
    }
    const auto outputs_table = outputs_view(sample.table);
    drift::DatasetDriftOptions output_options;
    output_options.feature = options.feature;
    output_options.multivariate.enabled = false;
    for (const auto& column : outputs_table.columns) output_options.columns.push_back(column.name);
    auto outputs = drift::FittedReference::fit(outputs_table, output_options);
    if (outputs.ok()) fitted_->outputs = std::move(outputs.reference);
    // Label drift needs the reference's own outcomes; a reference captured
    // before they arrived is compared on its predictions only.
    const auto labels_table = labels_view(sample.table);
    if (labels_table.rows >= min_labelled_rows) {
        auto label_options = output_options;
        label_options.columns = {"label"};
        auto labels = drift::FittedReference::fit(labels_table, label_options);
        if (labels.ok()) fitted_->labels = std::move(labels.reference);
    }
    fitted_->quality = quality::fit_quality_reference(schema, feature_objects(sample.table, schema));
    fit_performance_reference(sample.table);
    // A new reference is a new normal: the concept detector starts over.
    concept_.reset();
    if (!options_.concept_drift.detector.empty()) {
        auto made = concept_drift::make_concept_detector(options_.concept_drift.detector, options_.concept_drift.params);
        if (made.ok())
            concept_ = std::move(made.detector);
        else
            log::error("concept_detector_unusable model={} error=\"{}\"", model(), made.error);
    }
    log::notice("reference_fitted model={} reference={} rows={}", model(), reference.id, reference.rows);
}

std::optional<std::vector<store::WindowRow>> ModelMonitor::next_window_rows(
    pqxx::connection_base& connection, const std::optional<store::StoredWindow>& previous, std::int64_t now_us) {
    const auto& window = options_.window;
    std::optional<store::RowKey> base;
    std::size_t skip = 0;
    if (previous) {
        const bool sliding = window.step_rows != 0 && window.step_rows < window.rows && window.duration_ms == 0;
        base = sliding ? previous->first : previous->last;
        skip = sliding ? window.step_rows - 1 : 0;
    }
    // Windows start after the reference's own rows (after a reset too).
    if (fitted_->data_end && (!previous || key_less(previous->last, *fitted_->data_end))) {
        base = fitted_->data_end;
        skip = 0;
    }
    if (window.duration_ms == 0) {
        auto rows = store::read_predictions_after(connection, model(), base, skip + window.rows);
        if (rows.size() < skip + window.rows) return std::nullopt;
        rows.erase(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(skip));
        return rows;
    }
    const auto first = store::read_predictions_after(connection, model(), base, 1);
    if (first.empty()) return std::nullopt;
    const std::int64_t width_us = static_cast<std::int64_t>(window.duration_ms) * 1000;
    const std::int64_t start_us = floor_to(first.front().ts_us, width_us);
    const std::int64_t end_us = start_us + width_us;
    if (now_us < end_us + static_cast<std::int64_t>(window.lateness_ms) * 1000) return std::nullopt;
    auto rows = store::read_predictions_between(connection, model(), start_us, end_us, max_time_window_rows);
    if (base) std::erase_if(rows, [&](const store::WindowRow& row) { return !key_less(*base, {row.ts_us, row.id}); });
    return rows;
}

void ModelMonitor::evaluate_window(pqxx::connection_base& connection, std::vector<store::WindowRow> rows,
                                   const std::optional<store::StoredWindow>& previous, PassControl& control) {
    const auto& schema = options_.schema;
    // Each row's features are parsed once: the table and the quality checks share the parse.
    const auto feature_objects = parse_features(rows);
    control.checkpoint();
    const auto table = rows_to_table(rows, feature_objects, schema);
    control.checkpoint();
    store::StoredWindow window;
    window.sequence = previous ? previous->sequence + 1 : 1;
    window.first = {rows.front().ts_us, rows.front().id};
    window.last = {rows.back().ts_us, rows.back().id};
    window.rows = static_cast<std::int64_t>(rows.size());
    const WindowSpan span{window.first.ts_us, window.last.ts_us};

    // The stages work in memory; the window is written in one transaction
    // at the end, so every checkpoint up to it is a safe place to stop.
    Verdicts verdicts;
    const auto drift = detect_drift(table, span, verdicts);
    control.checkpoint();
    if (fitted_->quality) check_quality(rows, feature_objects, span, verdicts);
    control.checkpoint();
    if (fitted_->cbpe) estimate_performance(rows, span, verdicts);
    control.checkpoint();
    measure_operations(connection, rows, table, verdicts);
    if (!options_.anomaly.detector.empty()) score_anomalies(span, verdicts);
    control.checkpoint();
    for (const auto& metric : verdicts.metrics)
        if (metric.segment.empty()) metrics_.set_window_metric(model(), metric.name, metric.estimated, metric.value);

    store::record_window(connection, model(), fitted_->reference_id, window, verdicts.findings, verdicts.metrics);
    metrics_.windows_closed.Add({{"model", model()}}).Increment();
    count_findings(verdicts.findings);
    log::info("window_closed model={} sequence={} rows={} dataset_drift={} drifted={}/{}", model(), window.sequence,
              rows.size(), drift.dataset_drift, drift.drifted, drift.evaluated);
}

drift::DriftVerdict ModelMonitor::detect_drift(const drift::DriftTable& table, const WindowSpan& span,
                                                      Verdicts& verdicts) {
    const auto& schema = fitted_->judged;
    auto& findings = verdicts.findings;
    const auto overall = fitted_->features->evaluate(features_view(table, schema, {}));
    findings = drift::to_findings(overall, model(), span.start_us, span.end_us);
    for (const auto& feature : overall.overall.features) {
        // The effect size is a different distance for numeric and categorical
        // features (detectors/feature_drift.h), so each has its own gauge.
        auto& effect = feature.categorical ? metrics_.feature_drift_jensen_shannon : metrics_.feature_drift_wasserstein;
        effect.Add({{"model", model()}, {"feature", feature.feature}}).Set(feature.effect_size);
        metrics_.feature_drifted.Add({{"model", model()}, {"feature", feature.feature}}).Set(feature.drifted ? 1 : 0);
    }
    metrics_.dataset_drift.Add({{"model", model()}}).Set(overall.overall.dataset_drift ? 1 : 0);
    metrics_.drift_share.Add({{"model", model()}}).Set(overall.overall.share);
    for (auto& [attribute, reference] : fitted_->segments) {
        // The segment references repeat the overall evaluation; keep only
        // what is per segment (subjects "feature[attribute=value]").
        const auto segmented = reference.evaluate(features_view(table, schema, {attribute}));
        for (auto& finding : drift::to_findings(segmented, model(), span.start_us, span.end_us))
            if (finding.subject.find('[') != std::string::npos) findings.push_back(std::move(finding));
        for (auto& finding : segments::segment_drift_findings(segmented, options_.drift.drift_share, model(),
                                                              span.start_us, span.end_us))
            findings.push_back(std::move(finding));
    }
    if (fitted_->outputs) {
        for (auto& finding : drift::to_findings(fitted_->outputs->evaluate(outputs_view(table)), model(),
                                                span.start_us, span.end_us)) {
            if (finding.kind != "feature_drift") continue;
            finding.kind = "prediction_drift";
            findings.push_back(std::move(finding));
        }
    }
    return overall.overall;
}

void ModelMonitor::check_quality(const std::vector<store::WindowRow>& rows,
                                 const std::vector<nlohmann::json>& feature_objects, const WindowSpan& span,
                                 Verdicts& verdicts) {
    std::vector<std::string> ids;
    ids.reserve(rows.size());
    for (const auto& row : rows) ids.push_back(row.id);
    const auto report = quality::evaluate_quality(*fitted_->quality, options_.schema, feature_objects, ids, {});
    for (auto& finding : quality::to_findings(report, model(), span.start_us, span.end_us))
        verdicts.findings.push_back(std::move(finding));
    for (const auto& metric : report.metrics)
        if (std::isfinite(metric.value))
            verdicts.metrics.push_back({"quality_" + metric.name, metric.feature, metric.value, false});
}

void ModelMonitor::estimate_performance(const std::vector<store::WindowRow>& rows, const WindowSpan& span,
                                        Verdicts& verdicts) {
    // Until labels arrive: performance estimated from the scores (CBPE).
    const auto window_view = performance_window(rows, false);
    if (window_view.score.empty()) return;
    const auto spec = performance_spec("");
    std::vector<bool> predicted;
    for (const auto& label : window_view.y_pred) predicted.push_back(label == spec.positive_class);
    const auto estimate = performance::estimate_cbpe(window_view.score, predicted, &*fitted_->cbpe);
    if (!estimate.ok()) return;
    for (const auto& metric : estimate.metrics)
        if (metric.value) verdicts.metrics.push_back({metric.name, "", *metric.value, true});
    for (auto& finding : performance::evaluate_thresholds(performance::to_metric_set(estimate), true,
                                                          metric_thresholds(), fitted_->bands,
                                                          {model(), "", span.start_us, span.end_us}))
        verdicts.findings.push_back(std::move(finding));
}

void ModelMonitor::measure_operations(pqxx::connection_base& connection, const std::vector<store::WindowRow>& rows,
                                      const drift::DriftTable& table, Verdicts& verdicts) {
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
    for (const auto& count : store::rejections_between(connection, model(), grid_start_us, grid_end_us - 1)) {
        if (count.kind == to_string(RecordKind::prediction)) rejected_predictions += count.count;
        verdicts.metrics.push_back({"rejected", count.kind + ":" + count.reason, static_cast<double>(count.count), false});
    }
    add("rejected_share", static_cast<double>(rejected_predictions) /
                              (static_cast<double>(rejected_predictions) + predictions));
    const auto outcomes =
        static_cast<double>(store::outcomes_received_between(connection, model(), grid_start_us, grid_end_us - 1));
    add("outcomes_per_minute", outcomes / minutes);
    add("label_rate", outcomes / predictions);

    if (const auto* score = table.find(score_column)) {
        add("score_mean", mean_of(score->numbers));
        add("score_sd", sd_of(score->numbers));
    }
    std::size_t cells = 0;
    std::size_t missing = 0;
    for (const auto& feature : options_.schema.features) {
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

void ModelMonitor::score_anomalies(const WindowSpan& span, Verdicts& verdicts) {
    // One point per window on each operational series; "rows" is the window's
    // size (fixed for count windows), per-segment and estimated values are not series.
    for (const auto& metric : verdicts.metrics) {
        if (metric.name == "rows" || metric.estimated || !metric.segment.empty() || metric.name.starts_with("quality_"))
            continue;
        auto& detector = anomaly_[metric.name];
        if (!detector) {
            auto made = anomaly::make_anomaly_detector(options_.anomaly.detector, {});
            if (!made.detector) {
                log::error("anomaly_detector_unusable model={} error=\"{}\"", model(), made.error);
                return;
            }
            detector = std::move(made.detector);
        }
        const double score = detector->score(static_cast<double>(span.end_us) / 1e6, metric.value);
        metrics_.anomaly_score.Add({{"model", model()}, {"series", metric.name}}).Set(score);
        const bool triggered = score >= options_.anomaly.threshold;
        verdicts.findings.push_back({.model = model(),
                                     .kind = "anomaly",
                                     .subject = metric.name,
                                     .method = options_.anomaly.detector,
                                     .statistic = score,
                                     .threshold = options_.anomaly.threshold,
                                     .triggered = triggered,
                                     .severity = triggered ? Severity::warning : Severity::info,
                                     .window_start_us = span.start_us,
                                     .window_end_us = span.end_us,
                                     .evidence_json = nlohmann::json{{"value", metric.value}}.dump()});
    }
}

void ModelMonitor::judge_performance(pqxx::connection_base& connection, std::int64_t now_us, PassControl& control) {
    const auto& performance = options_.performance;
    const bool regression = options_.schema.prediction_type == PredictionType::regression;
    for (const auto& window : store::windows_awaiting_performance(connection, model())) {
        control.checkpoint();
        const auto rows = store::read_window_rows(connection, model(), window);
        if (rows.empty()) continue;
        std::size_t labelled = 0;
        for (const auto& row : rows) labelled += (regression ? row.value.has_value() : row.label.has_value()) ? 1 : 0;
        const double coverage = static_cast<double>(labelled) / static_cast<double>(rows.size());
        const bool waited = now_us - window.closed_at_us >= static_cast<std::int64_t>(performance.label_wait_ms) * 1000;
        // Windows are judged in order, so the error stream reaches the
        // concept detector in the order the predictions were made.
        if (coverage < performance.min_label_coverage && !waited) break;
        auto judged = judge_window_performance(rows, window, coverage);
        control.checkpoint();
        store::record_window_performance(connection, window.id, coverage, true, judged.findings, judged.metrics);
        for (const auto& metric : judged.metrics)
            if (metric.segment.empty()) metrics_.set_window_metric(model(), metric.name, false, metric.value);
        count_findings(judged.findings);
    }
}

ModelMonitor::Verdicts ModelMonitor::judge_window_performance(const std::vector<store::WindowRow>& rows,
                                                            const store::StoredWindow& window, double coverage) {
    Verdicts judged;
    const bool regression = options_.schema.prediction_type == PredictionType::regression;
    const std::int64_t start_us = window.first.ts_us;
    const std::int64_t end_us = window.last.ts_us;
    judged.metrics.push_back({"label_coverage", "", coverage, false});
    const auto view = performance_window(rows, regression);
    const auto report = performance::compute_performance(view, performance_spec(""));
    if (!report.ok()) {
        log::warning("performance_unavailable model={} window={} error=\"{}\"", model(), window.sequence, report.error);
        return judged;
    }
    const auto& overall = report.overall;
    if (overall.delay.p50_seconds) judged.metrics.push_back({"label_delay_p50_seconds", "", *overall.delay.p50_seconds, false});
    if (overall.delay.p95_seconds) judged.metrics.push_back({"label_delay_p95_seconds", "", *overall.delay.p95_seconds, false});
    for (const auto& metric : overall.metrics)
        if (metric.value) judged.metrics.push_back({metric.name, "", *metric.value, false});
    for (auto& finding : performance::evaluate_thresholds(overall, false, metric_thresholds(), fitted_->bands,
                                                          {model(), "", start_us, end_us}))
        judged.findings.push_back(std::move(finding));
    if (const auto labels = window_labels(rows, regression); fitted_->labels && labels.rows >= min_labelled_rows) {
        for (auto& finding : drift::to_findings(fitted_->labels->evaluate(labels), model(), start_us, end_us)) {
            if (finding.kind != "feature_drift") continue;
            finding.kind = "label_drift";
            judged.findings.push_back(std::move(finding));
        }
    }

    // Per segment: the metrics, and the gap of each segment against the rest.
    std::vector<nlohmann::json> attributes;
    if (!options_.drift.segments.empty())
        for (const auto& row : rows) attributes.push_back(nlohmann::json::parse(row.attributes_json, nullptr, false));
    for (const auto& attribute : options_.drift.segments) {
        auto segmented = view;
        for (const auto& row_attributes : attributes) segmented.segment.push_back(attribute_of(row_attributes, attribute));
        const auto by_segment = performance::compute_performance(segmented, performance_spec(attribute));
        for (const auto& set : by_segment.segments)
            for (const auto& metric : set.metrics)
                if (metric.value) judged.metrics.push_back({metric.name, attribute + "=" + set.segment_value, *metric.value, false});
        if (regression) continue;
        std::vector<segments::SegmentRow> gap_rows;
        const auto positive = performance_spec("").positive_class;
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
        for (auto& finding : segments::to_findings(segments::evaluate_segment_gaps(gap_rows, gap_options), model(),
                                                   start_us, end_us))
            judged.findings.push_back(std::move(finding));
    }

    if (concept_) {
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
            const auto state = concept_->update(errors[i]);
            if (state == concept_drift::DriftState::drift) drifts.push_back(i);
            if (state == concept_drift::DriftState::warning) ++warnings;
        }
        judged.findings.push_back(
            {.model = model(),
             .kind = "concept_drift",
             .subject = regression ? "absolute_error" : "error",
             .method = std::string(concept_->name()),
             .statistic = mean_of(errors),
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

std::int64_t store_uploaded_reference(pqxx::connection_base& connection, const std::string& model,
                                      const drift::DriftTable& table, const std::string& description) {
    store::NewReference reference;
    reference.model = model;
    reference.source = "upload";
    reference.rows = static_cast<std::int64_t>(table.rows);
    reference.sample_json = drift::reference_sample_to_json(table);
    reference.description = description;
    const auto id = store::insert_reference(connection, reference);
    log::notice("reference_uploaded model={} reference={} rows={}", model, id, table.rows);
    return id;
}

performance::PerformanceSpec ModelMonitor::performance_spec(const std::string& segment) const {
    performance::PerformanceSpec spec;
    const auto& schema = options_.schema;
    spec.task = schema.prediction_type == PredictionType::regression ? performance::Task::regression
                                                                      : performance::Task::classification;
    spec.positive_class = !options_.performance.positive_class.empty() ? options_.performance.positive_class
                          : !schema.classes.empty()                    ? schema.classes.front()
                                                                       : std::string("1");
    spec.classes = schema.classes;
    spec.segment_name = segment;
    return spec;
}

void ModelMonitor::fit_performance_reference(const drift::DriftTable& sample) {
    const auto* prediction = sample.find(prediction_column);
    const auto* label = sample.find(label_column);
    const auto* score = sample.find(score_column);
    if (prediction == nullptr || label == nullptr || prediction->numeric) return;
    // The reference's own labelled rows, when it was captured after its outcomes arrived.
    std::vector<store::WindowRow> rows;
    for (std::size_t r = 0; r < sample.rows; ++r) {
        if (label->texts[r].empty()) continue;
        store::WindowRow row;
        row.prediction_label = prediction->texts[r];
        row.label = label->texts[r];
        if (score != nullptr && std::isfinite(score->numbers[r])) row.score = score->numbers[r];
        rows.push_back(std::move(row));
    }
    if (rows.size() < 20) return;
    const auto spec = performance_spec("");
    const auto window = performance_window(rows, false);
    if (options_.performance.estimate && !window.score.empty() &&
        options_.schema.prediction_type == PredictionType::binary) {
        std::vector<bool> predicted;
        std::vector<bool> actual;
        for (const auto& row : rows) {
            predicted.push_back(*row.prediction_label == spec.positive_class);
            actual.push_back(*row.label == spec.positive_class);
        }
        auto fit = performance::fit_cbpe(window.score, predicted, actual);
        if (fit.ok()) fitted_->cbpe = std::move(fit.reference);
    }
    std::vector<std::string> banded;
    for (const auto& threshold : options_.performance.thresholds)
        if (threshold.band_sd > 0) banded.push_back(threshold.metric);
    if (banded.empty()) return;
    // Ten chunks of the reference: NannyML's band needs several chunks, and
    // smaller chunks than the window only widen it (conservative).
    auto bands = performance::fit_reference_band(window, spec, std::max<std::size_t>(10, rows.size() / 10), banded);
    if (bands.ok()) fitted_->bands = std::move(bands.bands);
}

std::vector<performance::MetricThreshold> ModelMonitor::metric_thresholds() const {
    std::vector<performance::MetricThreshold> thresholds;
    for (const auto& configured : options_.performance.thresholds) {
        performance::MetricThreshold threshold;
        threshold.metric = configured.metric;
        threshold.lower = configured.min;
        threshold.upper = configured.max;
        threshold.max_drop = configured.max_drop;
        threshold.reference_band = configured.band_sd > 0;
        threshold.band_k = configured.band_sd;
        thresholds.push_back(std::move(threshold));
    }
    return thresholds;
}

void ModelMonitor::count_findings(const std::vector<Finding>& findings) {
    for (const auto& finding : findings)
        metrics_.findings.Add({{"model", model()}, {"kind", finding.kind}, {"triggered", finding.triggered ? "true" : "false"}})
            .Increment();
}

}  // namespace mw::daemon
