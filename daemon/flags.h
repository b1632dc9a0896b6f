// The command line of modelwatchd, one row per flag: main.cpp parses it with
// core/command_line.h and prints its usage from this table, and `modelwatch
// __generate-docs` writes the modelwatchd(8) man page and its shell
// completion from it. -h/--help is the parser's own (command_line::help_option).
#pragma once

#include <span>

#include "core/command_line.h"

namespace mw::daemon {

inline constexpr command_line::Option flag_table[] = {
    {"--config", "FILE", "run the daemon with the configuration FILE"},
    {"--check-config", "FILE", "validate FILE, print every problem, exit 0 if valid"},
    {"--version", "", "print the version"},
};

inline std::span<const command_line::Option> flags() { return flag_table; }

}  // namespace mw::daemon
