// The commands of `modelwatch`, one row each: the dispatcher in main.cpp, the
// usage text and the generated man page and shell completion all read this.
#include "cli/commands.h"

namespace mw::cli {

namespace {

constexpr Command command_table[] = {
    {"drift", run_drift, "drift report between a reference and a current CSV file", drift_help},
    {"detect", run_detect, "run a streaming concept-drift detector over a one-column stream", detect_help},
    {"anomaly", run_anomaly, "score a timestamp,value series for anomalies", anomaly_help},
    {"audit", run_audit, "fairness audit of a CSV file; `audit run MODEL AUDIT` runs one in the daemon", audit_help},
    {"check-config", run_check_config, "validate a daemon configuration file", check_config_help},
    {"migrate", run_migrate, "apply the store's schema migrations to a PostgreSQL database", migrate_help},
    {"retrain", run_retrain, "ask the daemon to retrain a model (its policy may refuse, and says why)", retrain_help},
    {"reference", run_reference, "upload a reference sample (CSV or NDJSON) to the daemon", reference_help},
    {"status", run_status, "the daemon's findings, alerts, jobs, windows, audits or decisions", status_help},
};

}  // namespace

std::span<const Command> commands() { return command_table; }

}  // namespace mw::cli
