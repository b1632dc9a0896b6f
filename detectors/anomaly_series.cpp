#include "detectors/anomaly_series.h"

#include <charconv>
#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include "core/csv.h"

namespace mw::anomaly {

namespace {

// Reads exactly `digits` decimal digits at `pos`, advancing it.
std::optional<int> read_digits(std::string_view text, std::size_t& pos, std::size_t digits) {
    if (pos + digits > text.size()) return std::nullopt;
    int value = 0;
    for (std::size_t i = 0; i < digits; ++i) {
        const char c = text[pos + i];
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + (c - '0');
    }
    pos += digits;
    return value;
}

bool read_char(std::string_view text, std::size_t& pos, char expected) {
    if (pos >= text.size() || text[pos] != expected) return false;
    ++pos;
    return true;
}

std::optional<double> parse_epoch_seconds(std::string_view text) {
    double value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) return std::nullopt;
    return value;
}

std::optional<double> parse_calendar(std::string_view text) {
    std::size_t pos = 0;
    const auto year = read_digits(text, pos, 4);
    if (!year || !read_char(text, pos, '-')) return std::nullopt;
    const auto month = read_digits(text, pos, 2);
    if (!month || !read_char(text, pos, '-')) return std::nullopt;
    const auto day = read_digits(text, pos, 2);
    if (!day) return std::nullopt;
    if (!read_char(text, pos, ' ') && !read_char(text, pos, 'T') && !read_char(text, pos, 't')) return std::nullopt;
    const auto hour = read_digits(text, pos, 2);
    if (!hour || !read_char(text, pos, ':')) return std::nullopt;
    const auto minute = read_digits(text, pos, 2);
    if (!minute || !read_char(text, pos, ':')) return std::nullopt;
    const auto second = read_digits(text, pos, 2);
    if (!second) return std::nullopt;
    // Leap second 60 is accepted by RFC 3339; it is folded into the next minute.
    if (*hour > 23 || *minute > 59 || *second > 60) return std::nullopt;

    double fraction = 0;
    if (read_char(text, pos, '.')) {
        double scale = 0.1;
        const std::size_t first = pos;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            fraction += (text[pos] - '0') * scale;
            scale /= 10;
            ++pos;
        }
        if (pos == first) return std::nullopt;
    }

    int offset_s = 0;  // no zone (NAB) means UTC
    if (pos < text.size()) {
        const char zone = text[pos++];
        if (zone == '+' || zone == '-') {
            const auto offset_hours = read_digits(text, pos, 2);
            if (!offset_hours || !read_char(text, pos, ':')) return std::nullopt;
            const auto offset_minutes = read_digits(text, pos, 2);
            if (!offset_minutes || *offset_hours > 23 || *offset_minutes > 59) return std::nullopt;
            offset_s = (zone == '+' ? 1 : -1) * (*offset_hours * 3600 + *offset_minutes * 60);
        } else if (zone != 'Z' && zone != 'z') {
            return std::nullopt;
        }
    }
    if (pos != text.size()) return std::nullopt;

    const std::chrono::year_month_day date{std::chrono::year{*year}, std::chrono::month{static_cast<unsigned>(*month)},
                                           std::chrono::day{static_cast<unsigned>(*day)}};
    if (!date.ok()) return std::nullopt;
    const auto days = std::chrono::sys_days(date).time_since_epoch().count();
    return static_cast<double>(days) * 86400.0 + *hour * 3600.0 + *minute * 60.0 + *second + fraction - offset_s;
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

// A record as it would be written unquoted, to echo it in a message.
std::string joined(const std::vector<std::string>& fields) {
    std::string text;
    for (std::size_t i = 0; i < fields.size(); ++i) {
        if (i > 0) text += ',';
        text += fields[i];
    }
    return text;
}

}  // namespace

std::optional<double> parse_timestamp(std::string_view text) {
    if (text.size() >= 10 && text[4] == '-') return parse_calendar(text);
    return parse_epoch_seconds(text);
}

SeriesReadResult read_series(std::istream& in, std::string_view source_name) {
    SeriesReadResult result;
    csv::Options options;
    options.allow_ragged = true;  // columns after the first two are ignored
    csv::Reader reader(in, options);
    const auto fail = [&](std::uint64_t line, const std::string& message) {
        SeriesReadResult failed;
        failed.error = fmt::format("{} line {}: {}", source_name, line, message);
        return failed;
    };
    const csv::Status header_status = reader.read_header();
    if (header_status == csv::Status::end) {
        result.error = fmt::format("{}: empty input, expected the header 'timestamp,value'", source_name);
        return result;
    }
    if (header_status == csv::Status::error) return fail(reader.error().line, reader.error().message);
    const std::vector<std::string>& header = reader.header();
    if (header.size() < 2 || trim(header[0]) != "timestamp" || trim(header[1]) != "value")
        return fail(reader.header_line(),
                    fmt::format("expected the header 'timestamp,value', got '{}'", joined(header)));
    csv::Record record;
    csv::Status status;
    while ((status = reader.next(record)) == csv::Status::record) {
        const std::uint64_t line = record.line();
        if (record.size() < 2)
            return fail(line, fmt::format("expected 'timestamp,value', got '{}' ({} field)",
                                          joined(record.to_strings()), record.size()));
        const std::string_view first = trim(record[0]);
        const std::string_view second = trim(record[1]);
        const std::optional<double> timestamp_s = parse_timestamp(first);
        if (!timestamp_s)
            return fail(line, fmt::format("timestamp '{}' is not 'YYYY-MM-DD HH:MM:SS', RFC 3339 or epoch seconds",
                                          first));
        double value = 0;
        const auto [end, error] = std::from_chars(second.data(), second.data() + second.size(), value);
        if (second.empty() || error != std::errc() || end != second.data() + second.size() || !std::isfinite(value))
            return fail(line, fmt::format("value '{}' is not a finite number", second));
        if (!result.points.empty() && *timestamp_s < result.points.back().timestamp_s) {
            if (result.out_of_order_lines++ == 0) result.first_out_of_order_line = static_cast<std::size_t>(line);
        }
        result.points.push_back({std::string(first), *timestamp_s, value});
    }
    if (status == csv::Status::error) return fail(reader.error().line, reader.error().message);
    return result;
}

}  // namespace mw::anomaly
