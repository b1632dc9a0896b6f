// Pulls predictions and outcomes from NATS JetStream (nats.c, Debian's
// libnats-dev 3.4) into the spool, one durable pull consumer per record kind:
// "<consumer>-predictions" filtered on "<predictions_subject>.*" and
// "<consumer>-outcomes" on "<outcomes_subject>.*". The subject's last token
// names the model; a message's body is what an HTTP ingest body may be (a
// JSON array or NDJSON of records), parsed and validated the same way.
//
// Delivery: at least once from JetStream, exactly once in the store.
//   - A message is acknowledged only after every record it holds that was
//     accepted is in the spool and fdatasync'd (IngestSink's `done` says
//     durable), so a crash before the ack makes JetStream deliver it again.
//   - A redelivered record (crash, lost ack, AckWait passed) is absorbed by
//     the store's insert-if-absent on (model, id), as a client's retry is.
//   - A message nothing can be taken from (a body error, every record
//     rejected, an unknown model, a subject without a model) is terminated
//     (AckTerm) and counted, so it is never delivered again.
//   - The message's JetStream timestamp is the arrival time of its records
//     (the default of a missing "ts"): a record read an hour late, after an
//     outage, is still dated when it was published.
//
// Back-pressure: while the spool is nearly full (SpoolRoom::has_room false),
// no pull request is sent, so nothing is delivered that could not be kept.
// Messages the spool refused anyway (a batch bigger than what was left) are
// handed back once each with a delay (NAK with retry_delay), and pulls stay
// stopped until the spool has shrunk below what it held at the refusal (the
// drain deleted a segment), so a spool at its limit meets one pull per
// drained segment, never a loop of pulls and NAKs.
//
// The stream must exist: the operator sizes it. A missing consumer is
// created (explicit acks, AckWait ack_wait, deliver all); an existing one
// that is not a pull consumer with explicit acks on the expected subject is
// an error naming what differs. Both stay in `status().error` and the logs,
// and are retried every few seconds, until fixed.
//
// Threading: start() connects in the background and runs one thread per
// record kind (pull, parse, spool, ack); stop() joins them. The connection
// reconnects on its own (to any of the servers) and the pulls resume. The
// counters and status may be read from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "collectors/ingest_sink.h"
#include "config/config.h"
#include "core/record.h"

namespace mw {

// Cumulative counts of one record kind since start, exported by the daemon as
// modelwatch_nats_messages_total{kind, result} and
// modelwatch_nats_fetch_errors_total{kind}.
struct NatsCounters {
    std::uint64_t fetched = 0;      // messages delivered to this daemon (redeliveries included)
    std::uint64_t acked = 0;        // acknowledged after their records were spooled
    std::uint64_t rejected = 0;     // terminated: nothing in them could be taken
    std::uint64_t redelivered = 0;  // fetched messages JetStream had delivered before
    std::uint64_t deferred = 0;     // handed back (NAK with delay): the spool refused them
    std::uint64_t fetch_errors = 0; // pull requests that failed (not the empty ones)
};

struct NatsStatus {
    bool connected = false;
    // Both consumers bound and pulling; false while one is missing or refused.
    bool subscribed = false;
    // Pulls are held back because the spool is nearly full.
    bool paused = false;
    std::string error;  // the last problem, empty once resolved
};

// Parses one message's body under the model's schema, with `arrival_us` as
// the time of records without "ts"; in the daemon, collectors/ingest_parser.h
// with the HTTP limits, counting rejections as HTTP does.
using ParseMessage = std::function<ParsedLines(RecordKind kind, std::string_view body,
                                               const std::shared_ptr<const ModelSchema>& schema,
                                               std::int64_t arrival_us)>;
// The schema of a configured model, or null for a name that is not one.
using FindSchema = std::function<std::shared_ptr<const ModelSchema>(std::string_view model)>;
// How full the spool is, asked before every pull.
struct SpoolRoom {
    // The daemon's rule: under 90% of the budget (readiness's) and the backlog
    // within spool.max_backlog (admission control, store/backlog_admission.h).
    bool has_room = true;
    std::uint64_t used_bytes = 0; // on disk, to see the drain make room after a refusal
};

// Called once a batch is durable: how many of its records were kept and how
// many were left out for their id's conflict (IngestResult::conflicts).
using RecordsSpooled = std::function<void(const std::string& model, RecordKind kind, std::size_t stored,
                                          std::size_t conflicts, std::int64_t at_us)>;

// The model a message's subject names under `prefix` ("a.b" and "a.b.churn"
// give "churn"), or "" when the subject is not one token below it.
std::string_view nats_subject_model(std::string_view prefix, std::string_view subject);

// The durable consumer of a kind: "<consumer>-predictions" or "<consumer>-outcomes".
std::string nats_durable_name(const config::NatsOptions& options, RecordKind kind);

class NatsCollector {
public:
    NatsCollector(config::NatsOptions options, IngestSink& sink, FindSchema find_schema, ParseMessage parse,
                  RecordsSpooled spooled, std::function<SpoolRoom()> spool_room);
    ~NatsCollector();
    NatsCollector(const NatsCollector&) = delete;
    NatsCollector& operator=(const NatsCollector&) = delete;

    void start();
    // Stops pulling and joins the threads; messages fetched and not yet
    // acknowledged are delivered again (to this or another daemon).
    void stop();

    NatsCounters counters(RecordKind kind) const;
    NatsStatus status() const;

private:
    struct Connection;
    struct KindCounters {
        std::atomic<std::uint64_t> fetched{0};
        std::atomic<std::uint64_t> acked{0};
        std::atomic<std::uint64_t> rejected{0};
        std::atomic<std::uint64_t> redelivered{0};
        std::atomic<std::uint64_t> deferred{0};
        std::atomic<std::uint64_t> fetch_errors{0};
    };

    void run(std::stop_token stop, RecordKind kind);
    bool connect();
    void set_error(std::string error);
    KindCounters& counters_of(RecordKind kind) { return counters_[kind == RecordKind::prediction ? 0 : 1]; }

    config::NatsOptions options_;
    IngestSink& sink_;
    FindSchema find_schema_;
    ParseMessage parse_;
    RecordsSpooled spooled_;
    std::function<SpoolRoom()> spool_room_;

    // Reconnections so far (set from the client's thread). A pull request
    // the server held when it went away is not sent again on reconnect, and
    // a pull subscription may stay silent after it (nats.go#890, nats.py#504),
    // so each kind binds its consumer again after every reconnection.
    std::atomic<std::uint64_t> reconnects_{0};
    std::mutex connect_mutex_;             // one connection attempt at a time
    mutable std::mutex connection_mutex_;  // guards connection_
    std::shared_ptr<Connection> connection_;  // set once connected; reconnects by itself after
    std::array<KindCounters, 2> counters_;
    std::array<std::atomic<bool>, 2> subscribed_{};
    std::array<std::atomic<bool>, 2> paused_{};
    mutable std::mutex error_mutex_;
    std::string error_;
    std::jthread predictions_thread_;
    std::jthread outcomes_thread_;
};

}  // namespace mw
