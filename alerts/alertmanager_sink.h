// Prometheus Alertmanager, API v2: POST <url>/api/v2/alerts with a JSON array
// of postableAlerts (labels, annotations, startsAt, endsAt, generatorURL), as
// Prometheus itself sends them (notifier/notifier.go).
//
// A firing alert is sent with the endsAt the router chose (a few re-send
// intervals ahead), so Alertmanager resolves it by itself if modelwatch goes
// away; a resolved alert is the same labels with endsAt = the moment it
// cleared, which Alertmanager treats as resolved.
//
// Several URLs are the members of one Alertmanager cluster (an HA pair): the
// alert goes to every one, and is delivered when at least one accepted it,
// because the cluster gossips it to the rest (Prometheus does the same).
#pragma once

#include <span>
#include <memory>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "alerts/alert_sink.h"
#include "config/config.h"
#include "config/option_table.h"

namespace mw::alerts {

struct AlertmanagerSinkOptions {
    std::vector<std::string> urls;    // base URLs, e.g. http://alertmanager:9093 (the sink appends /api/v2/alerts)
    std::int64_t timeout_ms = 10000;  // per Alertmanager, the whole HTTP exchange
    std::string basic_auth_username;  // with basic_auth_password: an Authorization: Basic header
    std::string basic_auth_password;
    std::string bearer_token;  // an Authorization: Bearer header (exclusive with basic auth)
    std::vector<std::pair<std::string, std::string>> headers;  // added to every request
};

class AlertmanagerSink : public AlertSink {
public:
    AlertmanagerSink(std::string name, AlertmanagerSinkOptions options);
    const std::string& name() const override { return name_; }
    DeliveryResult deliver(const Alert& alert) override;

private:
    std::string name_;
    AlertmanagerSinkOptions options_;
    std::vector<std::pair<std::string, std::string>> headers_;  // options' headers plus authorization
};

// The request body: a JSON array holding the one alert.
std::string alertmanager_body(const Alert& alert);

// The receiver keys this sink takes besides name, type, timeout and
// max_per_minute (docs/monitoring.md, "Alert sinks"), and the sink made
// from a receiver the loader checked against them.
std::span<const config::SettingRow> alertmanager_sink_options();
std::unique_ptr<AlertSink> make_alertmanager_sink(const config::ReceiverConfig& receiver);

}  // namespace mw::alerts
