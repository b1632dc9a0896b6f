// The subcommands of `modelwatch`. Each lives in cli/<name>_command.cpp and
// takes the arguments after its name; it returns the process exit code
// (0 success, 1 a finding/verdict the caller asked to fail on, 2 usage or input error).
#pragma once

#include <span>
#include <string_view>

namespace mw::cli {

using Args = std::span<char* const>;

int run_drift(Args args);
int run_detect(Args args);
int run_audit(Args args);
int run_anomaly(Args args);
int run_check_config(Args args);
int run_migrate(Args args);
// cli/admin_command.cpp: clients of the daemon's admin API.
int run_admin_audit(Args args);  // `audit run MODEL AUDIT`, reached through run_audit
int run_retrain(Args args);
int run_reference(Args args);
int run_status(Args args);

}  // namespace mw::cli
