// PagerDuty Events API v2 (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/):
// a firing alert is a "trigger" event, a resolved one a "resolve" event, both
// with dedup_key = the alert's fingerprint so that PagerDuty folds re-sends
// into one incident and the resolve closes it.
// PagerDuty answers 202 when it accepted the event, 400 when the event is
// invalid (not retried), 429 and 5xx when it wants the event again later.
#pragma once

#include <span>
#include <memory>
#include <cstdint>
#include <string>
#include <string_view>

#include "alerts/alert_sink.h"
#include "config/config.h"
#include "config/option_table.h"

namespace mw::alerts {

struct PagerDutySinkOptions {
    std::string url = "https://events.pagerduty.com/v2/enqueue";
    std::string routing_key;            // the integration key of the PagerDuty service (required)
    std::string source = "modelwatch";  // payload.source: where the problem is, shown in the incident
    std::int64_t timeout_ms = 10000;    // the whole HTTP exchange
};

class PagerDutySink : public AlertSink {
public:
    PagerDutySink(std::string name, PagerDutySinkOptions options);
    const std::string& name() const override { return name_; }
    DeliveryResult deliver(const Alert& alert) override;

private:
    std::string name_;
    PagerDutySinkOptions options_;
};

// PagerDuty's four severities from the alert's "severity" label: critical,
// error, warning, info; modelwatch's own severities (critical, warning,
// info) map to themselves, "error"/"high" to error, anything else to warning.
const char* pagerduty_severity(std::string_view severity_label);

// The request body for one alert.
std::string pagerduty_body(const Alert& alert, const PagerDutySinkOptions& options);

// The receiver keys this sink takes besides name, type, timeout and
// max_per_minute (docs/monitoring.md, "Alert sinks"), and the sink made
// from a receiver the loader checked against them.
std::span<const config::SettingRow> pagerduty_sink_options();
std::unique_ptr<AlertSink> make_pagerduty_sink(const config::ReceiverConfig& receiver);

}  // namespace mw::alerts
