#include "retrain/runner_registry.h"

#include <chrono>
#include <stdexcept>
#include <thread>

#include "retrain/http_trigger.h"

namespace mw::retrain {

namespace {

using config::ComponentInfo;

RunnerOutcome run_exec(pqxx::connection_base& connection, const Job& job, const config::RetrainConfig& retrain,
                       const JobContextOptions& context, std::int64_t now_us) {
    ExecRunnerOptions exec;
    exec.argv = retrain.runner_options.list("command");
    exec.timeout = std::chrono::seconds((retrain.timeout_ms + 999) / 1000);
    return {true, run_exec_job(connection, job, context, exec, now_us)};
}

// The job runs elsewhere and reads what it needs itself: its context carries
// no exported data ("data": null).
RunnerOutcome run_http_trigger(pqxx::connection_base& connection, const Job& job,
                               const config::RetrainConfig& retrain, const JobContextOptions&, std::int64_t) {
    const auto finding = job.finding_id ? load_finding(connection, *job.finding_id) : std::nullopt;
    const auto context = context_json(job, finding, nullptr);
    HttpTriggerOptions trigger;
    trigger.url = retrain.runner_options.text("http_url");
    TriggerResult triggered;
    // A transient failure (network, 429, 5xx) is tried again; the
    // idempotency key makes a repeat harmless.
    for (int attempt = 0; attempt < 4; ++attempt) {
        if (attempt > 0) std::this_thread::sleep_for(std::chrono::seconds(5 << attempt));
        triggered = trigger_http_job(job, context, trigger);
        if (triggered.status != CallStatus::retry) break;
    }
    RunnerOutcome outcome;
    // Otherwise it runs over there and reports through POST /v1/jobs/{id}/report.
    outcome.finished = triggered.status != CallStatus::ok;
    outcome.run.state = JobState::failed;
    outcome.run.reason = triggered.reason;
    return outcome;
}

const RunnerEntry runner_table[] = {
    {ComponentInfo{"exec", "runs command (no shell) here with retrain.timeout; the job writes its report file",
                   exec_runner_options},
     true, run_exec},
    {ComponentInfo{"http_trigger", "POSTs the job context to http_url with an Idempotency-Key; the job reports back",
                   http_trigger_options},
     false, run_http_trigger},
};

const HookEntry hook_table[] = {
    {ComponentInfo{"promotion", "runs promote_command to serve a validated challenger", promotion_hook_options},
     HookKind::promotion, "promote_command"},
    {ComponentInfo{"rollback", "runs rollback_command to serve the previous champion again", rollback_hook_options},
     HookKind::rollback, "rollback_command"},
};

}  // namespace

std::span<const RunnerEntry> job_runners() { return runner_table; }

const RunnerEntry* configured_runner(const config::RetrainConfig& retrain) {
    return config::find_component(job_runners(), retrain.runner);
}

std::span<const HookEntry> retrain_hooks() { return hook_table; }

const HookEntry& retrain_hook(HookKind kind) {
    for (const auto& hook : hook_table)
        if (hook.kind == kind) return hook;
    throw std::logic_error("unregistered retrain hook");
}

std::optional<HookResult> run_configured_hook(HookKind kind, const config::RetrainConfig& retrain,
                                              const std::string& jobs_dir, const Job& job, const JobReport& report) {
    const auto& key = retrain_hook(kind).argv_key;
    if (!retrain.hook_options.has(key)) return std::nullopt;
    const auto& argv = retrain.hook_options.list(key);
    if (argv.empty()) return std::nullopt;
    HookOptions options;
    options.argv = argv;
    HookCall call;
    call.job_id = job.id;
    call.model = job.model;
    call.challenger_version = report.challenger_version;
    call.artifact = report.artifact;
    if (kind == HookKind::rollback) call.rollback_to_version = job.champion_version.value_or("");
    call.job_dir = jobs_dir + "/" + std::to_string(job.id);
    return run_hook(kind, call, options);
}

}  // namespace mw::retrain
