// The cron parser, next-fire times in named zones across DST, the TZif
// footer rule after the last transition, and the scheduler's catch-up and
// no-double-run decisions, all with "now" given by the test.
#include <catch2/catch.hpp>

#include "core/cron_schedule.h"
#include "core/time.h"
#include "core/time_zone.h"

using namespace mw;

namespace {

std::int64_t utc(std::int64_t y, unsigned mo, unsigned d, int h = 0, int mi = 0) {
    return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60;
}

CronSchedule cron(const char* expression) {
    CronParse p = parse_cron(expression);
    INFO(expression << ": " << p.error);
    REQUIRE(p.ok());
    return p.schedule;
}

TimeZone zone(const char* name) {
    TimeZoneLoad load = TimeZone::load(name);
    INFO(load.error);
    REQUIRE(load.zone.has_value());
    return *load.zone;
}

}  // namespace

TEST_CASE("cron fields: ranges, lists, steps, names") {
    const CronSchedule s = cron("*/15 9-17/4 1,15 jan-MAR MON-FRI");
    CHECK(s.minutes.count() == 4);
    CHECK(s.minutes[45]);
    CHECK(s.hours.count() == 3);  // 9, 13, 17
    CHECK(s.hours[13]);
    CHECK(s.days_of_month[1]);
    CHECK(s.days_of_month[15]);
    CHECK(s.months.count() == 3);
    CHECK(s.days_of_week.count() == 5);
    CHECK_FALSE(s.days_of_week[0]);
    CHECK(cron("0 0 * * 7").days_of_week[0]);  // 7 is Sunday
    CHECK(cron("5/20 * * * *").minutes.count() == 3);  // 5, 25, 45

    CHECK(parse_cron("60 * * * *").error == "field 1 (minute): 60 is outside 0-59");
    CHECK(parse_cron("* 24 * * *").error == "field 2 (hour): 24 is outside 0-23");
    CHECK(parse_cron("* * 0 * *").error == "field 3 (day of month): 0 is outside 1-31");
    CHECK(parse_cron("* * * FOO *").error == "field 4 (month): 'FOO' is not a number or name");
    CHECK(parse_cron("5-1 * * * *").error == "field 1 (minute): range 5-1 runs backwards");
    CHECK(parse_cron("*/0 * * * *").error == "field 1 (minute): step '0' is not a positive number");
    CHECK(parse_cron("1,,2 * * * *").error == "field 1 (minute): empty list item");
    CHECK(parse_cron("* * * *").error == "expected 5 fields (minute hour day-of-month month day-of-week), got 4");
}

TEST_CASE("next fire in UTC, and the day-of-month OR day-of-week rule") {
    const TimeZone z = TimeZone::utc();
    CHECK(next_fire_after(cron("30 2 * * *"), z, utc(2026, 1, 1)) == utc(2026, 1, 1, 2, 30));
    CHECK(next_fire_after(cron("30 2 * * *"), z, utc(2026, 1, 1, 2, 30)) == utc(2026, 1, 2, 2, 30));
    // Both restricted: the 13th or any Friday; 2026-01-02 is a Friday.
    CHECK(next_fire_after(cron("0 0 13 * FRI"), z, utc(2026, 1, 1)) == utc(2026, 1, 2));
    // Only day-of-week restricted: Fridays only.
    CHECK(next_fire_after(cron("0 0 * * FRI"), z, utc(2026, 1, 2)) == utc(2026, 1, 9));
    CHECK(next_fire_after(cron("0 0 29 2 *"), z, utc(2026, 1, 1)) == utc(2028, 2, 29));
    CHECK_FALSE(next_fire_after(cron("0 0 30 2 *"), z, utc(2026, 1, 1)).has_value());
}

TEST_CASE("a named zone: Europe/Paris in summer and winter") {
    const TimeZone paris = zone("Europe/Paris");
    CHECK(next_fire_after(cron("0 9 * * *"), paris, utc(2026, 7, 1)) == utc(2026, 7, 1, 7));   // CEST, UTC+2
    CHECK(next_fire_after(cron("0 9 * * *"), paris, utc(2026, 12, 1)) == utc(2026, 12, 1, 8)); // CET, UTC+1
}

TEST_CASE("spring forward: a skipped time fires once, at the end of the gap") {
    // America/New_York 2026-03-08: 02:00 EST becomes 03:00 EDT at 07:00 UTC.
    const TimeZone ny = zone("America/New_York");
    const CronSchedule s = cron("30 2 * * *");
    const auto first = next_fire_after(s, ny, utc(2026, 3, 8, 5));  // 00:00 EST
    CHECK(first == utc(2026, 3, 8, 7));                              // 03:00 EDT
    CHECK(next_fire_after(s, ny, *first) == utc(2026, 3, 9, 6, 30));  // 02:30 EDT next day, nothing in between
    // An hourly job fires at 01:00 EST then 03:00 EDT: the skipped 02:00 adds no extra run.
    const CronSchedule hourly = cron("0 * * * *");
    CHECK(next_fire_after(hourly, ny, utc(2026, 3, 8, 6)) == utc(2026, 3, 8, 7));
    CHECK(next_fire_after(hourly, ny, utc(2026, 3, 8, 7)) == utc(2026, 3, 8, 8));
}

TEST_CASE("fall back: a repeated time fires once, at its first occurrence") {
    // America/New_York 2026-11-01: 02:00 EDT becomes 01:00 EST at 06:00 UTC.
    const TimeZone ny = zone("America/New_York");
    const CronSchedule s = cron("30 1 * * *");
    const auto first = next_fire_after(s, ny, utc(2026, 11, 1, 4));  // 00:00 EDT
    CHECK(first == utc(2026, 11, 1, 5, 30));                          // 01:30 EDT
    CHECK(next_fire_after(s, ny, *first) == utc(2026, 11, 2, 6, 30));  // not 01:30 EST (06:30 UTC) the same day
    // Asking from inside the repeated hour does not fire the repeat either.
    CHECK(next_fire_after(s, ny, utc(2026, 11, 1, 6, 10)) == utc(2026, 11, 2, 6, 30));
}

TEST_CASE("after the last TZif transition the footer rule applies") {
    // Debian's zone files list transitions to 2037; 2040 comes from "EST5EDT,M3.2.0,M11.1.0".
    const TimeZone ny = zone("America/New_York");
    CHECK(ny.offset_at(utc(2040, 3, 11, 7) - 1) == -5 * 3600);  // second Sunday of March 2040
    CHECK(ny.offset_at(utc(2040, 3, 11, 7)) == -4 * 3600);
    CHECK(ny.offset_at(utc(2040, 11, 4, 6) - 1) == -4 * 3600);  // first Sunday of November 2040
    CHECK(ny.offset_at(utc(2040, 11, 4, 6)) == -5 * 3600);
    CHECK(next_fire_after(cron("0 12 * * *"), ny, utc(2040, 7, 1)) == utc(2040, 7, 1, 16));
    // Southern hemisphere, DST across the new year: "AEST-10AEDT,M10.1.0,M4.1.0/3".
    const TimeZone sydney = zone("Australia/Sydney");
    CHECK(sydney.offset_at(utc(2045, 1, 15)) == 11 * 3600);
    CHECK(sydney.offset_at(utc(2045, 7, 15)) == 10 * 3600);

    const auto rule = parse_posix_tz("CET-1CEST,M3.5.0,M10.5.0/3");
    REQUIRE(rule.has_value());
    CHECK(rule->std_offset_seconds == 3600);
    CHECK(rule->dst_offset_seconds == 7200);
    CHECK(rule->dst_end.time_seconds == 3 * 3600);
    CHECK_FALSE(parse_posix_tz("EST5EDT,J60,J300").has_value());  // the Jn form is not supported
}

TEST_CASE("time zone names are checked, not trusted") {
    CHECK(TimeZone::load("../../etc/passwd").error == "time zone '../../etc/passwd': not a tz database name");
    CHECK(TimeZone::load("Mars/Olympus_Mons").error ==
          "time zone 'Mars/Olympus_Mons': not found in /usr/share/zoneinfo");
    CHECK(TimeZone::from_tzif("x", "not a tzif").error == "time zone 'x': not a TZif file");
    CHECK(TimeZone::from_tzif("x", std::string("TZif2") + std::string(50, '\0')).error == "time zone 'x': not a TZif file");
}

TEST_CASE("catch-up after downtime runs once; a running audit is not started twice") {
    const TimeZone z = TimeZone::utc();
    const CronSchedule hourly = cron("0 * * * *");
    // Last run covered 10:00; the daemon was down until 15:30.
    ScheduleDecision d = decide_schedule(hourly, z, utc(2026, 5, 1, 10), utc(2026, 5, 1, 15, 30), false);
    CHECK(d.run_now);
    CHECK(d.due_slots == 5);  // 11, 12, 13, 14, 15: one run covers them all
    CHECK(d.slot_utc_seconds == utc(2026, 5, 1, 15));
    CHECK(d.reason == "caught_up");
    CHECK(d.wake_at_utc_seconds == utc(2026, 5, 1, 16));

    // The caller records slot 15:00; asked again at 15:40 nothing is due.
    d = decide_schedule(hourly, z, utc(2026, 5, 1, 15), utc(2026, 5, 1, 15, 40), false);
    CHECK_FALSE(d.run_now);
    CHECK(d.reason == "not_due");

    // At 16:00 the 15:00 run is still going: do not start another.
    d = decide_schedule(hourly, z, utc(2026, 5, 1, 15), utc(2026, 5, 1, 16), true);
    CHECK_FALSE(d.run_now);
    CHECK(d.reason == "already_running");
    // It finishes at 17:20: the 16:00 and 17:00 slots run once, as 17:00.
    d = decide_schedule(hourly, z, utc(2026, 5, 1, 15), utc(2026, 5, 1, 17, 20), false);
    CHECK(d.run_now);
    CHECK(d.due_slots == 2);
    CHECK(d.slot_utc_seconds == utc(2026, 5, 1, 17));

    // On time: exactly one slot due.
    d = decide_schedule(hourly, z, utc(2026, 5, 1, 17), utc(2026, 5, 1, 18), false);
    CHECK(d.run_now);
    CHECK(d.due_slots == 1);
    CHECK(d.reason == "due");

    CHECK(decide_schedule(cron("0 0 31 2 *"), z, 0, utc(2026, 1, 1), false).reason == "never_fires");
}
