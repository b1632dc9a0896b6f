#include "daemon/audit_loop.h"

#include <map>
#include <stdexcept>

#include "core/log.h"
#include "fairness/audit_store.h"

namespace mw::daemon {

fairness::AuditSpec audit_spec(const config::ModelOptions& model, const config::AuditConfig& audit) {
    fairness::AuditSpec spec;
    spec.model = model.schema.name;
    spec.name = audit.name;
    spec.cron = audit.schedule;
    spec.time_zone = audit.time_zone;
    spec.data_window_ms = static_cast<std::int64_t>(audit.window_s) * 1000;
    spec.options.sensitive_attributes = audit.sensitive;
    for (const auto& group : audit.reference_groups) {
        const auto equals = group.find('=');  // "attribute=value", checked by the loader
        spec.options.reference_values[group.substr(0, equals)] = group.substr(equals + 1);
    }
    spec.options.metrics.min_group_size = audit.min_group_size;
    spec.positive_label = !audit.positive_label.empty()      ? audit.positive_label
                          : !model.schema.classes.empty() ? model.schema.classes.front()
                                                            : spec.positive_label;
    spec.report_formats = audit.formats;  // names from fairness/report_formats.cpp; empty: all of them
    spec.run_on_start = audit.run_on_start;
    return spec;
}

AuditLoop::AuditLoop(const config::Config& config, DaemonMetrics& metrics) : metrics_(metrics) {
    runner_options_.reports_dir = config.monitor.reports_dir;
    std::vector<fairness::AuditSpec> specs;
    for (const auto& model : config.models)
        for (const auto& audit : model.audits) specs.push_back(audit_spec(model, audit));
    auto built = fairness::AuditScheduler::create(std::move(specs));
    if (!built.scheduler) throw std::invalid_argument(built.error);
    scheduler_ = std::move(built.scheduler);
}

prometheus::Gauge& AuditLoop::completed_slot(const fairness::AuditSpec& spec) {
    return metrics_.audit_completed_slot.Add({{"model", spec.model}, {"audit", spec.name}});
}

void AuditLoop::completed(const fairness::AuditSpec& spec, std::int64_t slot_utc_seconds) {
    auto& gauge = completed_slot(spec);
    gauge.Set(std::max(gauge.Value(), static_cast<double>(slot_utc_seconds)));
}

bool AuditLoop::knows(const std::string& model, const std::string& audit) const {
    return scheduler_->find(model, audit).has_value();
}

void AuditLoop::pass(pqxx::connection_base& connection, std::int64_t now_us,
                     const std::function<std::optional<store::Fence>(const std::string& model)>& fence) {
    std::unique_lock lock(mutex_);
    if (scheduler_->specs().empty()) return;
    if (!started_) {
        // Manual runs left 'running' by a daemon that stopped mid-audit
        // (scheduled ones are failed by the model's next owner, below).
        const auto failed = fairness::fail_stale_running(connection, now_us);
        if (failed > 0) log::warning("audits_failed_stale count={}", failed);
        for (std::size_t i = 0; i < scheduler_->specs().size(); ++i) {
            const auto& spec = scheduler_->specs()[i];
            // What counts as done for the overdue rule: the slot last started
            // (as the scheduler sees it), else the slot before the first look,
            // which an audit never run does not owe (fairness/audit_schedule.h).
            std::optional<std::int64_t> completed;
            if (const auto slot = fairness::last_slot(connection, spec.model, spec.name)) {
                scheduler_->set_last_slot(i, *slot / 1'000'000);
                completed = *slot / 1'000'000;
            } else {
                completed = scheduler_->latest_slot(i, now_us / 1'000'000);
            }
            if (completed) completed_slot(spec).Set(static_cast<double>(*completed));
        }
        started_ = true;
    }
    std::map<std::string, store::Fence> owned_now;
    for (std::size_t i = 0; i < scheduler_->specs().size(); ++i) {
        const auto& spec = scheduler_->specs()[i];
        const auto lease = fence(spec.model);
        if (!lease) continue;
        const auto before = owned_.find(spec.model);
        const bool gained = before == owned_.end() || before->second.epoch != lease->epoch;
        owned_now[spec.model] = *lease;
        if (!gained) continue;
        // Gained since the last pass: another daemon may have run slots since,
        // and left runs 'running' that it can no longer finish.
        try {
            if (const auto failed = fairness::fail_superseded(connection, spec.model, *lease); failed > 0)
                log::warning("audits_failed_superseded model={} count={}", spec.model, failed);
        } catch (const store::LeaseLost&) {
            owned_now.erase(spec.model);  // lost already: the next owner does it
            continue;
        }
        if (const auto slot = fairness::last_slot(connection, spec.model, spec.name))
            scheduler_->set_last_slot(i, *slot / 1'000'000);
    }
    owned_ = std::move(owned_now);
    for (std::size_t i = 0; i < scheduler_->specs().size(); ++i)
        if (const auto slot = scheduler_->latest_slot(i, now_us / 1'000'000))
            metrics_.audit_due_slot.Add({{"model", scheduler_->specs()[i].model}, {"audit", scheduler_->specs()[i].name}})
                .Set(static_cast<double>(*slot));
    const auto plan = scheduler_->plan(now_us / 1'000'000);
    for (const auto& due : plan.due) {
        const auto owned = owned_.find(scheduler_->specs()[due.index].model);
        if (owned == owned_.end()) continue;
        const store::Fence lease = owned->second;
        if (!scheduler_->try_start(due.index, due.slot_utc_seconds)) continue;
        const auto spec = scheduler_->specs()[due.index];
        lock.unlock();
        fairness::AuditRunRequest request;
        request.trigger = fairness::AuditTrigger::schedule;
        request.scheduled_for_us = due.slot_utc_seconds * 1'000'000;
        request.data_end_us = due.slot_utc_seconds * 1'000'000;
        request.now_us = now_us;
        request.fence = lease;
        const auto summary = fairness::run_audit_job(connection, spec, request, runner_options_);
        lock.lock();
        if (summary.fenced) metrics_.writes_fenced.Increment();
        if (summary.id == 0 && !summary.already_running)
            scheduler_->abandon(due.index);
        else
            scheduler_->finish(due.index);
        metrics_.audits.Add({{"model", spec.model}, {"audit", spec.name}, {"state", std::string(to_string(summary.state))}})
            .Increment();
        if (summary.id != 0 && summary.state != fairness::AuditState::error) completed(spec, due.slot_utc_seconds);
        log::notice("audit_finished model={} audit={} reason={} state={} rows={} findings={}{}", spec.model, spec.name,
                    due.reason, to_string(summary.state), summary.rows, summary.findings,
                    summary.error.empty() ? "" : " error=\"" + summary.error + "\"");
    }
}

fairness::AuditRunSummary AuditLoop::run_now(pqxx::connection_base& connection, const std::string& model,
                                             const std::string& audit, std::int64_t now_us) {
    std::unique_lock lock(mutex_);
    const auto index = scheduler_->find(model, audit);
    fairness::AuditRunSummary refused;
    if (!index) {
        refused.error = "no audit " + audit + " for model " + model;
        return refused;
    }
    if (!scheduler_->try_start(*index, std::nullopt)) {
        refused.already_running = true;
        refused.error = "the audit is running";
        return refused;
    }
    const auto spec = scheduler_->specs()[*index];
    lock.unlock();
    fairness::AuditRunRequest request;
    request.trigger = fairness::AuditTrigger::manual;
    request.data_end_us = now_us;
    request.now_us = now_us;
    auto summary = fairness::run_audit_job(connection, spec, request, runner_options_);
    lock.lock();
    scheduler_->finish(*index);
    metrics_.audits.Add({{"model", spec.model}, {"audit", spec.name}, {"state", std::string(to_string(summary.state))}})
        .Increment();
    // A manual run reads the data up to now, so it covers every slot so far.
    if (summary.id != 0 && summary.state != fairness::AuditState::error)
        if (const auto slot = scheduler_->latest_slot(*index, now_us / 1'000'000)) completed(spec, *slot);
    return summary;
}

}  // namespace mw::daemon
