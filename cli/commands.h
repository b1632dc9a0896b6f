// The subcommands of `modelwatch`. Each lives in cli/<name>_command.cpp and
// takes the arguments after its name; it returns the process exit code
// (0 success, 1 a finding/verdict the caller asked to fail on, 2 usage or input error).
#pragma once

#include <span>
#include <string>
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
// cli/docs_command.cpp: the hidden `modelwatch __generate-docs DIR`
// that writes the man pages and shell completions at build time.
int run_generate_docs(Args args);

// Each command's --help text: what `modelwatch COMMAND --help` prints, and
// what the man page and the shell completion are generated from.
std::string drift_help();
std::string detect_help();
std::string anomaly_help();
std::string audit_help();
std::string check_config_help();
std::string migrate_help();
std::string retrain_help();
std::string reference_help();
std::string status_help();

// The command table (cli/command_table.cpp): `modelwatch` dispatches on it,
// its usage lists it, the docs generator documents it.
struct Command {
    std::string_view name;
    int (*run)(Args);
    std::string_view summary;
    std::string (*help)();
};
std::span<const Command> commands();

}  // namespace mw::cli
