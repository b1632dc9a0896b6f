// The daemon's HTTP routes:
//   POST /v1/models/{model}/predictions   ingest (JSON array or NDJSON)
//   POST /v1/models/{model}/outcomes
//   GET  /v1/models                       the declared models and their schemas
//   GET  /healthz                         the process is alive
//   GET  /readyz                          200 when PostgreSQL answers the probe, the spool is
//                                         healthy with room, no worker is stuck and (with nats:)
//                                         both NATS consumers are bound on a live connection, else 503;
//                                         the body says only {"ready": ...} unless the caller may
//                                         see details (readiness_details_allowed in bearer_auth.h)
//   GET  /metrics                         Prometheus text format
//
// Admin (a global token when tokens are configured; JSON answers):
//   POST /v1/models/{model}/reference     upload a reference sample (CSV or NDJSON body)
//   POST /v1/models/{model}/retrain       queue a retraining job ({"reason": "..."})
//   POST /v1/models/{model}/breaker/reset close the retraining circuit breaker
//   POST /v1/models/{model}/audits/{audit}/run   run a fairness audit now
//   POST /v1/jobs/{id}/report             an external training job's report (docs/retraining.md)
//   GET  /v1/findings[?model=&kind=&triggered=&limit=], /v1/findings/{id}
//   GET  /v1/alerts[?model=], /v1/silences[?all=true]; POST /v1/silences; DELETE /v1/silences/{id}
//   GET  /v1/jobs[?model=], /v1/jobs/{id} (with every transition), /v1/audits, /v1/windows, /v1/decisions
//   GET  /v1/models/{model}/progress      how far its monitoring has come (Monitoring::progress)
//
// Ingest answers:
//   200  {"accepted": N, "rejected": [{"index", "field", "reason"}...]}: the
//        accepted records are durable; rejected ones are listed (partial
//        success, as a bulk API does, so one bad record does not cost the rest)
//   400  the body is unusable, or every record was rejected (same shape, plus "error")
//   409  every record the parser accepted was left out for its id's conflict
//        with a record acknowledged before with another payload (same shape;
//        first wins, daemon/recent_ids.h); conflicts in a 200 are listed in
//        "rejected" with field "id" and reason code id_conflict
//   401  missing or unknown bearer token; 403 a model's token on another model or the admin API
//   (daemon/bearer_auth.h); 404 unknown model or route; 405 wrong method
//   413  body over server.max_body_bytes; 503 spool full (Retry-After) or shutting down
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <prometheus/registry.h>

#include "collectors/ingest_sink.h"
#include "collectors/nats_collector.h"
#include "daemon/http_server.h"
#include "daemon/live_config.h"
#include "daemon/metrics.h"
#include "daemon/monitoring.h"
#include "daemon/rejection_tally.h"
#include "store/quarantine.h"

namespace mw::daemon {

// What /readyz reports, gathered by the daemon (daemon.cpp).
struct Readiness {
    bool store_reachable = false;
    std::string store_error;              // the probe's
    std::int64_t store_answered_ms_ago = -1;  // -1: never
    std::string drain_error;              // the spool drain's last error, if any
    bool store_refuses_writes = false;    // store::DrainStats::writes_refused (drain_error says why)
    // One per model whose key the store records another id for
    // (store::DrainStats::key_conflicts): that model's records are refused
    // at ingest; the daemon stays ready for the others.
    std::vector<std::string> privacy_key_conflicts;
    // The quarantine files in the spool directory (store/quarantine.h): shown,
    // never a reason to be unready.
    store::QuarantineCount quarantine;
    std::string quarantine_directory;  // the spool directory they are in
    bool spool_healthy = false;
    bool spool_has_room = false;
    std::uint64_t spool_bytes = 0;
    std::uint64_t spool_undrained_batches = 0;  // acknowledged, not yet in the store
    std::uint64_t config_generation = 0;
    // A SIGHUP's reload runs or is queued (daemon/reloader.h): the
    // configuration in force is still config_generation's.
    bool config_reload_pending = false;
    std::size_t models_owned = 0;  // models whose lease this daemon holds (docs/scaling.md)
    std::vector<WorkerStatus> workers;
    // Present only when nats: is configured: a daemon fed from NATS that
    // cannot pull is not ready; one without NATS never waits for it.
    std::optional<NatsStatus> nats;
};

// Ready: PostgreSQL answers the probe and takes this daemon's writes (no
// schema mismatch; a privacy key conflict is one model's, refused at that
// model's ingest, and does not make the daemon unready for the others: a
// load balancer would otherwise turn every model away), the spool is healthy with room,
// no worker is stuck and, with nats: configured, both consumers are bound on
// a live connection (the same verdict for /readyz and modelwatch_ready).
inline bool is_ready(const Readiness& readiness) {
    if (readiness.store_refuses_writes) return false;
    for (const auto& worker : readiness.workers)
        if (worker.state == WorkerState::stuck) return false;
    if (readiness.nats && !(readiness.nats->connected && readiness.nats->subscribed)) return false;
    return readiness.store_reachable && readiness.spool_healthy && readiness.spool_has_room;
}

class Api : public RequestHandler {
public:
    Api(const LiveConfig& config, IngestSink& sink, Monitoring& monitoring, RejectionTally& rejections,
        DaemonMetrics& metrics,
        prometheus::Registry& registry, std::function<Readiness()> readiness, std::function<void()> refresh_metrics);

    ~Api() override;

    std::optional<HttpResponse> check_header(const HttpRequestHeader& header) override;
    void handle(HttpRequest request, Responder respond) override;

    // Requests being handled now (body read, answer not yet produced).
    std::uint64_t in_flight() const { return in_flight_.load(); }
    // The admin reads' sessions (below), for their metrics.
    const store::ReadSessions& read_sessions() const;

private:
    void handle_ingest(HttpRequest& request, const std::string& model, RecordKind kind, Responder respond);
    HttpResponse readiness_response(const HttpRequest& request);
    HttpResponse metrics_response();
    HttpResponse models_response();
    HttpResponse admin_response(const HttpRequest& request);
    // The HTML pages: /, /audits/{id}/report, and a finding for a browser.
    HttpResponse page_response(const HttpRequest& request);

    const LiveConfig& config_;
    IngestSink& sink_;
    Monitoring& monitoring_;
    RejectionTally& rejections_;
    DaemonMetrics& metrics_;
    prometheus::Registry& registry_;
    std::function<Readiness()> readiness_;
    std::function<void()> refresh_metrics_;
    std::atomic<std::uint64_t> in_flight_{0};
    // The admin API and the pages query PostgreSQL on these threads, never
    // the event loop's, so a PostgreSQL that hangs (connect_timeout is
    // seconds) or a client polling progress cannot stall ingest, health and
    // readiness: reads on the threads' read-only sessions, kept open
    // between requests (store/read_sessions.h), changes on a connection of
    // their own. Bounded: past admin_requests_limit in progress or queued,
    // 503 at once.
    struct AdminPool;
    std::unique_ptr<AdminPool> admin_pool_;
    std::atomic<int> admin_requests_{0};
};

}  // namespace mw::daemon
