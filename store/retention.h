// Retention: what the store keeps and for how long (config retention:,
// docs/retention.md). Raw predictions and outcomes go a whole partition
// (of the day they were received) at a time, with the boundary keys beside
// them; a partition is kept while a live reference, an open window or a
// window waiting for its labels still reads it. Findings, windows, deliveries, jobs
// and audits past their age go, except what a consumer still needs (an
// unhandled finding, a firing alert's finding, an undelivered alert, a queued
// or running job, the latest of each job, decision and audit that the
// policy and the status read). Ages are measured from the `now_us` passed
// in, never from the database's clock, so tests control time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <pqxx/connection_base>

#include "config/config.h"

namespace mw::store {

struct RetentionResult {
    // Of predictions, outcomes and their boundary keys (never deleted row by row).
    std::vector<std::string> partitions_dropped;
    std::vector<std::string> partitions_kept;  // past their age, still needed
    std::vector<std::string> partitions_busy;  // past their age, lock not granted in time: the next pass tries again
    std::int64_t rejection_counts_deleted = 0;
    std::int64_t profile_chunks_deleted = 0;  // of profile-only models, with predictions' age
    std::int64_t findings_deleted = 0;
    std::int64_t decisions_deleted = 0;
    std::int64_t windows_deleted = 0;  // their metrics go with them (ON DELETE CASCADE)
    std::int64_t alert_deliveries_deleted = 0;
    std::vector<std::int64_t> jobs_deleted;          // their directories are <jobs_dir>/<id>
    std::int64_t audits_deleted = 0;
    std::vector<std::string> audit_report_files;     // of the deleted audits
    std::int64_t watermarks_deleted = 0;  // writers' rows of daemons long gone (store/watermarks.h)
};

// One pass over every kind of data, each in its own transaction (a partition
// per transaction), so a long pass never holds locks the writer waits for.
// An age of 0 keeps that kind forever. The writers' watermarks of daemons
// long gone go at every pass, whatever the ages (store/watermarks.h).
RetentionResult apply_retention(pqxx::connection_base& connection, const config::RetentionOptions& options,
                                std::int64_t now_us);

// Removes the job directories and audit report files of a pass, after its
// transactions committed (a crash in between leaves files, never rows
// pointing at missing files). A report path outside `reports_dir` is not
// touched (the database is not trusted with arbitrary paths). Returns one
// message per file that could not be removed.
std::vector<std::string> remove_retained_files(const RetentionResult& result, const std::string& jobs_dir,
                                               const std::string& reports_dir);

}  // namespace mw::store
