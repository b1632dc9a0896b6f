// A retraining job as stored in retrain_jobs (store/migrations.cpp, migration
// 2), and the states it moves through. Plain values shared by the policy, the
// queue (retrain/job_queue.h) and the runners.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mw::retrain {

// The job state machine (retrain/job_queue.h, transition()):
//   queued -> running -> succeeded | failed | timed_out
//   succeeded -> validated | rejected;  validated -> promoted | rejected
//   promoted -> rolled_back
enum class JobState { queued, running, succeeded, failed, timed_out, validated, promoted, rejected, rolled_back };

// The name stored in retrain_jobs.state, e.g. "timed_out".
const char* to_string(JobState);
// The inverse of to_string; nothing for any other text.
std::optional<JobState> parse_job_state(std::string_view text);

// Whether `to` may follow `from` in the state machine above.
bool is_legal_transition(JobState from, JobState to);
// A state a job ends its run in: it no longer occupies a worker.
// Everything after running counts (succeeded, failed, timed_out, validated,
// promoted, rejected, rolled_back).
bool is_finished(JobState);
// The states the circuit breaker counts as a failed attempt.
bool is_failure(JobState);
// A job whose outcome is not decided yet: one that can still move in the
// state machine above, except a promoted one (its probation may roll it
// back, but the job's own work is done). So queued, running, succeeded (the
// validation gate is still to judge it) and validated (the promotion hook
// is still to run).
bool is_undecided(JobState);
// The stored names (to_string) of the undecided states, for queries
// (the progress answer's jobs_unfinished, store/admin_queries.h).
std::vector<std::string> undecided_state_names();

// One row of retrain_jobs. Timestamps are microseconds since the Unix epoch
// (UTC); nullable columns are optional.
struct Job {
    std::int64_t id = 0;
    std::string model;
    std::string dedup_key;
    std::string trigger;  // the trigger kind that queued it: "dataset_drift", "manual", ...
    std::string reason;
    std::optional<std::int64_t> finding_id;
    JobState state = JobState::queued;
    std::optional<std::string> champion_version;
    std::optional<std::string> challenger_version;
    std::string context_json = "{}";        // what the runner needs (data window, paths), a JSON object
    std::optional<std::string> report_json;  // the trainer's or validation's report, a JSON object
    std::string output;                      // the trainer's captured output (tail)
    std::optional<std::string> claimed_by;   // worker name that claimed it
    std::int64_t created_at_us = 0;
    std::optional<std::int64_t> started_at_us;
    std::optional<std::int64_t> finished_at_us;
    std::optional<std::int64_t> promoted_at_us;
};

}  // namespace mw::retrain
