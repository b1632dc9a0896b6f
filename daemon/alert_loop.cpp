#include "daemon/alert_loop.h"

#include <random>
#include <stdexcept>

#include "alerts/sink_registry.h"
#include "core/log.h"

namespace mw::daemon {

alerts::AlertRoutingOptions routing_options(const config::AlertingConfig& alerting) {
    alerts::AlertRoutingOptions routing;
    if (!alerting.kinds.empty()) routing.alerting_kinds = {alerting.kinds.begin(), alerting.kinds.end()};
    for (const auto& receiver : alerting.receivers) {
        routing.default_receivers.push_back(receiver.name);
        const auto* entry = alerts::find_alert_sink(receiver.type);
        routing.receivers.push_back({receiver.name, entry != nullptr && entry->resends,
                                     static_cast<int>(receiver.max_per_minute)});
    }
    routing.resend_interval_seconds = alerting.resend_interval_ms / 1000;
    routing.runbook_url_template = alerting.runbook_url;
    routing.external_url = alerting.external_url;
    return routing;
}

std::vector<std::unique_ptr<alerts::AlertSink>> make_sinks(const config::AlertingConfig& alerting) {
    std::vector<std::unique_ptr<alerts::AlertSink>> sinks;
    for (const auto& receiver : alerting.receivers) {
        const auto* entry = alerts::find_alert_sink(receiver.type);
        // The loader accepts only registered types; a miss here is a bug.
        if (entry == nullptr) throw std::logic_error("unregistered alert sink type " + receiver.type);
        sinks.push_back(entry->make(receiver));
    }
    return sinks;
}

AlertLoop::AlertLoop(const config::AlertingConfig& alerting, DaemonMetrics& metrics)
    : metrics_(metrics),
      routing_(routing_options(alerting)),
      sinks_(make_sinks(alerting)),
      outbox_({}, std::random_device{}()),
      dispatcher_(outbox_, routing_.receivers) {
    for (const auto& sink : sinks_) sink_pointers_.push_back(sink.get());
    // Without receivers there is no one to tell: findings are still marked
    // routed (retention keeps unrouted ones), but no kind alerts, so no alert
    // state is kept that no one was told about, and receivers configured
    // later hear of new findings only.
    if (alerting.receivers.empty()) routing_.alerting_kinds.clear();
}

void AlertLoop::pass(pqxx::connection_base& connection, const Ownership& ownership, std::int64_t now_us) {
    const auto leases = ownership.held();
    const auto routed = outbox_.route_new_findings(connection, routing_, leases, now_us);
    const auto resends = outbox_.enqueue_resends(connection, routing_, leases, now_us);
    const auto still_held = [&ownership](const std::string& model, const store::Fence& fence) {
        const auto now = ownership.fence(model);
        return now && now->owner == fence.owner && now->epoch == fence.epoch;
    };
    const auto counts = dispatcher_.run_once(connection, sink_pointers_, leases, still_held, now_us);
    const auto fenced = outbox_.take_fenced();
    for (const auto& reason : fenced) log::warning("alert_write_fenced reason=\"{}\"", reason);
    metrics_.writes_fenced.Increment(static_cast<double>(fenced.size() + counts.withheld));
    if (routed + resends + counts.delivered + counts.failed + counts.abandoned + counts.withheld > 0)
        log::info("alerts_pass models_owned={} findings_routed={} resends={} delivered={} failed={} abandoned={} "
                  "withheld={}",
                  leases.epochs.size(), routed, resends, counts.delivered, counts.failed, counts.abandoned,
                  counts.withheld);
    metrics_.alert_deliveries.Add({{"result", "delivered"}}).Increment(static_cast<double>(counts.delivered));
    metrics_.alert_deliveries.Add({{"result", "failed"}}).Increment(static_cast<double>(counts.failed));
    metrics_.alert_deliveries.Add({{"result", "abandoned"}}).Increment(static_cast<double>(counts.abandoned));
}

}  // namespace mw::daemon
