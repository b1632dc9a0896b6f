// What a training job is given (docs/retraining.md): a fresh private
// directory state_dir/jobs/<job_id> (mode 0700, the job's working directory)
// holding
//   data.csv      the model's most recent labelled predictions, oldest first
//   context.json  who, why and what data:
//     {"version": 1, "job_id", "model", "champion_version", "trigger", "reason",
//      "finding": {"kind", "subject", "method", "statistic", "threshold",
//                  "p_value", "window_start", "window_end"} or null,
//      "data": {"path", "format": "csv", "rows", "start", "end", "columns": [...]}}
// and the environment the job runs with (job_environment below).
//
// data.csv columns: id, ts (RFC 3339, UTC, microseconds), model_version, one
// column per feature, prediction, score, label. Features are the union of
// the exported rows' feature keys in byte order, or JobContextOptions::
// feature_columns when given. A number is written as PostgreSQL stores it, a
// string as is, a boolean as true/false, null or absent as an empty field, an
// object or array as its JSON text. prediction is prediction_label, else
// prediction_value; label is the outcome's label, else its value. Fields are
// quoted as RFC 4180 section 2 says (when they hold a comma, a double quote,
// CR or LF; quotes doubled) and records end in CRLF.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <pqxx/connection_base>

#include "retrain/job.h"

namespace mw::retrain {

struct JobContextOptions {
    std::filesystem::path jobs_dir;  // state_dir/jobs; created (mode 0700) when missing
    std::size_t data_rows = 20000;   // at most this many of the most recent labelled predictions
    // Only predictions with ts >= now - data_window_seconds; 0: no time bound.
    std::int64_t data_window_seconds = 0;
    // The feature columns of data.csv, in this order; empty: the union of the
    // exported rows' feature keys, sorted.
    std::vector<std::string> feature_columns;
    // A read-only DSN handed to the job as MODELWATCH_DATABASE_URI; empty: none.
    std::string job_database_uri;
    // Extra environment for the job (the `env:` of the config), added last;
    // may replace PATH or LANG, never a MODELWATCH_ variable.
    std::vector<std::pair<std::string, std::string>> extra_environment;
};

// The finding that triggered a job, as context.json carries it.
struct FindingSummary {
    std::string kind;
    std::string subject;
    std::string method;
    double statistic = 0;
    double threshold = 0;
    std::optional<double> p_value;
    std::string window_start;  // RFC 3339
    std::string window_end;
};

struct DataExport {
    std::filesystem::path path;
    std::size_t rows = 0;
    std::optional<std::string> start;  // ts of the first and last row (RFC 3339); none when empty
    std::optional<std::string> end;
    std::vector<std::string> columns;
};

struct JobContext {
    std::filesystem::path job_dir;
    std::filesystem::path context_path;
    std::filesystem::path data_path;
    std::filesystem::path report_path;
    std::optional<FindingSummary> finding;
    DataExport data;
    std::string context_json;
};

struct JobContextResult {
    std::optional<JobContext> context;
    std::string error;  // what failed and where, e.g. "create /var/lib/modelwatch/jobs/7: Permission denied"
};

// Creates the job directory (replacing one left by an earlier attempt of the
// same job), exports data.csv and writes context.json. PostgreSQL errors
// (pqxx exceptions) propagate: the store being down is not the job's fault,
// and the caller retries the job later.
JobContextResult prepare_job_context(pqxx::connection_base& connection, const Job& job,
                                     const JobContextOptions& options, std::int64_t now_us);

// The finding with that id, or none when it does not exist.
std::optional<FindingSummary> load_finding(pqxx::connection_base& connection, std::int64_t finding_id);

// context.json's text; `data` null (no local export, e.g. for an HTTP
// trigger, where the external system reads its own data) gives "data": null.
std::string context_json(const Job& job, const std::optional<FindingSummary>& finding, const DataExport* data);

// The job's complete environment: PATH=/usr/bin:/bin, LANG=C.UTF-8, the
// MODELWATCH_* variables of docs/retraining.md, then extra_environment.
std::vector<std::pair<std::string, std::string>> job_environment(const Job& job, const JobContext& context,
                                                                 const JobContextOptions& options);

// One CSV field quoted as RFC 4180 section 2 requires.
std::string csv_field(std::string_view text);

}  // namespace mw::retrain
