// modelwatch check-config FILE: validates a daemon configuration file the way
// the daemon loads it, printing a one-line summary or every error.
#include <cstdio>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/exit_status.h"
#include "config/loader.h"
#include "core/utf8.h"
#include "registry/catalog.h"

namespace mw::cli {

namespace {

struct CheckConfigArguments {
    bool skip_env = false;
};

constexpr command_line::Option option_table[] = {
    {"--skip-env", "",
     "do not require the environment variable named by store.dsn_env\n"
     "(to check a file on a machine other than the daemon's)", false,
     command_line::stores<&CheckConfigArguments::skip_env>},
};

std::string description() {
    return "Validates a modelwatch daemon configuration file. Prints a one-line summary\n"
           "when it is valid; prints every error, one per line, as\n"
           "  FILE: key.path (line N): what is wrong\n"
           "when it is not.\n";
}

std::string notes() {
    return "Every key, its default and meaning: modelwatchd(8), and the annotated reference\n"
           "(config/modelwatch.yaml; /usr/share/doc/modelwatch/modelwatch.yaml.reference when installed).\n";
}

constexpr Form forms[] = {{"check-config", "[--skip-env] FILE", description, option_table, notes}};

int usage_error(std::string_view message) { return cli::usage_error("check-config", message); }

}  // namespace

std::span<const Form> check_config_forms() { return forms; }

int run_check_config(Args args) {
    const auto given = parse_or_exit("check-config", forms[0], args);
    if (!given.run()) return given.exit_code;
    const auto& parsed = given.parsed;
    if (parsed.positionals.empty()) return usage_error("missing the configuration file");
    if (parsed.positionals.size() > 1) return usage_error("give exactly one configuration file");
    const std::string& path = parsed.positionals.front();
    CheckConfigArguments arguments;
    command_line::apply(parsed, option_table, &arguments);
    const bool skip_env = arguments.skip_env;

    const config::Environment environment =
        skip_env ? config::Environment([](const std::string&) -> std::optional<std::string> {
            return "(not resolved: --skip-env)";
        })
                 : config::process_environment();
    const auto result = registry::load_config_file(path, environment);
    if (result.ok()) {
        fmt::print(stdout, "{}\n", config::summarize(*result.config));
        return exit_ok;
    }
    // An error may quote the file's bytes.
    for (const auto& error : result.errors) fmt::print(stderr, "{}: {}\n", path, terminal_safe(config::to_string(error)));
    return exit_negative;
}

}  // namespace mw::cli
