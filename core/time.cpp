#include "core/time.h"

#include <chrono>

#include <fmt/format.h>

namespace mw {
namespace {

constexpr std::int64_t us_per_second = 1'000'000;
constexpr std::int64_t us_per_day = 86'400 * us_per_second;

bool is_leap_year(std::int64_t year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int days_in_month(std::int64_t year, int month) {
    static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && is_leap_year(year) ? 29 : days[month - 1];
}

// Days since 1970-01-01 of a proleptic Gregorian date: Howard Hinnant,
// "chrono-Compatible Low-Level Date Algorithms", days_from_civil
// (http://howardhinnant.github.io/date_algorithms.html#days_from_civil).
// Written out rather than taken from <chrono> because std::chrono::year stops
// at +-32767, short of the range of int64 microseconds.
std::int64_t days_from_civil(std::int64_t year, int month, int day) {
    year -= month <= 2 ? 1 : 0;
    const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
    const std::int64_t year_of_era = year - era * 400;                                   // [0, 399]
    const std::int64_t day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;  // [0, 365]
    const std::int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;
}

struct CivilDate {
    std::int64_t year;
    int month;
    int day;
};

// The inverse, civil_from_days, from the same paper.
CivilDate civil_from_days(std::int64_t days) {
    days += 719468;
    const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    const std::int64_t day_of_era = days - era * 146097;                                            // [0, 146096]
    const std::int64_t year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;  // [0, 399]
    const std::int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);  // [0, 365]
    const std::int64_t month_index = (5 * day_of_year + 2) / 153;                                    // [0, 11], March first
    const int day = static_cast<int>(day_of_year - (153 * month_index + 2) / 5 + 1);
    const int month = static_cast<int>(month_index < 10 ? month_index + 3 : month_index - 9);
    return {year_of_era + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

// Reads exactly `count` ASCII digits at `pos`, advancing it; -1 if any is not a digit.
int read_digits(std::string_view text, std::size_t& pos, std::size_t count) {
    if (text.size() - pos < count) return -1;
    int value = 0;
    for (std::size_t i = 0; i < count; ++i) {
        const char c = text[pos + i];
        if (c < '0' || c > '9') return -1;
        value = value * 10 + (c - '0');
    }
    pos += count;
    return value;
}

bool read_char(std::string_view text, std::size_t& pos, char expected) {
    if (pos >= text.size() || text[pos] != expected) return false;
    ++pos;
    return true;
}

}  // namespace

std::optional<std::int64_t> parse_rfc3339_us(std::string_view text) {
    std::size_t pos = 0;
    const int year = read_digits(text, pos, 4);
    if (year < 0 || !read_char(text, pos, '-')) return std::nullopt;
    const int month = read_digits(text, pos, 2);
    if (month < 1 || month > 12 || !read_char(text, pos, '-')) return std::nullopt;
    const int day = read_digits(text, pos, 2);
    if (day < 1 || day > days_in_month(year, month)) return std::nullopt;
    if (pos >= text.size() || (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ')) return std::nullopt;
    ++pos;
    const int hour = read_digits(text, pos, 2);
    if (hour < 0 || hour > 23 || !read_char(text, pos, ':')) return std::nullopt;
    const int minute = read_digits(text, pos, 2);
    if (minute < 0 || minute > 59 || !read_char(text, pos, ':')) return std::nullopt;
    const int second = read_digits(text, pos, 2);
    if (second < 0 || second > 59) return std::nullopt;

    std::int64_t fraction_us = 0;
    if (pos < text.size() && text[pos] == '.') {
        ++pos;
        std::size_t digits = 0;
        for (; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos, ++digits)
            if (digits < 6) fraction_us = fraction_us * 10 + (text[pos] - '0');
        if (digits == 0) return std::nullopt;
        for (; digits < 6; ++digits) fraction_us *= 10;
    }

    std::int64_t offset_seconds = 0;
    if (pos >= text.size()) return std::nullopt;
    if (text[pos] == 'Z' || text[pos] == 'z') {
        ++pos;
    } else if (text[pos] == '+' || text[pos] == '-') {
        const int sign = text[pos] == '+' ? 1 : -1;
        ++pos;
        const int offset_hour = read_digits(text, pos, 2);
        if (offset_hour < 0 || offset_hour > 23 || !read_char(text, pos, ':')) return std::nullopt;
        const int offset_minute = read_digits(text, pos, 2);
        if (offset_minute < 0 || offset_minute > 59) return std::nullopt;
        offset_seconds = sign * (offset_hour * 3600 + offset_minute * 60);
    } else {
        return std::nullopt;
    }
    if (pos != text.size()) return std::nullopt;

    // A local time with offset +hh:mm is that much ahead of UTC (RFC 3339 section 4.2).
    const std::int64_t seconds =
        days_from_civil(year, month, day) * 86'400 + hour * 3600 + minute * 60 + second - offset_seconds;
    return seconds * us_per_second + fraction_us;
}

std::string format_rfc3339_us(std::int64_t us_since_epoch) {
    // Floor division written so that it cannot overflow at INT64_MIN.
    std::int64_t days = us_since_epoch / us_per_day;
    std::int64_t us_of_day = us_since_epoch % us_per_day;
    if (us_of_day < 0) {
        us_of_day += us_per_day;
        days -= 1;
    }
    const CivilDate date = civil_from_days(days);
    const std::int64_t second_of_day = us_of_day / us_per_second;
    return fmt::format("{}{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", date.year < 0 ? "-" : "",
                       date.year < 0 ? -date.year : date.year, date.month, date.day, second_of_day / 3600,
                       second_of_day / 60 % 60, second_of_day % 60, us_of_day % us_per_second);
}

std::int64_t floor_to(std::int64_t t_us, std::int64_t width_us) {
    return t_us - ((t_us % width_us) + width_us) % width_us;
}

std::int64_t now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace mw
