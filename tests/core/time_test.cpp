#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "core/time.h"

namespace {

constexpr std::int64_t us = 1'000'000;

}  // namespace

// Expected values are Unix seconds from GNU date, e.g. `date -u -d 2024-02-29T12:34:56Z +%s`.
TEST_CASE("parse_rfc3339_us reads UTC instants as GNU date does") {
    struct Case {
        const char* text;
        std::int64_t seconds;
    };
    const Case cases[] = {
        {"1970-01-01T00:00:00Z", 0},
        {"2024-02-29T12:34:56Z", 1709210096},
        {"2000-03-01T00:00:00Z", 951868800},
        {"1969-12-31T23:59:59Z", -1},
        {"2262-04-11T23:47:16Z", 9223372036},
        {"9999-12-31T23:59:59Z", 253402300799},
        {"1900-01-01T00:00:00Z", -2208988800},
        {"0000-01-01T00:00:00Z", -62167219200},
        {"2038-01-19T03:14:08Z", 2147483648},
    };
    for (const auto& c : cases) {
        INFO(c.text);
        CHECK(mw::parse_rfc3339_us(c.text) == std::optional<std::int64_t>(c.seconds * us));
    }
}

TEST_CASE("parse_rfc3339_us applies offsets towards UTC") {
    // date -u -d 2024-05-01T14:00:00+02:00 +%s == 1714564800
    CHECK(mw::parse_rfc3339_us("2024-05-01T14:00:00+02:00") == 1714564800 * us);
    CHECK(mw::parse_rfc3339_us("2024-05-01T12:00:00Z") == 1714564800 * us);
    // date -u -d 2024-05-01T00:00:00-05:30 +%s == 1714541400
    CHECK(mw::parse_rfc3339_us("2024-05-01T00:00:00-05:30") == 1714541400 * us);
    CHECK(mw::parse_rfc3339_us("2024-05-01T12:00:00-00:00") == 1714564800 * us);
    CHECK(mw::parse_rfc3339_us("2024-05-01T12:00:00+00:00") == 1714564800 * us);
    // An offset can move the instant across a day and a year boundary.
    CHECK(mw::parse_rfc3339_us("1970-01-01T00:30:00+01:00") == -1800 * us);
}

TEST_CASE("parse_rfc3339_us keeps fractional seconds to the microsecond") {
    CHECK(mw::parse_rfc3339_us("1970-01-01T00:00:00.5Z") == 500000);
    CHECK(mw::parse_rfc3339_us("1970-01-01T00:00:00.000001Z") == 1);
    CHECK(mw::parse_rfc3339_us("1970-01-01T00:00:01.123456Z") == 1123456);
    // Digits past the microsecond are dropped, not rounded up.
    CHECK(mw::parse_rfc3339_us("1970-01-01T00:00:01.1234569Z") == 1123456);
    CHECK(mw::parse_rfc3339_us("1970-01-01T00:00:01.123456999999999999Z") == 1123456);
    CHECK(mw::parse_rfc3339_us("1969-12-31T23:59:59.75Z") == -250000);
    CHECK(mw::parse_rfc3339_us("2024-05-01T14:00:00.25+02:00") == 1714564800 * us + 250000);
}

TEST_CASE("parse_rfc3339_us accepts the separators RFC 3339 allows") {
    const auto expected = std::optional<std::int64_t>(1714564800 * us);
    CHECK(mw::parse_rfc3339_us("2024-05-01t12:00:00z") == expected);
    CHECK(mw::parse_rfc3339_us("2024-05-01 12:00:00Z") == expected);
    CHECK(mw::parse_rfc3339_us("2024-05-01 12:00:00+00:00") == expected);
}

TEST_CASE("parse_rfc3339_us rejects invalid dates, times and syntax") {
    const char* invalid[] = {
        "",
        "2024-02-30T00:00:00Z",       // no Feb 30
        "2023-02-29T00:00:00Z",       // 2023 is not a leap year
        "1900-02-29T00:00:00Z",       // century, not divisible by 400
        "2024-04-31T00:00:00Z",       // April has 30 days
        "2024-13-01T00:00:00Z",       // month 13
        "2024-00-01T00:00:00Z",       // month 0
        "2024-01-00T00:00:00Z",       // day 0
        "2024-01-01T24:00:00Z",       // hour 24
        "2024-01-01T23:60:00Z",       // minute 60
        "2024-12-31T23:59:60Z",       // leap second
        "2024-01-01T00:00:00",        // no offset
        "2024-01-01",                 // date only
        "2024-01-01T00:00Z",          // no seconds
        "2024-01-01T00:00:00.Z",      // empty fraction
        "2024-01-01T00:00:00+0200",   // offset without colon
        "2024-01-01T00:00:00+24:00",  // offset hour 24
        "2024-01-01T00:00:00+02:60",  // offset minute 60
        "2024-01-01T00:00:00Zjunk",   // trailing characters
        "2024-01-01T00:00:00Z ",      // trailing space
        " 2024-01-01T00:00:00Z",      // leading space
        "2024-1-01T00:00:00Z",        // one-digit month
        "24-01-01T00:00:00Z",         // two-digit year
        "2024-01-01X00:00:00Z",       // bad separator
        "2024/01/01T00:00:00Z",
        "+2024-01-01T00:00:00Z",
        "2024-01-01T00:00:00.12a4Z",
        "1714564800",
    };
    for (const char* text : invalid) {
        INFO('"' << text << '"');
        CHECK_FALSE(mw::parse_rfc3339_us(text).has_value());
    }
    CHECK_FALSE(mw::parse_rfc3339_us(std::string("2024-01-01T00:00:00\0Z", 21)).has_value());
}

TEST_CASE("parse_rfc3339_us reads every prefix of a valid timestamp as invalid") {
    const std::string full = "2024-05-01T14:00:00.25+02:00";
    for (std::size_t n = 0; n < full.size(); ++n) {
        INFO(full.substr(0, n));
        CHECK_FALSE(mw::parse_rfc3339_us(full.substr(0, n)).has_value());
    }
    CHECK(mw::parse_rfc3339_us(full).has_value());
}

TEST_CASE("format_rfc3339_us writes UTC with six fractional digits") {
    CHECK(mw::format_rfc3339_us(0) == "1970-01-01T00:00:00.000000Z");
    CHECK(mw::format_rfc3339_us(1709210096 * us + 7) == "2024-02-29T12:34:56.000007Z");
    CHECK(mw::format_rfc3339_us(-1) == "1969-12-31T23:59:59.999999Z");
    CHECK(mw::format_rfc3339_us(-2208988800 * us) == "1900-01-01T00:00:00.000000Z");
    CHECK(mw::format_rfc3339_us(-62167219200 * us) == "0000-01-01T00:00:00.000000Z");
    CHECK(mw::format_rfc3339_us(253402300799 * us + 999999) == "9999-12-31T23:59:59.999999Z");
    // The int64 microsecond extremes (date -u -d @9223372036854 gives 294247-01-10T04:00:54).
    CHECK(mw::format_rfc3339_us(std::numeric_limits<std::int64_t>::max()) == "294247-01-10T04:00:54.775807Z");
    CHECK(mw::format_rfc3339_us(std::numeric_limits<std::int64_t>::min()) == "-290308-12-21T19:59:05.224192Z");
}

TEST_CASE("format and parse round-trip across leap days and centuries") {
    // Every day from 1899-12-25 to 2401-01-05 plus an odd time of day: exercises
    // every month length, leap years and the 100/400-year rules.
    const std::int64_t first_day = -25574;  // date -u -d 1899-12-25 +%s, in days
    const std::int64_t last_day = 157424;   // date -u -d 2401-01-05 +%s, in days
    for (std::int64_t day = first_day; day <= last_day; ++day) {
        const std::int64_t t = day * 86400 * us + 45296 * us + 789;  // 12:34:56.000789
        const std::string text = mw::format_rfc3339_us(t);
        const auto back = mw::parse_rfc3339_us(text);
        if (!back || *back != t) FAIL("round trip failed for " << text);
    }
}

TEST_CASE("now_us reads the wall clock") {
    // 2020-01-01T00:00:00Z: any machine running these tests is past it, and a
    // clock in seconds or nanoseconds instead of microseconds would be far off.
    const std::int64_t t = mw::now_us();
    CHECK(t > 1577836800 * us);
    CHECK(t < 4102444800 * us);  // 2100-01-01
}

TEST_CASE("floor_to aligns to the epoch, before 1970 too") {
    CHECK(mw::floor_to(1999, 1000) == 1000);
    CHECK(mw::floor_to(2000, 1000) == 2000);
    CHECK(mw::floor_to(0, 1000) == 0);
    CHECK(mw::floor_to(-1, 1000) == -1000);
    CHECK(mw::floor_to(-1000, 1000) == -1000);
    CHECK(mw::floor_to(-1001, 1000) == -2000);
}

TEST_CASE("civil date arithmetic, before 1970 and around year 0 too") {
    CHECK(mw::days_from_civil(1970, 1, 1) == 0);
    CHECK(mw::days_from_civil(2000, 3, 1) == 11017);
    CHECK(mw::weekday_from_days(0) == 4);                           // Thursday
    CHECK(mw::weekday_from_days(mw::days_from_civil(2026, 11, 25)) == 3);  // a Wednesday
    const mw::CivilDate d = mw::civil_from_days(mw::days_from_civil(2040, 2, 29));
    CHECK(d.year == 2040);
    CHECK(d.month == 2);
    CHECK(d.day == 29);
    CHECK(mw::days_from_civil(1969, 12, 31) == -1);
    CHECK(mw::weekday_from_days(-1) == 3);  // 1969-12-31, a Wednesday
    CHECK(mw::weekday_from_days(-5) == 6);  // 1969-12-27, a Saturday
    // date -u -d 0001-01-01 +%s = -62135596800; year 0 (1 BC) is a leap year.
    CHECK(mw::days_from_civil(1, 1, 1) * 86400 == -62135596800);
    const mw::CivilDate leap_day = mw::civil_from_days(mw::days_from_civil(1, 1, 1) - 307);
    CHECK(leap_day.year == 0);
    CHECK(leap_day.month == 2);
    CHECK(leap_day.day == 29);
}

