#include "daemon/model_monitor.h"

#include <fmt/format.h>

#include "collectors/privacy.h"

#include "core/log.h"
#include "core/time.h"
#include "daemon/monitor_checkpoint.h"
#include "daemon/performance_causes.h"
#include "daemon/performance_judgement.h"
#include "daemon/profile_detectors.h"
#include "daemon/reference_capture.h"
#include "daemon/reference_fit.h"
#include "daemon/window_detectors.h"
#include "daemon/window_selection.h"
#include "daemon/window_table.h"
#include "detectors/concept_registry.h"
#include "store/profile_store.h"

namespace mw::daemon {

namespace {

// What the detectors that read stored rows see of a model: for a
// profile-only one, no features (its rows hold none; its features, and
// their drift per segment, are judged from profiles), and so no PCA, which
// config refuses to be asked for explicitly. Its drift.segments stay: the
// rows' attributes and outcomes still give the segments' metrics, gaps and
// root-cause ranking.
config::ModelOptions options_for_rows(const config::ModelOptions& options) {
    if (options.store_raw) return options;
    config::ModelOptions rows = options;
    rows.schema.features.clear();
    rows.drift.multivariate = false;
    return rows;
}

}  // namespace

ModelMonitor::ModelMonitor(config::ModelOptions options, DaemonMetrics& metrics, RankingRequests& rankings,
                           std::int64_t daemon_started_us)
    : options_(std::move(options)),
      rows_options_(options_for_rows(options_)),
      metrics_(metrics),
      rankings_(rankings),
      daemon_started_us_(daemon_started_us) {}

ModelMonitor::~ModelMonitor() = default;

void ModelMonitor::reconfigure(config::ModelOptions options) {
    options_ = std::move(options);
    rows_options_ = options_for_rows(options_);
    fitted_.reset();
    ranking_basis_.reset();
    anomaly_.clear();
}

void ModelMonitor::disown() {
    fence_.reset();
    resume_needed_ = true;
}

void ModelMonitor::step(pqxx::connection_base& connection, std::int64_t now_us,
                        std::optional<std::int64_t> stored_before_us, PassControl& control,
                        const store::Fence& fence) {
    if (!fence_ || fence_->owner != fence.owner || fence_->epoch != fence.epoch) {
        fence_ = fence;
        resume_needed_ = true;
    }
    try {
        if (!ensure_reference(connection, now_us, stored_before_us, control)) return;
        if (resume_needed_) resume(connection);
        // Bounded work per pass, so one model catching up cannot starve the others.
        for (int closed = 0; closed < 20; ++closed) {
            control.checkpoint();
            const auto previous = store::last_window(connection, model());
            auto rows = next_window_rows(connection, model(), options_.window, previous, fitted_->data_end, now_us,
                                         stored_before_us);
            if (!rows) break;
            evaluate_window(connection, std::move(*rows), previous, control);
        }
        judge_performance(connection, now_us, control);
    } catch (...) {
        // The detectors may have seen a window whose write did not commit.
        resume_needed_ = true;
        throw;
    }
}

std::unique_ptr<concept_drift::ConceptDetector> ModelMonitor::fresh_concept_detector() const {
    if (options_.concept_drift.detector.empty()) return nullptr;
    auto made = concept_drift::make_concept_detector(options_.concept_drift.detector, options_.concept_drift.params);
    if (!made.ok()) log::error("concept_detector_unusable model={} error=\"{}\"", model(), made.error);
    return std::move(made.detector);
}

void ModelMonitor::resume(pqxx::connection_base& connection) {
    const auto checkpoint = store::load_checkpoint(connection, model());
    resume_needed_ = false;
    // Rankings asked for before a restart, or by the model's previous owner,
    // and never attached wait in the store: the worker looks again.
    if (ranking_basis_) rankings_.request(model(), ranking_basis_);
    const auto epoch = fence_ ? fence_->epoch : 0;
    if (!checkpoint) {
        concept_ = fresh_concept_detector();
        anomaly_.clear();
        log::info("monitor_resumed model={} epoch={} from=nothing", model(), epoch);
        return;
    }
    auto restored = restore_monitor_state(options_, checkpoint->state_json);
    anomaly_ = std::move(restored.anomaly);
    // The concept detector's state belongs to the reference it was saved
    // against (a new reference restarts it); the operational series do not.
    const bool same_reference = checkpoint->reference_id == fitted_->reference_id;
    concept_ = same_reference ? std::move(restored.concept_detector) : fresh_concept_detector();
    if (restored.not_restored.empty())
        log::info("monitor_resumed model={} epoch={} from=checkpoint concept={}", model(), epoch,
                  same_reference ? "restored" : "fresh");
    else
        log::warning("monitor_resumed model={} epoch={} from=checkpoint concept={} not_restored=\"{}\"", model(),
                     epoch, same_reference ? "restored" : "fresh", restored.not_restored);
}

store::MonitorWrite ModelMonitor::write_under_lease() const {
    return {fence_, store::MonitorCheckpoint{fitted_->reference_id,
                                             save_monitor_state(options_, concept_.get(), anomaly_)}};
}

bool ModelMonitor::ensure_reference(pqxx::connection_base& connection, std::int64_t now_us,
                                    std::optional<std::int64_t> stored_before_us, PassControl& control) {
    if (!privacy_) {
        privacy_ = store::record_privacy_fingerprint(connection, model(), privacy_fingerprint(options_.schema.privacy),
                                                     daemon_started_us_);
        if (privacy_->previous)
            log::warning("privacy_policy_changed model={} fingerprint=\"{}\" previous=\"{}\" since={}", model(),
                         privacy_->fingerprint, *privacy_->previous, format_rfc3339_us(privacy_->since_us));
    }
    auto stored = store::active_reference(connection, model());
    // A reference holds values as the policy of its time kept them: under
    // another policy or key they are raw (or hashed differently) values the
    // running policy would not store, and they would read as drift and
    // vanished categories. Such a reference is retired (its rows are then
    // free for retention) and a new one taken from rows received since.
    if (stored && !stored->pending() && stored->privacy_fingerprint.value_or("") != privacy_->fingerprint) {
        log::warning("reference_policy_mismatch model={} reference={} reference_fingerprint=\"{}\" "
                     "running_fingerprint=\"{}\" action=retired",
                     model(), stored->id, stored->privacy_fingerprint.value_or("none recorded"), privacy_->fingerprint);
        metrics_.reference_policy_mismatches.Add({{"model", model()}}).Increment();
        control.checkpoint();
        store::retire_reference(connection, stored->id);
        fitted_.reset();
        stored.reset();
    }
    // A reference kept as rows cannot judge a profile-only model's features
    // (its sample holds raw values the model no longer keeps), nor one kept
    // as a profile a model that stores rows: store_raw changed across a
    // restart (a reload cannot change it). It is retired and retaken.
    if (stored && !stored->pending() && (!fitted_ || fitted_->reference_id != stored->id) &&
        store::reference_has_profile(connection, stored->id) == options_.store_raw) {
        log::warning("reference_storage_mismatch model={} reference={} store_raw={} action=retired", model(),
                     stored->id, options_.store_raw);
        control.checkpoint();
        store::retire_reference(connection, stored->id);
        fitted_.reset();
        stored.reset();
    }
    if (!stored || stored->pending()) {
        auto capture = capture_reference(connection, options_, stored, *privacy_, now_us, stored_before_us, control);
        // A reference whose every profile chunk is unusable waits until an
        // operator acts (docs/monitoring.md, "Drift and data quality from
        // profiles"): counted in the gauge, logged as an error.
        metrics_.reference_unusable_profile_chunks.Add({{"model", model()}})
            .Set(static_cast<double>(capture.unusable_chunks.size()));
        if (!capture.stored) {
            if (capture.waiting_for != waiting_for_) {
                if (capture.unusable_chunks.empty()) {
                    log::info("reference_waiting model={} for=\"{}\"", model(), capture.waiting_for);
                } else {
                    log_skipped_chunks(model(), capture.unusable_range, capture.unusable_chunks);
                    log::error("reference_profile_chunks_unusable model={} {} chunks={} action=waiting", model(),
                               capture.unusable_range, capture.unusable_chunks.size());
                }
            }
            waiting_for_ = std::move(capture.waiting_for);
            return false;
        }
        stored = store::active_reference(connection, model());
        if (!stored) return false;
    }
    waiting_for_.clear();
    control.checkpoint();
    // No checkpoint inside fit(): an interrupted fit would leave a half-fitted
    // reference that looks complete.
    if (!fitted_ || fitted_->reference_id != stored->id)
        fit(connection, *stored);
    else
        apply_rebase(*fitted_, *stored, rows_options_);  // a rejected job's, since the fit
    control.checkpoint();
    return fitted_ && fitted_->error.empty();
}

void ModelMonitor::fit(pqxx::connection_base& connection, const store::StoredReference& reference) {
    metrics_.reference_rows.Add({{"model", model()}}).Set(static_cast<double>(reference.rows));
    fitted_ = std::make_unique<ReferenceFit>(fit_reference(reference, rows_options_));
    ranking_basis_.reset();
    if (!fitted_->error.empty()) return;
    if (!options_.store_raw) {
        auto profile = store::load_reference_profile(connection, reference.id);
        if (profile && !profile->error.empty()) {
            // A damaged profile (the database is read as an input) is
            // retired like a reference of another policy: the next pass takes
            // the reference again from the rows and their chunks, skipping
            // any damaged one, instead of leaving the model unjudged.
            log::error("reference_profile_unusable model={} reference={} error=\"{}\" action=retired", model(),
                       reference.id, profile->error);
            store::retire_reference(connection, reference.id);
            fitted_.reset();
            return;
        }
        if (!profile) {
            fitted_->error = "reference " + std::to_string(reference.id) + " has no feature profile";
            log::error("reference_unusable model={} error=\"{}\"", model(), fitted_->error);
            return;
        }
        fitted_->profiles = std::move(profile->profiles);
    }
    // Ranked on the rows as stored: a profile-only model's hold no features.
    ranking_basis_ = ranking_basis(*fitted_, rows_options_);
    // A new reference is a new normal: the concept detector starts over.
    concept_ = fresh_concept_detector();
    log::notice("reference_fitted model={} reference={} rows={}", model(), reference.id, reference.rows);
}

void ModelMonitor::evaluate_window(pqxx::connection_base& connection, std::vector<store::WindowRow> rows,
                                   const std::optional<store::StoredWindow>& previous, PassControl& control) {
    const auto& schema = rows_options_.schema;
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
    WindowVerdicts verdicts;
    auto drift = detect_drift(*fitted_, rows_options_, table, span, metrics_, verdicts);
    control.checkpoint();
    if (fitted_->quality) check_quality(*fitted_, rows_options_, rows, feature_objects, span, verdicts);
    control.checkpoint();
    if (fitted_->profiles) {
        // The window's features are the merge of its time bucket's chunks,
        // written with its rows (store/profile_writer.h).
        const std::int64_t width_us = static_cast<std::int64_t>(options_.window.duration_ms) * 1000;
        const std::int64_t bucket_us = floor_to(window.first.ts_us, width_us);
        const auto profiles = store::merge_profile_chunks(connection, model(), bucket_us, bucket_us + width_us, {},
                                                          std::nullopt, options_.drift.max_segment_values);
        control.checkpoint();
        // A chunk that cannot be used is left out and named, here and in the
        // evidence; the window is judged from the others (none: every
        // feature is listed as not computed, and nothing drifts).
        log_skipped_chunks(model(), fmt::format("window={} bucket={}", window.sequence, format_rfc3339_us(bucket_us)),
                           profiles.skipped);
        drift = detect_profile_drift(*fitted_->profiles, profiles.profiles, rows.size(), options_,
                                     fitted_->profile_noise, span, metrics_, verdicts, profiles.skipped);
        check_profile_quality(*fitted_->profiles, profiles.profiles, options_, span, verdicts);
    }
    control.checkpoint();
    // A drop's causes are ranked after the window is stored, off this pass.
    bool ranking_wanted = false;
    if (fitted_->cbpe) {
        estimate_performance(*fitted_, rows_options_, rows, span, verdicts);
        ranking_wanted = mark_performance_drops(*fitted_, verdicts.findings);
    }
    control.checkpoint();
    measure_operations(connection, rows_options_, rows, table, verdicts);
    if (!options_.anomaly.detector.empty()) score_anomalies(anomaly_, rows_options_, span, metrics_, verdicts);
    control.checkpoint();
    for (const auto& metric : verdicts.metrics)
        if (metric.segment.empty()) metrics_.set_window_metric(model(), metric.name, metric.estimated, metric.value);

    store::record_window(connection, model(), fitted_->reference_id, window, verdicts.findings, verdicts.metrics,
                         write_under_lease());
    if (ranking_wanted) rankings_.request(model(), ranking_basis_);
    metrics_.windows_closed.Add({{"model", model()}}).Increment();
    count_findings(verdicts.findings);
    log::info("window_closed model={} sequence={} rows={} dataset_drift={} drifted={}/{}", model(), window.sequence,
              rows.size(), drift.dataset_drift, drift.drifted, drift.evaluated);
}

void ModelMonitor::judge_performance(pqxx::connection_base& connection, std::int64_t now_us, PassControl& control) {
    const auto& performance = options_.performance;
    const bool regression = options_.schema.prediction_type == PredictionType::regression;
    for (const auto& window : store::windows_awaiting_performance(connection, model())) {
        control.checkpoint();
        const auto rows = store::read_window_rows(connection, model(), window);
        if (rows.empty()) continue;
        const double coverage = label_coverage(rows, regression);
        const bool waited = now_us - window.closed_at_us >= static_cast<std::int64_t>(performance.label_wait_ms) * 1000;
        // Windows are judged in order, so the error stream reaches the
        // concept detector in the order the predictions were made.
        if (coverage < performance.min_label_coverage && !waited) break;
        auto judged = judge_window_performance(*fitted_, rows_options_, concept_.get(), rows, window, coverage);
        const bool ranking_wanted = mark_performance_drops(*fitted_, judged.findings);
        control.checkpoint();
        store::record_window_performance(connection, model(), window.id, coverage, true, judged.findings,
                                         judged.metrics, write_under_lease());
        if (ranking_wanted) rankings_.request(model(), ranking_basis_);
        for (const auto& metric : judged.metrics)
            if (metric.segment.empty()) metrics_.set_window_metric(model(), metric.name, false, metric.value);
        count_findings(judged.findings);
    }
}

void ModelMonitor::count_findings(const std::vector<Finding>& findings) {
    for (const auto& finding : findings)
        metrics_.findings.Add({{"model", model()}, {"kind", finding.kind}, {"triggered", finding.triggered ? "true" : "false"}})
            .Increment();
}

}  // namespace mw::daemon
