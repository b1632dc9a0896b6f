// Everything the daemon does after a record is stored, as background
// workers on their own PostgreSQL connections: the model monitors (windows
// and detectors), the alert router and dispatcher, the retraining runner and
// the fairness audit scheduler. Each reads what the previous stage wrote to
// the store (findings, jobs), so they share no state but the configuration.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "daemon/audit_loop.h"
#include "daemon/metrics.h"
#include "daemon/model_monitor.h"
#include "daemon/periodic_worker.h"
#include "daemon/rejection_tally.h"
#include "daemon/reference_upload.h"

namespace mw::daemon {

class AlertLoop;
class RetrainLoop;

class Monitoring {
public:
    // Throws std::invalid_argument naming what is unusable in the
    // configuration that the loader could not check (e.g. an audit's cron).
    Monitoring(const config::Config& config, DaemonMetrics& metrics, RejectionTally& rejections);
    ~Monitoring();
    Monitoring(const Monitoring&) = delete;
    Monitoring& operator=(const Monitoring&) = delete;

    void start();
    void stop();
    // A reloaded configuration: monitors of new models start, removed ones
    // stop, changed ones refit; audits, receivers and policies are rebuilt.
    void reload(const config::Config& config);
    // Retraining jobs whose process is still running.
    int jobs_running() const;

    // Admin API operations, each on a connection of its own.
    struct Outcome {
        int status = 200;  // HTTP status to answer with
        std::string body;  // JSON
    };
    Outcome upload_reference(const std::string& model, std::string_view body, std::string_view content_type);
    Outcome run_audit(const std::string& model, const std::string& audit);
    Outcome request_retrain(const std::string& model, const std::string& reason);
    Outcome job_report(std::int64_t job_id, std::string_view body);
    Outcome reset_breaker(const std::string& model);
    Outcome add_silence(std::string_view body);
    Outcome expire_silence(std::int64_t id);
    // GET queries: findings, alerts, silences, jobs, audits, windows.
    Outcome query(const std::string& what, const std::map<std::string, std::string>& parameters);

private:
    void monitor_pass(pqxx::connection& connection, std::int64_t now_us);

    config::Config config_;
    DaemonMetrics& metrics_;
    RejectionTally& rejections_;
    std::mutex monitors_mutex_;
    std::map<std::string, std::unique_ptr<ModelMonitor>> monitors_;
    std::unique_ptr<AuditLoop> audits_;
    std::unique_ptr<AlertLoop> alerts_;
    std::unique_ptr<RetrainLoop> retrain_;
    std::vector<std::unique_ptr<PeriodicWorker>> workers_;
};

}  // namespace mw::daemon
