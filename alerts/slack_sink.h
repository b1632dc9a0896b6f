// Slack incoming webhook (https://api.slack.com/messaging/webhooks): a
// message with a plain "text" (the notification and fallback line) and Block
// Kit blocks: a header with the state and summary, fields for model, kind,
// subject and severity, the description, and a link to the finding.
// Slack answers 200 "ok"; 400/403/404/410 mean the payload or the webhook is
// bad (not retried); 429 comes with Retry-After.
#pragma once

#include <span>
#include <memory>
#include <cstdint>
#include <string>

#include "alerts/alert_sink.h"
#include "config/config.h"
#include "config/option_table.h"

namespace mw::alerts {

struct SlackSinkOptions {
    std::string url;                  // the webhook URL Slack issued (https://hooks.slack.com/services/...)
    std::int64_t timeout_ms = 10000;  // the whole HTTP exchange
};

class SlackSink : public AlertSink {
public:
    SlackSink(std::string name, SlackSinkOptions options);
    const std::string& name() const override { return name_; }
    DeliveryResult deliver(const Alert& alert) override;

private:
    std::string name_;
    SlackSinkOptions options_;
};

// The message for one alert.
std::string slack_body(const Alert& alert);

// The receiver keys this sink takes besides name, type, timeout and
// max_per_minute (docs/monitoring.md, "Alert sinks"), and the sink made
// from a receiver the loader checked against them.
std::span<const config::SettingRow> slack_sink_options();
std::unique_ptr<AlertSink> make_slack_sink(const config::ReceiverConfig& receiver);

}  // namespace mw::alerts
