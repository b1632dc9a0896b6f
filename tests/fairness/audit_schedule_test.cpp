// The audit scheduler with a clock the test controls: due at the slot and not
// before, one catch-up run after downtime, nothing on a first start unless
// run_on_start, no second run while one is in flight, and a daily 02:30 in
// Europe/Berlin across both DST changes of 2026.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "fairness/audit_schedule.h"
#include "core/time.h"
#include "core/time_zone.h"

using namespace mw;
using namespace mw::fairness;

namespace {

std::int64_t utc(std::int64_t y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
    return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

AuditSpec spec(const std::string& cron, const std::string& zone = "UTC") {
    AuditSpec s;
    s.model = "credit";
    s.name = "weekly";
    s.cron = cron;
    s.time_zone = zone;
    s.options.sensitive_attributes = {"sex"};
    return s;
}

std::unique_ptr<AuditScheduler> scheduler(std::vector<AuditSpec> specs) {
    AuditSchedulerBuild build = AuditScheduler::create(std::move(specs));
    INFO(build.error);
    REQUIRE(build.ok());
    return std::move(build.scheduler);
}

// Starts and finishes every due audit, as the daemon does when each run ends at once.
void run_due(AuditScheduler& s, const SchedulePlan& plan) {
    for (const DueAudit& due : plan.due) {
        REQUIRE(s.try_start(due.index, due.slot_utc_seconds));
        s.finish(due.index);
    }
}

}  // namespace

TEST_CASE("an audit is due at its slot, not a second before") {
    auto s = scheduler({spec("0 3 * * *")});
    s->set_last_slot(0, utc(2026, 5, 1, 3));

    SchedulePlan plan = s->plan(utc(2026, 5, 2, 2, 59, 59));
    CHECK(plan.due.empty());
    CHECK(plan.wake_at_utc_seconds == utc(2026, 5, 2, 3));

    plan = s->plan(utc(2026, 5, 2, 3));
    REQUIRE(plan.due.size() == 1);
    CHECK(plan.due[0].index == 0);
    CHECK(plan.due[0].slot_utc_seconds == utc(2026, 5, 2, 3));
    CHECK(plan.due[0].due_slots == 1);
    CHECK(plan.due[0].reason == "due");
    CHECK(plan.wake_at_utc_seconds == utc(2026, 5, 3, 3));

    run_due(*s, plan);
    CHECK(s->plan(utc(2026, 5, 2, 3, 0, 1)).due.empty());
}

TEST_CASE("after a 3-day downtime a daily audit catches up once, as the latest slot") {
    auto s = scheduler({spec("0 3 * * *")});
    s->set_last_slot(0, utc(2026, 5, 1, 3));
    // Down from May 1 12:00 to May 4 10:00: the slots of May 2, 3 and 4 were missed.
    SchedulePlan plan = s->plan(utc(2026, 5, 4, 10));
    REQUIRE(plan.due.size() == 1);
    CHECK(plan.due[0].slot_utc_seconds == utc(2026, 5, 4, 3));
    CHECK(plan.due[0].due_slots == 3);
    CHECK(plan.due[0].reason == "caught_up");
    run_due(*s, plan);
    // Nothing more until May 5 03:00: the missed slots were covered by that one run.
    plan = s->plan(utc(2026, 5, 4, 10, 5));
    CHECK(plan.due.empty());
    CHECK(plan.wake_at_utc_seconds == utc(2026, 5, 5, 3));
}

TEST_CASE("a first start without a recorded slot waits for the next slot unless run_on_start") {
    SECTION("default: nothing until the next slot") {
        auto s = scheduler({spec("0 3 * * *")});
        SchedulePlan plan = s->plan(utc(2026, 5, 4, 10));  // today's 03:00 is history, not a missed run
        CHECK(plan.due.empty());
        CHECK(plan.wake_at_utc_seconds == utc(2026, 5, 5, 3));
        CHECK(s->plan(utc(2026, 5, 5, 2)).due.empty());
        plan = s->plan(utc(2026, 5, 5, 3));
        REQUIRE(plan.due.size() == 1);
        CHECK(plan.due[0].slot_utc_seconds == utc(2026, 5, 5, 3));
        CHECK(plan.due[0].due_slots == 1);
    }
    SECTION("run_on_start: the latest slot at once, then the schedule") {
        AuditSpec a = spec("0 3 * * *");
        a.run_on_start = true;
        auto s = scheduler({a});
        SchedulePlan plan = s->plan(utc(2026, 5, 4, 10));
        REQUIRE(plan.due.size() == 1);
        CHECK(plan.due[0].slot_utc_seconds == utc(2026, 5, 4, 3));
        CHECK(plan.due[0].reason == "run_on_start");
        CHECK(plan.wake_at_utc_seconds == utc(2026, 5, 5, 3));
        run_due(*s, plan);
        CHECK(s->plan(utc(2026, 5, 4, 11)).due.empty());
        CHECK(s->plan(utc(2026, 5, 5, 3)).due.size() == 1);
    }
    SECTION("run_on_start that could not begin is offered again") {
        AuditSpec a = spec("0 3 * * *");
        a.run_on_start = true;
        auto s = scheduler({a});
        SchedulePlan plan = s->plan(utc(2026, 5, 4, 10));
        REQUIRE(plan.due.size() == 1);
        REQUIRE(s->try_start(0, plan.due[0].slot_utc_seconds));
        s->abandon(0);  // e.g. PostgreSQL unreachable at begin
        plan = s->plan(utc(2026, 5, 4, 10, 1));
        REQUIRE(plan.due.size() == 1);
        CHECK(plan.due[0].slot_utc_seconds == utc(2026, 5, 4, 3));
    }
}

TEST_CASE("an audit in flight is not started again") {
    auto s = scheduler({spec("0 * * * *")});
    s->set_last_slot(0, utc(2026, 5, 1, 9));
    SchedulePlan plan = s->plan(utc(2026, 5, 1, 10));
    REQUIRE(plan.due.size() == 1);
    REQUIRE(s->try_start(0, plan.due[0].slot_utc_seconds));
    CHECK(s->in_flight(0));
    CHECK_FALSE(s->try_start(0, std::nullopt));  // a manual run of the same audit is refused too

    // 11:00 and 12:00 come while the 10:00 run is still going: not due.
    CHECK(s->plan(utc(2026, 5, 1, 11)).due.empty());
    CHECK(s->plan(utc(2026, 5, 1, 12, 30)).due.empty());

    // It ends at 12:30: the missed 11:00 and 12:00 run once, as 12:00.
    s->finish(0);
    CHECK_FALSE(s->in_flight(0));
    plan = s->plan(utc(2026, 5, 1, 12, 30));
    REQUIRE(plan.due.size() == 1);
    CHECK(plan.due[0].slot_utc_seconds == utc(2026, 5, 1, 12));
    CHECK(plan.due[0].due_slots == 2);

    SECTION("a run that could not begin gives its slot back") {
        REQUIRE(s->try_start(0, plan.due[0].slot_utc_seconds));
        s->abandon(0);
        plan = s->plan(utc(2026, 5, 1, 12, 31));
        REQUIRE(plan.due.size() == 1);
        CHECK(plan.due[0].slot_utc_seconds == utc(2026, 5, 1, 12));
    }
}

TEST_CASE("a disabled audit is never due; audits are planned independently") {
    AuditSpec off = spec("0 3 * * *");
    off.name = "off";
    off.enabled = false;
    AuditSpec hourly = spec("0 * * * *");
    hourly.name = "hourly";
    auto s = scheduler({off, hourly});
    s->set_last_slot(0, utc(2026, 5, 1, 3));
    s->set_last_slot(1, utc(2026, 5, 1, 9));
    const SchedulePlan plan = s->plan(utc(2026, 5, 3, 10));
    REQUIRE(plan.due.size() == 1);
    CHECK(plan.due[0].index == 1);
    CHECK(s->find("credit", "hourly") == 1u);
    CHECK_FALSE(s->find("credit", "nope").has_value());
}

// The cron rules of core/cron_schedule.h, as the scheduler applies them:
// a 02:30 skipped by spring-forward runs once at the end of the gap (03:00
// CEST); a 02:30 repeated by fall-back runs once, at its first occurrence (CEST).
TEST_CASE("Europe/Berlin 02:30 daily across the 2026 DST changes") {
    auto s = scheduler({spec("30 2 * * *", "Europe/Berlin")});

    SECTION("spring forward, March 29: 02:00 CET jumps to 03:00 CEST at 01:00 UTC") {
        s->set_last_slot(0, utc(2026, 3, 28, 1, 30));  // 02:30 CET on March 28
        CHECK(s->plan(utc(2026, 3, 29, 0, 59, 59)).due.empty());
        SchedulePlan plan = s->plan(utc(2026, 3, 29, 1));
        REQUIRE(plan.due.size() == 1);
        CHECK(plan.due[0].slot_utc_seconds == utc(2026, 3, 29, 1));  // 03:00 CEST
        run_due(*s, plan);
        plan = s->plan(utc(2026, 3, 29, 12));
        CHECK(plan.due.empty());
        CHECK(plan.wake_at_utc_seconds == utc(2026, 3, 30, 0, 30));  // 02:30 CEST
    }
    SECTION("fall back, October 25: 03:00 CEST returns to 02:00 CET at 01:00 UTC") {
        s->set_last_slot(0, utc(2026, 10, 24, 0, 30));  // 02:30 CEST on October 24
        CHECK(s->plan(utc(2026, 10, 25, 0, 29)).due.empty());
        SchedulePlan plan = s->plan(utc(2026, 10, 25, 0, 30));  // the first 02:30 (CEST)
        REQUIRE(plan.due.size() == 1);
        CHECK(plan.due[0].slot_utc_seconds == utc(2026, 10, 25, 0, 30));
        run_due(*s, plan);
        plan = s->plan(utc(2026, 10, 25, 1, 30));  // the repeated 02:30 (CET): not again
        CHECK(plan.due.empty());
        CHECK(plan.wake_at_utc_seconds == utc(2026, 10, 26, 1, 30));  // 02:30 CET next day
    }
}

TEST_CASE("latest_fire_at_or_before counts the slot at now and looks back far enough") {
    const TimeZone zone = TimeZone::utc();
    const CronSchedule daily = parse_cron("0 3 * * *").schedule;
    CHECK(latest_fire_at_or_before(daily, zone, utc(2026, 5, 4, 3)) == utc(2026, 5, 4, 3));
    CHECK(latest_fire_at_or_before(daily, zone, utc(2026, 5, 4, 2, 59)) == utc(2026, 5, 3, 3));
    const CronSchedule yearly = parse_cron("0 0 1 1 *").schedule;
    CHECK(latest_fire_at_or_before(yearly, zone, utc(2026, 12, 31)) == utc(2026, 1, 1));
    const CronSchedule minutely = parse_cron("* * * * *").schedule;
    CHECK(latest_fire_at_or_before(minutely, zone, utc(2026, 5, 4, 3, 7, 30)) == utc(2026, 5, 4, 3, 7));
    const CronSchedule never = parse_cron("0 0 30 2 *").schedule;
    CHECK_FALSE(latest_fire_at_or_before(never, zone, utc(2026, 5, 4)).has_value());
}

TEST_CASE("specs are checked when the scheduler is built") {
    AuditSpec bad_cron = spec("0 24 * * *");
    CHECK(AuditScheduler::create({bad_cron}).error ==
          "audit credit/weekly: cron '0 24 * * *': " + parse_cron("0 24 * * *").error);
    CHECK(AuditScheduler::create({spec("0 3 * * *", "Mars/Olympus_Mons")}).error ==
          "audit credit/weekly: time zone 'Mars/Olympus_Mons': not found in /usr/share/zoneinfo");
    CHECK(AuditScheduler::create({spec("0 3 * * *"), spec("0 4 * * *")}).error ==
          "audit credit/weekly: declared twice");
    AuditSpec traversal = spec("0 3 * * *");
    traversal.name = "../etc";
    CHECK_FALSE(AuditScheduler::create({traversal}).ok());
    AuditSpec no_attributes = spec("0 3 * * *");
    no_attributes.options.sensitive_attributes.clear();
    CHECK(AuditScheduler::create({no_attributes}).error == "audit credit/weekly: no sensitive attribute");
    AuditSpec no_window = spec("0 3 * * *");
    no_window.data_window_ms = 0;
    CHECK(validate_spec(no_window) == "audit credit/weekly: data_window_ms must be positive");
    CHECK(validate_spec(spec("0 3 * * *")).empty());
}
