#include "fairness/audit_schedule.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "fairness/report_formats.h"

namespace mw::fairness {

namespace {

// Names become path components of the report folder
// (<reports_dir>/<model>/<audit>/): no separators, no "." or "..".
bool safe_path_component(const std::string& name) {
    if (name.empty() || name == "." || name == ".." || name.size() > 200) return false;
    return std::all_of(name.begin(), name.end(), [](char c) { return c != '/' && c != '\\' && c != '\0'; });
}

}  // namespace

std::string validate_spec(const AuditSpec& spec) {
    const std::string where = fmt::format("audit {}/{}", spec.model, spec.name);
    if (!safe_path_component(spec.model))
        return fmt::format("{}: model '{}' cannot name a report folder (empty, '.', '..', or has '/')", where,
                           spec.model);
    if (!safe_path_component(spec.name))
        return fmt::format("{}: name '{}' cannot name a report folder (empty, '.', '..', or has '/')", where,
                           spec.name);
    const CronParse cron = parse_cron(spec.cron);
    if (!cron.ok()) return fmt::format("{}: cron '{}': {}", where, spec.cron, cron.error);
    if (spec.data_window_ms <= 0) return fmt::format("{}: data_window_ms must be positive", where);
    if (spec.options.sensitive_attributes.empty()) return fmt::format("{}: no sensitive attribute", where);
    if (spec.positive_label.empty()) return fmt::format("{}: positive_label is empty", where);
    for (const auto& format : spec.report_formats)
        if (find_report_format(format) == nullptr)
            return fmt::format("{}: {}", where, config::unknown_component("report format", format, report_formats()));
    if (spec.max_rows == 0) return fmt::format("{}: max_rows must be positive", where);
    return "";
}

std::optional<std::int64_t> latest_fire_at_or_before(const CronSchedule& schedule, const TimeZone& zone,
                                                     std::int64_t now_utc_seconds) {
    // decide_schedule walks every slot after its start, so look back over
    // growing spans: a span is only widened when the narrower one had no
    // slot, which keeps the walk short for frequent and rare schedules alike.
    constexpr std::int64_t hour = 3600;
    constexpr std::int64_t spans_seconds[] = {hour, 24 * hour, 8 * 24 * hour, 32 * 24 * hour, 367 * 24 * hour,
                                              5 * 366 * 24 * hour};
    for (const std::int64_t span : spans_seconds) {
        // The slot exactly at now counts, so start the walk one second before the span.
        const ScheduleDecision d = decide_schedule(schedule, zone, now_utc_seconds - span - 1, now_utc_seconds, false);
        if (d.run_now) return d.slot_utc_seconds;
        if (d.reason == "never_fires") return std::nullopt;
    }
    return std::nullopt;
}

AuditSchedulerBuild AuditScheduler::create(std::vector<AuditSpec> specs, const std::string& zoneinfo_directory) {
    AuditSchedulerBuild build;
    std::vector<State> states;
    for (std::size_t i = 0; i < specs.size(); ++i) {
        const AuditSpec& spec = specs[i];
        if (std::string error = validate_spec(spec); !error.empty()) {
            build.error = std::move(error);
            return build;
        }
        for (std::size_t j = 0; j < i; ++j)
            if (specs[j].model == spec.model && specs[j].name == spec.name) {
                build.error = fmt::format("audit {}/{}: declared twice", spec.model, spec.name);
                return build;
            }
        TimeZoneLoad zone = TimeZone::load(spec.time_zone, zoneinfo_directory);
        if (!zone.zone) {
            build.error = fmt::format("audit {}/{}: {}", spec.model, spec.name, zone.error);
            return build;
        }
        states.push_back(State{parse_cron(spec.cron).schedule, std::move(*zone.zone), {}, {}, {}, false});
    }
    build.scheduler.reset(new AuditScheduler(std::move(specs), std::move(states)));
    return build;
}

std::optional<std::size_t> AuditScheduler::find(const std::string& model, const std::string& name) const {
    for (std::size_t i = 0; i < specs_.size(); ++i)
        if (specs_[i].model == model && specs_[i].name == name) return i;
    return std::nullopt;
}

void AuditScheduler::set_last_slot(std::size_t index, std::int64_t slot_utc_seconds) {
    std::lock_guard lock(mutex_);
    states_.at(index).last_slot_utc_seconds = slot_utc_seconds;
}

SchedulePlan AuditScheduler::plan(std::int64_t now_utc_seconds) {
    std::lock_guard lock(mutex_);
    SchedulePlan plan;
    const auto wake_at = [&plan](std::optional<std::int64_t> at) {
        if (at && (!plan.wake_at_utc_seconds || *at < *plan.wake_at_utc_seconds)) plan.wake_at_utc_seconds = at;
    };
    for (std::size_t i = 0; i < specs_.size(); ++i) {
        if (!specs_[i].enabled) continue;
        State& state = states_[i];
        if (!state.last_slot_utc_seconds && !state.first_checked_utc_seconds) {
            state.first_checked_utc_seconds = now_utc_seconds;
            if (specs_[i].run_on_start && !state.in_flight) {
                if (const auto slot = latest_fire_at_or_before(state.schedule, state.zone, now_utc_seconds)) {
                    plan.due.push_back({i, *slot, 1, "run_on_start"});
                    wake_at(next_fire_after(state.schedule, state.zone, now_utc_seconds));
                    continue;
                }
            }
        }
        // Never run: slots before the first check are history, not missed runs.
        const std::int64_t since = state.last_slot_utc_seconds.value_or(*state.first_checked_utc_seconds);
        const ScheduleDecision d = decide_schedule(state.schedule, state.zone, since, now_utc_seconds, state.in_flight);
        wake_at(d.wake_at_utc_seconds);
        if (d.run_now) plan.due.push_back({i, d.slot_utc_seconds, d.due_slots, d.reason});
    }
    return plan;
}

std::optional<std::int64_t> AuditScheduler::latest_slot(std::size_t index, std::int64_t now_utc_seconds) const {
    std::lock_guard lock(mutex_);
    const State& state = states_.at(index);
    return latest_fire_at_or_before(state.schedule, state.zone, now_utc_seconds);
}

bool AuditScheduler::try_start(std::size_t index, std::optional<std::int64_t> slot_utc_seconds) {
    std::lock_guard lock(mutex_);
    State& state = states_.at(index);
    if (state.in_flight) return false;
    state.in_flight = true;
    state.previous_last_slot_utc_seconds = state.last_slot_utc_seconds;
    if (slot_utc_seconds) state.last_slot_utc_seconds = slot_utc_seconds;
    return true;
}

void AuditScheduler::finish(std::size_t index) {
    std::lock_guard lock(mutex_);
    states_.at(index).in_flight = false;
}

void AuditScheduler::abandon(std::size_t index) {
    std::lock_guard lock(mutex_);
    State& state = states_.at(index);
    state.in_flight = false;
    state.last_slot_utc_seconds = state.previous_last_slot_utc_seconds;
    // A run_on_start run that could not begin is offered again at the next plan.
    if (!state.last_slot_utc_seconds && specs_[index].run_on_start) state.first_checked_utc_seconds.reset();
}

bool AuditScheduler::in_flight(std::size_t index) const {
    std::lock_guard lock(mutex_);
    return states_.at(index).in_flight;
}

}  // namespace mw::fairness
