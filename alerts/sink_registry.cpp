#include "alerts/sink_registry.h"

#include "alerts/alertmanager_sink.h"
#include "alerts/exec_sink.h"
#include "alerts/pagerduty_sink.h"
#include "alerts/slack_sink.h"
#include "alerts/webhook_sink.h"

namespace mw::alerts {

namespace {

std::string first_url(const config::ReceiverConfig& receiver) {
    return receiver.urls.empty() ? std::string() : receiver.urls.front();
}

std::unique_ptr<AlertSink> make_alertmanager(const config::ReceiverConfig& receiver) {
    AlertmanagerSinkOptions options;
    options.urls = receiver.urls;
    options.timeout_ms = receiver.timeout_ms;
    return std::make_unique<AlertmanagerSink>(receiver.name, options);
}

std::unique_ptr<AlertSink> make_pagerduty(const config::ReceiverConfig& receiver) {
    PagerDutySinkOptions options;
    options.url = first_url(receiver);
    options.routing_key = receiver.secret;
    options.timeout_ms = receiver.timeout_ms;
    return std::make_unique<PagerDutySink>(receiver.name, options);
}

std::unique_ptr<AlertSink> make_slack(const config::ReceiverConfig& receiver) {
    SlackSinkOptions options;
    options.url = first_url(receiver);
    options.timeout_ms = receiver.timeout_ms;
    return std::make_unique<SlackSink>(receiver.name, options);
}

std::unique_ptr<AlertSink> make_webhook(const config::ReceiverConfig& receiver) {
    WebhookSinkOptions options;
    options.url = first_url(receiver);
    options.secret = receiver.secret;
    options.timeout_ms = receiver.timeout_ms;
    return std::make_unique<WebhookSink>(receiver.name, options);
}

std::unique_ptr<AlertSink> make_exec(const config::ReceiverConfig& receiver) {
    ExecSinkOptions options;
    options.argv = receiver.command;
    options.timeout_ms = receiver.timeout_ms;
    return std::make_unique<ExecSink>(receiver.name, options);
}

// max_urls: Alertmanager instances of one cluster each get every alert.
constexpr std::size_t any_number = 64;

const SinkEntry sink_table[] = {
    {{{"alertmanager", "Alertmanager API v2, every instance given in urls"}, {any_number, false, false}}, true,
     make_alertmanager},
    {{{"pagerduty", "PagerDuty Events API v2; the routing key from secret_env"}, {1, true, false}}, false,
     make_pagerduty},
    {{{"slack", "a Slack incoming webhook"}, {1, false, false}}, false, make_slack},
    {{{"webhook", "JSON POST signed with HMAC-SHA256 of the secret from secret_env"}, {1, true, false}}, false,
     make_webhook},
    {{{"exec", "runs command (no shell) with the alert as JSON on stdin"}, {0, false, true}}, false, make_exec},
};

}  // namespace

std::span<const SinkEntry> alert_sinks() { return sink_table; }

const SinkEntry* find_alert_sink(std::string_view type) {
    for (const auto& entry : sink_table)
        if (entry.about.info.name == type) return &entry;
    return nullptr;
}

}  // namespace mw::alerts
