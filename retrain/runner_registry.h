// The registries of retraining's pluggable parts (STYLE.md section 2): the
// job runners (how a queued job runs: exec here, or an HTTP trigger that
// starts it elsewhere) and the hooks (what tells the serving side to switch
// models: promotion, rollback). Each entry has its name and one-line meaning
// (docs/monitoring.md, --check-config's errors through registry/catalog.cpp),
// its option table (the keys of models[].retrain it takes, declared next to
// the runner: the loader reads a retrain section against its runner's table,
// retrain.runner or the one inference rule in config/sections.cpp), and what
// runs it. Each hook declares its own key (retrain/hooks.cpp), read beside
// the common keys into RetrainConfig::hook_options.
// Adding a runner or a hook: its file pair and one row in runner_registry.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <pqxx/connection_base>

#include "config/component.h"
#include "config/config.h"
#include "retrain/exec_runner.h"
#include "retrain/hooks.h"
#include "retrain/job.h"
#include "retrain/job_context.h"
#include "retrain/job_report.h"

namespace mw::retrain {

// What a runner did with a claimed job.
struct RunnerOutcome {
    // False: the job runs elsewhere and reports through POST
    // /v1/jobs/{id}/report; nothing is recorded now.
    bool finished = true;
    JobRunResult run;  // when finished: the state to record, and the report when it succeeded
};

struct RunnerEntry {
    config::ComponentInfo info;
    // The job runs in the daemon that claimed it (a child process) and dies
    // with it, so a job whose daemon is gone is failed (retrain/job_queue.h,
    // fail_orphaned); false when it runs elsewhere and reports back.
    bool runs_in_daemon;
    // Runs the job, or starts it elsewhere. PostgreSQL errors propagate.
    RunnerOutcome (*run)(pqxx::connection_base&, const Job&, const config::RetrainConfig&,
                         const JobContextOptions&, std::int64_t now_us);
};

std::span<const RunnerEntry> job_runners();
// The runner a model's retrain section names; nullptr when retraining is off.
const RunnerEntry* configured_runner(const config::RetrainConfig& retrain);

struct HookEntry {
    config::ComponentInfo info;
    HookKind kind;
    // The key of its option table that holds the argv it runs (in
    // RetrainConfig::hook_options); absent or empty: not configured.
    std::string_view argv_key;
};

std::span<const HookEntry> retrain_hooks();
const HookEntry& retrain_hook(HookKind kind);

// Runs a model's configured hook of `kind` for a job and the report it
// validated; nullopt when that hook is not configured. A rollback also names
// the version to serve again (the champion the job replaced).
std::optional<HookResult> run_configured_hook(HookKind kind, const config::RetrainConfig& retrain,
                                              const std::string& jobs_dir, const Job& job, const JobReport& report);

}  // namespace mw::retrain
