#include "alerts/sink_registry.h"

#include "alerts/alertmanager_sink.h"
#include "alerts/exec_sink.h"
#include "alerts/pagerduty_sink.h"
#include "alerts/slack_sink.h"
#include "alerts/webhook_sink.h"

namespace mw::alerts {

namespace {

using config::ComponentInfo;

const SinkEntry sink_table[] = {
    {ComponentInfo{"alertmanager", "Alertmanager API v2, every instance given in urls", alertmanager_sink_options},
     true, make_alertmanager_sink},
    {ComponentInfo{"pagerduty", "PagerDuty Events API v2; the routing key from secret_env", pagerduty_sink_options},
     false, make_pagerduty_sink},
    {ComponentInfo{"slack", "a Slack incoming webhook", slack_sink_options}, false, make_slack_sink},
    {ComponentInfo{"webhook", "JSON POST signed with HMAC-SHA256 of the secret from secret_env",
                   webhook_sink_options},
     false, make_webhook_sink},
    {ComponentInfo{"exec", "runs command (no shell) with the alert as JSON on stdin", exec_sink_options}, false,
     make_exec_sink},
};

}  // namespace

std::span<const SinkEntry> alert_sinks() { return sink_table; }

const SinkEntry* find_alert_sink(std::string_view type) { return config::find_component(alert_sinks(), type); }

}  // namespace mw::alerts
