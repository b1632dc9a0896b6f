// modelwatch: offline reports on CSV files and tools for operating the daemon.
#include <cstdio>
#include <span>
#include <string_view>

#include "cli/commands.h"
#include "cli/exit_status.h"

namespace {

int usage(std::FILE* out) {
    std::fprintf(out, "usage: modelwatch COMMAND [ARGS...]\n       modelwatch --version\n\ncommands:\n");
    for (const auto& command : mw::cli::commands())
        std::fprintf(out, "  %-14.*s %.*s\n", static_cast<int>(command.name.size()), command.name.data(),
                     static_cast<int>(command.summary.size()), command.summary.data());
    std::fprintf(out, "\n'modelwatch COMMAND --help' describes a command.\n\nexit status:\n");
    for (const auto& status : mw::cli::exit_statuses())
        std::fprintf(out, "  %d  %.*s%s%.*s\n", static_cast<int>(status.code), static_cast<int>(status.commands.size()),
                     status.commands.data(), status.commands.empty() ? "" : ": ",
                     static_cast<int>(status.meaning.size()), status.meaning.data());
    return out == stdout ? mw::cli::exit_ok : mw::cli::exit_usage;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return usage(stderr);
    std::string_view name = argv[1];
    if (name == "--help" || name == "-h" || name == "help") return usage(stdout);
    if (name == "--version") {
        std::printf("modelwatch %s\n", MODELWATCH_VERSION);
        return mw::cli::exit_ok;
    }
    const std::span<char* const> rest(argv + 2, static_cast<std::size_t>(argc - 2));
    // Hidden: the build runs it to write the man pages and completions.
    if (name == "__generate-docs") return mw::cli::run_generate_docs(rest);
    if (const auto* command = mw::cli::find_command(name)) return command->run(rest);
    std::fprintf(stderr, "modelwatch: unknown command '%s'\n\n", argv[1]);
    return usage(stderr);
}
