// modelwatchd: the modelwatch daemon. See daemon/daemon.h for its life.
#include <cstdio>
#include <cstring>
#include <string>

#include "config/loader.h"
#include "daemon/daemon.h"

namespace {

constexpr const char* usage_text =
    "usage: modelwatchd --config FILE       run the daemon\n"
    "       modelwatchd --check-config FILE validate FILE, print every problem, exit 0 if valid\n"
    "       modelwatchd --version\n";

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
    if (argc == 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
        std::fputs(usage_text, stdout);
        return 0;
    }
    if (argc == 2 && std::strcmp(argv[1], "--version") == 0) {
        std::printf("modelwatchd %s\n", MODELWATCH_VERSION);
        return 0;
    }
    if (argc == 3 && std::strcmp(argv[1], "--check-config") == 0) return check_config(argv[2]);
    if (argc == 3 && std::strcmp(argv[1], "--config") == 0) return mw::daemon::run(argv[2]);
    std::fputs(usage_text, stderr);
    return 2;
}
