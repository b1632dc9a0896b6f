#include "daemon/retrain_loop.h"

#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <pqxx/result>
#include <pqxx/transaction>

#include "core/log.h"
#include "core/time.h"
#include "retrain/runner_registry.h"
#include "retrain/job_context.h"
#include "retrain/job_queue.h"
#include "retrain/policy_store.h"
#include "retrain/validation_gate.h"
#include "store/database.h"
#include "store/monitor_store.h"

namespace mw::daemon {
namespace {

retrain::GateOptions gate_options(const config::RetrainConfig& retrain) {
    retrain::GateOptions gate;
    gate.metric = retrain.gate_metric;
    gate.higher_is_better = retrain.gate_higher_is_better;
    gate.min_improvement = retrain.gate_min_improvement;
    return gate;
}

std::string json_body(const nlohmann::json& value) { return value.dump(); }

}  // namespace

retrain::RetrainPolicyOptions policy_options(const config::RetrainConfig& retrain) {
    retrain::RetrainPolicyOptions options;
    options.enabled = retrain.enabled();
    for (const auto& trigger : retrain.triggers) {
        const auto kind = retrain::parse_trigger_kind(trigger.kind);
        if (!kind) continue;  // the loader accepts only kinds the policy knows
        options.triggers.push_back({*kind, trigger.hold_ms, static_cast<int>(trigger.min_findings)});
    }
    options.dedup_key_template = retrain.dedup_key;
    options.cooldown_ms = retrain.cooldown_ms;
    options.cooldown_windows = static_cast<int>(retrain.cooldown_windows);
    options.daily_budget = static_cast<int>(retrain.daily_budget);
    options.breaker_failures = static_cast<int>(retrain.breaker_failures);
    return options;
}

RetrainLoop::RetrainLoop(const config::Config& config, DaemonMetrics& metrics, std::string daemon_id,
                         bool first_of_process)
    : config_(config), metrics_(metrics), worker_name_(std::move(daemon_id)), fail_own_jobs_(first_of_process) {
    for (const auto& model : config.models) {
        if (model.retrain.enabled()) policies_[model.schema.name] = policy_options(model.retrain);
        const auto* runner = retrain::configured_runner(model.retrain);
        if (runner != nullptr && runner->runs_in_daemon) models_run_in_daemon_.push_back(model.schema.name);
    }
    const std::int64_t now_s = now_us() / 1'000'000;
    for (const auto& model : config.models) {
        if (!model.retrain.enabled() || model.retrain.schedule.empty()) continue;
        auto cron = parse_cron(model.retrain.schedule);
        if (!cron.ok())
            throw std::invalid_argument(fmt::format("model {}: retrain.schedule: {}", model.schema.name, cron.error));
        auto zone = TimeZone::load(model.retrain.schedule_time_zone);
        if (!zone.zone)
            throw std::invalid_argument(
                fmt::format("model {}: retrain.schedule_time_zone: {}", model.schema.name, zone.error));
        const auto next = next_fire_after(cron.schedule, *zone.zone, now_s);
        schedules_.push_back({model.schema.name, cron.schedule, *zone.zone, next});
    }
}

RetrainLoop::~RetrainLoop() {
    std::lock_guard lock(jobs_mutex_);
    job_threads_.clear();  // joins
}

void RetrainLoop::pass(pqxx::connection_base& connection, std::int64_t now_us) {
    // A daemon frozen inside a transaction (SIGSTOP, a stalled VM) keeps its
    // locks until it wakes, the policy's and the claims' advisory locks
    // among them, which every daemon's pass takes. Both ends are bounded by
    // a lease, as ownership is (docs/scaling.md, "What is and is not owned"):
    // - no wait of this pass for a lock outlasts one: the statement fails
    //   ("lock timeout", the worker's last_error) and the next pass begins
    //   here again, so a frozen daemon's job is still failed below;
    // - no transaction of this session stays idle longer than one:
    //   PostgreSQL ends the session of this daemon, frozen, and its locks
    //   with it. A pass's transactions hold no idle time but the policy's
    //   own arithmetic between two statements (hooks and jobs run outside them).
    store::bound_lock_holding(connection, config_.cluster.lease_ms, config_.cluster.lease_ms);
    // Every pass, before claiming: a job whose daemon died or froze (kill -9,
    // SIGSTOP past its lease) frees its place in the concurrency limit within
    // a lease, failed and never run again (see the constructor for fail_own_jobs_).
    retrain::fail_orphaned(connection, models_run_in_daemon_, std::chrono::milliseconds(config_.cluster.lease_ms),
                           fail_own_jobs_ ? std::optional(worker_name_) : std::nullopt, now_us);
    fail_own_jobs_ = false;
    if (policies_.empty()) return;
    if (!started_) {
        // Jobs left running by a daemon that died cannot be running still
        // once their timeout passed; they are failed, not re-run (a trainer
        // may have side effects).
        std::uint32_t longest_ms = 0;
        for (const auto& model : config_.models) longest_ms = std::max(longest_ms, model.retrain.timeout_ms);
        const auto stale = retrain::fail_stale(connection, now_us - static_cast<std::int64_t>(longest_ms) * 1000 -
                                                               60'000'000, now_us);
        if (!stale.empty()) log::warning("retrain_jobs_failed_stale count={}", stale.size());
        started_ = true;
    }
    const auto processed = retrain::process_findings(connection, policies_, now_us);
    if (processed.queued + processed.skipped + processed.breakers_opened > 0)
        log::notice("retrain_policy findings={} queued={} duplicates={} skipped={} breakers_opened={}",
                    processed.findings, processed.queued, processed.duplicates, processed.skipped,
                    processed.breakers_opened);
    for (const auto& [model, policy] : policies_)
        metrics_.retrain_breaker_open.Add({{"model", model}}).Set(retrain::breaker_open(connection, model) ? 1 : 0);
    run_schedules(connection, now_us);
    check_probation(connection, now_us);
    {
        std::lock_guard lock(jobs_mutex_);
        job_threads_.remove_if([](const std::jthread& thread) { return !thread.joinable(); });
    }
    while (true) {
        auto job = retrain::claim_next(connection, worker_name_, static_cast<int>(config_.monitor.max_concurrent_jobs),
                                       now_us);
        if (!job) break;
        metrics_.retrain_transitions.Add({{"model", job->model}, {"state", "running"}}).Increment();
        log::notice("retrain_job_started job={} model={} trigger={} reason=\"{}\"", job->id, job->model, job->trigger,
                    job->reason);
        std::lock_guard lock(jobs_mutex_);
        ++running_;
        job_threads_.emplace_back([this, claimed = std::move(*job)](std::stop_token) mutable {
            run_job(std::move(claimed));
            --running_;
        });
    }
}

bool RetrainLoop::transition(pqxx::connection_base& connection, const retrain::Job& job, JobState to,
                             const std::string& reason, std::int64_t now_us, const std::string& report_json,
                             const std::string& output, const std::string& challenger_version,
                             std::function<void(pqxx::transaction_base&)> in_transaction) {
    retrain::TransitionFields fields;
    fields.in_transaction = std::move(in_transaction);
    if (!report_json.empty()) fields.report_json = report_json;
    if (!output.empty()) fields.output = output;
    if (!challenger_version.empty()) fields.challenger_version = challenger_version;
    const auto result = retrain::transition(connection, job.id, to, reason, now_us, fields);
    if (!result.ok) {
        log::error("retrain_transition_refused job={} to={} error=\"{}\"", job.id, to_string(to), result.error);
        return false;
    }
    metrics_.retrain_transitions.Add({{"model", job.model}, {"state", to_string(to)}}).Increment();
    log::notice("retrain_job job={} model={} state={} reason=\"{}\"", job.id, job.model, to_string(to), reason);
    return true;
}

void RetrainLoop::run_job(retrain::Job job) {
    try {
        auto connection = store::connect(config_.store);
        const auto* model = config_.find_model(job.model);
        if (model == nullptr) {
            transition(*connection, job, JobState::failed, "the model is no longer configured", now_us());
            return;
        }
        const auto& retrain = model->retrain;
        retrain::JobContextOptions context;
        context.jobs_dir = config_.monitor.jobs_dir;
        context.data_rows = retrain.data_rows;
        for (const auto& feature : model->schema.features) context.feature_columns.push_back(feature.name);
        const auto* runner = retrain::configured_runner(retrain);
        if (runner == nullptr) {
            transition(*connection, job, JobState::failed, "retraining is no longer configured", now_us());
            return;
        }
        const auto outcome = runner->run(*connection, job, retrain, context, now_us());
        if (!outcome.finished) return;
        const auto& run = outcome.run;
        const std::string report_json = run.report ? run.report->json : std::string();
        const std::string challenger = run.report ? run.report->challenger_version : std::string();
        if (!transition(*connection, job, run.state, run.reason, now_us(), report_json, run.output, challenger)) return;
        if (run.state == JobState::succeeded && run.report)
            validate_and_promote(*connection, job, *run.report, now_us());
    } catch (const std::exception& error) {
        log::error("retrain_job_error job={} model={} error=\"{}\"", job.id, job.model, error.what());
        try {
            auto connection = store::connect(config_.store);
            transition(*connection, job, JobState::failed, std::string("daemon error: ") + error.what(),
                       now_us());
        } catch (const std::exception&) {
            // The stale-job sweep at the next start fails it.
        }
    }
}

void RetrainLoop::validate_and_promote(pqxx::connection_base& connection, const retrain::Job& job,
                                       const retrain::JobReport& report, std::int64_t now_us) {
    const auto* model = config_.find_model(job.model);
    if (model == nullptr) return;
    const auto& retrain = model->retrain;
    const auto gate = retrain::decide(report, gate_options(retrain));
    if (!gate.promote) {
        std::function<void(pqxx::transaction_base&)> rebase;
        if (retrain.rebase_on_rejection && gate.champion_value)
            rebase = [&](pqxx::transaction_base& transaction) {
                rebase_on_rejection(transaction, job, retrain.gate_metric, *gate.champion_value, now_us);
            };
        transition(connection, job, JobState::rejected, gate.reason, now_us, {}, {}, {}, std::move(rebase));
        return;
    }
    if (!transition(connection, job, JobState::validated, gate.reason, now_us)) return;
    std::string promotion = "promoted (no promotion hook configured)";
    if (const auto result = retrain::run_configured_hook(retrain::HookKind::promotion, retrain,
                                                         config_.monitor.jobs_dir, job, report)) {
        if (result->status != retrain::CallStatus::ok) {
            transition(connection, job, JobState::rejected, "promotion hook failed: " + result->reason, now_us);
            return;
        }
        promotion = "promotion hook succeeded: " + result->reason;
    }
    if (!transition(connection, job, JobState::promoted, promotion, now_us)) return;
    // The new model is the new normal: its first predictions become the
    // reference (the monitor collects them), and the concept detector
    // restarts with the refit.
    pqxx::work transaction(connection, "reference_reset");
    store::request_reference_reset(transaction, job.model, report.challenger_version,
                                   fmt::format("after job {} promoted {}", job.id, report.challenger_version));
    retrain::record_decision(transaction, job.model, "reference_reset",
                             fmt::format("model {} promoted by job {}: the next reference is its first {} predictions",
                                         report.challenger_version, job.id, model->reference.rows),
                             job.finding_id, job.id, now_us);
    transaction.commit();
}

void RetrainLoop::rebase_on_rejection(pqxx::transaction_base& transaction, const retrain::Job& job,
                                      const std::string& metric, double champion_value, std::int64_t now_us) {
    // In the rejection's transaction: a job is never seen rejected (by the
    // lockstep replay's progress, or a monitor pass) before its re-base.
    const auto rebased = store::rebase_reference(transaction, job.model, {metric, champion_value, job.id});
    if (!rebased) {
        log::info("reference_rebase_skipped model={} job={} reason=\"the reference is pending, or another job was "
                  "promoted or rolled back since this one started\"",
                  job.model, job.id);
        return;
    }
    const auto reason = fmt::format(
        "job {} rejected: the served model's {} as the job measured it on the newest labelled rows, {:.4f}, is "
        "reference {}'s value for max_drop from now on (was {})",
        job.id, metric, champion_value, rebased->reference_id,
        rebased->previous_value ? fmt::format("{:.4f}, re-based earlier", *rebased->previous_value)
                                : std::string("its value on the reference's own rows"));
    retrain::record_decision(transaction, job.model, "reference_rebased", reason, job.finding_id, job.id, now_us);
    log::notice("reference_rebase_stored model={} job={} reference={} metric={} value={:.4f}", job.model, job.id,
                rebased->reference_id, metric, champion_value);
}

void RetrainLoop::run_schedules(pqxx::connection_base& connection, std::int64_t now_us) {
    const std::int64_t now_s = now_us / 1'000'000;
    for (auto& schedule : schedules_) {
        if (!schedule.next_slot_s || now_s < *schedule.next_slot_s) continue;
        const auto result =
            retrain::request_scheduled(connection, policies_.at(schedule.model), schedule.model, now_us);
        log::notice("retrain_scheduled model={} slot={} decision=\"{}\"", schedule.model,
                    format_rfc3339_us(*schedule.next_slot_s * 1'000'000), result.decision.reason);
        schedule.next_slot_s = next_fire_after(schedule.cron, schedule.zone, now_s);
    }
}

void RetrainLoop::check_probation(pqxx::connection_base& connection, std::int64_t now_us) {
    std::vector<std::int64_t> on_probation;
    {
        pqxx::read_transaction transaction(connection, "promoted_on_probation");
        for (const auto& row : transaction.exec(
                 "SELECT j.id FROM retrain_jobs j WHERE j.state = 'promoted' AND NOT EXISTS (SELECT 1 FROM decisions d "
                 "WHERE d.job_id = j.id AND d.kind IN ('probation_passed', 'probation_failed')) ORDER BY j.id"))
            on_probation.push_back(row[0].as<std::int64_t>());
    }
    for (const auto job_id : on_probation) {
        const auto detail = retrain::get_job(connection, job_id);
        if (!detail) continue;
        const auto& job = detail->job;
        const auto* model = config_.find_model(job.model);
        if (model == nullptr || model->retrain.probation_windows == 0 || !job.report_json) continue;
        const auto report = retrain::parse_job_report(*job.report_json);
        if (!report.report) continue;
        const auto reference = store::active_reference(connection, job.model);
        // Judged only on windows compared with the promoted model's own reference.
        if (!reference || reference->pending() || reference->model_version != report.report->challenger_version) continue;
        const auto& retrain = model->retrain;
        const auto values =
            store::metric_values_for_reference(connection, job.model, reference->id, retrain.gate_metric);
        const auto champion = report.report->champion_metrics.find(retrain.gate_metric);
        const double bar = champion != report.report->champion_metrics.end()
                               ? champion->second
                               : report.report->metrics.at(retrain.gate_metric);
        retrain::ProbationOptions probation{static_cast<int>(retrain.probation_windows), retrain.probation_max_drop};
        const auto decision = retrain::should_roll_back(bar, values, probation, gate_options(retrain));
        if (decision.verdict == retrain::ProbationVerdict::pending) continue;
        if (decision.verdict == retrain::ProbationVerdict::keep) {
            pqxx::work transaction(connection, "probation_passed");
            retrain::record_decision(transaction, job.model, "probation_passed", decision.reason, std::nullopt, job.id,
                                     now_us);
            transaction.commit();
            continue;
        }
        std::string rollback = "rolled back (no rollback hook configured)";
        if (const auto result = retrain::run_configured_hook(retrain::HookKind::rollback, retrain,
                                                             config_.monitor.jobs_dir, job, *report.report)) {
            if (result->status != retrain::CallStatus::ok) {
                log::error("rollback_hook_failed job={} model={} reason=\"{}\"", job.id, job.model, result->reason);
                continue;  // tried again at the next pass
            }
            rollback = "rollback hook succeeded: " + result->reason;
        }
        if (!transition(connection, job, JobState::rolled_back, decision.reason + "; " + rollback, now_us))
            continue;
        pqxx::work transaction(connection, "probation_failed");
        retrain::record_decision(transaction, job.model, "probation_failed", decision.reason, std::nullopt, job.id,
                                 now_us);
        store::request_reference_reset(transaction, job.model, job.champion_version.value_or(""),
                                       fmt::format("rollback of job {}", job.id));
        transaction.commit();
    }
}

std::pair<int, std::string> RetrainLoop::request_manual(pqxx::connection_base& connection, const std::string& model,
                                                        const std::string& reason, std::int64_t now_us) {
    const auto policy = policies_.find(model);
    if (policy == policies_.end())
        return {409, json_body({{"error", "retraining is not configured for model " + model}})};
    const auto result = retrain::request_manual(connection, policy->second, model, reason, now_us);
    nlohmann::json body = {{"decision", result.decision.verdict == retrain::Verdict::enqueue ? "queued" : "skipped"},
                           {"reason", result.decision.reason}};
    if (result.job_id) body["job_id"] = *result.job_id;
    return {result.decision.verdict == retrain::Verdict::enqueue || result.job_id ? 202 : 409, body.dump()};
}

std::pair<int, std::string> RetrainLoop::accept_report(pqxx::connection_base& connection, std::int64_t job_id,
                                                       std::string_view body, std::int64_t now_us) {
    const auto parsed = retrain::parse_job_report(body);
    if (!parsed.report) return {400, json_body({{"error", parsed.error}})};
    const auto detail = retrain::get_job(connection, job_id);
    if (!detail) return {404, json_body({{"error", fmt::format("no job {}", job_id)}})};
    const auto& job = detail->job;
    if (job.state != JobState::running)
        return {409, json_body({{"error", fmt::format("job {} is {}, not running", job_id, to_string(job.state))}})};
    if (!transition(connection, job, JobState::succeeded, "the external job reported", now_us,
                    parsed.report->json, {}, parsed.report->challenger_version))
        return {409, json_body({{"error", "the job changed state meanwhile"}})};
    validate_and_promote(connection, job, *parsed.report, now_us);
    const auto after = retrain::get_job(connection, job_id);
    return {200, after ? retrain::to_json(*after).dump() : "{}"};
}

}  // namespace mw::daemon
