// The retraining policy against the database: rebuilding a model's
// PolicyState from what is stored, handing new findings to the decision core
// (retrain/policy.h) and acting on its decisions, manual requests and the
// circuit breaker. Every decision is written to `decisions` with its reason.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <pqxx/connection>
#include <pqxx/transaction>

#include "retrain/policy.h"

namespace mw::retrain {

// The finding_cursors row of the policy.
inline constexpr const char* policy_cursor_name = "retrain_policy";

// pg_advisory_xact_lock key that makes one daemon at a time run the policy
// (process_findings, requests, resets): an arbitrary constant ("mwpolicy" in
// ASCII) no other modelwatch lock uses.
inline constexpr long long policy_lock_key = 0x6d77706f6c696379;

// A model's policy state as stored: jobs queued or running, the latest end
// of a job, the jobs queued in the 24 h before now_us, the failed, timed_out
// or rejected jobs that ended in a row since the last breaker reset, the
// breaker (open when a 'breaker_opened' decision follows the last
// 'breaker_reset'), and the holds of findings up to id `findings_up_to`
// (runs of triggered findings after the last clean one of their kind and
// subject and after the finding that last queued a job for them).
PolicyState load_policy_state(pqxx::transaction_base& transaction, const std::string& model, std::int64_t now_us,
                              std::int64_t findings_up_to);
// The same, with the findings the policy has already considered (its cursor).
PolicyState load_policy_state(pqxx::connection_base& connection, const std::string& model, std::int64_t now_us);

struct FindingsProcessed {
    int findings = 0;         // findings read
    int queued = 0;           // jobs queued
    int duplicates = 0;       // triggers that found their job already queued or running
    int skipped = 0;          // triggers that queued nothing (hold, cooldown, budget, breaker, ...)
    int breakers_opened = 0;
    std::int64_t cursor = 0;  // the cursor after this call
};

// Considers the findings after the policy's cursor (at most `batch_limit`,
// oldest first), queues jobs and writes decisions, and advances the cursor,
// all in one transaction, so each finding is considered once even with
// several daemons. First opens the breaker of every model in
// `options_by_model` whose consecutive failures reached its limit: a
// 'breaker_opened' decision and a triggered critical finding of kind
// "retrain_breaker", which the alert router pages on. Findings of models
// without options are passed over.
FindingsProcessed process_findings(pqxx::connection_base& connection,
                               const std::map<std::string, RetrainPolicyOptions>& options_by_model,
                               std::int64_t now_us, int batch_limit = 1000);

struct RequestResult {
    Decision decision;
    std::optional<std::int64_t> job_id;  // the queued job, or the active duplicate
};

// A retraining a person asked for (API/CLI). It bypasses the hold and
// nothing else: the breaker, a job already queued or running for the model,
// the cooldown and the daily budget refuse it with their reason, and the job
// waits in the queue for the global limit on running jobs like any other.
RequestResult request_manual(pqxx::connection_base& connection, const RetrainPolicyOptions& options,
                             const std::string& model, const std::string& reason, std::int64_t now_us);

// A schedule slot that is due (the caller keeps the schedule): as
// request_manual, with trigger "schedule".
RequestResult request_scheduled(pqxx::connection_base& connection, const RetrainPolicyOptions& options,
                                const std::string& model, std::int64_t now_us);

// Whether the model's breaker is open now (for its gauge and the status page).
bool breaker_open(pqxx::connection_base& connection, const std::string& model);

// Closes the breaker of a model (API/CLI): a 'breaker_reset' decision with
// the reason, after which failures count from zero, and a clean
// "retrain_breaker" finding so the alert resolves. Returns whether it was open.
bool reset_breaker(pqxx::connection_base& connection, const std::string& model, const std::string& reason,
                   std::int64_t now_us);

}  // namespace mw::retrain
