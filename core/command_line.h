// One argument parser for both programs (modelwatch's subcommands and
// modelwatchd): each declares its options as a table of rows, and the parse,
// the --help text, the man pages and the bash completion all read that table.
// Accepted: `--opt value` and `--opt=value`, switches without a value,
// positional arguments anywhere, `--` ending the options, and -h/--help
// anywhere (which wins over everything else, so asking for help never
// runs the command).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mw::command_line {

struct Option {
    std::string_view name;   // "--reference"
    std::string_view value;  // what it takes, shown in the help ("REF.csv"); empty: a switch
    std::string_view help;   // may span lines ('\n'); the help text indents them
    bool required = false;
};

// The row every parser accepts without being told (listed last by describe).
inline constexpr Option help_option{"--help", "", "print this help and exit 0 (nothing else is done)"};

struct Parsed {
    bool help = false;  // -h or --help was given
    std::vector<std::string> positionals;
    // Every option given, in order; a switch has an empty value.
    std::vector<std::pair<std::string_view, std::string>> given;

    bool has(std::string_view name) const;
    // The last value given for `name` (an option given twice: the last wins).
    std::optional<std::string> value(std::string_view name) const;
    // Every value given for a repeatable option, in order.
    std::vector<std::string> values(std::string_view name) const;
};

struct ParseResult {
    Parsed parsed;
    std::string error;  // names the option or argument at fault; empty on success
    bool ok() const { return error.empty(); }
};

// A value cannot start with "--" when given as a separate word (`--reason
// --help` is a missing value followed by --help, not a reason of "--help");
// `--opt=--text` passes such a value. Required options are only checked
// when help was not asked for.
ParseResult parse(std::span<char* const> args, std::span<const Option> options);

// The option rows of a help text: "  --name VALUE   help", continuation
// lines of the help aligned under its first line, ending with -h, --help.
std::string describe(std::span<const Option> options);

}  // namespace mw::command_line
