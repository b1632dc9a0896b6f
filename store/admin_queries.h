// The admin API's read-only lists (GET /v1/findings, /v1/windows, /v1/audits,
// /v1/decisions): each query builds its JSON array in PostgreSQL (json_agg),
// newest first, and returns it as text for the API to embed. Filter values are
// always bound as parameters, never spliced into the SQL. Times in the JSON
// are RFC 3339 UTC with microseconds ("2026-01-02T03:04:05.000006Z").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/transaction_base>

namespace mw::store {

struct FindingFilter {
    std::string model;               // empty: every model
    std::string kind;                // empty: every kind
    std::optional<bool> triggered;   // unset: both
    std::optional<std::string> subject;  // set: that subject only ("" is the whole model)
    std::optional<std::int64_t> id;  // set: that finding only
    std::int64_t limit = 100;        // newest rows kept
};

// A JSON array of findings, highest id first: id, model, kind, subject,
// method, statistic, threshold, p_value, triggered, severity, window_start,
// window_end, evidence, window_id, created_at.
std::string findings_json(pqxx::transaction_base& transaction, const FindingFilter& filter);

// A JSON array of the newest monitor windows, highest sequence first (equal
// sequences of different models: highest id first): id, model, sequence,
// rows, first_ts, last_ts, reference_id, label_coverage, and metrics (the
// whole-window metrics by name, "<name>_estimated" for an estimate; null when
// the window has none). model empty: every model.
std::string windows_json(pqxx::transaction_base& transaction, const std::string& model, std::int64_t limit);

// A JSON array of audit runs, highest id first: id, model, audit, trigger,
// state, rows, reports, error, started_at, finished_at. model empty: every model.
std::string audits_json(pqxx::transaction_base& transaction, const std::string& model, std::int64_t limit);

// The stored path of an audit run's report in `format` ("html", "json",
// "md"), or empty when the run or that report does not exist.
std::optional<std::string> audit_report_path(pqxx::transaction_base& transaction, std::int64_t audit_id,
                                             const std::string& format);

// A JSON array of decisions, highest id first: id, model, kind, reason,
// finding_id, job_id, at. model empty: every model.
std::string decisions_json(pqxx::transaction_base& transaction, const std::string& model, std::int64_t limit);

// How far one model's monitoring has come, from counts and last ids that
// change whenever the monitor, the alert router or a retraining job writes
// something for it (GET /v1/models/{model}/progress): two snapshots with
// the same values around a whole monitor pass mean the pass found nothing
// to do. Read in one transaction.
struct ModelProgress {
    std::int64_t windows = 0;                 // closed
    std::int64_t windows_judged = 0;          // whose performance was judged on their labels
    std::int64_t last_finding_id = 0;         // 0: none
    std::int64_t last_reference_id = 0;       // 0: none
    bool reference_pending = false;           // the active reference waits for its rows (after a promotion)
    std::int64_t last_job_transition_id = 0;  // 0: none
    std::int64_t jobs_unfinished = 0;         // jobs in one of `unfinished_job_states`
    std::int64_t findings_unrouted = 0;       // not yet seen by the alert router
    std::int64_t findings_past_cursor = 0;    // past `cursor_consumer`'s finding cursor (0 when it is empty)
};

// `cursor_consumer`: the finding_cursors consumer whose progress counts (the
// retraining policy's), empty for none; `unfinished_job_states`: the states
// of a job still on its way to an end.
ModelProgress model_progress(pqxx::transaction_base& transaction, const std::string& model,
                             const std::string& cursor_consumer, const std::vector<std::string>& unfinished_job_states);

}  // namespace mw::store
