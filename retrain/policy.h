// When to retrain a model: the pure decision core of the retraining policy.
// Given what is known about a model (PolicyState) and one finding, it says
// whether to queue a job and, either way, why in plain words. It reads no
// clock and no database: the caller passes `now_us`, and builds the state
// from the database (retrain/policy_store.h) so that a restart keeps
// cooldowns, budgets and the breaker.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/finding.h"
#include "core/finding_kinds.h"

namespace mw::retrain {

// What may start a retraining: a finding kind (core/finding_kinds.h), whose
// triggered findings start a job, or schedule_trigger / manual_trigger,
// requested by the caller (a cron slot that is due, the API/CLI). A name with
// static storage: the finding-kind registry's, or those two constants.
using TriggerKind = std::string_view;

// The kind named `text`, or nothing for a name that is neither.
std::optional<TriggerKind> parse_trigger_kind(std::string_view text);

struct TriggerOptions {
    TriggerKind kind = "dataset_drift";
    // How long the condition must hold before it counts: the time from the
    // end of the window of the first triggered finding of an unbroken run
    // (no clean finding of the same kind and subject in between) to the end
    // of the window of the current one. 0: the first triggered finding counts.
    // Measured on window ends, not on the wall clock, so that a backlog of
    // findings processed at once is judged by the data it describes.
    std::int64_t hold_for_ms = 0;
    // How many triggered findings that run must contain (at least 1).
    int min_findings = 1;
};

// The retraining policy of one model. Defaults are the documented ones; the
// lead wires YAML to these fields. The global limit on running jobs is not
// here: it is an argument of claim_next (retrain/job_queue.h).
struct RetrainPolicyOptions {
    bool enabled = true;
    std::vector<TriggerOptions> triggers;
    // "{model}", "{trigger}" and "{subject}" are replaced; jobs with equal
    // keys are one job while queued or running.
    std::string dedup_key_template = "{model}:{trigger}";
    // After a job ends (any end state) no other job is queued for the model
    // for this long.
    std::int64_t cooldown_ms = 3600LL * 1000;
    // And, on the data's clock: a finding queues a job only when its window
    // is at least this many windows past the last window that closed before
    // the latest job ended (0: no such cooldown). Unlike cooldown_ms it does
    // not depend on how fast the data arrives or how long jobs take, so a
    // replay, a backlog or a slow job leads to the same decisions.
    int cooldown_windows = 0;
    // Jobs queued per model in any rolling 24 h.
    int daily_budget = 3;
    // Consecutive failed, timed_out or rejected jobs that open the breaker; it
    // stays open until reset_breaker() (retrain/policy_store.h).
    int breaker_failures = 3;

    // The trigger of that kind, or nothing when the policy has none.
    const TriggerOptions* trigger(TriggerKind kind) const;
};

// What is wrong with the options, naming the field ("triggers[1].min_findings
// must be at least 1, not 0"); empty when they are valid.
std::string check_options(const RetrainPolicyOptions& options);

// An unbroken run of triggered findings of one kind and subject.
struct HoldRun {
    std::int64_t first_window_end_us = 0;
    int findings = 0;
};

// A job of the model that is queued or running.
struct ActiveJob {
    std::int64_t id = 0;
    std::string dedup_key;
    std::string state;  // "queued" or "running"
};

// The time daily_budget counts a model's queued jobs over.
inline constexpr std::int64_t budget_window_us = 24LL * 3600 * 1000 * 1000;

// What the policy knows about one model.
struct PolicyState {
    std::string model;
    // Key: hold_key(trigger, subject). Absent: the last finding was clean (or none seen).
    std::map<std::string, HoldRun> holds;
    std::optional<std::int64_t> last_finished_us;  // latest end of any job of the model
    std::vector<std::int64_t> queued_at_us;         // when each job of the last 24 h was queued
    int consecutive_failures = 0;                   // since the last breaker reset
    bool breaker_open = false;
    std::vector<ActiveJob> active_jobs;
    // The sequence of the model's last window closed before the latest job
    // ended (0: none, or no job ended): what cooldown_windows counts from.
    std::int64_t last_window_before_finish = 0;
    // The model's active reference (collected or still being collected).
    std::optional<std::int64_t> reference_id;
};

// The window a finding is about, when it is one of the model's windows.
struct FindingWindow {
    std::int64_t sequence = 0;      // its place among the model's windows
    std::int64_t reference_id = 0;  // the reference it was judged against
};

std::string hold_key(TriggerKind kind, std::string_view subject);

// The dedup key of a job: the options' template with its fields replaced.
std::string dedup_key(const RetrainPolicyOptions& options, std::string_view model, TriggerKind kind,
                      std::string_view subject);

// The trigger a finding is for, when the policy has one of that kind.
std::optional<TriggerKind> finding_trigger(const RetrainPolicyOptions& options, const Finding& finding);

// Updates the hold of the finding's trigger and subject: a triggered finding
// extends (or starts) the run, a clean one ends it. Findings the policy has
// no trigger for change nothing.
void observe(PolicyState& state, const RetrainPolicyOptions& options, const Finding& finding);

enum class Verdict {
    enqueue,  // queue a job
    skip,     // a trigger fired but no job is queued; `reason` says why
    ignore,   // nothing to decide: a clean finding, or a kind the policy has no trigger for
};

struct Decision {
    Verdict verdict = Verdict::ignore;
    std::string reason;  // plain words, e.g. "cooldown: last job ended 12 min ago, cooldown 60 min"
    std::optional<TriggerKind> trigger;
    std::string dedup_key;                    // set when a trigger fired
    std::optional<std::int64_t> existing_job;  // the active job a duplicate would have been
};

// Decides on a finding already passed to observe(). Checks, in order: the
// policy is enabled, the breaker is closed, the finding's window (if it has
// one) was judged against the model's active reference (a window judged
// against a replaced one is about a model no longer served, or a normal no
// longer in force: superseded), the hold is met, no job with the same dedup
// key is active (duplicate), no other job of the model is active (busy), the
// cooldown has passed (cooldown_ms, then cooldown_windows for findings of a
// window), the daily budget is not spent.
Decision evaluate(const RetrainPolicyOptions& options, const PolicyState& state, const Finding& finding,
                  std::int64_t now_us, const std::optional<FindingWindow>& window = std::nullopt);

// Decides on a request that is not a finding: manual (API/CLI) or a schedule
// slot that is due. It bypasses the hold (a person or a schedule asked) and
// nothing else: disabled, breaker, duplicate, busy, cooldown and budget still
// apply, and claim_next still holds the global limit on running jobs.
Decision evaluate_request(const RetrainPolicyOptions& options, const PolicyState& state, TriggerKind kind,
                          std::int64_t now_us);

// Records in the state that a job was queued for `decision` at now_us: it
// counts against the budget, is active, and the trigger's hold starts over.
void record_enqueued(PolicyState& state, const Decision& decision, std::string_view subject, std::int64_t job_id,
                     std::int64_t now_us);

// Whether the breaker should open now: it is closed and the consecutive
// failures reached options.breaker_failures.
bool breaker_should_open(const RetrainPolicyOptions& options, const PolicyState& state);

// "45 s", "12 min", "3 h", "1.5 h": durations in reasons.
std::string format_duration_ms(std::int64_t duration_ms);

}  // namespace mw::retrain
