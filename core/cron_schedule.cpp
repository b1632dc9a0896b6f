#include "core/cron_schedule.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <vector>

#include <fmt/format.h>

#include "core/time.h"

namespace mw {

namespace {

struct FieldSpec {
    const char* name;
    int low;
    int high;
    const char* const* names;  // names for low..low+count-1, or null
    int name_count;
};

constexpr const char* month_names[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                       "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr const char* weekday_names[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

constexpr std::array<FieldSpec, 5> fields = {{
    {"minute", 0, 59, nullptr, 0},
    {"hour", 0, 23, nullptr, 0},
    {"day of month", 1, 31, nullptr, 0},
    {"month", 1, 12, month_names, 12},
    {"day of week", 0, 7, weekday_names, 7},
}};

bool parse_value(std::string_view text, const FieldSpec& spec, int& value) {
    if (spec.names && text.size() == 3) {
        std::string upper(text);
        for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        for (int k = 0; k < spec.name_count; ++k)
            if (upper == spec.names[k]) {
                value = spec.low + k;
                return true;
            }
    }
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

// Sets the bits of one field; returns an error message or empty.
std::string parse_field(std::string_view text, std::size_t index, std::vector<bool>& bits, bool& restricted) {
    const FieldSpec& spec = fields[index];
    const std::string where = fmt::format("field {} ({})", index + 1, spec.name);
    restricted = text != "*";
    bits.assign(static_cast<std::size_t>(spec.high + 1), false);
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t comma = text.find(',', start);
        if (comma == std::string_view::npos) comma = text.size();
        const std::string_view item = text.substr(start, comma - start);
        if (item.empty()) return where + ": empty list item";
        std::string_view range = item;
        int step = 1;
        if (const std::size_t slash = item.find('/'); slash != std::string_view::npos) {
            range = item.substr(0, slash);
            const std::string_view step_text = item.substr(slash + 1);
            const auto [end, ec] = std::from_chars(step_text.data(), step_text.data() + step_text.size(), step);
            if (ec != std::errc() || end != step_text.data() + step_text.size() || step < 1 || step_text.empty())
                return fmt::format("{}: step '{}' is not a positive number", where, step_text);
        }
        int low = spec.low, high = spec.high;
        if (range != "*") {
            const std::size_t dash = range.find('-');
            if (!parse_value(range.substr(0, dash), spec, low))
                return fmt::format("{}: '{}' is not a number or name", where, range.substr(0, dash));
            if (dash != std::string_view::npos) {
                if (!parse_value(range.substr(dash + 1), spec, high))
                    return fmt::format("{}: '{}' is not a number or name", where, range.substr(dash + 1));
            } else {
                high = item.find('/') != std::string_view::npos ? spec.high : low;  // "a/n" means a to the end
            }
            if (low < spec.low || low > spec.high)
                return fmt::format("{}: {} is outside {}-{}", where, low, spec.low, spec.high);
            if (high < spec.low || high > spec.high)
                return fmt::format("{}: {} is outside {}-{}", where, high, spec.low, spec.high);
            if (low > high) return fmt::format("{}: range {}-{} runs backwards", where, low, high);
        }
        for (int v = low; v <= high; v += step) bits[static_cast<std::size_t>(v)] = true;
        start = comma + 1;
    }
    return "";
}

}  // namespace

bool CronSchedule::matches_day(std::int64_t days) const {
    const CivilDate date = civil_from_days(days);
    if (!months[date.month]) return false;
    const bool dom = days_of_month[date.day];
    const bool dow = days_of_week[weekday_from_days(days)];
    if (day_of_month_restricted && day_of_week_restricted) return dom || dow;
    return dom && dow;
}

CronParse parse_cron(std::string_view expression) {
    CronParse parse;
    parse.schedule.expression = std::string(expression);
    std::vector<std::string_view> parts;
    std::size_t i = 0;
    while (i < expression.size()) {
        while (i < expression.size() && (expression[i] == ' ' || expression[i] == '\t')) ++i;
        const std::size_t start = i;
        while (i < expression.size() && expression[i] != ' ' && expression[i] != '\t') ++i;
        if (i > start) parts.push_back(expression.substr(start, i - start));
    }
    if (parts.size() != 5) {
        parse.error = fmt::format("expected 5 fields (minute hour day-of-month month day-of-week), got {}", parts.size());
        return parse;
    }
    CronSchedule& s = parse.schedule;
    std::vector<bool> bits;
    bool restricted = false;
    for (std::size_t f = 0; f < 5; ++f) {
        parse.error = parse_field(parts[f], f, bits, restricted);
        if (!parse.error.empty()) return parse;
        for (std::size_t v = 0; v < bits.size(); ++v) {
            if (!bits[v]) continue;
            switch (f) {
                case 0: s.minutes.set(v); break;
                case 1: s.hours.set(v); break;
                case 2: s.days_of_month.set(v); break;
                case 3: s.months.set(v); break;
                case 4: s.days_of_week.set(v % 7); break;  // 7 is Sunday too
            }
        }
        if (f == 2) s.day_of_month_restricted = restricted;
        if (f == 4) s.day_of_week_restricted = restricted;
    }
    return parse;
}

namespace {

// The fire instant of a local wall-clock time: its first occurrence, or for
// a time inside a spring-forward gap the instant the gap ends.
std::int64_t instant_of_local(const TimeZone& zone, std::int64_t local) {
    const std::int32_t before = zone.offset_at(local - 86400);
    const std::int32_t after = zone.offset_at(local + 86400);
    std::optional<std::int64_t> best;
    for (std::int32_t offset : {before, after, zone.offset_at(local)}) {
        const std::int64_t candidate = local - offset;
        if (zone.offset_at(candidate) == offset && (!best || candidate < *best)) best = candidate;
    }
    if (best) return *best;
    // In a gap: local - after < transition <= local - before. The first instant
    // at the later offset is the transition; find it by bisection.
    std::int64_t low = local - std::max(before, after), high = local - std::min(before, after);
    const std::int32_t later = zone.offset_at(high);
    while (low + 1 < high) {
        const std::int64_t mid = low + (high - low) / 2;
        if (zone.offset_at(mid) == later) high = mid; else low = mid;
    }
    return high;
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

std::optional<std::int64_t> next_fire_after(const CronSchedule& s, const TimeZone& zone, std::int64_t after) {
    // Fire instants are non-decreasing in local time, so scan local times in
    // order from a little before `after` (an overlap can put earlier local
    // times after it) and return the first whose instant is later.
    const std::int64_t local_start = after + zone.offset_at(after) - 3 * 3600;
    const std::int64_t first_day = floor_div(local_start, 86400);
    constexpr std::int64_t horizon_days = 366 * 30;
    for (std::int64_t day = first_day; day < first_day + horizon_days; ++day) {
        if (!s.matches_day(day)) continue;
        for (std::size_t h = 0; h < 24; ++h) {
            if (!s.hours[h]) continue;
            for (std::size_t m = 0; m < 60; ++m) {
                if (!s.minutes[m]) continue;
                const std::int64_t local = day * 86400 + static_cast<std::int64_t>(h * 3600 + m * 60);
                if (local < local_start) continue;
                const std::int64_t instant = instant_of_local(zone, local);
                if (instant > after) return instant;
            }
        }
    }
    return std::nullopt;
}

ScheduleDecision decide_schedule(const CronSchedule& s, const TimeZone& zone, std::int64_t last_slot,
                                 std::int64_t now, bool already_running) {
    ScheduleDecision d;
    std::optional<std::int64_t> next = next_fire_after(s, zone, last_slot);
    if (!next) {
        d.reason = "never_fires";
        return d;
    }
    // Walk the due slots to the latest one at or before now; bounded so a
    // long outage of a minutely schedule costs at most a bounded walk.
    constexpr std::size_t max_walk = 1'000'000;
    std::int64_t latest = 0;
    while (next && *next <= now && d.due_slots < max_walk) {
        latest = *next;
        ++d.due_slots;
        next = next_fire_after(s, zone, *next);
    }
    while (next && *next <= now) next = next_fire_after(s, zone, now);  // only after max_walk slots
    d.wake_at_utc_seconds = next;
    if (d.due_slots == 0) {
        d.reason = "not_due";
    } else if (already_running) {
        d.reason = "already_running";
    } else {
        d.run_now = true;
        d.slot_utc_seconds = latest;
        d.reason = d.due_slots > 1 ? "caught_up" : "due";
    }
    return d;
}

}  // namespace mw
