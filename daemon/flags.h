// The command line of modelwatchd, one row per flag: main.cpp parses and
// prints its usage from this table, and `modelwatch __generate-docs` writes
// the modelwatchd(8) man page and its shell completion from it.
#pragma once

#include <span>
#include <string_view>

namespace mw::daemon {

enum class Flag { config, check_config, version, help };

struct FlagRow {
    Flag flag;
    std::string_view name;      // "--config"
    std::string_view argument;  // "FILE", or empty for a flag without one
    std::string_view help;
};

inline constexpr FlagRow flag_table[] = {
    {Flag::config, "--config", "FILE", "run the daemon with the configuration FILE"},
    {Flag::check_config, "--check-config", "FILE", "validate FILE, print every problem, exit 0 if valid"},
    {Flag::version, "--version", "", "print the version"},
    {Flag::help, "--help", "", "print this usage"},
};

inline std::span<const FlagRow> flags() { return flag_table; }

}  // namespace mw::daemon
