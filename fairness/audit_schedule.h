// Which scheduled fairness audits are due, and for which slot. The scheduler
// owns no thread and reads no clock: the caller passes "now" (the daemon its
// wall clock, tests any instant), so every decision is reproducible.
//
// Rules (the cron semantics, DST included, are core/cron_schedule.h's):
// - after downtime the missed slots run once, as the latest missed slot;
// - an audit with no recorded slot (never run) waits for its next slot, or
//   runs the latest slot at or before the first check when run_on_start is set;
// - one (model, audit) never runs twice at once in this process (in-flight
//   tracking here); across daemons the store's unique index audits_one_running
//   refuses the second begin.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "fairness/audit.h"
#include "core/cron_schedule.h"
#include "core/time_zone.h"

namespace mw::fairness {


// One scheduled audit of one model: the options the lead fills from YAML.
struct AuditSpec {
    std::string model;
    std::string name = "default";       // unique per model; names the report folder
    std::string cron = "0 3 * * *";     // 5 fields, crontab(5)
    std::string time_zone = "UTC";      // tz database name the cron is read in
    std::int64_t data_window_ms = 7LL * 24 * 3600 * 1000;  // the audit reads [slot - window, slot)
    // Sensitive attributes, reference groups (options.reference_values),
    // min_group_size (options.metrics.min_group_size), tolerance and
    // bootstrap, exactly as run_audit takes them.
    AuditOptions options;
    std::string positive_label = "1";   // the label value that means "positive"
    // Names from the report format registry (fairness/report_formats.h); empty: every format.
    std::vector<std::string> report_formats;
    bool enabled = true;
    bool run_on_start = false;          // without a recorded slot, run the latest slot at once
    std::uint64_t max_rows = 10'000'000;  // rows read per audit; beyond, the latest rows are kept
};

// Empty when the spec is usable, otherwise what is wrong with it, e.g.
// "audit credit/default: cron: field 2 (hour): 24 is outside 0-23".
std::string validate_spec(const AuditSpec& spec);

// The latest fire instant at or before `now_utc_seconds` within the past 5
// years; empty when there is none (a schedule that never fired in that time).
std::optional<std::int64_t> latest_fire_at_or_before(const CronSchedule& schedule, const TimeZone& zone,
                                                     std::int64_t now_utc_seconds);

struct DueAudit {
    std::size_t index = 0;  // into the scheduler's specs
    std::int64_t slot_utc_seconds = 0;
    std::size_t due_slots = 0;  // more than 1 after downtime: they all run as this one
    std::string reason;         // "due", "caught_up", "run_on_start"
};

struct SchedulePlan {
    std::vector<DueAudit> due;
    std::optional<std::int64_t> wake_at_utc_seconds;  // the earliest next slot of any enabled audit
};

struct AuditSchedulerBuild;

// Thread-safe: the daemon's scheduler thread asks what is due and starts
// audits; the worker that ran one reports its end from its own thread.
class AuditScheduler {
public:
    // Checks every spec (validate_spec, time zones from `zoneinfo_directory`)
    // and that (model, name) pairs are unique.
    static AuditSchedulerBuild create(std::vector<AuditSpec> specs,
                                      const std::string& zoneinfo_directory = "/usr/share/zoneinfo");

    const std::vector<AuditSpec>& specs() const { return specs_; }
    // Index of (model, name) in specs(), or empty.
    std::optional<std::size_t> find(const std::string& model, const std::string& name) const;

    // The slot last started for an audit, as the store recorded it
    // (audit_store.h last_slot), given at start-up.
    void set_last_slot(std::size_t index, std::int64_t slot_utc_seconds);

    // What is due at `now`. Does not start anything: the caller calls
    // try_start for each audit it runs.
    SchedulePlan plan(std::int64_t now_utc_seconds);

    // Marks the audit in flight and, for a scheduled run, records its slot as
    // the last one; false (and no change) when it is already in flight.
    bool try_start(std::size_t index, std::optional<std::int64_t> slot_utc_seconds);
    // The run ended (any outcome, or another daemon already had it running:
    // the slot it recorded stays covered).
    void finish(std::size_t index);
    // The run could not begin (e.g. PostgreSQL unreachable): forget its slot
    // so the next plan offers it again.
    void abandon(std::size_t index);
    bool in_flight(std::size_t index) const;
    // The audit's latest slot at or before `now` (empty when none in 5 years).
    std::optional<std::int64_t> latest_slot(std::size_t index, std::int64_t now_utc_seconds) const;

private:
    struct State {
        CronSchedule schedule;
        TimeZone zone;
        std::optional<std::int64_t> last_slot_utc_seconds;
        std::optional<std::int64_t> previous_last_slot_utc_seconds;  // restored by abandon
        std::optional<std::int64_t> first_checked_utc_seconds;       // for audits never run
        bool in_flight = false;
    };
    AuditScheduler(std::vector<AuditSpec> specs, std::vector<State> states)
        : specs_(std::move(specs)), states_(std::move(states)) {}

    std::vector<AuditSpec> specs_;
    mutable std::mutex mutex_;
    std::vector<State> states_;
};

struct AuditSchedulerBuild {
    std::unique_ptr<AuditScheduler> scheduler;  // set on success (it holds a mutex, so it does not move)
    std::string error;
    bool ok() const { return error.empty(); }
};

}  // namespace mw::fairness
