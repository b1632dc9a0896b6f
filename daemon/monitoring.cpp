#include "daemon/monitoring.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <pqxx/except>
#include <pqxx/transaction>

#include "alerts/outbox.h"
#include "core/bounded_thread.h"
#include "core/job_state.h"
#include "core/log.h"
#include "core/time.h"
#include "daemon/alert_loop.h"
#include "daemon/reference_capture.h"
#include "daemon/retrain_loop.h"
#include "fairness/audit_store.h"
#include "retrain/job.h"
#include "retrain/job_queue.h"
#include "retrain/policy_store.h"
#include "store/admin_queries.h"
#include "store/database.h"
#include "store/leases.h"
#include "store/monitor_store.h"
#include "store/privacy_keys.h"
#include "store/retention.h"
#include "store/watermarks.h"

namespace mw::daemon {
namespace {

// The monitors' worker, by the name /readyz shows and the progress answer looks up.
constexpr const char* monitor_worker_name = "monitor";

// Answers echo client input (a model's name from the path, a query
// parameter): invalid UTF-8 there is replaced, as in daemon/api.cpp's
// answers, never a throw that turns a 404 into a 500.
Monitoring::Outcome answer(int status, const nlohmann::json& body) {
    return {status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

Monitoring::Outcome error(int status, const std::string& message) { return answer(status, {{"error", message}}); }

std::optional<std::int64_t> integer_of(std::string_view text) {
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

std::string parameter(const std::map<std::string, std::string>& parameters, const std::string& key) {
    const auto it = parameters.find(key);
    return it == parameters.end() ? std::string() : it->second;
}

// The admin calls that take the retraining policy's lock
// (retrain/policy_store.h) wait for it as a retrain pass does
// (daemon/retrain_loop.cpp): at most cluster.lease, and PostgreSQL ends their
// session when it idles in a transaction as long, so that a daemon frozen
// in the middle of such a call holds the lock no longer (docs/scaling.md).
void bound_policy_lock_wait(pqxx::connection_base& connection, const config::ClusterOptions& cluster) {
    store::bound_lock_holding(connection, cluster.lease_ms, cluster.lease_ms);
}

// The answer when the policy's lock was not free within its wait: a retry
// after a lease finds it free, unless its holder is not a daemon's bounded
// session (an older modelwatchd, a psql session).
Monitoring::Outcome policy_lock_busy(const config::ClusterOptions& cluster) {
    auto outcome = error(503, fmt::format("the retraining policy is busy: its lock (retrain/policy_store.h), held by "
                                          "another session (a daemon's retrain pass or admin call, perhaps frozen), "
                                          "was not free within cluster.lease ({} ms); retry",
                                          cluster.lease_ms));
    outcome.retry_after_s = static_cast<int>((cluster.lease_ms + 999) / 1000);
    return outcome;
}

bool lock_wait_timed_out(const pqxx::sql_error& failure) { return failure.sqlstate() == store::lock_not_available; }

// One retention pass (store/retention.h): rows first, then the files of the
// rows that went.
void apply_retention(pqxx::connection& connection, std::int64_t now_us, const config::Config& config,
                     DaemonMetrics& metrics) {
    const auto result = store::apply_retention(connection, config.retention, now_us);
    metrics.retention_partitions_dropped.Increment(static_cast<double>(result.partitions_dropped.size()));
    const std::pair<const char*, std::int64_t> deleted[] = {
        {"rejection_counts", result.rejection_counts_deleted},
        {"profile_chunks", result.profile_chunks_deleted},
        {"findings", result.findings_deleted},
        {"decisions", result.decisions_deleted},
        {"windows", result.windows_deleted},
        {"alert_deliveries", result.alert_deliveries_deleted},
        {"jobs", static_cast<std::int64_t>(result.jobs_deleted.size())},
        {"audits", result.audits_deleted},
        {"store_watermarks", result.watermarks_deleted},
    };
    for (const auto& [kind, rows] : deleted)
        metrics.retention_rows_deleted.Add({{"kind", kind}}).Increment(static_cast<double>(rows));
    metrics.retention_last_success.Set(static_cast<double>(now_us) / 1e6);
    for (const auto& message : store::remove_retained_files(result, config.monitor.jobs_dir, config.monitor.reports_dir))
        log::warning("retention_file_not_removed error=\"{}\"", message);
    for (const auto& name : result.partitions_kept) log::info("retention_partition_kept name={} reason=\"still read\"", name);
    log::info("retention_pass partitions_dropped={} partitions_kept={} findings={} decisions={} windows={} "
              "alert_deliveries={} jobs={} audits={}",
              result.partitions_dropped.size(), result.partitions_kept.size(), result.findings_deleted, result.decisions_deleted, result.windows_deleted,
              result.alert_deliveries_deleted, result.jobs_deleted.size(), result.audits_deleted);
}

}  // namespace

Monitoring::Monitoring(std::shared_ptr<const config::Config> config, std::uint64_t generation, DaemonMetrics& metrics,
                       RejectionTally& rejections, std::int64_t daemon_started_us,
                       std::function<std::int64_t()> local_stored_before)
    : metrics_(metrics),
      rejections_(rejections),
      daemon_started_us_(daemon_started_us),
      local_stored_before_(std::move(local_stored_before)),
      ownership_(cluster_daemon_id(config->cluster)) {
    log::notice("cluster_identity daemon_id={} lease_ms={} heartbeat_ms={}", ownership_.daemon_id(),
                config->cluster.lease_ms, config->cluster.heartbeat_ms);
    latest_ = std::make_shared<const Generation>(build(std::move(config), generation, true));
}

Monitoring::~Monitoring() { stop(std::chrono::steady_clock::now() + std::chrono::seconds(5)); }

Monitoring::Generation Monitoring::build(std::shared_ptr<const config::Config> config, std::uint64_t generation,
                                        bool first) {
    // Cheap to build (no connections, no threads), so a reload can be
    // refused as a whole when one of them is unusable.
    Generation built;
    built.audits = std::make_shared<AuditLoop>(*config, metrics_);
    built.alerts = std::make_shared<AlertLoop>(config->alerting, metrics_);
    built.retrain = std::make_shared<RetrainLoop>(*config, metrics_, ownership_.daemon_id(), first);
    built.config = std::move(config);
    built.number = generation;
    return built;
}

std::shared_ptr<const Monitoring::Generation> Monitoring::latest() const {
    std::lock_guard lock(latest_mutex_);
    return latest_;
}

void Monitoring::start() {
    const auto& config = *latest()->config;
    const auto interval = std::chrono::milliseconds(config.monitor.interval_ms);
    const auto progress_timeout = std::chrono::milliseconds(config.monitor.progress_timeout_ms);
    const auto add = [&](const char* name, std::chrono::milliseconds every, auto pass) {
        workers_.push_back(std::make_unique<PeriodicWorker>(
            name, config.store, every, progress_timeout,
            [this, pass](pqxx::connection& connection, std::int64_t now, PassControl& control) {
                (this->*pass)(connection, now, control);
            }));
    };
    // The leases first, so the monitor's first pass finds models to work on.
    add("leases", std::chrono::milliseconds(config.cluster.heartbeat_ms), &Monitoring::leases_pass);
    add(monitor_worker_name, interval, &Monitoring::monitor_pass);
    add("causes", interval, &Monitoring::causes_pass);
    causes_worker_ = workers_.back().get();
    rankings_.on_request([worker = causes_worker_] { worker->wake(); });
    add("alerts", interval, &Monitoring::alerts_pass);
    add("retrain", interval, &Monitoring::retrain_pass);
    add("audits", std::max(interval, std::chrono::milliseconds(1000)), &Monitoring::audits_pass);
    add("retention", std::chrono::milliseconds(config.retention.interval_ms), &Monitoring::retention_pass);
    for (auto& worker : workers_) worker->start();
}

void Monitoring::request_stop() {
    for (auto& worker : workers_) worker->request_stop();
}

bool Monitoring::stop(std::chrono::steady_clock::time_point deadline) {
    // All against one deadline, however many hang. A pass gets a second to
    // reach a safe point before a statement it is blocked in is cancelled.
    const auto started = std::chrono::steady_clock::now();
    request_stop();
    const auto cancel_at = std::min(deadline, started + std::chrono::milliseconds(1000));
    for (auto& worker : workers_)
        if (!worker->wait_stopped(cancel_at)) worker->cancel_statement();
    bool all_stopped = true;
    for (auto& worker : workers_) {
        if (worker->wait_stopped(deadline)) continue;
        log::error("worker_abandoned worker={} waited_ms={} reason=\"no safe point reached\"", worker->name(),
                   std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started)
                       .count());
        all_stopped = false;
    }
    if (all_stopped) return release_leases(deadline);
    // An abandoned worker may still write under its leases: they stay, and
    // expire on their own.
    if (leases_held_.exchange(false))
        log::warning("leases_not_released daemon_id={} reason=\"a worker was left running\" (they expire after "
                     "cluster.lease, {} ms; the other daemons take this daemon's models then)",
                     ownership_.daemon_id(), latest()->config->cluster.lease_ms);
    return false;  // the workers stay, stopped, so their states can still be read
}

void Monitoring::reload(std::shared_ptr<const config::Config> config, std::uint64_t generation) {
    auto next = std::make_shared<const Generation>(build(config, generation, false));
    const auto progress_timeout = std::chrono::milliseconds(config->monitor.progress_timeout_ms);
    for (auto& worker : workers_) worker->set_progress_timeout(progress_timeout);
    std::shared_ptr<const Generation> previous;  // released outside the lock
    {
        std::lock_guard lock(latest_mutex_);
        previous = std::exchange(latest_, std::move(next));
    }
    // Ask idle workers to pick it up now; a worker in a pass picks it up at its next one.
    for (auto& worker : workers_) worker->wake();
}

std::vector<WorkerStatus> Monitoring::workers() const {
    std::vector<WorkerStatus> statuses;
    const auto now = std::chrono::steady_clock::now();
    for (const auto& worker : workers_) statuses.push_back(worker->status(now));
    return statuses;
}

int Monitoring::jobs_running() const {
    std::lock_guard lock(loops_mutex_);
    int running = retrain_ ? retrain_->jobs_running() : 0;
    for (const auto& loop : retiring_) running += loop->jobs_running();
    return running;
}

std::shared_ptr<AuditLoop> Monitoring::audits() const {
    {
        std::lock_guard lock(loops_mutex_);
        if (audits_) return audits_;
    }
    return latest()->audits;  // before the audits worker's first pass
}

std::shared_ptr<RetrainLoop> Monitoring::retrain() const {
    {
        std::lock_guard lock(loops_mutex_);
        if (retrain_) return retrain_;
    }
    return latest()->retrain;
}

void Monitoring::monitor_pass(pqxx::connection& connection, std::int64_t now_us, PassControl& control) {
    if (const auto current = latest(); current->number != monitors_generation_) {
        const auto& config = *current->config;
        std::map<std::string, std::unique_ptr<ModelMonitor>> monitors;
        for (const auto& model : config.models) {
            auto existing = monitors_.find(model.schema.name);
            if (existing == monitors_.end()) {
                monitors[model.schema.name] = std::make_unique<ModelMonitor>(model, metrics_, rankings_, daemon_started_us_);
                continue;
            }
            // An unchanged model keeps its fitted reference and detectors.
            if (!(existing->second->options() == model)) existing->second->reconfigure(model);
            monitors[model.schema.name] = std::move(existing->second);
        }
        monitors_ = std::move(monitors);
        monitors_generation_ = current->number;
        control.set_config_generation(current->number);
        control.set_interval(std::chrono::milliseconds(config.monitor.interval_ms));
    }
    // Read before any row: every row received before it is visible to the
    // reads that follow. This daemon's from its spool (exact, and current
    // the moment a range commits); the other daemons' as they published it.
    const std::int64_t stored_before_us =
        store::stored_before(connection, local_stored_before_(), ownership_.daemon_id(),
                             std::chrono::milliseconds(latest()->config->cluster.lease_ms));
    metrics_.store_watermark_lag_seconds.Set(static_cast<double>(std::max<std::int64_t>(now_us - stored_before_us, 0)) /
                                             1e6);
    // Rejections first, so a window closing now sees those of its last second.
    auto rejected = rejections_.take();
    try {
        store::add_rejection_counts(connection, rejected);
    } catch (...) {
        rejections_.give_back(rejected);
        throw;
    }
    for (auto& [name, monitor] : monitors_) {
        control.checkpoint();
        // Only the model's owner closes its windows (store/leases.h).
        const auto fence = ownership_.fence(name);
        if (!fence) {
            monitor->disown();
            continue;
        }
        try {
            monitor->step(connection, now_us, stored_before_us, control, *fence);
        } catch (const PassInterrupted&) {
            throw;
        } catch (const pqxx::broken_connection&) {
            throw;  // the worker reconnects
        } catch (const store::LeaseLost& lost) {
            // Another daemon owns the model now and has or will write this window.
            metrics_.writes_fenced.Increment();
            log::warning("monitor_write_fenced model={} reason=\"{}\"", name, lost.what());
        } catch (const std::exception& failure) {
            control.checkpoint();  // a statement cancelled because we are stopping is not a failure
            // One model's failure must not stop the others'.
            log::error("monitor_failed model={} error=\"{}\"", name, failure.what());
        }
    }
}

void Monitoring::causes_pass(pqxx::connection& connection, std::int64_t, PassControl& control) {
    const auto current = latest();
    control.set_config_generation(current->number);
    control.set_interval(std::chrono::milliseconds(current->config->monitor.interval_ms));
    // Only the model's owner ranks.
    const auto owned = [this](const std::string& model) { return ownership_.fence(model).has_value(); };
    if (rank_requested_drops(connection, rankings_, control, owned)) causes_worker_->wake();
}

void Monitoring::alerts_pass(pqxx::connection& connection, std::int64_t now_us, PassControl& control) {
    const auto current = latest();
    std::shared_ptr<AlertLoop> loop;
    {
        std::lock_guard lock(loops_mutex_);
        if (alerts_generation_ != current->number) {
            alerts_ = current->alerts;
            alerts_generation_ = current->number;
        }
        loop = alerts_;
    }
    control.set_config_generation(current->number);
    control.set_interval(std::chrono::milliseconds(current->config->monitor.interval_ms));
    // Routing and claims lock lease rows FOR SHARE (store::check_fence) and
    // alert rows FOR UPDATE, with nothing slow between their statements (a
    // delivery is sent after its claim commits): a daemon frozen inside one
    // holds them at most a lease.
    store::bound_lock_holding(connection, current->config->cluster.lease_ms);
    loop->pass(connection, ownership_, now_us);
}

void Monitoring::retrain_pass(pqxx::connection& connection, std::int64_t now_us, PassControl& control) {
    const auto current = latest();
    std::shared_ptr<RetrainLoop> loop;
    std::shared_ptr<RetrainLoop> dropped;  // destroyed outside the lock
    {
        std::lock_guard lock(loops_mutex_);
        if (retrain_generation_ != current->number) {
            if (retrain_ && retrain_->jobs_running() > 0) retiring_.push_back(retrain_);
            else dropped = retrain_;
            retrain_ = current->retrain;
            retrain_generation_ = current->number;
        }
        std::erase_if(retiring_, [](const auto& old) { return old->jobs_running() == 0; });
        loop = retrain_;
    }
    dropped.reset();
    control.set_config_generation(current->number);
    control.set_interval(std::chrono::milliseconds(current->config->monitor.interval_ms));
    loop->pass(connection, now_us);
}

void Monitoring::leases_pass(pqxx::connection& connection, std::int64_t now_us, PassControl& control) {
    const auto current = latest();
    const auto& cluster = current->config->cluster;
    control.set_config_generation(current->number);
    control.set_interval(std::chrono::milliseconds(cluster.heartbeat_ms));
    // The heartbeat locks lease rows (renewal, claims FOR UPDATE SKIP LOCKED)
    // and the sweep below findings rows, each in a transaction of a few
    // statements and no work between them: a daemon frozen inside one holds
    // them at most a lease, as a frozen retrain pass does.
    store::bound_lock_holding(connection, cluster.lease_ms);
    std::vector<std::string> models;
    for (const auto& model : current->config->models) models.push_back(model.schema.name);
    const auto lease = std::chrono::milliseconds(cluster.lease_ms);
    // Trusted locally from before the heartbeat's transaction: the database
    // extends each lease from a later moment, so this errs on the safe side.
    const auto started = Ownership::Clock::now();
    const auto beat = store::heartbeat(connection, ownership_.daemon_id(), models, lease, !leases_held_);
    leases_held_ = true;
    const auto gone = ownership_.update(beat.owned, started, lease);
    metrics_.models_owned.Set(static_cast<double>(beat.owned.size()));
    metrics_.leases_renewed.Increment(static_cast<double>(beat.renewed));
    metrics_.leases_claimed.Increment(static_cast<double>(beat.claimed.size()));
    metrics_.leases_released.Increment(static_cast<double>(beat.released.size()));
    for (const auto& model : gone) {
        // Another daemon's monitor, or none, judges its reference now: this
        // daemon's count of unusable chunks would keep the alert firing.
        if (const prometheus::Labels labels{{"model", model}}; metrics_.reference_unusable_profile_chunks.Has(labels))
            metrics_.reference_unusable_profile_chunks.Add(labels).Set(0);
        if (current->config->find_model(model) == nullptr) {
            log::notice("lease_released model={} reason=\"removed by a reload\"", model);
            continue;
        }
        if (std::find(beat.released.begin(), beat.released.end(), model) != beat.released.end()) {
            log::notice("lease_released model={} live_daemons={} fair_share={}", model, beat.live_daemons,
                        beat.fair_share);
            continue;
        }
        metrics_.leases_lost.Increment();
        log::warning("lease_lost model={} reason=\"expired or taken before renewal\"", model);
    }
    for (const auto& lease_claimed : beat.claimed)
        log::notice("lease_claimed model={} epoch={} live_daemons={} fair_share={}", lease_claimed.model,
                    lease_claimed.epoch, beat.live_daemons, beat.fair_share);
    // Last, every heartbeat of every daemon: the findings of a model that no
    // live daemon configures any more (a reload removed it, or it left every
    // configuration while the daemons were stopped) would say "the causes are
    // being ranked" for ever, since no monitor asks for them again. They are
    // answered instead; a live daemon that still configures the model (a
    // rolling change) keeps them waiting for its monitor.
    control.checkpoint();
    const auto answered = store::answer_unconfigured_root_causes(
        connection, lease,
        nlohmann::json{{"error", fmt::format("not ranked: the model was removed from the configuration (no live "
                                             "daemon configured it at {}) before its ranking ran",
                                             format_rfc3339_us(now_us))}}
            .dump());
    for (const auto& [model, findings] : answered)
        log::notice("root_cause_abandoned model={} findings={} reason=\"removed from the configuration\"", model,
                    findings);
}

bool Monitoring::release_leases(std::chrono::steady_clock::time_point deadline) {
    if (!leases_held_.exchange(false)) return true;
    ownership_.clear();
    metrics_.models_owned.Set(0);
    const auto config = latest()->config;
    const std::string daemon_id = ownership_.daemon_id();
    const std::uint32_t lease_ms = config->cluster.lease_ms;
    const auto started = std::chrono::steady_clock::now();
    // Values only: the release may outlive this object (core/bounded_thread.h).
    const auto outcome = call_until(deadline, [store = config->store, daemon_id, lease_ms] {
        try {
            auto connection = store::connect(store);
            store::release_all(*connection, daemon_id);
            log::notice("leases_released daemon_id={}", daemon_id);
        } catch (const std::exception& failure) {
            log::warning("leases_not_released daemon_id={} error=\"{}\" (they expire after cluster.lease, {} ms)",
                         daemon_id, failure.what(), lease_ms);
        }
    });
    if (outcome == CallOutcome::returned) return true;
    log::warning("leases_not_released daemon_id={} {} (they expire after cluster.lease, {} ms; the other daemons "
                 "take this daemon's models then)",
                 daemon_id, unanswered_reason(outcome, started), lease_ms);
    return false;
}

void Monitoring::retention_pass(pqxx::connection& connection, std::int64_t now_us, PassControl& control) {
    const auto current = latest();
    control.set_config_generation(current->number);
    control.set_interval(std::chrono::milliseconds(current->config->retention.interval_ms));
    control.checkpoint();
    apply_retention(connection, now_us, *current->config, metrics_);
}

void Monitoring::audits_pass(pqxx::connection& connection, std::int64_t now_us, PassControl& control) {
    const auto current = latest();
    std::shared_ptr<AuditLoop> loop;
    {
        std::lock_guard lock(loops_mutex_);
        if (audits_generation_ != current->number) {
            audits_ = current->audits;
            audits_generation_ = current->number;
        }
        loop = audits_;
    }
    control.set_config_generation(current->number);
    control.set_interval(std::max(std::chrono::milliseconds(current->config->monitor.interval_ms),
                                  std::chrono::milliseconds(1000)));
    // Scheduled audits run where the model is owned (store/leases.h).
    loop->pass(connection, now_us, [this](const std::string& model) { return ownership_.fence(model); });
}

Monitoring::Outcome Monitoring::upload_reference(const std::string& model, std::string_view body,
                                                 std::string_view content_type) {
    // The monitor notices the new active reference at its next pass.
    const auto config = latest()->config;
    const auto* options = config->find_model(model);
    if (options == nullptr) return error(404, "unknown model '" + model + "'");
    // An upload is raw rows: stored as a sample, they would be what a
    // profile-only model never keeps (config refuses reference.source: upload).
    if (!options->store_raw)
        return error(409, "model '" + model + "' is profile-only (store_raw: false): its reference is taken from its "
                          "own stored profiles, not uploaded");
    auto upload = parse_reference_upload(body, content_type, options->schema, options->reference.rows,
                                         config->server.max_json_depth);
    if (!upload.ok()) return error(400, upload.error);
    auto connection = store::connect(config->store);
    // Hashed under a key PostgreSQL does not record for the model (this
    // daemon's claim was refused): stored, the reference would be compared
    // with rows it shares no hash with. As the drain refuses such records.
    if (const auto key_id = options->schema.privacy.key_id(); !key_id.empty())
        if (auto refusal = store::spooled_key_refusal(model, key_id, store::recorded_privacy_keys(*connection, {model}));
            !refusal.empty())
            return error(409, "the reference is not stored: " + refusal);
    const auto id = store_uploaded_reference(
        *connection, options->schema, upload.table,
        fmt::format("uploaded {} rows at {}", upload.rows_read, format_rfc3339_us(now_us())));
    return answer(201, {{"reference_id", id}, {"rows", upload.rows_read}});
}

Monitoring::Outcome Monitoring::run_audit(const std::string& model, const std::string& audit) {
    const auto loop = audits();
    if (!loop->knows(model, audit)) return error(404, "no audit '" + audit + "' for model '" + model + "'");
    auto connection = store::connect(latest()->config->store);
    const auto summary = loop->run_now(*connection, model, audit, now_us());
    if (summary.already_running) return error(409, "the audit is already running");
    nlohmann::json body = {{"audit_id", summary.id},
                           {"state", fairness::to_string(summary.state)},
                           {"status", summary.status},
                           {"rows", summary.rows},
                           {"findings", summary.findings},
                           {"reports", summary.report_paths}};
    if (!summary.error.empty()) body["error"] = summary.error;
    return answer(summary.id == 0 ? 500 : 200, body);
}

Monitoring::Outcome Monitoring::request_retrain(const std::string& model, const std::string& reason) {
    const auto config = latest()->config;
    if (!config->find_model(model)) return error(404, "unknown model '" + model + "'");
    auto connection = store::connect(config->store);
    bound_policy_lock_wait(*connection, config->cluster);
    try {
        const auto [status, body] = retrain()->request_manual(*connection, model, reason, now_us());
        return {status, body};
    } catch (const pqxx::sql_error& failure) {
        if (!lock_wait_timed_out(failure)) throw;
        log::warning("retrain_request_refused model={} reason=\"policy lock busy\" waited_ms={}", model,
                     config->cluster.lease_ms);
        return policy_lock_busy(config->cluster);
    }
}

Monitoring::Outcome Monitoring::job_report(std::int64_t job_id, std::string_view body) {
    auto connection = store::connect(latest()->config->store);
    const auto [status, text] = retrain()->accept_report(*connection, job_id, body, now_us());
    return {status, text};
}

Monitoring::Outcome Monitoring::reset_breaker(const std::string& model) {
    const auto config = latest()->config;
    if (!config->find_model(model)) return error(404, "unknown model '" + model + "'");
    auto connection = store::connect(config->store);
    bound_policy_lock_wait(*connection, config->cluster);
    try {
        const bool reset = retrain::reset_breaker(*connection, model, "reset through the admin API", now_us());
        return answer(200, {{"model", model}, {"breaker_was_open", reset}});
    } catch (const pqxx::sql_error& failure) {
        if (!lock_wait_timed_out(failure)) throw;
        log::warning("breaker_reset_refused model={} reason=\"policy lock busy\" waited_ms={}", model,
                     config->cluster.lease_ms);
        return policy_lock_busy(config->cluster);
    }
}

Monitoring::Outcome Monitoring::add_silence(std::string_view body) {
    const auto request = nlohmann::json::parse(body, nullptr, false);
    if (!request.is_object()) return error(400, "expected a JSON object");
    alerts::Silence silence;
    const auto text = [&](const char* key) -> std::optional<std::string> {
        if (!request.contains(key) || request[key].is_null()) return std::nullopt;
        if (!request[key].is_string()) throw std::invalid_argument(std::string("\"") + key + "\" must be a string");
        return request[key].get<std::string>();
    };
    try {
        silence.model = text("model");
        silence.kind = text("kind");
        silence.subject = text("subject");
        silence.created_by = text("created_by").value_or("");
        silence.comment = text("comment").value_or("");
        const auto ends = text("ends_at");
        const auto duration = request.contains("duration_seconds") ? request["duration_seconds"] : nlohmann::json();
        silence.starts_at_us = now_us();
        if (ends) {
            const auto parsed = parse_rfc3339_us(*ends);
            if (!parsed) return error(400, "\"ends_at\" must be an RFC 3339 time");
            silence.ends_at_us = *parsed;
        } else if (duration.is_number_unsigned()) {
            silence.ends_at_us = silence.starts_at_us + duration.get<std::int64_t>() * 1'000'000;
        } else {
            return error(400, "give \"ends_at\" (RFC 3339) or \"duration_seconds\"");
        }
    } catch (const std::invalid_argument& failure) {
        return error(400, failure.what());
    }
    auto connection = store::connect(latest()->config->store);
    const auto added = alerts::add_silence(*connection, silence);
    if (!added.id) return error(400, added.error);
    return answer(201, {{"silence_id", *added.id}});
}

Monitoring::Outcome Monitoring::expire_silence(std::int64_t id) {
    auto connection = store::connect(latest()->config->store);
    if (!alerts::expire_silence(*connection, id, now_us())) return error(404, fmt::format("no active silence {}", id));
    return answer(200, {{"silence_id", id}, {"expired", true}});
}

Monitoring::Outcome Monitoring::query(const std::string& what, const std::map<std::string, std::string>& parameters,
                                      store::ReadSessions& reads) {
    const std::string model = parameter(parameters, "model");
    const auto limit = std::clamp<std::int64_t>(integer_of(parameter(parameters, "limit")).value_or(100), 1, 10000);
    Outcome outcome = error(404, "no such collection");
    reads.read(latest()->config->store, [&](pqxx::connection& connection) {
        if (what == "alerts") {
            nlohmann::json alerts = nlohmann::json::array();
            for (const auto& alert :
                 alerts::list_alerts(connection, model.empty() ? std::nullopt : std::optional<std::string>(model)))
                alerts.push_back(alerts::to_json(alert));
            outcome = answer(200, {{"alerts", alerts}});
            return;
        }
        if (what == "silences") {
            nlohmann::json silences = nlohmann::json::array();
            for (const auto& silence : alerts::list_silences(connection, now_us(), parameter(parameters, "all") == "true"))
                silences.push_back(alerts::to_json(silence));
            outcome = answer(200, {{"silences", silences}});
            return;
        }
        if (what == "jobs") {
            nlohmann::json jobs = nlohmann::json::array();
            for (const auto& job : retrain::list_jobs(connection, model, static_cast<int>(limit)))
                jobs.push_back(retrain::to_json(job));
            outcome = answer(200, {{"jobs", jobs}});
            return;
        }
        if (what == "job") {
            const auto id = integer_of(parameter(parameters, "id"));
            const auto detail = id ? retrain::get_job(connection, *id) : std::nullopt;
            outcome = detail ? answer(200, retrain::to_json(*detail)) : error(404, "no such job");
            return;
        }
        pqxx::read_transaction transaction(connection, "admin_query");
        if (what == "findings" || what == "finding") {
            store::FindingFilter filter;
            filter.model = model;
            filter.kind = parameter(parameters, "kind");
            if (const std::string triggered = parameter(parameters, "triggered"); !triggered.empty())
                filter.triggered = triggered == "true";
            filter.id = integer_of(parameter(parameters, "id"));
            filter.limit = limit;
            const auto rows = nlohmann::json::parse(store::findings_json(transaction, filter));
            if (what == "findings")
                outcome = answer(200, {{"findings", rows}});
            else
                outcome = rows.empty() ? error(404, "no such finding") : answer(200, rows[0]);
            return;
        }
        if (what == "windows")
            outcome = answer(200, {{"windows", nlohmann::json::parse(store::windows_json(transaction, model, limit))}});
        if (what == "audits")
            outcome = answer(200, {{"audits", nlohmann::json::parse(store::audits_json(transaction, model, limit))}});
        if (what == "decisions")
            outcome =
                answer(200, {{"decisions", nlohmann::json::parse(store::decisions_json(transaction, model, limit))}});
    });
    return outcome;
}

Monitoring::Outcome Monitoring::progress(const std::string& model, std::uint64_t spool_undrained_batches,
                                         const std::vector<WorkerStatus>& workers_before, store::ReadSessions& reads) {
    const auto current = latest();
    const auto* options = current->config->find_model(model);
    if (options == nullptr) return error(404, fmt::format("unknown model '{}'", model));
    const auto monitor_of = [](const std::vector<WorkerStatus>& statuses) {
        const auto found = std::find_if(statuses.begin(), statuses.end(),
                                        [](const WorkerStatus& status) { return status.name == monitor_worker_name; });
        return found == statuses.end() ? WorkerStatus{} : *found;
    };
    store::ModelProgress counts;
    reads.read(current->config->store, [&](pqxx::connection& connection) {
        pqxx::read_transaction transaction(connection, "model_progress");
        counts = store::model_progress(transaction, model,
                                       options->retrain.enabled() ? retrain::policy_cursor_name : "",
                                       undecided_state_names());
    });
    const auto before = monitor_of(workers_before);
    const auto after = monitor_of(workers());
    nlohmann::json monitor{{"passes_ended", before.passes_ended}, {"next_pass", after.passes_begun + 1}};
    if (!after.last_error.empty()) monitor["last_error"] = after.last_error;
    return answer(200, {{"model", model},
                        {"owned", ownership_.fence(model).has_value()},
                        {"spool_undrained_batches", spool_undrained_batches},
                        {"monitor", std::move(monitor)},
                        {"windows", counts.windows},
                        {"windows_judged", counts.windows_judged},
                        {"last_finding_id", counts.last_finding_id},
                        {"last_reference_id", counts.last_reference_id},
                        {"reference_pending", counts.reference_pending},
                        {"last_job_transition_id", counts.last_job_transition_id},
                        {"jobs_unfinished", counts.jobs_unfinished},
                        {"findings_unrouted", counts.findings_unrouted},
                        {"findings_unseen_by_retraining", counts.findings_past_cursor}});
}

}  // namespace mw::daemon
