// What the example's programs (elec2_server, elec2_simulate, elec2_trainer)
// share on their command lines: a number option's value read whole, and the
// message and exit status of bad usage.
#pragma once

#include <charconv>
#include <cstdio>
#include <string_view>
#include <system_error>

#include <fmt/format.h>

namespace mw::elec2 {

// `text` as a whole T (std::from_chars: no leading spaces or '+', no '-' for
// an unsigned T, nothing after the number); false leaves `value` unusable.
template <typename T>
bool parse_number(std::string_view text, T& value) {
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    return ec == std::errc() && ptr == text.data() + text.size();
}

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

}  // namespace mw::elec2
