// The daemon's Prometheus metrics. The registry is the one process-wide
// object STYLE.md allows; this struct holds references to the families so
// that hot paths never look them up by name.
//
// metric_definitions() is the one list of what the daemon exports: the
// families below are registered from it, docs/monitoring.md's table is
// checked against it (tests/daemon/metrics_test.cpp), and the Grafana
// dashboard and Prometheus rules in contrib/ are checked against that table.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace mw::daemon {

enum class MetricType { counter, gauge, histogram };
const char* to_string(MetricType type);

struct MetricDefinition {
    std::string name;
    MetricType type;
    std::vector<std::string> labels;
    std::string help;
};

// A window metric as stored (window_metrics.name) and the gauge it is
// exported as: one gauge per meaning, in base units (value * scale).
struct WindowGauge {
    std::string stored_name;  // "rows_per_minute"
    std::string metric_name;  // "modelwatch_window_rows_per_second"
    double scale = 1;         // 1/60 for a per-minute rate
    bool estimable = false;   // a performance metric: labelled {model, estimated}, else {model}
    std::string help;
};

// Whole-window metrics that are exported; the others (per-feature quality
// values, per-reason rejections) stay in PostgreSQL and /v1/windows.
const std::vector<WindowGauge>& window_gauges();

// Every metric the daemon exports, in the order docs/monitoring.md lists them.
const std::vector<MetricDefinition>& metric_definitions();

// docs/monitoring.md's metric table (header included), made from metric_definitions().
std::string metric_table_markdown();

// The help of modelwatch_read_statement_timeouts_total for reads cancelled
// after `timeout` (store::admin_read_timeout): made from the constant, so
// that the text never disagrees with it.
std::string read_statement_timeouts_help(std::chrono::milliseconds timeout);

struct DaemonMetrics {
    explicit DaemonMetrics(prometheus::Registry& registry);

    prometheus::Family<prometheus::Counter>& records_accepted;  // {model, kind}
    prometheus::Family<prometheus::Counter>& records_rejected;  // {model, kind, reason}
    prometheus::Family<prometheus::Counter>& id_conflicts;      // {model, kind}
    prometheus::Family<prometheus::Counter>& requests;          // {route, code}
    prometheus::Family<prometheus::Histogram>& request_duration;  // {route}
    prometheus::Gauge& ready;
    prometheus::Gauge& spool_bytes;
    prometheus::Gauge& spool_limit_bytes;
    prometheus::Gauge& spool_segments;
    prometheus::Counter& spool_fsyncs;
    prometheus::Gauge& spool_backlog_bytes;
    prometheus::Gauge& spool_backlog_drain_seconds;
    prometheus::Gauge& store_drain_bytes_per_second;
    prometheus::Counter& admissions_refused;
    prometheus::Gauge& store_up;
    prometheus::Gauge& store_lag_seconds;
    prometheus::Gauge& store_watermark_lag_seconds;  // set by the monitor pass
    prometheus::Counter& store_rows_written_predictions;
    prometheus::Counter& store_rows_written_outcomes;
    prometheus::Counter& store_duplicates_ignored;
    prometheus::Counter& store_batches_quarantined;
    prometheus::Counter& store_write_errors;
    // {purpose}: the read sessions (store/read_sessions.h) of each ReadSessions
    prometheus::Family<prometheus::Gauge>& read_sessions_open;
    prometheus::Family<prometheus::Counter>& read_sessions_opened;
    prometheus::Family<prometheus::Counter>& read_session_connect_failures;
    prometheus::Family<prometheus::Counter>& read_sessions_closed;
    prometheus::Family<prometheus::Counter>& read_statement_timeouts;
    prometheus::Family<prometheus::Counter>& store_records_key_refused;  // {model, key_id}
    prometheus::Gauge& quarantine_files;
    prometheus::Gauge& quarantine_records;
    prometheus::Gauge& privacy_key_conflicts;
    prometheus::Counter& retention_partitions_dropped;
    prometheus::Family<prometheus::Counter>& retention_rows_deleted;  // {kind}
    prometheus::Gauge& retention_last_success;
    prometheus::Counter& config_reloads_ok;
    prometheus::Counter& config_reloads_failed;
    prometheus::Gauge& config_generation;
    prometheus::Family<prometheus::Gauge>& worker_stuck;  // {worker}: 1 while its pass makes no progress
    prometheus::Gauge& open_connections;
    prometheus::Family<prometheus::Counter>& http_connections_refused;  // {reason}: at accept
    prometheus::Family<prometheus::Counter>& http_connections_closed;   // {reason}: every accepted connection, once
    prometheus::Gauge& http_body_bytes_in_flight;
    prometheus::Family<prometheus::Counter>& file_tail_lines;  // {path, result}
    prometheus::Family<prometheus::Counter>& file_tail_events; // {path, event}
    prometheus::Family<prometheus::Counter>& nats_messages;      // {kind, result}
    prometheus::Family<prometheus::Counter>& nats_fetch_errors;  // {kind}
    prometheus::Family<prometheus::Gauge>& nats_connected;       // {}: only with nats configured
    prometheus::Family<prometheus::Gauge>& nats_fetch_paused;    // {}

    // Monitoring: what the detectors concluded about the latest window.
    prometheus::Family<prometheus::Gauge>& feature_drift_wasserstein;     // {model, feature}: numeric features
    prometheus::Family<prometheus::Gauge>& feature_drift_jensen_shannon;  // {model, feature}: categorical features
    prometheus::Family<prometheus::Gauge>& feature_drifted;      // {model, feature}: 1 when drifted
    prometheus::Family<prometheus::Gauge>& dataset_drift;        // {model}: 1 when the dataset drifted
    prometheus::Family<prometheus::Gauge>& drift_share;          // {model}
    prometheus::Family<prometheus::Counter>& windows_closed;     // {model}
    prometheus::Family<prometheus::Counter>& findings;           // {model, kind, triggered}
    prometheus::Family<prometheus::Gauge>& anomaly_score;        // {model, series}
    prometheus::Family<prometheus::Gauge>& reference_rows;       // {model}
    prometheus::Family<prometheus::Counter>& reference_policy_mismatches;  // {model}
    prometheus::Family<prometheus::Gauge>& reference_unusable_profile_chunks;  // {model}
    prometheus::Family<prometheus::Counter>& alert_deliveries;   // {result}
    prometheus::Family<prometheus::Counter>& retrain_transitions; // {model, state}
    prometheus::Family<prometheus::Gauge>& retrain_breaker_open;  // {model}
    prometheus::Family<prometheus::Counter>& audits;             // {model, audit, state}
    prometheus::Family<prometheus::Gauge>& audit_due_slot;       // {model, audit}
    prometheus::Family<prometheus::Gauge>& audit_completed_slot; // {model, audit}
    prometheus::Gauge& models_owned;
    prometheus::Counter& leases_renewed;
    prometheus::Counter& leases_claimed;
    prometheus::Counter& leases_released;
    prometheus::Counter& leases_lost;
    prometheus::Counter& writes_fenced;

    // Sets the gauge of a stored whole-window metric (window_gauges());
    // false when that metric is not exported.
    bool set_window_metric(const std::string& model, const std::string& stored_name, bool estimated, double value);

private:
    struct WindowFamily {
        prometheus::Family<prometheus::Gauge>* family;
        const WindowGauge* gauge;
    };
    std::map<std::string, WindowFamily, std::less<>> window_families_;
};

}  // namespace mw::daemon
