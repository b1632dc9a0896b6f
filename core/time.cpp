#include "core/time.h"

#include <charconv>
#include <chrono>

namespace mw {
namespace {

constexpr std::int64_t us_per_second = 1'000'000;
constexpr std::int64_t us_per_day = 86'400 * us_per_second;

bool is_leap_year(std::int64_t year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int days_in_month(std::int64_t year, int month) {
    static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && is_leap_year(year) ? 29 : days[month - 1];
}

// Writes `value` as exactly `width` decimal digits at `at`.
void write_digits(std::int64_t value, int width, char* at) {
    for (int i = width - 1; i >= 0; --i) {
        at[i] = static_cast<char>('0' + value % 10);
        value /= 10;
    }
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
        days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86'400 + hour * 3600 + minute * 60 + second - offset_seconds;
    return seconds * us_per_second + fraction_us;
}

void append_rfc3339_us(std::int64_t us_since_epoch, std::string& out) {
    // Floor division written so that it cannot overflow at INT64_MIN.
    std::int64_t days = us_since_epoch / us_per_day;
    std::int64_t us_of_day = us_since_epoch % us_per_day;
    if (us_of_day < 0) {
        us_of_day += us_per_day;
        days -= 1;
    }
    const CivilDate date = civil_from_days(days);
    const std::int64_t second_of_day = us_of_day / us_per_second;

    // At most six digits: int64 microseconds reach about year 292278.
    if (date.year < 0) out.push_back('-');
    char year[24];
    const auto year_end = std::to_chars(year, year + sizeof year, date.year < 0 ? -date.year : date.year).ptr;
    for (auto digits = year_end - year; digits < 4; ++digits) out.push_back('0');
    out.append(year, year_end);

    char text[] = "-00-00T00:00:00.000000Z";
    write_digits(date.month, 2, text + 1);
    write_digits(date.day, 2, text + 4);
    write_digits(second_of_day / 3600, 2, text + 7);
    write_digits(second_of_day / 60 % 60, 2, text + 10);
    write_digits(second_of_day % 60, 2, text + 13);
    write_digits(us_of_day % us_per_second, 6, text + 16);
    out.append(text, sizeof text - 1);
}

std::string format_rfc3339_us(std::int64_t us_since_epoch) {
    std::string text;
    text.reserve(27);
    append_rfc3339_us(us_since_epoch, text);
    return text;
}

std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) {
    year -= month <= 2 ? 1 : 0;
    const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
    const std::int64_t year_of_era = year - era * 400;                                            // [0, 399]
    const std::int64_t day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;  // [0, 365]
    const std::int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;
}

CivilDate civil_from_days(std::int64_t days) {
    days += 719468;
    const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    const std::int64_t day_of_era = days - era * 146097;                                            // [0, 146096]
    const std::int64_t year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;  // [0, 399]
    const std::int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);  // [0, 365]
    const std::int64_t month_index = (5 * day_of_year + 2) / 153;                                    // [0, 11], March first
    const auto day = static_cast<unsigned>(day_of_year - (153 * month_index + 2) / 5 + 1);
    const auto month = static_cast<unsigned>(month_index < 10 ? month_index + 3 : month_index - 9);
    return {year_of_era + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

unsigned weekday_from_days(std::int64_t days) {
    return static_cast<unsigned>(days >= -4 ? (days + 4) % 7 : (days + 5) % 7 + 6);
}

std::int64_t floor_to(std::int64_t t_us, std::int64_t width_us) {
    return t_us - ((t_us % width_us) + width_us) % width_us;
}

std::int64_t now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace mw
