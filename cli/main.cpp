// modelwatch: offline reports on CSV files and tools for operating the daemon.
#include <cstdio>
#include <cstring>
#include <span>
#include <string_view>

#include "cli/commands.h"

namespace {

struct Command {
    std::string_view name;
    int (*run)(mw::cli::Args);
    std::string_view help;
};

constexpr Command commands[] = {
    {"drift", mw::cli::run_drift, "drift report between a reference and a current CSV file"},
    {"detect", mw::cli::run_detect, "run a streaming concept-drift detector over a one-column stream"},
    {"anomaly", mw::cli::run_anomaly, "score a timestamp,value series for anomalies"},
    {"audit", mw::cli::run_audit, "fairness audit of a CSV file; `audit run MODEL AUDIT` runs one in the daemon"},
    {"check-config", mw::cli::run_check_config, "validate a daemon configuration file"},
    {"migrate", mw::cli::run_migrate, "apply the store's schema migrations to a PostgreSQL database"},
    {"retrain", mw::cli::run_retrain, "ask the daemon to retrain a model (its policy may refuse, and says why)"},
    {"reference", mw::cli::run_reference, "upload a reference sample (CSV or NDJSON) to the daemon"},
    {"status", mw::cli::run_status, "the daemon's findings, alerts, jobs, windows, audits or decisions"},
};

int usage(std::FILE* out) {
    std::fprintf(out, "usage: modelwatch COMMAND [ARGS...]\n\ncommands:\n");
    for (const auto& command : commands)
        std::fprintf(out, "  %-14.*s %.*s\n", static_cast<int>(command.name.size()), command.name.data(),
                     static_cast<int>(command.help.size()), command.help.data());
    std::fprintf(out, "\n'modelwatch COMMAND --help' describes a command.\n");
    return out == stdout ? 0 : 2;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return usage(stderr);
    std::string_view name = argv[1];
    if (name == "--help" || name == "-h" || name == "help") return usage(stdout);
    for (const auto& command : commands)
        if (command.name == name) return command.run(std::span<char* const>(argv + 2, argc - 2));
    std::fprintf(stderr, "modelwatch: unknown command '%s'\n\n", argv[1]);
    return usage(stderr);
}
