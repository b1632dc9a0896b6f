// What the example's programs (elec2_server, elec2_simulate, elec2_trainer)
// share on their command lines: each declares its options (or each of its
// subcommands' options) as a core/command_line.h table, read here, with the
// message and exit status of bad usage.
#pragma once

#include <cstdio>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "core/command_line.h"

namespace mw::elec2 {

// A program's bad usage: bad_usage(message) prints "<program>: <message>"
// and the usage text on stderr and returns 2, the exit status of bad usage.
struct BadUsage {
    std::string_view program;
    std::string_view usage;

    int operator()(std::string_view message) const {
        fmt::print(stderr, "{}: {}\n{}", program, message, usage);
        return 2;
    }
};

// A program's command line read against its option table.
struct CommandLine {
    mw::command_line::Parsed parsed;
    std::string usage;               // the synopsis and the table's rows (command_line::describe)
    std::optional<int> exit_status;  // set: main returns it (0: the help was printed; 2: bad usage, said)
};

// Parses `args` (argv without the program's name) against `options` and runs
// the apply of each row given on `target` (the struct the rows were made for;
// null when no row has an apply);
// -h/--help prints the usage, an unknown option, a positional argument or a
// value that does not apply is bad usage (BadUsage).
CommandLine read_command_line(std::span<char* const> args, std::span<const mw::command_line::Option> options,
                              void* target, std::string_view program, std::string_view synopsis);

}  // namespace mw::elec2
