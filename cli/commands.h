// The subcommands of `modelwatch`. Each lives in cli/<name>_command.cpp and
// takes the arguments after its name; it returns the process exit code, one
// of cli/exit_status.h's.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "core/command_line.h"

namespace mw::cli {

using Args = std::span<char* const>;

// One way of calling a command: its usage line, what it does and its option
// table. The option table is what the parser accepts and what the help, the
// man page and the completion list, so they cannot disagree.
struct Form {
    std::string_view name;   // the command's name, or "audit run" for a sub-form
    std::string_view usage;  // after "modelwatch NAME ": "--input FILE [options]"
    std::string (*description)();  // the paragraphs between the usage line and the options
    std::span<const command_line::Option> options;
    std::string (*notes)() = nullptr;  // after the options (e.g. the methods and their parameters), or none
};

// The command table (cli/command_table.cpp): `modelwatch` dispatches on it,
// its usage lists it, the docs generator documents it.
struct Command {
    std::string_view name;
    int (*run)(Args);
    std::string_view summary;
    std::span<const Form> forms;
};
std::span<const Command> commands();
const Command* find_command(std::string_view name);

// What `modelwatch NAME --help` prints: each form's usage, description and
// options, then the command's exit statuses.
std::string help(const Command& command);
// `help` of the named command (a name from the table).
std::string help(std::string_view name);

// Parses `args` against `form`'s options. On -h/--help prints the command's
// help to standard output; on a usage error prints it, naming the option, to
// standard error; either way `exit_code` is what the command returns (0 or
// 2). Otherwise the command runs with `parsed`.
struct ParseOutcome {
    command_line::Parsed parsed;
    int exit_code = -1;  // -1: run the command
    bool run() const { return exit_code < 0; }
};
ParseOutcome parse_or_exit(std::string_view command, const Form& form, Args args);
// A usage error found after parsing (a bad value, a missing argument): prints
// "modelwatch COMMAND: MESSAGE" and where to look, returns exit_usage.
int usage_error(std::string_view command, std::string_view message);

// `modelwatch ARGS...` (main.cpp): --help, --version, or a command and its arguments.
int run_modelwatch(Args args);

int run_drift(Args args);
int run_detect(Args args);
int run_audit(Args args);
int run_anomaly(Args args);
int run_check_config(Args args);
int run_migrate(Args args);
int run_quarantine(Args args);  // `quarantine list`
// cli/admin_command.cpp: clients of the daemon's admin API.
int run_admin_audit(Args args);  // `audit run MODEL AUDIT`, reached through run_audit
int run_retrain(Args args);
int run_reference(Args args);
int run_status(Args args);
// cli/docs_command.cpp: the hidden `modelwatch __generate-docs DIR`
// that writes the man pages and shell completions at build time.
int run_generate_docs(Args args);

// Each command's forms, defined beside the command.
std::span<const Form> drift_forms();
std::span<const Form> detect_forms();
std::span<const Form> anomaly_forms();
std::span<const Form> audit_forms();  // the offline audit, then `audit run` (admin_audit_form)
std::span<const Form> check_config_forms();
std::span<const Form> migrate_forms();
std::span<const Form> quarantine_forms();
std::span<const Form> retrain_forms();
std::span<const Form> reference_forms();
std::span<const Form> status_forms();
const Form& admin_audit_form();

}  // namespace mw::cli
