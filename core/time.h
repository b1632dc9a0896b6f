// Timestamps as microseconds since the Unix epoch (UTC), the unit every record
// carries, their RFC 3339 text form as it crosses the HTTP API, and the
// proleptic Gregorian calendar the whole project converts dates with.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mw {

inline constexpr std::int64_t microseconds_per_millisecond = 1'000;
inline constexpr std::int64_t microseconds_per_second = 1'000'000;

// Parses an RFC 3339 date-time (RFC 3339 section 5.6), e.g.
// "2024-05-01T12:00:00Z", "2024-05-01T14:00:00.25+02:00". Accepts 'T', 't'
// or ' ' between date and time (section 5.6 allows the space by agreement,
// and Python's str(datetime) writes it), 'Z' or 'z', fractional seconds of any
// length (truncated to microseconds, i.e. rounded towards the earlier
// instant), and offsets up to +-23:59 ("-00:00" is read as UTC). Rejects
// anything else: invalid dates (Feb 30, Feb 29 of a non-leap year), hour 24,
// minute or second 60 (Unix time cannot represent a leap second), a missing
// offset, trailing characters. Years 0000-9999, so pre-1970 instants are
// negative. Returns nothing on any error; never throws.
std::optional<std::int64_t> parse_rfc3339_us(std::string_view text);

// Appends "YYYY-MM-DDTHH:MM:SS.ffffffZ" in UTC, always six fractional digits,
// for any int64. Outside years 0000-9999, which RFC 3339 cannot express, the
// year is written with as many digits as it needs and a leading '-' when
// negative. The one RFC 3339 formatter of the project: it writes into `out`
// without allocating beyond the append, because the ingest path (the COPY
// rows, store/copy_encoding.h) formats two timestamps per record.
void append_rfc3339_us(std::int64_t us_since_epoch, std::string& out);

// The same as a new string.
std::string format_rfc3339_us(std::int64_t us_since_epoch);

// Days since 1970-01-01 of a proleptic Gregorian date, and back: Howard
// Hinnant, "chrono-Compatible Low-Level Date Algorithms", days_from_civil and
// civil_from_days (http://howardhinnant.github.io/date_algorithms.html).
// Written out rather than taken from <chrono> because std::chrono::year stops
// at +-32767, short of the range of int64 microseconds. Years are
// astronomical: 0 is 1 BC.
struct CivilDate {
    std::int64_t year;
    unsigned month;  // 1-12
    unsigned day;    // 1-31
};
std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day);
CivilDate civil_from_days(std::int64_t days);
// 0 = Sunday ... 6 = Saturday (weekday_from_days in the same paper).
unsigned weekday_from_days(std::int64_t days);

// The start of the width_us-long interval holding t_us (floor, also before
// 1970): windows and rate grids are aligned to the epoch with it.
std::int64_t floor_to(std::int64_t t_us, std::int64_t width_us);

// The wall clock (std::chrono::system_clock) in microseconds since the epoch.
std::int64_t now_us();

}  // namespace mw
