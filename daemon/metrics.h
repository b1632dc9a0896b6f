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
    prometheus::Family<prometheus::Counter>& file_tail_lines;  // {path, result}
    prometheus::Family<prometheus::Counter>& file_tail_events; // {path, event}
};

}  // namespace mw::daemon
