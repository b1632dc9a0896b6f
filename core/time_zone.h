// A time zone read from the system tz database (/usr/share/zoneinfo, TZif
// files as specified by RFC 8536): UTC offsets at any instant, from the
// file's transitions and, after the last one, its POSIX TZ footer rule.
//
// Why not <chrono>: g++ 12's libstdc++ has no std::chrono::locate_zone (it
// arrived in GCC 14), and localtime_r/mktime with setenv("TZ") changes
// process-wide state, which is unsafe in a multi-threaded daemon.
// Why not Debian's libhowardhinnant-date-dev (date/tz.h, libdate-tz3): it
// would replace only the TZif reading below (the civil-date arithmetic in
// core/time.h must stay, for years beyond +-32767), at the price of a
// run-time shared library in the package, a process-wide tz database
// singleton, and no way to load a zone from bytes, which keeps the DST tests
// independent of the machine's tzdata.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mw {

// The POSIX TZ rule of a TZif footer, e.g. "CET-1CEST,M3.5.0,M10.5.0/3".
// Only the Mm.w.d form of start and end dates is supported (every zone of
// the current tz database uses it); a zone without DST has no dates.
struct PosixTzRule {
    std::int32_t std_offset_seconds = 0;  // east of UTC
    std::optional<std::int32_t> dst_offset_seconds;
    struct Date {
        int month = 0, week = 0, weekday = 0;  // Mm.w.d
        std::int32_t time_seconds = 7200;      // local time of the change, default 02:00
    };
    Date dst_start, dst_end;
};

struct TimeZoneLoad;

class TimeZone {
public:
    // "UTC", or a tz database name such as "Europe/Paris" read from `directory`.
    static TimeZoneLoad load(std::string_view name, const std::string& directory = "/usr/share/zoneinfo");
    // A zone from the bytes of a TZif file (for tests and embedded data).
    static TimeZoneLoad from_tzif(std::string_view name, std::string_view bytes);
    static TimeZone utc();

    const std::string& name() const { return name_; }
    // Seconds east of UTC in effect at the UTC instant (seconds since the epoch).
    std::int32_t offset_at(std::int64_t utc_seconds) const;

private:
    std::string name_;
    std::vector<std::int64_t> transitions_;     // UTC instants, ascending
    std::vector<std::int32_t> offset_after_;    // offset from each transition on
    std::int32_t offset_before_first_ = 0;
    std::optional<PosixTzRule> footer_;
};

struct TimeZoneLoad {
    std::optional<TimeZone> zone;  // set on success
    std::string error;
};

// Parses a POSIX TZ string of a TZif footer; empty on a form it does not support.
std::optional<PosixTzRule> parse_posix_tz(std::string_view text);

}  // namespace mw
