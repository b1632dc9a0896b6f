// Fairness audits in PostgreSQL (tables audits and audit_schedules of schema
// migration 2, store/migrations.cpp): begin and finish a run, the last
// schedule slot, past runs for the API and the trend, and the audited rows
// read from labelled_predictions into the columnar AuditData.
//
// Timestamps are microseconds since the Unix epoch (UTC), as in core/record.h.
// An expected refusal (the audit is already running) is a value; PostgreSQL
// being unreachable or failing throws the pqxx exception, as store/ does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/connection_base>
#include <pqxx/transaction_base>

#include "core/finding.h"
#include "fairness/audit.h"
#include "fairness/audit_data.h"
#include "store/leases.h"

namespace mw::fairness {

enum class AuditTrigger : std::uint8_t { schedule, manual };
const char* to_string(AuditTrigger trigger);  // "schedule", "manual" (the audits.trigger values)

enum class AuditState : std::uint8_t { running, passed, failed, error };
const char* to_string(AuditState state);  // "running", "passed", "failed", "error"

struct AuditBegin {
    std::int64_t id = 0;           // the audits row, when begun
    bool already_running = false;  // another run of (model, audit) holds audits_one_running
    bool ok() const { return !already_running; }
};

// Inserts a 'running' audit. For a scheduled run (`scheduled_for_us` set) the
// slot is recorded in the same transaction, so a crash after this commit does
// not run the slot again; a run refused as already running records nothing.
// With a `fence` (a scheduled run, the model owner's work) the run records
// that lease and throws store::LeaseLost, writing nothing, unless it is
// still the model's current lease (store::check_fence).
AuditBegin begin_audit(pqxx::connection_base& connection, const std::string& model, const std::string& audit,
                       AuditTrigger trigger, std::optional<std::int64_t> scheduled_for_us, std::int64_t data_start_us,
                       std::int64_t data_end_us, const std::optional<store::Fence>& fence = std::nullopt);

// Raises audit_schedules.last_slot of (model, audit) to `slot_us` (never
// lowers it), inside the caller's transaction.
void record_slot(pqxx::transaction_base& transaction, const std::string& model, const std::string& audit,
                 std::int64_t slot_us);

// The last slot recorded for (model, audit), or empty when it never ran on schedule.
std::optional<std::int64_t> last_slot(pqxx::connection_base& connection, const std::string& model,
                                      const std::string& audit);

struct AuditOutcome {
    AuditState state = AuditState::error;  // passed, failed or error
    std::uint64_t rows = 0;
    std::string result_json;   // the JSON report (fairness/report_json.h), empty when none
    std::string reports_json;  // {"html": path, ...}, empty when none
    std::string error;         // empty unless state is error
};

// Stores the outcome of a running audit and inserts its findings (window_id
// NULL) in one transaction. False, and nothing written, when the audit is no
// longer running (fail_stale_running gave up on it meanwhile). A run begun
// under a lease is finished only under that lease: store::LeaseLost, and
// nothing written, once it is gone.
bool finish_audit(pqxx::connection_base& connection, std::int64_t id, const AuditOutcome& outcome,
                  const std::vector<Finding>& findings);

// Marks audits still 'running' without a lease (manual runs) that started
// before `started_before_us` as error "daemon stopped during the audit";
// returns how many. A daemon calls it at start-up with its start time when
// it is the only one auditing; when several daemons share the store, with a
// time earlier than the longest audit can take, or it fails another
// daemon's live run. Scheduled runs are fail_superseded's.
std::size_t fail_stale_running(pqxx::connection_base& connection, std::int64_t started_before_us);

// Under `fence`, the model's current lease: marks the model's runs still
// 'running' that were begun under an earlier lease as error (their owner
// died or lost the lease mid-run, and can no longer finish them), so the
// new owner can run those audits again; returns how many.
std::size_t fail_superseded(pqxx::connection_base& connection, const std::string& model, const store::Fence& fence);

struct AuditRecord {
    std::int64_t id = 0;
    std::string model;
    std::string audit;
    std::string trigger;
    std::optional<std::int64_t> scheduled_for_us;
    std::string state;
    std::int64_t data_start_us = 0;
    std::int64_t data_end_us = 0;
    std::optional<std::uint64_t> rows;
    std::string result_json;   // empty when none; list_audits leaves it empty (it can be large)
    std::string reports_json;  // empty when none
    std::string error;
    std::int64_t started_at_us = 0;
    std::optional<std::int64_t> finished_at_us;
};

// The latest `limit` runs of (model, audit), newest first, without their result.
std::vector<AuditRecord> list_audits(pqxx::connection_base& connection, const std::string& model,
                                     const std::string& audit, std::size_t limit);
std::optional<AuditRecord> get_audit(pqxx::connection_base& connection, std::int64_t id);

// The between-groups judged values of the latest `limit` finished runs with a
// result, oldest first, for the trend chart (history_from_report_json on
// each stored result; a result it cannot read is skipped).
std::vector<HistoryPoint> history(pqxx::connection_base& connection, const std::string& model,
                                  const std::string& audit, std::size_t limit);

struct AuditDataQuery {
    std::string model;
    std::int64_t data_start_us = 0;  // predictions with data_start_us <= ts < data_end_us
    std::int64_t data_end_us = 0;
    std::vector<std::string> sensitive_attributes;  // keys of predictions.attributes
    std::string positive_label = "1";
    std::uint64_t max_rows = 10'000'000;         // beyond, the latest rows are kept
    std::size_t max_distinct_values = default_max_distinct_values;    // per attribute, as fairness/audit_csv.h bounds a file
    std::size_t fetch_rows = 10'000;             // rows per cursor FETCH
};

// A row whose attributes lack a sensitive attribute (or hold JSON null) is
// audited under this value, so it shows up as its own group, never dropped.
inline constexpr const char* missing_attribute_value = "(missing)";

struct AuditDataLoad {
    AuditData data;
    std::uint64_t rows_rejected = 0;        // no prediction_label or no label: cannot be judged
    std::uint64_t rows_missing_attribute = 0;  // rows with at least one "(missing)" value
    std::uint64_t rows_without_score = 0;   // when non-zero, scores are left out of the whole audit
    bool truncated = false;                 // more than max_rows rows in the window
    std::string error;                      // e.g. too many distinct values; data is then unusable
    bool ok() const { return error.empty(); }
};

// Reads the labelled predictions (predictions joined with their outcomes) of
// the window through a cursor, `fetch_rows` at a time, newest first.
AuditDataLoad load_audit_data(pqxx::connection_base& connection, const AuditDataQuery& query);

}  // namespace mw::fairness
