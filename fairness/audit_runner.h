// One run of a daemon fairness audit, start to end: begin it in the store
// (refused when already running), read the window's labelled predictions,
// run_audit with the stored history for the trend, write the reports, and
// store the outcome with one "fairness" finding per disparity judged, in the
// same transaction: triggered beyond tolerance, not triggered within it, so
// that an alert on a gap resolves when a later audit finds the gap closed.
//
// Reports go to <reports_dir>/<model>/<audit>/<UTC timestamp>.<ext>, e.g.
// 20261125T030000Z.html, and latest.<ext> is a symlink to the newest.
//
// How the daemon drives it (fairness/audit_schedule.h decides when):
//   at start: fail_stale_running; for each spec, set_last_slot from last_slot
//   (store microseconds / 1'000'000);
//   each wake-up: for each DueAudit of plan(now), if try_start(index, slot):
//   run_audit_job with trigger schedule, scheduled_for_us = data_end_us =
//   slot * 1'000'000; then abandon(index) if the summary has id 0 and is not
//   already_running (nothing begun: retry), else finish(index); sleep until
//   wake_at (bounded by a poll interval, so a clock jump is noticed).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/connection_base>

#include "core/finding.h"
#include "fairness/audit.h"
#include "fairness/audit_schedule.h"
#include "fairness/audit_store.h"

namespace mw::fairness {

struct AuditRunnerOptions {
    std::string reports_dir = "/var/lib/modelwatch/reports";
    std::size_t history_runs = 30;  // past audits shown in the trend chart
};

struct AuditRunRequest {
    AuditTrigger trigger = AuditTrigger::manual;
    std::optional<std::int64_t> scheduled_for_us;  // the slot of a scheduled run (recorded at begin)
    // The audit reads [data_end_us - spec.data_window_ms, data_end_us): the
    // slot for a scheduled run, the time of the request for a manual one.
    std::int64_t data_end_us = 0;
    std::int64_t now_us = 0;  // when the run starts: the reports' generated_at and file names
    // A scheduled run's lease on the model (its owner's work): begin and
    // finish are refused once it is gone (fairness/audit_store.h).
    std::optional<store::Fence> fence;
};

struct AuditRunSummary {
    std::int64_t id = 0;  // the audits row; 0 when none was begun
    bool already_running = false;
    AuditState state = AuditState::error;
    std::string status;  // "pass", "review", "fail" (fairness/report_text.h); empty on error
    VerdictCounts verdicts;
    std::uint64_t rows = 0;
    std::uint64_t rows_rejected = 0;
    std::vector<std::string> report_paths;  // the timestamped files written
    std::size_t findings = 0;  // triggered findings stored: disparities beyond tolerance
    std::size_t checks = 0;    // findings stored, triggered or not: disparities judged
    std::string error;  // what went wrong when state is error
    bool fenced = false;  // refused: the run's lease was gone; nothing more was written
};

// Never throws for PostgreSQL or file errors: they end the run in state
// error (or, when even begin failed, id 0 and the error) so the caller's
// thread carries on.
AuditRunSummary run_audit_job(pqxx::connection_base& connection, const AuditSpec& spec, const AuditRunRequest& request,
                              const AuditRunnerOptions& options);

// One Finding of kind "fairness" per disparity judged (values that were not
// evaluable are left out): subject "<metric> <grouping>" for the
// across-groups value and "<metric> <grouping> [<group>]" against the
// reference group, the same whatever the verdict, so the alert router's
// fingerprint (model, kind, subject) of a clean check matches its violation's
// and resolves the alert. Statistic the judged value; threshold the tolerance
// bound on the value's side of parity (the one a violation crossed);
// triggered when beyond tolerance; severity critical when beyond tolerance
// and statistically clear, warning when not clear, info when within.
std::vector<Finding> audit_findings(const AuditResult& result, const std::string& audit, std::int64_t audit_id,
                                    std::int64_t data_start_us, std::int64_t data_end_us);

// "20261125T030000Z": the report file stem for an instant, safe in file names.
std::string report_file_stem(std::int64_t utc_us);

}  // namespace mw::fairness
