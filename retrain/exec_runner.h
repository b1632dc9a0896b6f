// The exec runner: runs a training job as a local program (an argv, no
// shell) against the contract of docs/retraining.md. It prepares the job
// directory (retrain/job_context.h), runs the program with exactly the job
// environment through retrain/process_runner.h, then reads and validates
// $MODELWATCH_REPORT (retrain/job_report.h). The outcome maps onto job states:
//   exit 0 and a valid report  -> succeeded
//   exit 0 and a bad report    -> failed, the reason names the field
//   non-zero exit, or a signal -> failed, the reason names the code or signal
//   timeout                    -> timed_out (the process group was killed)
#pragma once

#include <span>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/connection_base>

#include "retrain/job.h"
#include "retrain/job_context.h"
#include "retrain/job_report.h"
#include "retrain/process_runner.h"
#include "config/option_table.h"

namespace mw::retrain {

struct ExecRunnerOptions {
    std::vector<std::string> argv;  // the trainer, e.g. {"/opt/churn/train", "--fast"}
    std::chrono::seconds timeout{std::chrono::hours(2)};
    std::chrono::seconds kill_grace{10};  // SIGTERM to SIGKILL of the job's process group
};

struct JobRunResult {
    JobState state = JobState::failed;  // succeeded, failed or timed_out
    std::string reason;                 // for retrain_transitions.reason
    std::optional<JobReport> report;    // set when succeeded
    std::string output;                 // the job's bounded output, for retrain_jobs.output
    std::chrono::milliseconds duration{0};
};

// Prepares the context and runs the job. PostgreSQL errors while exporting
// propagate as pqxx exceptions (the job is retried, not failed); a failure to
// create the job directory fails the job.
JobRunResult run_exec_job(pqxx::connection_base& connection, const Job& job, const JobContextOptions& context_options,
                          const ExecRunnerOptions& options, std::int64_t now_us);

// Runs a job whose context is already prepared.
JobRunResult run_prepared_job(const Job& job, const JobContext& context, const JobContextOptions& context_options,
                              const ExecRunnerOptions& options);

// The job state a finished process and its report file amount to.
JobRunResult judge_job_run(const ProcessResult& process, const std::filesystem::path& report_path);

// Reads and parses a report file: a regular file (symbolic links are not
// followed, so a job cannot make the daemon read another file), at most
// max_job_report_bytes.
JobReportParse read_job_report(const std::filesystem::path& report_path);

// The keys of models[].retrain this runner takes (docs/monitoring.md,
// "Retraining job runners"); registered in runner_registry.cpp.
std::span<const config::SettingRow> exec_runner_options();

}  // namespace mw::retrain
