// Findings to retraining: each pass lets the policy (retrain/policy.h) queue
// jobs for the findings stored since the last pass, checks promoted models on
// probation (rolling back one that underperforms), and starts queued jobs
// (claimed with SKIP LOCKED) on threads of their own, up to the configured
// concurrency. A job's life: run (exec or HTTP trigger), validation gate,
// promotion hook, reference reset; every step is a stored transition with its
// reason.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include <pqxx/connection_base>
#include <pqxx/transaction_base>

#include "config/config.h"
#include "core/cron_schedule.h"
#include "core/time_zone.h"
#include "daemon/metrics.h"
#include "retrain/job.h"
#include "retrain/job_report.h"
#include "retrain/policy.h"

namespace mw::daemon {

retrain::RetrainPolicyOptions policy_options(const config::RetrainConfig& retrain);

class RetrainLoop {
public:
    // Throws std::invalid_argument naming the model when a retraining
    // schedule or its time zone is unusable. Jobs are claimed under
    // `daemon_id`, this daemon's name in the leases' heartbeats, so the
    // others can tell when the daemon running a job is gone. The process's
    // first loop (`first_of_process`) also fails the jobs still running under
    // that name: a predecessor's of the same name, since it has none yet.
    RetrainLoop(const config::Config& config, DaemonMetrics& metrics, std::string daemon_id,
                bool first_of_process = false);
    ~RetrainLoop();  // waits for running jobs' threads (their processes are killed by their own timeouts)

    void pass(pqxx::connection_base& connection, std::int64_t now_us);
    int jobs_running() const { return running_.load(); }

    // The admin API's operations; results are JSON bodies with an HTTP status.
    std::pair<int, std::string> request_manual(pqxx::connection_base& connection, const std::string& model,
                                               const std::string& reason, std::int64_t now_us);
    std::pair<int, std::string> accept_report(pqxx::connection_base& connection, std::int64_t job_id,
                                              std::string_view body, std::int64_t now_us);

private:
    void run_job(retrain::Job job);
    // Gate, promotion and reference reset of a job that succeeded.
    void validate_and_promote(pqxx::connection_base& connection, const retrain::Job& job,
                              const retrain::JobReport& report, std::int64_t now_us);
    // retrain.rebase_on_rejection: the served model's reference value of
    // `metric` becomes the champion's figure the rejecting gate compared
    // with, in the rejection's transaction.
    void rebase_on_rejection(pqxx::transaction_base& transaction, const retrain::Job& job, const std::string& metric,
                             double champion_value, std::int64_t now_us);
    void check_probation(pqxx::connection_base& connection, std::int64_t now_us);
    void run_schedules(pqxx::connection_base& connection, std::int64_t now_us);
    bool transition(pqxx::connection_base& connection, const retrain::Job& job, JobState to,
                    const std::string& reason, std::int64_t now_us, const std::string& report_json = {},
                    const std::string& output = {}, const std::string& challenger_version = {},
                    std::function<void(pqxx::transaction_base&)> in_transaction = {});

    config::Config config_;
    DaemonMetrics& metrics_;
    std::map<std::string, retrain::RetrainPolicyOptions> policies_;
    // Scheduled retraining: the next slot of each model with a schedule. A
    // slot missed while the daemon was down is not caught up (drift and
    // performance triggers cover what happened meanwhile).
    struct Schedule {
        std::string model;
        CronSchedule cron;
        TimeZone zone;
        std::optional<std::int64_t> next_slot_s;
    };
    std::vector<Schedule> schedules_;
    std::string worker_name_;  // the daemon id
    std::vector<std::string> models_run_in_daemon_;  // whose runner is a child of the claiming daemon
    std::mutex jobs_mutex_;
    std::list<std::jthread> job_threads_;
    std::atomic<int> running_{0};
    bool started_ = false;
    bool fail_own_jobs_ = false;  // at the first pass: the process's first loop
};

}  // namespace mw::daemon
