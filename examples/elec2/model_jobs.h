// What the daemon runs around this model (the job contract of
// docs/retraining.md): the training job, which fits a challenger on the most
// recent labelled rows and reports holdout figures for it and for the
// champion, and the promotion and rollback hooks, which replace the served
// model file atomically and keep the replaced models in an archive.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "examples/elec2/elec2_data.h"
#include "examples/elec2/evaluation.h"
#include "examples/elec2/logistic_model.h"
#include "examples/elec2/result.h"

namespace mw::elec2 {

struct TrainJobOptions {
    std::string champion_path;        // the served model (--champion)
    std::size_t recent_rows = 4000;   // the last N labelled rows of the job's data (--recent-rows)
    double holdout_share = 0.25;      // the last part of those rows, kept out of the fit (--holdout-share)
};

// The job's environment, set by the daemon.
struct JobEnvironment {
    std::string job_id;              // MODELWATCH_JOB_ID
    std::string model;               // MODELWATCH_MODEL
    std::string champion_version;    // MODELWATCH_CHAMPION_VERSION
    std::string trigger;             // MODELWATCH_TRIGGER
    std::string reason;              // MODELWATCH_REASON
    std::string job_dir;             // MODELWATCH_JOB_DIR
    std::string data_path;           // MODELWATCH_DATA
    std::string report_path;         // MODELWATCH_REPORT
};

using EnvironmentLookup = std::function<const char*(const char*)>;

// Reads the variables; job id, job dir, data and report are required.
Result<JobEnvironment> read_job_environment(const EnvironmentLookup& lookup);

struct Challenger {
    LogisticModel model;  // refitted on all the recent rows after the holdout comparison
    Metrics metrics;            // the challenger fitted on the training part, on the holdout
    Metrics champion_metrics;   // the champion on the same holdout
    std::size_t training_rows = 0;
    std::size_t holdout_rows = 0;
};

// Splits `recent` in file order: the first (1 - holdout_share) trains, the
// rest is the holdout. Then refits on all of `recent`, so the deployed model
// uses the newest rows too; the gate still compares figures of a model that
// never saw the holdout. Fails when a part is empty or the training part has
// a single class. Provenance and version are left to the caller.
Result<Challenger> train_challenger(const std::vector<LabelledRow>& recent, double holdout_share,
                                    const LogisticModel& champion);

// The whole job: reads the data, trains, writes <job_dir>/model.json with
// version "v<unix_time_seconds>-<job id>" and the report; returns the report.
Result<nlohmann::json> run_train_job(const TrainJobOptions& options, const JobEnvironment& environment,
                                     std::int64_t unix_time_seconds);

// A version that can name a file in the archive: [A-Za-z0-9._-], not starting with '.'.
bool is_archivable_version(const std::string& version);

// The promotion hook: validates the artifact as a model, copies the model at
// `model_file` (if any) to <archive_dir>/<its version>.json when an archive is
// given, then replaces `model_file` with the artifact atomically. Returns ""
// on success, otherwise what failed.
std::string promote_model(const std::string& artifact_path, const std::string& model_file,
                          const std::optional<std::string>& archive_dir);

// The rollback hook: archives the current model like promote, then replaces
// `model_file` with <archive_dir>/<version>.json atomically.
std::string rollback_model(const std::string& model_file, const std::string& archive_dir, const std::string& version);

}  // namespace mw::elec2
