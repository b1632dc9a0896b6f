// modelwatchd: the modelwatch daemon. See daemon/daemon.h for its life.
#include <cstdio>
#include <string>

#include <fmt/format.h>

#include "config/loader.h"
#include "core/command_line.h"
#include "daemon/daemon.h"
#include "daemon/flags.h"
#include "registry/catalog.h"

namespace {

std::string usage_text() {
    std::string synopsis;
    for (const auto& row : mw::daemon::flags())
        synopsis += fmt::format("{}{}{}{}", synopsis.empty() ? "" : " | ", row.name, row.value.empty() ? "" : " ",
                                row.value);
    return "usage: modelwatchd " + synopsis + "\n\noptions:\n" + mw::command_line::describe(mw::daemon::flags());
}

int usage_error(const std::string& message) {
    std::fprintf(stderr, "modelwatchd: %s\n\n%s", message.c_str(), usage_text().c_str());
    return 2;
}

int check_config(const std::string& path) {
    const auto result = mw::registry::load_config_file(path);
    if (!result.ok()) {
        for (const auto& error : result.errors) std::fprintf(stderr, "%s: %s\n", path.c_str(), to_string(error).c_str());
        return 1;
    }
    std::printf("%s\n", mw::config::summarize(*result.config).c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const auto result = mw::command_line::parse(std::span<char* const>(argv + 1, static_cast<std::size_t>(argc - 1)),
                                                mw::daemon::flags());
    if (!result.ok()) return usage_error(result.error);
    const auto& parsed = result.parsed;
    if (parsed.help) {
        std::fputs(usage_text().c_str(), stdout);
        return 0;
    }
    if (!parsed.positionals.empty()) return usage_error(fmt::format("unexpected argument '{}'", parsed.positionals[0]));
    // Exactly one of the flags: each is a whole way of running.
    if (parsed.given.size() != 1) return usage_error(parsed.given.empty() ? "give one of the flags" : "give one flag only");
    const auto& [flag, value] = parsed.given.front();
    if (flag == "--version") {
        std::printf("modelwatchd %s\n", MODELWATCH_VERSION);
        return 0;
    }
    if (flag == "--check-config") return check_config(value);
    return mw::daemon::run(value);
}
