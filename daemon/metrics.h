// The daemon's Prometheus metrics. The registry is the one process-wide
// object STYLE.md allows; this struct holds references to the families so
// that hot paths never look them up by name.
#pragma once

#include <memory>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace mw::daemon {

struct DaemonMetrics {
    explicit DaemonMetrics(prometheus::Registry& registry);

    prometheus::Family<prometheus::Counter>& records_accepted;  // {model, kind}
    prometheus::Family<prometheus::Counter>& records_rejected;  // {model, kind, reason}
    prometheus::Family<prometheus::Counter>& id_conflicts;      // {model, kind}
    prometheus::Family<prometheus::Counter>& requests;          // {route, code}
    prometheus::Family<prometheus::Histogram>& request_duration;  // {route}
    prometheus::Gauge& spool_bytes;
    prometheus::Gauge& spool_limit_bytes;
    prometheus::Gauge& spool_segments;
    prometheus::Counter& spool_fsyncs;
    prometheus::Gauge& store_up;
    prometheus::Gauge& store_lag_seconds;
    prometheus::Counter& store_rows_written_predictions;
    prometheus::Counter& store_rows_written_outcomes;
    prometheus::Counter& store_duplicates_ignored;
    prometheus::Counter& store_batches_quarantined;
    prometheus::Counter& store_write_errors;
    prometheus::Counter& config_reloads_ok;
    prometheus::Counter& config_reloads_failed;
    prometheus::Gauge& open_connections;
    prometheus::Family<prometheus::Counter>& http_connections_refused;  // {reason}: at accept
    prometheus::Family<prometheus::Counter>& http_connections_closed;   // {reason}: every accepted connection, once
    prometheus::Gauge& http_body_bytes_in_flight;
    prometheus::Family<prometheus::Counter>& file_tail_lines;  // {path, result}
    prometheus::Family<prometheus::Counter>& file_tail_events; // {path, event}

    // Monitoring: what the detectors concluded about the latest window.
    prometheus::Family<prometheus::Gauge>& feature_drift_score;  // {model, feature}: the effect size
    prometheus::Family<prometheus::Gauge>& feature_drifted;      // {model, feature}: 1 when drifted
    prometheus::Family<prometheus::Gauge>& dataset_drift;        // {model}: 1 when the dataset drifted
    prometheus::Family<prometheus::Gauge>& drift_share;          // {model}
    prometheus::Family<prometheus::Counter>& windows_closed;     // {model}
    prometheus::Family<prometheus::Counter>& findings;           // {model, kind, triggered}
    prometheus::Family<prometheus::Gauge>& window_metric;        // {model, metric, estimated}
    prometheus::Family<prometheus::Gauge>& anomaly_score;        // {model, series}
    prometheus::Family<prometheus::Gauge>& reference_rows;       // {model}
    prometheus::Family<prometheus::Counter>& alert_deliveries;   // {result}
    prometheus::Family<prometheus::Counter>& retrain_transitions; // {model, state}
    prometheus::Family<prometheus::Counter>& audits;             // {model, audit, state}
};

}  // namespace mw::daemon
