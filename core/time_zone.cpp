#include "core/time_zone.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "core/time.h"

namespace mw {
namespace {

// POSIX TZ grammar (IEEE Std 1003.1, 8.3 "TZ"; RFC 8536 section 3.3 allows
// hours up to 167 and negative times for the footer).
class TzReader {
public:
    explicit TzReader(std::string_view text) : s_(text) {}
    bool done() const { return i_ == s_.size(); }
    bool peek(char c) const { return i_ < s_.size() && s_[i_] == c; }
    bool eat(char c) {
        if (!peek(c)) return false;
        ++i_;
        return true;
    }
    bool name() {
        if (eat('<')) {
            while (i_ < s_.size() && s_[i_] != '>') ++i_;
            return eat('>');
        }
        const std::size_t start = i_;
        while (i_ < s_.size() && std::isalpha(static_cast<unsigned char>(s_[i_]))) ++i_;
        return i_ - start >= 3;
    }
    bool number(int& value) {
        const std::size_t start = i_;
        value = 0;
        while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_])) && i_ - start < 4)
            value = value * 10 + (s_[i_++] - '0');
        return i_ > start;
    }
    // [+-]hh[:mm[:ss]] in seconds.
    bool time(std::int32_t& seconds) {
        const bool negative = eat('-');
        if (!negative) eat('+');
        int h = 0, m = 0, sec = 0;
        if (!number(h)) return false;
        if (eat(':') && !number(m)) return false;
        if (eat(':') && !number(sec)) return false;
        seconds = (h * 3600 + m * 60 + sec) * (negative ? -1 : 1);
        return true;
    }
    bool date(PosixTzRule::Date& d) {
        if (!eat('M')) return false;
        if (!number(d.month) || !eat('.') || !number(d.week) || !eat('.') || !number(d.weekday)) return false;
        if (d.month < 1 || d.month > 12 || d.week < 1 || d.week > 5 || d.weekday > 6) return false;
        if (eat('/') && !time(d.time_seconds)) return false;
        return true;
    }

private:
    std::string_view s_;
    std::size_t i_ = 0;
};

// Local seconds since the epoch of the rule date in `year` (before adding the time of day).
std::int64_t rule_day_seconds(const PosixTzRule::Date& d, std::int64_t year) {
    const std::int64_t first = days_from_civil(year, static_cast<unsigned>(d.month), 1);
    const unsigned first_weekday = weekday_from_days(first);
    std::int64_t day = first + (static_cast<unsigned>(d.weekday) + 7 - first_weekday) % 7 + 7 * (d.week - 1);
    const std::int64_t next_month = d.month == 12 ? days_from_civil(year + 1, 1, 1)
                                                  : days_from_civil(year, static_cast<unsigned>(d.month + 1), 1);
    while (day >= next_month) day -= 7;  // week 5 means the last such weekday
    return day * 86400;
}

std::int32_t footer_offset(const PosixTzRule& rule, std::int64_t utc) {
    if (!rule.dst_offset_seconds) return rule.std_offset_seconds;
    const std::int64_t local = utc + rule.std_offset_seconds;
    const std::int64_t year = civil_from_days(local >= 0 ? local / 86400 : -((-local + 86399) / 86400)).year;
    // Start is given in standard local time, end in daylight local time.
    const std::int64_t start = rule_day_seconds(rule.dst_start, year) + rule.dst_start.time_seconds - rule.std_offset_seconds;
    const std::int64_t end = rule_day_seconds(rule.dst_end, year) + rule.dst_end.time_seconds - *rule.dst_offset_seconds;
    const bool in_dst = start < end ? (utc >= start && utc < end) : !(utc >= end && utc < start);  // southern hemisphere
    return in_dst ? *rule.dst_offset_seconds : rule.std_offset_seconds;
}

std::int64_t read_be(std::string_view bytes, std::size_t at, int width) {
    std::uint64_t v = 0;
    for (int k = 0; k < width; ++k) v = (v << 8) | static_cast<unsigned char>(bytes[at + k]);
    if (width == 4) return static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
    return static_cast<std::int64_t>(v);
}

}  // namespace

std::optional<PosixTzRule> parse_posix_tz(std::string_view text) {
    TzReader r(text);
    PosixTzRule rule;
    std::int32_t posix_offset = 0;
    if (!r.name() || !r.time(posix_offset)) return std::nullopt;
    rule.std_offset_seconds = -posix_offset;  // POSIX offsets are west of UTC
    if (r.done()) return rule;
    if (!r.name()) return std::nullopt;
    rule.dst_offset_seconds = rule.std_offset_seconds + 3600;
    if (!r.peek(',')) {
        if (!r.time(posix_offset)) return std::nullopt;
        rule.dst_offset_seconds = -posix_offset;
    }
    if (!r.eat(',') || !r.date(rule.dst_start) || !r.eat(',') || !r.date(rule.dst_end) || !r.done()) return std::nullopt;
    return rule;
}

TimeZone TimeZone::utc() {
    TimeZone zone;
    zone.name_ = "UTC";
    return zone;
}

TimeZoneLoad TimeZone::from_tzif(std::string_view name, std::string_view bytes) {
    TimeZoneLoad load;
    auto fail = [&](const std::string& why) {
        load.error = "time zone '" + std::string(name) + "': " + why;
        return load;
    };
    // RFC 8536: a v1 header and body with 32-bit times, then (version 2+)
    // a second header and body with 64-bit times, then the footer.
    struct Header {
        std::int64_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
    };
    auto header_at = [&](std::size_t at, Header& h) {
        if (bytes.size() < at + 44 || bytes.substr(at, 4) != "TZif") return false;
        h = {read_be(bytes, at + 20, 4), read_be(bytes, at + 24, 4), read_be(bytes, at + 28, 4),
             read_be(bytes, at + 32, 4), read_be(bytes, at + 36, 4), read_be(bytes, at + 40, 4)};
        return h.typecnt > 0 && h.timecnt >= 0 && h.leapcnt >= 0 && h.charcnt >= 0 && h.isutcnt >= 0 && h.isstdcnt >= 0;
    };
    auto body_size = [](const Header& h, int time_size) {
        return static_cast<std::size_t>(h.timecnt * time_size + h.timecnt + h.typecnt * 6 + h.charcnt +
                                        h.leapcnt * (time_size + 4) + h.isstdcnt + h.isutcnt);
    };
    Header h{};
    if (!header_at(0, h)) return fail("not a TZif file");
    std::size_t at = 44;
    int time_size = 4;
    if (bytes[4] >= '2') {
        at += body_size(h, 4);
        if (!header_at(at, h)) return fail("bad version 2 header");
        at += 44;
        time_size = 8;
    }
    if (bytes.size() < at + body_size(h, time_size)) return fail("truncated");
    TimeZone zone;
    zone.name_ = std::string(name);
    std::vector<std::int32_t> type_offset(static_cast<std::size_t>(h.typecnt));
    const std::size_t types_at = at + static_cast<std::size_t>(h.timecnt * time_size + h.timecnt);
    for (std::size_t t = 0; t < type_offset.size(); ++t)
        type_offset[t] = static_cast<std::int32_t>(read_be(bytes, types_at + t * 6, 4));
    for (std::int64_t k = 0; k < h.timecnt; ++k) {
        zone.transitions_.push_back(read_be(bytes, at + static_cast<std::size_t>(k * time_size), time_size));
        const auto type = static_cast<unsigned char>(bytes[at + static_cast<std::size_t>(h.timecnt * time_size + k)]);
        if (type >= type_offset.size()) return fail("transition names a missing type");
        zone.offset_after_.push_back(type_offset[type]);
    }
    if (!std::is_sorted(zone.transitions_.begin(), zone.transitions_.end())) return fail("transitions out of order");
    zone.offset_before_first_ = type_offset[0];  // RFC 8536 3.2: type 0 applies before the first transition
    if (time_size == 8) {
        const std::size_t footer_at = at + body_size(h, 8);
        if (bytes.size() > footer_at + 1 && bytes[footer_at] == '\n') {
            const std::size_t end = bytes.find('\n', footer_at + 1);
            const std::string_view footer = bytes.substr(footer_at + 1, end == std::string_view::npos ? std::string_view::npos : end - footer_at - 1);
            if (!footer.empty()) {
                zone.footer_ = parse_posix_tz(footer);
                if (!zone.footer_) return fail("unsupported footer rule '" + std::string(footer) + "'");
            }
        }
    }
    load.zone = std::move(zone);
    return load;
}

TimeZoneLoad TimeZone::load(std::string_view name, const std::string& directory) {
    if (name == "UTC" || name == "Etc/UTC") return {utc(), ""};
    // A tz name is letters, digits and _ - + / only, and never climbs out of the directory.
    const bool safe = !name.empty() && name.front() != '/' && name.find("..") == std::string_view::npos &&
                      std::all_of(name.begin(), name.end(), [](char c) {
                          return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '+' || c == '/';
                      });
    if (!safe) return {std::nullopt, "time zone '" + std::string(name) + "': not a tz database name"};
    std::ifstream in(directory + "/" + std::string(name), std::ios::binary);
    if (!in) return {std::nullopt, "time zone '" + std::string(name) + "': not found in " + directory};
    std::ostringstream buffer;
    buffer << in.rdbuf();
    return from_tzif(name, buffer.str());
}

std::int32_t TimeZone::offset_at(std::int64_t utc_seconds) const {
    if (transitions_.empty()) return footer_ ? footer_offset(*footer_, utc_seconds) : offset_before_first_;
    if (utc_seconds < transitions_.front()) return offset_before_first_;
    if (utc_seconds >= transitions_.back() && footer_) return footer_offset(*footer_, utc_seconds);
    const auto it = std::upper_bound(transitions_.begin(), transitions_.end(), utc_seconds);
    return offset_after_[static_cast<std::size_t>(it - transitions_.begin()) - 1];
}

}  // namespace mw
