// modelwatch check-config FILE: validates a daemon configuration file the way
// the daemon loads it, printing a one-line summary or every error.
#include <cstdio>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "cli/commands.h"
#include "config/loader.h"

namespace mw::cli {

namespace {

constexpr std::string_view help_text =
    "usage: modelwatch check-config [--skip-env] FILE\n"
    "\n"
    "Validates a modelwatch daemon configuration file. Prints a one-line summary\n"
    "and exits 0 when it is valid; prints every error, one per line, as\n"
    "  FILE: key.path (line N): what is wrong\n"
    "and exits 1 when it is not. Exits 2 on a usage error.\n"
    "\n"
    "options:\n"
    "  --skip-env   do not require the environment variable named by store.dsn_env\n"
    "               (to check a file on a machine other than the daemon's)\n"
    "  -h, --help   this text\n"
    "\n"
    "Every key, its default and meaning: modelwatchd(8), and the annotated reference\n"
    "(config/modelwatch.yaml; /usr/share/doc/modelwatch/modelwatch.yaml.reference when installed).\n";

}  // namespace

std::string check_config_help() { return std::string(help_text); }

namespace {

int usage_error(std::string_view message) {
    fmt::print(stderr, "modelwatch check-config: {}\n\n{}", message, help_text);
    return 2;
}

}  // namespace

int run_check_config(Args args) {
    std::string path;
    bool skip_env = false;
    for (const char* arg_text : args) {
        const std::string_view arg = arg_text;
        if (arg == "-h" || arg == "--help") {
            fmt::print(stdout, "{}", help_text);
            return 0;
        }
        if (arg == "--skip-env") {
            skip_env = true;
        } else if (arg.starts_with('-')) {
            return usage_error(fmt::format("unknown option '{}'", arg));
        } else if (!path.empty()) {
            return usage_error("give exactly one configuration file");
        } else {
            path = arg;
        }
    }
    if (path.empty()) return usage_error("missing the configuration file");

    const config::Environment environment =
        skip_env ? config::Environment([](const std::string&) -> std::optional<std::string> {
            return "(not resolved: --skip-env)";
        })
                 : config::process_environment();
    const auto result = config::load_config_file(path, environment);
    if (result.ok()) {
        fmt::print(stdout, "{}\n", config::summarize(*result.config));
        return 0;
    }
    for (const auto& error : result.errors) fmt::print(stderr, "{}: {}\n", path, config::to_string(error));
    return 1;
}

}  // namespace mw::cli
