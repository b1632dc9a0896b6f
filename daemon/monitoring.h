// Everything the daemon does after a record is stored, as background
// workers on their own PostgreSQL connections: the model monitors (windows
// and detectors), the root-cause ranking of performance drops, the alert
// router and dispatcher, the retraining runner and the fairness audit
// scheduler. Each reads what the previous stage wrote to
// the store (findings, jobs), so they share no state but the configuration.
//
// A reload never waits for a worker: reload() publishes the new
// configuration (with the loops built from it) and returns; each worker
// picks up the newest one at the start of its next pass, so a long monitor
// pass finishes under the configuration it started with.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "daemon/audit_loop.h"
#include "daemon/metrics.h"
#include "daemon/model_monitor.h"
#include "daemon/ownership.h"
#include "daemon/performance_causes.h"
#include "daemon/periodic_worker.h"
#include "daemon/rejection_tally.h"
#include "daemon/reference_upload.h"
#include "store/read_sessions.h"

namespace mw::daemon {

class AlertLoop;
class RetrainLoop;

class Monitoring {
public:
    // Throws std::invalid_argument naming what is unusable in the
    // configuration that the loader could not check (e.g. an audit's cron).
    // `daemon_started_us`: the daemon's start, before anything was accepted
    // (ModelMonitor). `local_stored_before`: this daemon's own watermark (its
    // spool's, store/spool.h), read at each monitor pass with the other
    // writers' (store/watermarks.h).
    Monitoring(std::shared_ptr<const config::Config> config, std::uint64_t generation, DaemonMetrics& metrics,
               RejectionTally& rejections, std::int64_t daemon_started_us,
               std::function<std::int64_t()> local_stored_before);
    ~Monitoring();
    Monitoring(const Monitoring&) = delete;
    Monitoring& operator=(const Monitoring&) = delete;

    void start();
    // Asks every worker to end its pass at the next safe point; does not wait.
    void request_stop();
    // Waits for the workers until `deadline`, then gives up this daemon's
    // leases by the same deadline; false when a worker or the release had to
    // be left running (see PeriodicWorker::stop): the caller must then exit
    // without destroying this object. Leases not released are logged
    // (leases_not_released) and expire after cluster.lease.
    bool stop(std::chrono::steady_clock::time_point deadline);
    // A reloaded configuration, published without waiting: monitors of new
    // models start, removed ones stop, changed ones refit, and the audit,
    // alert and retraining loops are replaced, each by its worker at the
    // start of its next pass. Throws std::invalid_argument like the
    // constructor; the configuration in force then stays.
    void reload(std::shared_ptr<const config::Config> config, std::uint64_t generation);
    // Retraining jobs whose process is still running.
    int jobs_running() const;
    // Models whose lease this daemon holds (/readyz).
    std::size_t models_owned() const { return ownership_.owned(); }
    // Every worker's state, for /readyz and the watchdog.
    std::vector<WorkerStatus> workers() const;

    // Admin API operations, none waiting for a worker: the changes each on a
    // connection of its own (rare), the reads on a session of `reads` (the
    // admin threads', daemon/api.h).
    struct Outcome {
        int status = 200;  // HTTP status to answer with
        std::string body;  // JSON
        int retry_after_s = 0;  // a Retry-After header when not 0
    };
    Outcome upload_reference(const std::string& model, std::string_view body, std::string_view content_type);
    Outcome run_audit(const std::string& model, const std::string& audit);
    Outcome request_retrain(const std::string& model, const std::string& reason);
    Outcome job_report(std::int64_t job_id, std::string_view body);
    Outcome reset_breaker(const std::string& model);
    Outcome add_silence(std::string_view body);
    Outcome expire_silence(std::int64_t id);
    // GET queries: findings, alerts, silences, jobs, audits, windows.
    Outcome query(const std::string& what, const std::map<std::string, std::string>& parameters,
                  store::ReadSessions& reads);
    // GET /v1/models/{model}/progress: how far the model's monitoring has
    // come, for a client that waits until the daemon has judged what it sent
    // (a replay in lockstep, a test). `spool_undrained_batches` and
    // `workers_before` were read by the caller before this call; the store is
    // read next and the monitor worker's state last, so that the first
    // monitor pass to begin after the answer ("monitor.next_pass") saw every
    // record the spool had stored, and a later answer whose
    // "monitor.passes_ended" reaches that number shows in its counts whatever
    // that pass wrote. Same counts across it: the pass had nothing to do.
    Outcome progress(const std::string& model, std::uint64_t spool_undrained_batches,
                     const std::vector<WorkerStatus>& workers_before, store::ReadSessions& reads);

private:
    // One published configuration and the loops built from it.
    struct Generation {
        std::shared_ptr<const config::Config> config;
        std::uint64_t number = 0;
        std::shared_ptr<AuditLoop> audits;
        std::shared_ptr<AlertLoop> alerts;
        std::shared_ptr<RetrainLoop> retrain;
    };
    // `first`: the process's first generation (RetrainLoop fails its predecessor's jobs).
    Generation build(std::shared_ptr<const config::Config> config, std::uint64_t generation, bool first);
    std::shared_ptr<const Generation> latest() const;
    // What each worker's thread runs; each adopts the latest generation first.
    void monitor_pass(pqxx::connection& connection, std::int64_t now_us, PassControl& control);
    void causes_pass(pqxx::connection& connection, std::int64_t now_us, PassControl& control);
    void alerts_pass(pqxx::connection& connection, std::int64_t now_us, PassControl& control);
    void retention_pass(pqxx::connection& connection, std::int64_t now_us, PassControl& control);
    void retrain_pass(pqxx::connection& connection, std::int64_t now_us, PassControl& control);
    void audits_pass(pqxx::connection& connection, std::int64_t now_us, PassControl& control);
    void leases_pass(pqxx::connection& connection, std::int64_t now_us, PassControl& control);
    // At a clean stop, once no worker writes: every lease given up at once,
    // unless PostgreSQL does not answer by `deadline`; false then.
    bool release_leases(std::chrono::steady_clock::time_point deadline);
    // The loops the workers use now, for the admin API.
    std::shared_ptr<AuditLoop> audits() const;
    std::shared_ptr<RetrainLoop> retrain() const;

    DaemonMetrics& metrics_;
    RejectionTally& rejections_;
    const std::int64_t daemon_started_us_;
    std::function<std::int64_t()> local_stored_before_;
    // Written by the leases worker, read by the monitor and audits workers.
    Ownership ownership_;
    std::atomic<bool> leases_held_{false};  // a heartbeat succeeded: there may be leases to release

    mutable std::mutex latest_mutex_;
    std::shared_ptr<const Generation> latest_;

    // What the monitors hand the root-cause worker (its own thread, so that a
    // ranking's time budget never delays another model's windows).
    RankingRequests rankings_;
    PeriodicWorker* causes_worker_ = nullptr;  // in workers_, set before they start

    // The monitor worker's own: touched only by its thread.
    std::map<std::string, std::unique_ptr<ModelMonitor>> monitors_;
    std::uint64_t monitors_generation_ = 0;

    // The loops in use, each replaced by its own worker's thread.
    mutable std::mutex loops_mutex_;
    // (Each loop is held on its own: a worker must not keep another's old loop alive.)
    std::shared_ptr<AlertLoop> alerts_;
    std::shared_ptr<AuditLoop> audits_;
    std::shared_ptr<RetrainLoop> retrain_;
    std::uint64_t alerts_generation_ = 0;
    std::uint64_t audits_generation_ = 0;
    std::uint64_t retrain_generation_ = 0;
    // Replaced retraining loops whose jobs still run: destroying one would
    // wait for its jobs, so it is dropped once they have ended.
    std::vector<std::shared_ptr<RetrainLoop>> retiring_;

    std::vector<std::unique_ptr<PeriodicWorker>> workers_;
};

}  // namespace mw::daemon
