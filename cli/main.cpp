// modelwatch: offline reports on CSV files and tools for operating the daemon.
#include <cstdio>
#include <span>
#include <string_view>

#include "cli/commands.h"

namespace {

int usage(std::FILE* out) {
    std::fprintf(out, "usage: modelwatch COMMAND [ARGS...]\n\ncommands:\n");
    for (const auto& command : mw::cli::commands())
        std::fprintf(out, "  %-14.*s %.*s\n", static_cast<int>(command.name.size()), command.name.data(),
                     static_cast<int>(command.summary.size()), command.summary.data());
    std::fprintf(out, "\n'modelwatch COMMAND --help' describes a command.\n");
    return out == stdout ? 0 : 2;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return usage(stderr);
    std::string_view name = argv[1];
    if (name == "--help" || name == "-h" || name == "help") return usage(stdout);
    const std::span<char* const> rest(argv + 2, static_cast<std::size_t>(argc - 2));
    // Hidden: the build runs it to write the man pages and completions.
    if (name == "__generate-docs") return mw::cli::run_generate_docs(rest);
    for (const auto& command : mw::cli::commands())
        if (command.name == name) return command.run(rest);
    std::fprintf(stderr, "modelwatch: unknown command '%s'\n\n", argv[1]);
    return usage(stderr);
}
