#include "daemon/metrics.h"

#include <stdexcept>

#include <fmt/format.h>

#include "detectors/performance_metrics.h"
#include "store/read_sessions.h"

namespace mw::daemon {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

const char* to_string(MetricType type) {
    switch (type) {
        case MetricType::counter: return "counter";
        case MetricType::gauge: return "gauge";
        case MetricType::histogram: return "histogram";
    }
    return "untyped";
}

const std::vector<WindowGauge>& window_gauges() {
    static const std::vector<WindowGauge> gauges = [] {
        // The operational series of the latest closed window and the label
        // figures of the latest judged one (docs/monitoring.md, "Window metrics").
        std::vector<WindowGauge> out{
            {"rows", "modelwatch_window_rows", 1, false, "Predictions in the latest closed window."},
            {"rows_per_minute", "modelwatch_window_rows_per_second", 1.0 / 60, false,
             "Predictions of the latest closed window per second of the time they were received in."},
            {"outcomes_per_minute", "modelwatch_window_outcomes_per_second", 1.0 / 60, false,
             "Outcomes received per second while the latest closed window's predictions arrived."},
            {"rejected_share", "modelwatch_window_rejected_ratio", 1, false,
             "Predictions rejected at ingest / (rejected + accepted) while the latest closed window's arrived."},
            {"label_rate", "modelwatch_window_label_ratio", 1, false,
             "Outcomes received while the latest closed window's predictions arrived, per prediction; 0 when the "
             "label feed stops."},
            {"ingest_latency_p50_seconds", "modelwatch_window_ingest_latency_p50_seconds", 1, false,
             "Median of received_at - ts over the latest closed window."},
            {"score_mean", "modelwatch_window_score_mean", 1, false, "Mean score of the latest closed window."},
            {"score_sd", "modelwatch_window_score_stddev", 1, false,
             "Standard deviation of the scores of the latest closed window."},
            {"missing_rate", "modelwatch_window_missing_ratio", 1, false,
             "Missing feature values / feature cells in the latest closed window."},
            {"label_coverage", "modelwatch_window_label_coverage_ratio", 1, false,
             "Share of the latest judged window's predictions that have an outcome."},
            {"label_delay_p50_seconds", "modelwatch_window_label_delay_p50_seconds", 1, false,
             "Median delay from prediction to outcome in the latest judged window."},
            {"label_delay_p95_seconds", "modelwatch_window_label_delay_p95_seconds", 1, false,
             "95th percentile of the delay from prediction to outcome in the latest judged window."},
        };
        // Performance: every metric the performance and CBPE code can store,
        // named after it (detectors/performance_metrics.h); CBPE adds specificity.
        auto performance = [&](const std::string& name, const char* what) {
            out.push_back({name, "modelwatch_window_" + name, 1, true,
                           fmt::format("The model's {} ({}) on the latest judged window; estimated=\"true\" for the "
                                       "CBPE estimate made before outcomes arrive.",
                                       name, what)});
        };
        for (const auto& name : performance::classification_metric_names()) performance(name, "sklearn.metrics");
        performance("specificity", "true negatives / negatives");
        for (const auto& name : performance::regression_metric_names())
            performance(name, "sklearn.metrics, in the label's unit where it has one");
        return out;
    }();
    return gauges;
}

std::string read_statement_timeouts_help(std::chrono::milliseconds timeout) {
    return fmt::format("Reads cancelled by their statement_timeout ({:g} s; SQLSTATE 57014), by purpose; the read is "
                       "answered 503.",
                       std::chrono::duration<double>(timeout).count());
}

const std::vector<MetricDefinition>& metric_definitions() {
    using enum MetricType;
    static const std::vector<MetricDefinition> definitions = [] {
        std::vector<MetricDefinition> out{
            {"modelwatch_build_info", gauge, {"version"}, "Always 1; the labels say which build is running."},
            {"modelwatch_ready", gauge, {}, "1 when /readyz answers 200 (PostgreSQL reachable, spool healthy with room), else 0."},
            {"modelwatch_records_accepted_total", counter, {"model", "kind"},
             "Records made durable, by model and kind (prediction, outcome)."},
            {"modelwatch_records_rejected_total", counter, {"model", "kind", "reason"},
             "Records refused at ingest, by model, kind and reason code (detectors/rejection_reasons.h)."},
            {"modelwatch_ingest_id_conflicts_total", counter, {"model", "kind"},
             "Records refused at ingest because their id was acknowledged before with another payload (the first is "
             "kept), by model and kind."},
            {"modelwatch_http_requests_total", counter, {"route", "code"}, "HTTP requests answered, by route and status code."},
            {"modelwatch_http_request_duration_seconds", histogram, {"route"},
             "Time from a request's body being read to its answer, by route."},
            {"modelwatch_http_open_connections", gauge, {}, "Open HTTP connections."},
            {"modelwatch_http_connections_refused_total", counter, {"reason"},
             "HTTP connections answered and closed as soon as accepted, by reason (enum Refused in "
             "daemon/http_server.cpp)."},
            {"modelwatch_http_connections_closed_total", counter, {"reason"},
             "HTTP connections closed, by reason (every reason is exported from the start; their meanings: enum "
             "Closed in daemon/http_server.cpp)."},
            {"modelwatch_http_body_bytes_in_flight", gauge, {},
             "Memory held by request bodies being received or handled, counted against server.max_inflight_bytes."},
            {"modelwatch_spool_bytes", gauge, {},
             "Bytes of spool segment files on disk (counted against the budget; drained segments are deleted whole)."},
            {"modelwatch_spool_limit_bytes", gauge, {}, "The spool's disk budget; ingest answers 503 past it."},
            {"modelwatch_spool_segments", gauge, {}, "Segment files in the spool."},
            {"modelwatch_spool_fsyncs_total", counter, {}, "fdatasync calls of the spool (each commits a group of batches)."},
            {"modelwatch_spool_backlog_bytes", gauge, {},
             "Bytes of acknowledged records in the spool not yet in PostgreSQL; with modelwatch_store_lag_seconds the "
             "backlog to alert on (a drain that keeps up holds both near 0)."},
            {"modelwatch_spool_backlog_drain_seconds", gauge, {},
             "The backlog counted by admission control (acknowledged while the drain was working) over the measured "
             "drain rate: seconds of drain; ingest answers 503 past spool.max_backlog (0 while the rate is unknown)."},
            {"modelwatch_store_drain_bytes_per_second", gauge, {},
             "Spool bytes the drain stores per second while it has work, over the last 10 s of work (0 until "
             "measured)."},
            {"modelwatch_ingest_admissions_refused_total", counter, {},
             "Batches refused (503 with Retry-After, NATS pulls paused) because the backlog was past "
             "spool.max_backlog seconds of drain."},
            {"modelwatch_store_up", gauge, {},
              "1 when PostgreSQL answers the periodic probe (store.probe_interval) with the current schema, else 0."},
            {"modelwatch_store_lag_seconds", gauge, {},
             "Age of the oldest acknowledged record not yet in PostgreSQL (0 when none): the spool backlog in seconds."},
            {"modelwatch_store_watermark_lag_seconds", gauge, {},
             "How far the monitors' watermark is behind the clock: references and windows are taken only from rows "
             "received before it (docs/scaling.md, Complete rows); it grows while a live daemon's drain is behind, "
             "and for a lease after a daemon died."},
            {"modelwatch_store_rows_written_total", counter, {"kind"}, "Rows inserted into PostgreSQL, by kind."},
            {"modelwatch_store_duplicates_ignored_total", counter, {},
             "Rows not inserted because their (model, id) was already stored."},
            {"modelwatch_store_batches_quarantined_total", counter, {},
             "Spooled batches PostgreSQL refused for their content, kept in quarantine files."},
            {"modelwatch_store_records_key_refused_total", counter, {"model", "key_id"},
             "Spooled records not stored because they were hashed under a privacy key PostgreSQL does not record "
             "for their model (a daemon started with a stray key while PostgreSQL was down), kept in quarantine "
             "files, by model and the key id they were hashed under (docs/privacy.md)."},
            {"modelwatch_quarantine_files", gauge, {},
             "Quarantine files in the spool directory (kept batches the store refused, from this process or an "
             "earlier one), counted at start, after each one written and at each reload: a file the operator "
             "deleted drops out at the next count (docs/privacy.md, Quarantine files)."},
            {"modelwatch_quarantine_records", gauge, {},
             "Records those quarantine files hold: acknowledged, never stored, never loaded back. A record is a line "
             "with its kind's COPY columns (store/quarantine.h): the lines of a reason an older daemon wrote over "
             "several lines are not counted."},
            {"modelwatch_privacy_key_conflicts", gauge, {},
             "Models whose privacy key has another id than the one PostgreSQL records (the drain's claim refused): "
             "their records are refused at ingest (503); /readyz names them."},
            {"modelwatch_store_write_errors_total", counter, {}, "Failed connection or write attempts to PostgreSQL."},
            {"modelwatch_read_sessions", gauge, {"purpose"},
             "Read-only PostgreSQL sessions open now (idle or reading), by purpose (admin: the admin API's and the pages' reads, store/read_sessions.h)."},
            {"modelwatch_read_sessions_opened_total", counter, {"purpose"},
             "Read-only sessions opened, by purpose."},
            {"modelwatch_read_session_connect_failures_total", counter, {"purpose"},
             "Connection attempts of the read sessions that failed (PostgreSQL down or slower than store.connect_timeout), by purpose; the read is answered 503."},
            {"modelwatch_read_sessions_closed_total", counter, {"purpose"},
             "Read sessions found closed by PostgreSQL when a read used them (a restart, pg_terminate_backend), by purpose; a session found closed while it was idle is replaced and the read tried once more."},
            {"modelwatch_read_statement_timeouts_total", counter, {"purpose"},
             read_statement_timeouts_help(store::admin_read_timeout)},
            {"modelwatch_retention_partitions_dropped_total", counter, {},
             "Day partitions of predictions, outcomes and their boundary keys dropped by retention passes."},
            {"modelwatch_retention_rows_deleted_total", counter, {"kind"},
             "Rows deleted by retention passes, by kind (rejection_counts, profile_chunks, findings, "
             "decisions, windows, alert_deliveries, jobs, audits, store_watermarks); rows of dropped partitions are not "
             "counted."},
            {"modelwatch_retention_last_success_timestamp_seconds", gauge, {},
             "When the last retention pass completed (Unix time; 0 until one has)."},
            {"modelwatch_config_reloads_total", counter, {"result"}, "Configuration reloads (SIGHUP), by result."},
             {"modelwatch_config_generation", gauge, {},
              "The configuration in force: 1 at start, one more per successful reload."},
             {"modelwatch_worker_stuck", gauge, {"worker"},
              "1 while the worker's pass has reached no safe point for monitor.progress_timeout."},
            {"modelwatch_file_tail_lines_total", counter, {"path", "result"},
             "Lines read by the file tails, by file and result (delivered, rejected, too_long)."},
            {"modelwatch_file_tail_events_total", counter, {"path", "event"},
             "File tail events, by file and event (rotation, truncation, error)."},
            {"modelwatch_nats_messages_total", counter, {"kind", "result"},
             "NATS JetStream messages, by kind (prediction, outcome) and result: fetched (delivered to this daemon), "
             "acked (after their records were spooled), rejected (terminated: nothing in them could be taken), "
             "redelivered (fetched again), deferred (handed back: the spool refused them)."},
            {"modelwatch_nats_fetch_errors_total", counter, {"kind"},
             "Pull requests to NATS JetStream that failed, by kind (empty pulls are not errors)."},
            {"modelwatch_nats_connected", gauge, {},
             "1 while the NATS connection is up and both consumers are bound, else 0 (absent without nats:)."},
            {"modelwatch_nats_fetch_paused", gauge, {},
             "1 while pulls from NATS are held back because the spool is nearly full, else 0."},
            {"modelwatch_windows_closed_total", counter, {"model"}, "Windows closed and evaluated, by model."},
            {"modelwatch_findings_total", counter, {"model", "kind", "triggered"},
             "Findings stored, by model, kind and whether they triggered."},
            {"modelwatch_feature_drift_wasserstein_normalised", gauge, {"model", "feature"},
             "Wasserstein-1 distance between the latest window and the reference of a numeric feature, divided by "
             "the reference's standard deviation."},
            {"modelwatch_feature_drift_jensen_shannon_distance", gauge, {"model", "feature"},
             "Jensen-Shannon distance (natural log) between the latest window's and the reference's category shares "
             "of a categorical feature."},
            {"modelwatch_feature_drifted", gauge, {"model", "feature"},
             "1 when the latest window's verdict for the feature is drift, else 0."},
            {"modelwatch_dataset_drift", gauge, {"model"},
             "1 when the share of drifted features in the latest window reached drift_share."},
            {"modelwatch_drift_share", gauge, {"model"}, "Share of the features drifted in the latest window."},
            {"modelwatch_anomaly_score", gauge, {"model", "series"},
             "Anomaly score in [0, 1] of the latest point of an operational series."},
            {"modelwatch_reference_rows", gauge, {"model"},
             "Rows in the model's active reference sample (0 while one is being collected)."},
            {"modelwatch_reference_policy_mismatches_total", counter, {"model"},
             "References retired because they were stored under another privacy policy or key (docs/privacy.md)."},
            {"modelwatch_reference_unusable_profile_chunks", gauge, {"model"},
             "Profile chunks of a profile-only model's reference buckets, every one unusable (damaged), while its "
             "reference waits on them; 0 otherwise (docs/monitoring.md)."},
        };
        for (const auto& window : window_gauges())
            out.push_back({window.metric_name, gauge,
                           window.estimable ? std::vector<std::string>{"model", "estimated"}
                                            : std::vector<std::string>{"model"},
                           window.help});
        const std::vector<MetricDefinition> later{
            {"modelwatch_alert_deliveries_total", counter, {"result"},
             "Alert deliveries attempted, by result (delivered, failed, abandoned)."},
            {"modelwatch_retrain_transitions_total", counter, {"model", "state"},
             "Retraining job state changes, by model and new state."},
            {"modelwatch_retrain_breaker_open", gauge, {"model"},
             "1 while the model's retraining circuit breaker is open (no job is queued until it is reset)."},
            {"modelwatch_audits_total", counter, {"model", "audit", "state"},
             "Fairness audits finished, by model, audit and state (passed, failed, error)."},
            {"modelwatch_audit_due_slot_timestamp_seconds", gauge, {"model", "audit"},
             "The latest slot of the audit's schedule at or before now (Unix time)."},
            {"modelwatch_audit_completed_slot_timestamp_seconds", gauge, {"model", "audit"},
             "The latest slot the audit completed (passed or failed, not error), or the slot before the daemon first "
             "saw the audit when it has none (Unix time); behind the due slot while a run is owed."},
            {"modelwatch_models_owned", gauge, {},
             "Models whose lease this daemon holds: it alone closes their windows and runs their detectors and "
             "audits (docs/scaling.md)."},
            {"modelwatch_lease_events_total", counter, {"event"},
             "Model leases renewed, claimed (a new epoch), released (beyond this daemon's share, or at a clean stop) "
             "and lost (expired or taken before this daemon renewed them), by event."},
            {"modelwatch_lease_fenced_writes_total", counter, {},
             "Window writes, scheduled audit runs, alert routings and re-sends the store refused because the lease "
             "they were decided under was no longer held, and alert deliveries withheld because the lease was lost "
             "between their claim and their send."},
        };
        out.insert(out.end(), later.begin(), later.end());
        return out;
    }();
    return definitions;
}

std::string metric_table_markdown() {
    std::string out = "| metric | type | labels | meaning |\n|---|---|---|---|\n";
    for (const auto& definition : metric_definitions()) {
        std::string labels;
        for (const auto& label : definition.labels) labels += (labels.empty() ? "" : ", ") + label;
        out += fmt::format("| `{}` | {} | {} | {} |\n", definition.name, to_string(definition.type),
                           labels.empty() ? "-" : labels, definition.help);
    }
    return out;
}

namespace {

const MetricDefinition& defined(const std::string& name, MetricType type) {
    for (const auto& definition : metric_definitions())
        if (definition.name == name && definition.type == type) return definition;
    throw std::logic_error("metric " + name + " is not in metric_definitions() as a " + to_string(type));
}

prometheus::Family<prometheus::Counter>& counter(prometheus::Registry& registry, const std::string& name) {
    const auto& definition = defined(name, MetricType::counter);
    return BuildCounter().Name(definition.name).Help(definition.help).Register(registry);
}

prometheus::Family<prometheus::Gauge>& gauge(prometheus::Registry& registry, const std::string& name) {
    const auto& definition = defined(name, MetricType::gauge);
    return BuildGauge().Name(definition.name).Help(definition.help).Register(registry);
}

prometheus::Family<prometheus::Histogram>& histogram(prometheus::Registry& registry, const std::string& name) {
    const auto& definition = defined(name, MetricType::histogram);
    return BuildHistogram().Name(definition.name).Help(definition.help).Register(registry);
}

}  // namespace

DaemonMetrics::DaemonMetrics(prometheus::Registry& registry)
    : records_accepted(counter(registry, "modelwatch_records_accepted_total")),
      records_rejected(counter(registry, "modelwatch_records_rejected_total")),
      id_conflicts(counter(registry, "modelwatch_ingest_id_conflicts_total")),
      requests(counter(registry, "modelwatch_http_requests_total")),
      request_duration(histogram(registry, "modelwatch_http_request_duration_seconds")),
      ready(gauge(registry, "modelwatch_ready").Add({})),
      spool_bytes(gauge(registry, "modelwatch_spool_bytes").Add({})),
      spool_limit_bytes(gauge(registry, "modelwatch_spool_limit_bytes").Add({})),
      spool_segments(gauge(registry, "modelwatch_spool_segments").Add({})),
      spool_fsyncs(counter(registry, "modelwatch_spool_fsyncs_total").Add({})),
      spool_backlog_bytes(gauge(registry, "modelwatch_spool_backlog_bytes").Add({})),
      spool_backlog_drain_seconds(gauge(registry, "modelwatch_spool_backlog_drain_seconds").Add({})),
      store_drain_bytes_per_second(gauge(registry, "modelwatch_store_drain_bytes_per_second").Add({})),
      admissions_refused(counter(registry, "modelwatch_ingest_admissions_refused_total").Add({})),
      store_up(gauge(registry, "modelwatch_store_up").Add({})),
      store_lag_seconds(gauge(registry, "modelwatch_store_lag_seconds").Add({})),
      store_watermark_lag_seconds(gauge(registry, "modelwatch_store_watermark_lag_seconds").Add({})),
      store_rows_written_predictions(counter(registry, "modelwatch_store_rows_written_total").Add({{"kind", "prediction"}})),
      store_rows_written_outcomes(counter(registry, "modelwatch_store_rows_written_total").Add({{"kind", "outcome"}})),
      store_duplicates_ignored(counter(registry, "modelwatch_store_duplicates_ignored_total").Add({})),
      store_batches_quarantined(counter(registry, "modelwatch_store_batches_quarantined_total").Add({})),
      store_write_errors(counter(registry, "modelwatch_store_write_errors_total").Add({})),
      read_sessions_open(gauge(registry, "modelwatch_read_sessions")),
      read_sessions_opened(counter(registry, "modelwatch_read_sessions_opened_total")),
      read_session_connect_failures(counter(registry, "modelwatch_read_session_connect_failures_total")),
      read_sessions_closed(counter(registry, "modelwatch_read_sessions_closed_total")),
      read_statement_timeouts(counter(registry, "modelwatch_read_statement_timeouts_total")),
      store_records_key_refused(counter(registry, "modelwatch_store_records_key_refused_total")),
      quarantine_files(gauge(registry, "modelwatch_quarantine_files").Add({})),
      quarantine_records(gauge(registry, "modelwatch_quarantine_records").Add({})),
      privacy_key_conflicts(gauge(registry, "modelwatch_privacy_key_conflicts").Add({})),
      retention_partitions_dropped(counter(registry, "modelwatch_retention_partitions_dropped_total").Add({})),
      retention_rows_deleted(counter(registry, "modelwatch_retention_rows_deleted_total")),
      retention_last_success(gauge(registry, "modelwatch_retention_last_success_timestamp_seconds").Add({})),
      config_reloads_ok(counter(registry, "modelwatch_config_reloads_total").Add({{"result", "success"}})),
      config_reloads_failed(counter(registry, "modelwatch_config_reloads_total").Add({{"result", "failure"}})),
      config_generation(gauge(registry, "modelwatch_config_generation").Add({})),
      worker_stuck(gauge(registry, "modelwatch_worker_stuck")),
      open_connections(gauge(registry, "modelwatch_http_open_connections").Add({})),
      http_connections_refused(counter(registry, "modelwatch_http_connections_refused_total")),
      http_connections_closed(counter(registry, "modelwatch_http_connections_closed_total")),
      http_body_bytes_in_flight(gauge(registry, "modelwatch_http_body_bytes_in_flight").Add({})),
      file_tail_lines(counter(registry, "modelwatch_file_tail_lines_total")),
      file_tail_events(counter(registry, "modelwatch_file_tail_events_total")),
      nats_messages(counter(registry, "modelwatch_nats_messages_total")),
      nats_fetch_errors(counter(registry, "modelwatch_nats_fetch_errors_total")),
      nats_connected(gauge(registry, "modelwatch_nats_connected")),
      nats_fetch_paused(gauge(registry, "modelwatch_nats_fetch_paused")),
      feature_drift_wasserstein(gauge(registry, "modelwatch_feature_drift_wasserstein_normalised")),
      feature_drift_jensen_shannon(gauge(registry, "modelwatch_feature_drift_jensen_shannon_distance")),
      feature_drifted(gauge(registry, "modelwatch_feature_drifted")),
      dataset_drift(gauge(registry, "modelwatch_dataset_drift")),
      drift_share(gauge(registry, "modelwatch_drift_share")),
      windows_closed(counter(registry, "modelwatch_windows_closed_total")),
      findings(counter(registry, "modelwatch_findings_total")),
      anomaly_score(gauge(registry, "modelwatch_anomaly_score")),
      reference_rows(gauge(registry, "modelwatch_reference_rows")),
      reference_policy_mismatches(counter(registry, "modelwatch_reference_policy_mismatches_total")),
      reference_unusable_profile_chunks(gauge(registry, "modelwatch_reference_unusable_profile_chunks")),
      alert_deliveries(counter(registry, "modelwatch_alert_deliveries_total")),
      retrain_transitions(counter(registry, "modelwatch_retrain_transitions_total")),
      retrain_breaker_open(gauge(registry, "modelwatch_retrain_breaker_open")),
      audits(counter(registry, "modelwatch_audits_total")),
      audit_due_slot(gauge(registry, "modelwatch_audit_due_slot_timestamp_seconds")),
      audit_completed_slot(gauge(registry, "modelwatch_audit_completed_slot_timestamp_seconds")),
      models_owned(gauge(registry, "modelwatch_models_owned").Add({})),
      leases_renewed(counter(registry, "modelwatch_lease_events_total").Add({{"event", "renewed"}})),
      leases_claimed(counter(registry, "modelwatch_lease_events_total").Add({{"event", "claimed"}})),
      leases_released(counter(registry, "modelwatch_lease_events_total").Add({{"event", "released"}})),
      leases_lost(counter(registry, "modelwatch_lease_events_total").Add({{"event", "lost"}})),
      writes_fenced(counter(registry, "modelwatch_lease_fenced_writes_total").Add({})) {
    gauge(registry, "modelwatch_build_info").Add({{"version", MODELWATCH_VERSION}}).Set(1);
    for (const auto& window : window_gauges())
        window_families_.emplace(window.stored_name, WindowFamily{&gauge(registry, window.metric_name), &window});
}

bool DaemonMetrics::set_window_metric(const std::string& model, const std::string& stored_name, bool estimated,
                                      double value) {
    const auto found = window_families_.find(stored_name);
    if (found == window_families_.end()) return false;
    const auto& [family, window] = found->second;
    if (window->estimable)
        family->Add({{"model", model}, {"estimated", estimated ? "true" : "false"}}).Set(value * window->scale);
    else
        family->Add({{"model", model}}).Set(value * window->scale);
    return true;
}

}  // namespace mw::daemon
