#include "config/values.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include <fmt/format.h>

namespace mw::config {

namespace {

struct Unit {
    std::string_view suffix;
    std::uint64_t factor;
};

constexpr std::uint64_t kib = 1024;
constexpr std::uint64_t kb = 1000;

// A unit is matched against the whole text after the number, so "MB" never
// matches "MiB" and the order of the rows does not matter.
constexpr std::array<Unit, 9> size_units{{
    {"B", 1},
    {"KB", kb}, {"MB", kb * kb}, {"GB", kb * kb * kb}, {"TB", kb * kb * kb * kb},
    {"KiB", kib}, {"MiB", kib * kib}, {"GiB", kib * kib * kib}, {"TiB", kib * kib * kib * kib},
}};

constexpr std::array<Unit, 6> duration_units{{
    {"us", 1}, {"ms", 1000}, {"s", 1000 * 1000}, {"m", 60ull * 1000 * 1000}, {"h", 3600ull * 1000 * 1000},
    {"d", 86400ull * 1000 * 1000},
}};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Splits "64MiB" / "64 MiB" into the digits and the unit.
std::pair<std::string_view, std::string_view> split_number_unit(std::string_view text) {
    std::size_t digits = 0;
    while (digits < text.size() && is_digit(text[digits])) ++digits;
    std::string_view unit = text.substr(digits);
    if (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
    return {text.substr(0, digits), unit};
}

bool multiply(std::uint64_t a, std::uint64_t b, std::uint64_t& out) {
    if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) return false;
    out = a * b;
    return true;
}

}  // namespace

Parse<std::uint64_t> parse_unsigned(std::string_view text) {
    if (text.empty() || !std::all_of(text.begin(), text.end(), is_digit))
        return Parse<std::uint64_t>::fail("not a whole number");
    std::uint64_t value = 0;
    for (char c : text) {
        const auto digit = static_cast<std::uint64_t>(c - '0');
        if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10)
            return Parse<std::uint64_t>::fail("too large");
        value = value * 10 + digit;
    }
    return Parse<std::uint64_t>::ok(value);
}

Parse<std::uint64_t> parse_size_bytes(std::string_view text) {
    const auto fail = [&] {
        return Parse<std::uint64_t>::fail(
            fmt::format("expected a size such as 1048576, \"500KB\" or \"64MiB\", got \"{}\"", text));
    };
    const auto [digits, unit] = split_number_unit(text);
    const auto number = parse_unsigned(digits);
    if (!number.value) return fail();
    std::uint64_t factor = 1;
    if (!unit.empty()) {
        const auto* found = std::find_if(size_units.begin(), size_units.end(),
                                         [&](const Unit& u) { return u.suffix == unit; });
        if (found == size_units.end()) return fail();
        factor = found->factor;
    }
    std::uint64_t bytes = 0;
    if (!multiply(*number.value, factor, bytes))
        return Parse<std::uint64_t>::fail(fmt::format("size \"{}\" is too large", text));
    return Parse<std::uint64_t>::ok(bytes);
}

std::uint64_t microseconds_per(std::string_view unit) {
    for (const auto& u : duration_units)
        if (u.suffix == unit) return u.factor;
    return 0;
}

Parse<std::uint64_t> parse_duration(std::string_view text, std::string_view field_unit) {
    const auto fail = [&] {
        return Parse<std::uint64_t>::fail(fmt::format(
            "expected a duration such as 250 (in {}), \"250ms\", \"10s\" or \"5m\", got \"{}\"", field_unit, text));
    };
    const auto [digits, unit] = split_number_unit(text);
    const auto number = parse_unsigned(digits);
    if (!number.value) return fail();
    if (unit.empty()) return Parse<std::uint64_t>::ok(*number.value);
    const std::uint64_t unit_us = microseconds_per(unit);
    if (unit_us == 0) return fail();
    std::uint64_t us = 0;
    if (!multiply(*number.value, unit_us, us))
        return Parse<std::uint64_t>::fail(fmt::format("duration \"{}\" is too large", text));
    const std::uint64_t field_us = microseconds_per(field_unit);
    if (us % field_us != 0)
        return Parse<std::uint64_t>::fail(
            fmt::format("duration \"{}\" is not a whole number of {}", text, field_unit));
    return Parse<std::uint64_t>::ok(us / field_us);
}

Parse<ListenEndpoint> parse_listen(std::string_view text) {
    const auto fail = [&] {
        return Parse<ListenEndpoint>::fail(
            fmt::format("expected \"host:port\" (port 0 to 65535, IPv6 as \"[::1]:8470\"), got \"{}\"", text));
    };
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return fail();
    std::string_view host = text.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    } else if (host.find(':') != std::string_view::npos) {
        return fail();  // an IPv6 address must be bracketed, or the port is ambiguous
    }
    const bool host_ok = !host.empty() && std::none_of(host.begin(), host.end(), [](char c) {
        return c == ' ' || c == '\t' || c == '[' || c == ']' || c == '/';
    });
    const auto port = parse_unsigned(text.substr(colon + 1));
    if (!host_ok || !port.value || *port.value > 65535) return fail();
    // The daemon binds the address as written (asio::ip::make_address), so a
    // name that passed here would only fail at start. A name may also stand
    // for several addresses (localhost: 127.0.0.1 and ::1), and which one is
    // bound should not depend on the resolver of the day.
    const std::string host_text(host);
    unsigned char address[sizeof(in6_addr)];
    if (::inet_pton(AF_INET, host_text.c_str(), address) != 1 && ::inet_pton(AF_INET6, host_text.c_str(), address) != 1)
        return Parse<ListenEndpoint>::fail(
            fmt::format("\"{}\" is not an IP address: the daemon binds an address and does not resolve names; "
                        "write \"127.0.0.1:{}\" or \"[::1]:{}\" for loopback, \"0.0.0.0:{}\" for every IPv4 "
                        "interface",
                        host, *port.value, *port.value, *port.value));
    return Parse<ListenEndpoint>::ok({host_text, static_cast<std::uint16_t>(*port.value)});
}

bool is_valid_name(std::string_view text, std::size_t max_length) {
    if (text.empty() || text.size() > max_length) return false;
    return std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '_' || c == '.' ||
               c == '-';
    });
}

Parse<std::string> parse_sha256_hex(std::string_view text) {
    std::string lower(text);
    bool ok = lower.size() == 64;
    for (char& c : lower) {
        if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
        ok = ok && (is_digit(c) || (c >= 'a' && c <= 'f'));
    }
    if (!ok)
        return Parse<std::string>::fail(fmt::format(
            "expected the SHA-256 of the token as 64 hex digits, got \"{}\" ({} characters)", text, text.size()));
    // The annotated reference's placeholder: a file copied from it must not
    // pass --check-config with a token nobody chose.
    if (lower == std::string(64, '0'))
        return Parse<std::string>::fail(
            "64 zeros is the annotated reference's placeholder, not a token's hash: put the SHA-256 of your "
            "secret (printf %s \"$SECRET\" | sha256sum)");
    return Parse<std::string>::ok(std::move(lower));
}

std::string format_size_bytes(std::uint64_t bytes) {
    if (bytes == 0) return "0B";
    for (auto it = size_units.rbegin(); it != size_units.rend(); ++it)
        if (it->factor > 1 && it->suffix.size() == 3 && bytes % it->factor == 0)
            return fmt::format("{}{}", bytes / it->factor, it->suffix);
    for (auto it = size_units.rbegin(); it != size_units.rend(); ++it)
        if (it->factor > 1 && it->suffix.size() == 2 && bytes % it->factor == 0)
            return fmt::format("{}{}", bytes / it->factor, it->suffix);
    return fmt::format("{}B", bytes);
}

std::string format_duration(std::uint64_t amount, std::string_view field_unit) {
    const std::uint64_t field_us = microseconds_per(field_unit);
    std::uint64_t us = 0;
    if (amount == 0 || !multiply(amount, field_us, us)) return fmt::format("{}{}", amount, field_unit);
    for (auto it = duration_units.rbegin(); it != duration_units.rend(); ++it)
        if (us % it->factor == 0) return fmt::format("{}{}", us / it->factor, it->suffix);
    return fmt::format("{}{}", amount, field_unit);
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    // One row of the dynamic-programming table at a time.
    std::vector<std::size_t> row(b.size() + 1);
    std::iota(row.begin(), row.end(), std::size_t{0});
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

Parse<double> parse_number(std::string_view text) {
    double value = 0;
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value, std::chars_format::general);
    if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(value))
        return Parse<double>::fail(fmt::format("expected a number, got \"{}\"", text));
    return Parse<double>::ok(value);
}

bool is_environment_name(std::string_view name) {
    // POSIX.1-2017 section 8.1: portable names are [A-Za-z_][A-Za-z0-9_]*.
    if (name.empty() || (name.front() >= '0' && name.front() <= '9')) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
}

}  // namespace mw::config
