#include "daemon/process_metrics.h"

#include "core/time.h"
#include "daemon/http_server.h"

namespace mw::daemon {
namespace {

// A counter advanced by the growth of a component's total.
void advance(prometheus::Counter& counter, std::uint64_t now, std::uint64_t before) {
    counter.Increment(static_cast<double>(now - before));
}

}  // namespace

ProcessMetrics::ProcessMetrics(DaemonMetrics& metrics, const store::Spool& spool, const store::SpoolDrain& drain,
                               const store::StoreProbe& probe, const std::vector<std::unique_ptr<FileTail>>& tails,
                               std::vector<std::string> tail_paths, const NatsCollector* nats)
    : metrics_(metrics),
      spool_(spool),
      drain_(drain),
      probe_(probe),
      tails_(tails),
      tail_paths_(std::move(tail_paths)),
      nats_(nats),
      last_tail_counters_(tails.size()) {}

void ProcessMetrics::watch_server(const HttpServer& server) {
    std::lock_guard lock(mutex_);
    server_ = &server;
}

void ProcessMetrics::watch_read_sessions(std::string purpose, const store::ReadSessions& sessions) {
    std::lock_guard lock(mutex_);
    reads_.push_back({std::move(purpose), &sessions, {}});
    // Every series from the start, at 0: a rate over a series that appears
    // with its first failure would miss that failure.
    const prometheus::Labels labels{{"purpose", reads_.back().purpose}};
    metrics_.read_sessions_open.Add(labels);
    metrics_.read_sessions_opened.Add(labels);
    metrics_.read_session_connect_failures.Add(labels);
    metrics_.read_sessions_closed.Add(labels);
    metrics_.read_statement_timeouts.Add(labels);
}

void ProcessMetrics::refresh() {
    std::lock_guard lock(mutex_);
    for (auto& watched : reads_) {
        const auto stats = watched.sessions->stats();
        const prometheus::Labels labels{{"purpose", watched.purpose}};
        metrics_.read_sessions_open.Add(labels).Set(static_cast<double>(stats.open));
        advance(metrics_.read_sessions_opened.Add(labels), stats.opened, watched.last.opened);
        advance(metrics_.read_session_connect_failures.Add(labels), stats.connect_failures,
                watched.last.connect_failures);
        advance(metrics_.read_sessions_closed.Add(labels), stats.closed_under_read, watched.last.closed_under_read);
        advance(metrics_.read_statement_timeouts.Add(labels), stats.statement_timeouts,
                watched.last.statement_timeouts);
        watched.last = stats;
    }
    const auto spool_stats = spool_.stats();
    const auto drain_stats = drain_.stats();
    metrics_.spool_bytes.Set(static_cast<double>(spool_stats.bytes_on_disk));
    metrics_.spool_segments.Set(static_cast<double>(spool_stats.segments));
    metrics_.spool_backlog_bytes.Set(static_cast<double>(spool_stats.undrained_bytes));
    advance(metrics_.spool_fsyncs, spool_stats.fsyncs, last_fsyncs_);
    last_fsyncs_ = spool_stats.fsyncs;
    metrics_.spool_backlog_drain_seconds.Set(spool_stats.backlog_drain_seconds);
    metrics_.store_drain_bytes_per_second.Set(spool_stats.drain_bytes_per_second);
    advance(metrics_.admissions_refused, spool_stats.admissions_refused, last_admissions_refused_);
    last_admissions_refused_ = spool_stats.admissions_refused;
    metrics_.store_up.Set(probe_.status().reachable ? 1 : 0);
    metrics_.store_lag_seconds.Set(spool_stats.oldest_undrained_us == 0
                                       ? 0.0
                                       : static_cast<double>(now_us() - spool_stats.oldest_undrained_us) / 1e6);
    advance(metrics_.store_rows_written_predictions, drain_stats.predictions_written, last_drain_.predictions_written);
    advance(metrics_.store_rows_written_outcomes, drain_stats.outcomes_written, last_drain_.outcomes_written);
    advance(metrics_.store_duplicates_ignored, drain_stats.duplicates_ignored, last_drain_.duplicates_ignored);
    advance(metrics_.store_batches_quarantined, drain_stats.batches_quarantined, last_drain_.batches_quarantined);
    advance(metrics_.store_write_errors, drain_stats.write_errors, last_drain_.write_errors);
    for (const auto& [model_key, records] : drain_stats.records_key_refused) {
        const auto before = last_drain_.records_key_refused.find(model_key);
        advance(metrics_.store_records_key_refused.Add({{"model", model_key.first}, {"key_id", model_key.second}}),
                records, before == last_drain_.records_key_refused.end() ? 0 : before->second);
    }
    metrics_.quarantine_files.Set(static_cast<double>(drain_stats.quarantine.files));
    metrics_.quarantine_records.Set(static_cast<double>(drain_stats.quarantine.records));
    metrics_.privacy_key_conflicts.Set(static_cast<double>(drain_stats.key_conflicts.size()));
    last_drain_ = drain_stats;
    for (std::size_t i = 0; i < tails_.size(); ++i) {
        const auto counters = tails_[i]->counters();
        auto& last = last_tail_counters_[i];
        const auto& path = tail_paths_[i];
        const auto lines = [&](const char* result) -> prometheus::Counter& {
            return metrics_.file_tail_lines.Add({{"path", path}, {"result", result}});
        };
        const auto events = [&](const char* event) -> prometheus::Counter& {
            return metrics_.file_tail_events.Add({{"path", path}, {"event", event}});
        };
        advance(lines("delivered"), counters.lines_delivered, last.lines_delivered);
        advance(lines("rejected"), counters.lines_rejected, last.lines_rejected);
        advance(lines("too_long"), counters.lines_too_long, last.lines_too_long);
        advance(events("rotation"), counters.rotations, last.rotations);
        advance(events("truncation"), counters.truncations, last.truncations);
        advance(events("error"), counters.errors, last.errors);
        last = counters;
    }
    if (nats_ != nullptr) {
        for (const auto kind : {RecordKind::prediction, RecordKind::outcome}) {
            const auto counters = nats_->counters(kind);
            auto& last = kind == RecordKind::prediction ? last_nats_predictions_ : last_nats_outcomes_;
            const auto messages = [&](const char* result) -> prometheus::Counter& {
                return metrics_.nats_messages.Add({{"kind", to_string(kind)}, {"result", result}});
            };
            advance(messages("fetched"), counters.fetched, last.fetched);
            advance(messages("acked"), counters.acked, last.acked);
            advance(messages("rejected"), counters.rejected, last.rejected);
            advance(messages("redelivered"), counters.redelivered, last.redelivered);
            advance(messages("deferred"), counters.deferred, last.deferred);
            advance(metrics_.nats_fetch_errors.Add({{"kind", to_string(kind)}}), counters.fetch_errors,
                    last.fetch_errors);
            last = counters;
        }
        const auto status = nats_->status();
        metrics_.nats_connected.Add({}).Set(status.connected && status.subscribed ? 1 : 0);
        metrics_.nats_fetch_paused.Add({}).Set(status.paused ? 1 : 0);
    }
    if (server_ != nullptr) metrics_.open_connections.Set(static_cast<double>(server_->open_connections()));
}

}  // namespace mw::daemon
