// The states a retraining job moves through, and their names as stored in
// retrain_jobs.state (store/migrations.cpp, migration 2). Here rather than in
// retrain/ because the store reads them too: retention keeps undecided jobs'
// findings and deletes only decided jobs (store/retention.cpp), and the
// progress answer counts unfinished ones (store/admin_queries.h); store/ may
// not depend on retrain/, which comes after it in the data flow.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mw {

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
// The stored names (to_string) of the undecided states, and of the others
// (decided: failed, timed_out, promoted, rejected, rolled_back), in the
// enum's order, for queries.
std::vector<std::string> undecided_state_names();
std::vector<std::string> decided_state_names();

}  // namespace mw
