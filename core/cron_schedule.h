// When scheduled work runs (fairness audits, retraining on a schedule): a
// 5-field cron expression (minute hour day-of-month month day-of-week)
// evaluated in a named time zone, and the scheduler's decision as a pure
// function of "now", so tests control time.
//
// Semantics (as Vixie cron / cronie, crontab(5)):
// - fields take *, numbers, ranges a-b, lists a,b,c, steps */n and a-b/n,
//   names JAN-DEC and SUN-SAT (case-insensitive); day-of-week 7 is Sunday.
// - when both day-of-month and day-of-week are restricted (not *), a day
//   matches if either matches.
// Time zones and DST:
// - a local time skipped by spring-forward fires once, at the first valid
//   instant after the gap (the transition);
// - a local time repeated by fall-back fires once, at its first occurrence.
//   (Each wall-clock time fires at most once, so a */15 job skips the
//   repeated hour; crontab(5) does the same for fixed times.)
// Catch-up: after downtime, the missed slots run once, not once per slot;
// a run still going when its next slot comes is not started again.
#pragma once

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/time_zone.h"

namespace mw {

struct CronSchedule {
    std::string expression;
    std::bitset<60> minutes;
    std::bitset<24> hours;
    std::bitset<32> days_of_month;  // 1..31
    std::bitset<13> months;         // 1..12
    std::bitset<7> days_of_week;    // 0 = Sunday
    bool day_of_month_restricted = false;
    bool day_of_week_restricted = false;

    bool matches_day(std::int64_t days_since_epoch) const;
};

struct CronParse {
    CronSchedule schedule;
    std::string error;  // e.g. "field 2 (hour): 24 is outside 0-23"
    bool ok() const { return error.empty(); }
};

CronParse parse_cron(std::string_view expression);

// The earliest fire instant (UTC seconds) strictly after `after_utc_seconds`,
// searching up to 30 years ahead; empty when the schedule never fires (e.g. "0 0 30 2 *").
std::optional<std::int64_t> next_fire_after(const CronSchedule& schedule, const TimeZone& zone,
                                            std::int64_t after_utc_seconds);

struct ScheduleDecision {
    bool run_now = false;
    std::int64_t slot_utc_seconds = 0;  // when run_now: the slot this run covers (the latest due one)
    std::size_t due_slots = 0;          // slots due since the last run (more than 1 after downtime)
    std::optional<std::int64_t> wake_at_utc_seconds;  // the next slot after now, to sleep until
    std::string reason;  // "due", "caught_up", "not_due", "already_running", "never_fires"
};

// `last_slot` is the slot of the last run started (or, for work never
// run, the time it was declared, so history is not replayed).
ScheduleDecision decide_schedule(const CronSchedule& schedule, const TimeZone& zone, std::int64_t last_slot_utc_seconds,
                                 std::int64_t now_utc_seconds, bool already_running);

}  // namespace mw
