// The commands of `modelwatch`, one row each: the dispatcher in main.cpp, the
// usage text and the generated man page and shell completion all read this,
// and each command's help is written here from its forms' option tables and
// the exit status table.
#include <cstdio>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/exit_status.h"

namespace mw::cli {

namespace {

const Command command_table[] = {
    {"drift", run_drift, "drift report between a reference and a current CSV file", drift_forms()},
    {"detect", run_detect, "run a streaming concept-drift detector over a one-column stream", detect_forms()},
    {"anomaly", run_anomaly, "score a timestamp,value series for anomalies", anomaly_forms()},
    {"audit", run_audit, "fairness audit of a CSV file; `audit run MODEL AUDIT` runs one in the daemon",
     audit_forms()},
    {"check-config", run_check_config, "validate a daemon configuration file", check_config_forms()},
    {"migrate", run_migrate, "apply the store's schema migrations to a PostgreSQL database", migrate_forms()},
    {"quarantine", run_quarantine, "list the quarantine files in a spool directory (records not stored)",
     quarantine_forms()},
    {"retrain", run_retrain, "ask the daemon to retrain a model (its policy may refuse, and says why)",
     retrain_forms()},
    {"reference", run_reference, "upload a reference sample (CSV or NDJSON) to the daemon", reference_forms()},
    {"status", run_status, "the daemon's findings, alerts, jobs, windows, audits or decisions", status_forms()},
};

}  // namespace

std::span<const Command> commands() { return command_table; }

const Command* find_command(std::string_view name) {
    for (const auto& command : command_table)
        if (command.name == name) return &command;
    return nullptr;
}

std::string help(const Command& command) {
    std::string text;
    for (const auto& form : command.forms) {
        if (!text.empty()) text += "\n";
        text += fmt::format("usage: modelwatch {} {}\n\n", form.name, form.usage);
        if (form.description) {
            text += form.description();
            text += '\n';
        }
        text += "options:\n";
        text += command_line::describe(form.options);
        if (form.notes) {
            text += '\n';
            text += form.notes();
        }
    }
    text += "\nexit status:\n";
    for (const auto& status : exit_statuses()) {
        for (const auto& form : command.forms) {
            if (!applies_to(status, form.name)) continue;
            // A row about one form of several is named after it.
            const bool named = !status.commands.empty() && command.forms.size() > 1;
            text += fmt::format("  {}  {}{}\n", static_cast<int>(status.code), named ? fmt::format("{}: ", form.name) : "",
                                status.meaning);
            break;
        }
    }
    return text;
}

std::string help(std::string_view name) { return help(*find_command(name)); }

int usage_error(std::string_view command, std::string_view message) {
    std::fprintf(stderr, "modelwatch %.*s: %.*s\n(see 'modelwatch %.*s --help')\n", static_cast<int>(command.size()),
                 command.data(), static_cast<int>(message.size()), message.data(), static_cast<int>(command.size()),
                 command.data());
    return exit_usage;
}

namespace {

int usage(std::FILE* out) {
    std::fprintf(out, "usage: modelwatch COMMAND [ARGS...]\n       modelwatch --version\n\ncommands:\n");
    for (const auto& command : commands())
        std::fprintf(out, "  %-14.*s %.*s\n", static_cast<int>(command.name.size()), command.name.data(),
                     static_cast<int>(command.summary.size()), command.summary.data());
    std::fprintf(out, "\n'modelwatch COMMAND --help' describes a command.\n\nexit status:\n");
    for (const auto& status : exit_statuses())
        std::fprintf(out, "  %d  %.*s%s%.*s\n", static_cast<int>(status.code), static_cast<int>(status.commands.size()),
                     status.commands.data(), status.commands.empty() ? "" : ": ",
                     static_cast<int>(status.meaning.size()), status.meaning.data());
    return out == stdout ? exit_ok : exit_usage;
}

}  // namespace

int run_modelwatch(Args args) {
    if (args.empty()) return usage(stderr);
    const std::string_view name = args[0];
    if (name == "--help" || name == "-h" || name == "help") return usage(stdout);
    if (name == "--version") {
        std::printf("modelwatch %s\n", MODELWATCH_VERSION);
        return exit_ok;
    }
    // Hidden: the build runs it to write the man pages and completions.
    if (name == "__generate-docs") return run_generate_docs(args.subspan(1));
    if (const auto* command = find_command(name)) return command->run(args.subspan(1));
    std::fprintf(stderr, "modelwatch: unknown command '%s'\n\n", args[0]);
    return usage(stderr);
}

ParseOutcome parse_or_exit(std::string_view command, const Form& form, Args args) {
    auto result = command_line::parse(args, form.options);
    ParseOutcome outcome{std::move(result.parsed)};
    if (!result.ok()) {
        outcome.exit_code = usage_error(form.name, result.error);
    } else if (outcome.parsed.help) {
        std::fputs(help(command).c_str(), stdout);
        outcome.exit_code = exit_ok;
    }
    return outcome;
}

}  // namespace mw::cli
