// One argument parser for both programs (modelwatch's subcommands and
// modelwatchd): each declares its options as a table of rows, and the parse,
// the --help text, the man pages and the bash completion all read that table.
// Accepted: `--opt value` and `--opt=value`, switches without a value,
// positional arguments anywhere, `--` ending the options, and -h/--help
// anywhere (which wins over everything else, so asking for help never
// runs the command).
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

#include "core/member_pointer.h"

namespace mw::command_line {

struct Option {
    std::string_view name;   // "--reference"
    std::string_view value;  // what it takes, shown in the help ("REF.csv"); empty: a switch
    std::string_view help;   // may span lines ('\n'); the help text indents them
    bool required = false;
    // What the option does to the command's arguments (the struct given to
    // apply(), erased to void* so one row type serves every command; rows
    // are made with applies<Target, F> or stores<Member>): "" or what is wrong
    // with the value, without the option's name. Null: the command reads
    // Parsed itself.
    std::string (*apply)(void* target, std::string_view value) = nullptr;
};

// A row's apply from a function on the command's own arguments struct.
template <typename Target, std::string (*F)(Target&, std::string_view)>
std::string applies(void* target, std::string_view value) {
    return F(*static_cast<Target*>(target), value);
}

// `text` read whole as a number into `number` (std::from_chars: no spaces,
// no '+', no '-' for an unsigned type, nothing after the number, within the
// type's range; a floating-point one finite): "" or what is wrong with it,
// `number` left as it was.
template <typename Number>
std::string read_number(std::string_view text, Number& number) {
    static_assert(std::is_arithmetic_v<Number> && !std::is_same_v<Number, bool>);
    Number read{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), read);
    const bool whole = !text.empty() && end == text.data() + text.size();
    bool valid = whole && ec == std::errc();
    if constexpr (std::is_floating_point_v<Number>) valid = valid && std::isfinite(read);
    if (valid) {
        number = read;
        return "";
    }
    // Appended piece by piece: GCC 12 at -O3 warns falsely (-Wstringop-overflow)
    // on a chain of operator+ that starts with a literal.
    std::string message;
    if (whole && ec == std::errc::result_out_of_range) {
        message.append("'").append(text).append("' is out of range");
    } else {
        message.append("expected ")
            .append(std::is_floating_point_v<Number> ? "a finite number"
                    : std::is_signed_v<Number>       ? "an integer"
                                                     : "a non-negative integer")
            .append(", got '")
            .append(text)
            .append("'");
    }
    return message;
}

template <typename T>
struct OptionalNumber : std::false_type {};
template <typename T>
struct OptionalNumber<std::optional<T>> : std::is_arithmetic<T> {};

// A row's apply that stores the value in a std::string member, appends it to
// a std::vector<std::string> member (a repeatable option), sets a bool member
// (a switch), or reads a number (or std::optional number) member's value with
// read_number. Given a path of members (stores<&Arguments::spec,
// &Spec::label>), it does so to the member the path ends at.
template <auto Member, auto... Path>
std::string stores(void* target, std::string_view value) {
    using Class = typename MemberPointer<decltype(Member)>::Class;
    using Field = typename MemberPointer<decltype(Member)>::Field;
    auto& field = static_cast<Class*>(target)->*Member;
    if constexpr (sizeof...(Path) > 0) {
        return stores<Path...>(&field, value);
    } else if constexpr (std::is_same_v<Field, bool>) {
        field = true;
    } else if constexpr (std::is_same_v<Field, std::vector<std::string>>) {
        field.emplace_back(value);
    } else if constexpr (std::is_arithmetic_v<Field>) {
        return read_number(value, field);
    } else if constexpr (OptionalNumber<Field>::value) {
        typename Field::value_type number{};
        std::string error = read_number(value, number);
        if (error.empty()) field = number;
        return error;
    } else {
        field = Field(value);
    }
    return "";
}

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

// Runs the apply of each given option's row, in the order given, on
// `target` (the struct the rows were made for); the first error as
// "--name: what is wrong", or "" when every value was applied.
std::string apply(const Parsed& parsed, std::span<const Option> options, void* target);

// The option rows of a help text: "  --name VALUE   help", continuation
// lines of the help aligned under its first line, ending with -h, --help.
std::string describe(std::span<const Option> options);

// Values of options, read alike by every command.
// The names of a comma-separated value ("a,b,c"; "" is none) into `names`;
// an empty name ("a,,b", "a,") is an error naming what the names are.
std::string parse_name_list(std::string_view text, std::string_view what, std::vector<std::string>& names);
// A whole unsigned decimal integer: no sign, no spaces, nothing after it
// (read_number).
bool parse_unsigned(std::string_view text, std::uint64_t& value);

}  // namespace mw::command_line
