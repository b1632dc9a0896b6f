// modelwatchd: the modelwatch daemon. See daemon/daemon.h for its life.
#include <cstdio>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "config/loader.h"
#include "daemon/daemon.h"
#include "daemon/flags.h"

namespace {

using mw::daemon::Flag;

std::string usage_text() {
    std::string text;
    for (const auto& row : mw::daemon::flags()) {
        const std::string flag = row.argument.empty() ? std::string(row.name) : fmt::format("{} {}", row.name, row.argument);
        text += fmt::format("{} modelwatchd {:<20} {}\n", text.empty() ? "usage:" : "      ", flag, row.help);
    }
    return text;
}

int check_config(const std::string& path) {
    const auto result = mw::config::load_config_file(path);
    if (!result.ok()) {
        for (const auto& error : result.errors) std::fprintf(stderr, "%s: %s\n", path.c_str(), to_string(error).c_str());
        return 1;
    }
    std::printf("%s\n", mw::config::summarize(*result.config).c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const mw::daemon::FlagRow* row = nullptr;
    if (argc >= 2) {
        for (const auto& candidate : mw::daemon::flags())
            if (candidate.name == argv[1] || (candidate.flag == Flag::help && std::strcmp(argv[1], "-h") == 0))
                row = &candidate;
    }
    if (row == nullptr || argc != (row->argument.empty() ? 2 : 3)) {
        std::fputs(usage_text().c_str(), stderr);
        return 2;
    }
    switch (row->flag) {
        case Flag::help: std::fputs(usage_text().c_str(), stdout); return 0;
        case Flag::version: std::printf("modelwatchd %s\n", MODELWATCH_VERSION); return 0;
        case Flag::check_config: return check_config(argv[2]);
        case Flag::config: return mw::daemon::run(argv[2]);
    }
    return 2;
}
