#include "daemon/alert_loop.h"

#include <random>

#include "alerts/alertmanager_sink.h"
#include "alerts/exec_sink.h"
#include "alerts/pagerduty_sink.h"
#include "alerts/slack_sink.h"
#include "alerts/webhook_sink.h"
#include "core/log.h"

namespace mw::daemon {

alerts::AlertRoutingOptions routing_options(const config::AlertingConfig& alerting) {
    alerts::AlertRoutingOptions routing;
    if (!alerting.kinds.empty()) routing.alerting_kinds = {alerting.kinds.begin(), alerting.kinds.end()};
    for (const auto& receiver : alerting.receivers) {
        routing.default_receivers.push_back(receiver.name);
        // Alertmanager forgets an alert whose endsAt passes; the others are
        // told once per state change.
        routing.receivers.push_back({receiver.name, receiver.type == config::ReceiverType::alertmanager,
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
        const std::string url = receiver.urls.empty() ? std::string() : receiver.urls.front();
        switch (receiver.type) {
            case config::ReceiverType::alertmanager: {
                alerts::AlertmanagerSinkOptions options;
                options.urls = receiver.urls;
                options.timeout_ms = receiver.timeout_ms;
                sinks.push_back(std::make_unique<alerts::AlertmanagerSink>(receiver.name, options));
                break;
            }
            case config::ReceiverType::pagerduty: {
                alerts::PagerDutySinkOptions options;
                options.url = url;
                options.routing_key = receiver.secret;
                options.timeout_ms = receiver.timeout_ms;
                sinks.push_back(std::make_unique<alerts::PagerDutySink>(receiver.name, options));
                break;
            }
            case config::ReceiverType::slack: {
                alerts::SlackSinkOptions options;
                options.url = url;
                options.timeout_ms = receiver.timeout_ms;
                sinks.push_back(std::make_unique<alerts::SlackSink>(receiver.name, options));
                break;
            }
            case config::ReceiverType::webhook: {
                alerts::WebhookSinkOptions options;
                options.url = url;
                options.secret = receiver.secret;
                options.timeout_ms = receiver.timeout_ms;
                sinks.push_back(std::make_unique<alerts::WebhookSink>(receiver.name, options));
                break;
            }
            case config::ReceiverType::exec: {
                alerts::ExecSinkOptions options;
                options.argv = receiver.command;
                options.timeout_ms = receiver.timeout_ms;
                sinks.push_back(std::make_unique<alerts::ExecSink>(receiver.name, options));
                break;
            }
        }
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
}

void AlertLoop::pass(pqxx::connection_base& connection, std::int64_t now_us) {
    const auto routed = outbox_.route_new_findings(connection, routing_, now_us);
    const auto resends = outbox_.enqueue_resends(connection, routing_, now_us);
    const auto counts = dispatcher_.run_once(connection, sink_pointers_, now_us);
    if (routed + resends + counts.delivered + counts.failed + counts.abandoned > 0)
        log::info("alerts_pass findings_routed={} resends={} delivered={} failed={} abandoned={}", routed, resends,
                  counts.delivered, counts.failed, counts.abandoned);
    metrics_.alert_deliveries.Add({{"result", "delivered"}}).Increment(static_cast<double>(counts.delivered));
    metrics_.alert_deliveries.Add({{"result", "failed"}}).Increment(static_cast<double>(counts.failed));
    metrics_.alert_deliveries.Add({{"result", "abandoned"}}).Increment(static_cast<double>(counts.abandoned));
}

}  // namespace mw::daemon
