// Parsers for the scalar value forms a configuration file may use: sizes with
// units, durations with units, "host:port" endpoints, names, token hashes.
// Each returns the value or a message saying what was expected; the loader
// adds the key path and line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mw::config {

// A value or the reason the text was not one.
template <typename T>
struct Parse {
    std::optional<T> value;
    std::string error;  // set when value is empty: what was expected

    static Parse ok(T v) { return {std::move(v), {}}; }
    static Parse fail(std::string why) { return {std::nullopt, std::move(why)}; }
};

// "1048576", "500KB" (decimal units: KB, MB, GB, TB) or "64MiB" (binary
// units: KiB, MiB, GiB, TiB); "B" is accepted too. Whole numbers only, so a
// size is exact.
Parse<std::uint64_t> parse_size_bytes(std::string_view text);

// Durations: a bare integer is in `field_unit` ("us", "ms" or "s"); a string
// carries its own unit: "250us", "250ms", "10s", "5m", "2h". The result is in
// `field_unit` and must be a whole number of it ("1500us" is not a whole
// number of milliseconds).
Parse<std::uint64_t> parse_duration(std::string_view text, std::string_view field_unit);

// Microseconds in one `unit` ("us", "ms", "s", "m", "h"), or 0 for an unknown unit.
std::uint64_t microseconds_per(std::string_view unit);

// A plain non-negative decimal integer: no sign, no exponent, no separators.
Parse<std::uint64_t> parse_unsigned(std::string_view text);

// A finite decimal number as YAML writes it: "0.05", "1e-3", "-2", ".5".
// No "nan", "inf" or YAML's ".inf": a threshold must be a number.
Parse<double> parse_number(std::string_view text);

struct ListenEndpoint {
    std::string host;
    std::uint16_t port = 0;

    bool operator==(const ListenEndpoint&) const = default;
};

// "127.0.0.1:8470", "localhost:0", "[::1]:8470". Port 0 (pick a free port) is allowed.
Parse<ListenEndpoint> parse_listen(std::string_view text);

// Model, feature and attribute names appear in URLs and metric labels:
// [A-Za-z0-9_.-]{1,max_length}.
bool is_valid_name(std::string_view text, std::size_t max_length);

// An environment variable's name as POSIX makes it portable: [A-Za-z_][A-Za-z0-9_]*.
bool is_environment_name(std::string_view name);

// 64 hex digits (either case); returns them lowercased.
Parse<std::string> parse_sha256_hex(std::string_view text);

// "64MiB" when exact in a binary unit, else "500KB" when exact in a decimal
// unit, else the number of bytes followed by "B".
std::string format_size_bytes(std::uint64_t bytes);

// The largest unit that divides the value exactly: "10s", "250ms", "5m".
std::string format_duration(std::uint64_t amount, std::string_view field_unit);

// Levenshtein distance (Wagner and Fischer, "The string-to-string correction
// problem", JACM 1974): insertions, deletions and substitutions cost 1.
std::size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace mw::config
