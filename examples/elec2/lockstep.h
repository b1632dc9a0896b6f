// The replay in lockstep with modelwatchd: after each batch (or each window:
// ServerOptions::lockstep_rows), the example server waits until the daemon has judged what it was sent (every window
// that could close closed, its findings seen by the alert router and the
// retraining policy) and no retraining job is queued or running, then goes
// on. The daemon's work then takes no rows of the data set, as in production
// where a job of seconds is nothing against half-hourly data, and the loop's
// figure measures its triggering rather than the machine's load.
//
// Settled is read from the daemon's own answer, GET
// /v1/models/{model}/progress (daemon/monitoring.h, Monitoring::progress):
// two answers A then B show it when B's monitor passes ended reach A's next
// pass (a whole monitor pass began after A, which had the spool drained, so
// it saw every record sent) and the counts of windows, judged windows,
// findings, references and job transitions are the same in both (that pass
// wrote nothing), with no job unfinished and no finding unrouted or unseen
// by the retraining policy in B. A restarted daemon counts its passes
// from 0 again: an answer whose count went back starts the wait over.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "examples/elec2/result.h"

namespace mw::elec2 {

struct DaemonProgress {
    bool owned = false;  // this daemon holds the model's lease
    std::uint64_t spool_undrained_batches = 0;
    std::uint64_t monitor_passes_ended = 0;  // before the answer was taken
    std::uint64_t monitor_next_pass = 0;     // the first pass to begin after it
    std::string monitor_error;               // of the monitor's last pass
    std::int64_t windows = 0;
    std::int64_t windows_judged = 0;
    std::int64_t last_finding_id = 0;
    std::int64_t last_reference_id = 0;
    std::int64_t last_job_transition_id = 0;
    std::int64_t jobs_unfinished = 0;
    std::int64_t findings_unrouted = 0;
    std::int64_t findings_unseen_by_retraining = 0;
};

// The daemon's answer; fails naming the field that is missing or not a
// number of the right kind.
Result<DaemonProgress> parse_progress(std::string_view json_text);

// Why `later` does not show the daemon settled since `earlier` (reasons
// joined by "; "), empty when it does. `later` must have been taken after
// `earlier`.
std::string unsettled_reason(const DaemonProgress& earlier, const DaemonProgress& later);

struct LockstepOptions {
    std::chrono::milliseconds timeout{120000};  // a stalled daemon fails the replay after this
    std::chrono::milliseconds poll{25};         // between two answers
};

// One reading of the daemon's progress: its answer, or why there is none.
struct ProgressReading {
    Result<DaemonProgress> progress;
    // Asking again cannot help (the daemon refused the request: a token
    // without the admin scope, an unknown model): the wait fails at once
    // instead of at its bound.
    bool final = false;
};

// What the wait reads and how it waits, injected so tests control time.
struct LockstepHooks {
    std::function<ProgressReading()> fetch;
    std::function<std::chrono::steady_clock::time_point()> now = [] { return std::chrono::steady_clock::now(); };
    std::function<void(std::chrono::milliseconds)> sleep;
};

struct LockstepWait {
    std::size_t answers = 0;  // progress answers read
    std::size_t restarts = 0;  // answers that showed the daemon restarted (its pass count went back)
    std::chrono::steady_clock::duration waited{};
};

// Waits until the daemon is settled (above) or `options.timeout` passed;
// the failure says how long it waited and what it was still waiting for
// (or the last error reading the answer). A final reading fails it at once
// with that reading's error.
Result<LockstepWait> wait_until_settled(const LockstepHooks& hooks, const LockstepOptions& options);

}  // namespace mw::elec2
