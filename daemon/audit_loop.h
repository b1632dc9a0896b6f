// The daemon's scheduled fairness audits: the specs built from each model's
// `audits:` configuration, the scheduler (fairness/audit_schedule.h) that
// says which are due, and the runner (fairness/audit_runner.h) that runs
// them. One pass per tick of its PeriodicWorker; manual runs come from the
// admin API through run_now.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <map>
#include <string>
#include <vector>

#include <pqxx/connection_base>

#include "config/config.h"
#include "daemon/metrics.h"
#include "fairness/audit_runner.h"
#include "fairness/audit_schedule.h"
#include "store/leases.h"

namespace mw::daemon {

// The scheduler's spec of one configured audit.
fairness::AuditSpec audit_spec(const config::ModelOptions& model, const config::AuditConfig& audit);

class AuditLoop {
public:
    // Throws std::invalid_argument naming the audit when a spec is unusable
    // (a cron or time zone the loader could not check).
    AuditLoop(const config::Config& config, DaemonMetrics& metrics);

    // Runs the due audits of the models this daemon owns, each under the
    // lease `fence` gives for it (store/leases.h), so a run whose lease is
    // gone writes nothing; a model gained since the last pass first fails
    // the runs its last owner left running and reads the slot it ran, so no
    // slot runs twice.
    void pass(pqxx::connection_base& connection, std::int64_t now_us,
              const std::function<std::optional<store::Fence>(const std::string& model)>& fence);
    // Runs an audit now (API, CLI); refused when it is already running.
    fairness::AuditRunSummary run_now(pqxx::connection_base& connection, const std::string& model,
                                      const std::string& audit, std::int64_t now_us);
    bool knows(const std::string& model, const std::string& audit) const;

private:
    // The gauge of the latest slot the audit completed (the overdue rule's
    // "done"), and raising it.
    prometheus::Gauge& completed_slot(const fairness::AuditSpec& spec);
    void completed(const fairness::AuditSpec& spec, std::int64_t slot_utc_seconds);

    DaemonMetrics& metrics_;
    fairness::AuditRunnerOptions runner_options_;
    std::mutex mutex_;  // the scheduler: the worker's pass and the API's run_now
    std::unique_ptr<fairness::AuditScheduler> scheduler_;
    bool started_ = false;
    std::map<std::string, store::Fence> owned_;  // the models owned at the last pass, with their leases
};

}  // namespace mw::daemon
