// The retraining job queue in PostgreSQL (retrain_jobs, retrain_transitions,
// decisions; store/migrations.cpp, migration 2). Safe with several daemons on
// one database: the unique partial index retrain_jobs_one_active_per_key
// makes a dedup key one job while queued or running, and claim_next takes
// jobs with FOR UPDATE SKIP LOCKED under an advisory lock, so no job is
// claimed twice and the limit on running jobs holds across daemons.
//
// Every function takes the time from its caller (`now_us`, microseconds since
// the epoch) and writes it into the rows, so tests control the clock. Database
// failures (connection lost) are pqxx exceptions; refusals that follow from
// the input (an illegal transition, an unknown job) are values.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/connection>
#include <pqxx/transaction>

#include "retrain/job.h"

namespace mw::retrain {

struct JobRequest {
    std::string model;
    std::string dedup_key;
    std::string trigger;
    std::string reason;
    std::optional<std::int64_t> finding_id;
    std::optional<std::string> champion_version;
    std::string context_json = "{}";  // a JSON object
};

struct EnqueueResult {
    std::int64_t job_id = 0;
    bool created = false;  // false: a job with the same model and dedup key was already queued or running
};

// Queues a job unless one with the same (model, dedup key) is queued or
// running, in which case that job's id is returned. Writes a decision either
// way ("retrain_queued" or "retrain_duplicate") and, for a new job, its first
// transition (none -> queued).
EnqueueResult enqueue(pqxx::connection_base& connection, const JobRequest& request, std::int64_t now_us);
// The same inside the caller's transaction (process_findings uses it so that
// jobs, decisions and the finding cursor commit together).
EnqueueResult enqueue(pqxx::transaction_base& transaction, const JobRequest& request, std::int64_t now_us);

// Claims the oldest queued job for `worker_name` (running, started_at,
// claimed_by) unless `max_concurrent` jobs already run, counted over all
// models and all daemons. Nothing when the queue is empty or the limit is reached.
std::optional<Job> claim_next(pqxx::connection_base& connection, const std::string& worker_name, int max_concurrent,
                              std::int64_t now_us);

// What a transition may also set on the job row; unset fields are left as they are.
struct TransitionFields {
    std::optional<std::string> challenger_version;
    std::optional<std::string> report_json;  // a JSON object
    std::optional<std::string> output;
    // What else the transition commits or loses with it (a rejection's
    // re-base, daemon/retrain_loop.h), run in its transaction before commit.
    std::function<void(pqxx::transaction_base&)> in_transaction;
};

struct TransitionResult {
    bool ok = false;
    std::string error;  // when not ok: what was refused and why
    Job job;            // when ok: the job as it is now
};

// Moves a job along the state machine of retrain/job.h, writing the job row
// and a retrain_transitions row with `reason` in one transaction. Sets
// finished_at on succeeded, failed and timed_out, promoted_at on promoted.
// Refuses (ok = false) an unknown job or a transition the machine does not
// have, e.g. "job 7 cannot go from failed to promoted (failed is final)".
TransitionResult transition(pqxx::connection_base& connection, std::int64_t job_id, JobState to_state,
                            const std::string& reason, std::int64_t now_us, const TransitionFields& fields = {});

// Jobs left running by a daemon that died: every job running since before
// `started_before_us` becomes failed with reason "daemon died while running".
// They are not queued again: the trainer may have side effects. Returns the
// ids of the jobs it failed.
//
// The schema has no heartbeat column, so "since" is started_at: callers pass
// now minus the longest a job may run (the runner's timeout plus a margin).
std::vector<std::int64_t> fail_stale(pqxx::connection_base& connection, std::int64_t started_before_us,
                                     std::int64_t now_us);

// Jobs of `models` (those whose runner runs here, as a child of the daemon
// that claimed them) whose claiming daemon is gone: started over `lease`
// before `now_us` (a daemon's first heartbeat follows its start within a
// heartbeat) and `claimed_by` names a daemon (cluster.daemon_id) with no
// heartbeat in `daemons` within `lease` on the database's clock, or they
// run under `self` (then a predecessor of the same name,
// since the caller runs none of them: it passes `self` only before its
// first claim). They become failed with reason "its daemon stopped
// heartbeating while it ran" and are not queued again (the trainer may
// have side effects); a runner that wakes from a pause finds its job
// failed and its transitions refused. Returns the ids of the jobs failed.
std::vector<std::int64_t> fail_orphaned(pqxx::connection_base& connection, const std::vector<std::string>& models,
                                        std::chrono::milliseconds lease, const std::optional<std::string>& self,
                                        std::int64_t now_us);

struct Transition {
    std::int64_t id = 0;
    std::optional<JobState> from_state;  // nothing for the first (none -> queued)
    JobState to_state = JobState::queued;
    std::string reason;
    std::int64_t at_us = 0;
};

struct JobDetail {
    Job job;
    std::vector<Transition> transitions;  // oldest first
};

// The latest `limit` jobs of a model (all models when empty), newest first.
std::vector<Job> list_jobs(pqxx::connection_base& connection, const std::string& model, int limit);
std::optional<JobDetail> get_job(pqxx::connection_base& connection, std::int64_t job_id);

// The API's JSON: timestamps in RFC 3339, absent values as null, context and
// report as objects.
nlohmann::json to_json(const Job& job);
nlohmann::json to_json(const JobDetail& detail);

// Writes one row of `decisions` (the "why did this happen" log).
void record_decision(pqxx::transaction_base& transaction, const std::string& model, const std::string& kind,
                     const std::string& reason, std::optional<std::int64_t> finding_id,
                     std::optional<std::int64_t> job_id, std::int64_t now_us);

}  // namespace mw::retrain
