// Findings to on-call: each pass routes the findings stored since the last
// one into alert states and the outbox (alerts/outbox.h), enqueues the
// re-sends Alertmanager needs while an alert fires, and delivers what is due
// to each configured receiver (alerts/dispatcher.h), all for the models
// this daemon owns. The outbox is in PostgreSQL, so an alert survives a
// restart of the daemon, a failover to another, or an outage of the receiver.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <pqxx/connection_base>

#include "alerts/alert_rules.h"
#include "alerts/alert_sink.h"
#include "alerts/dispatcher.h"
#include "alerts/outbox.h"
#include "config/config.h"
#include "daemon/metrics.h"
#include "daemon/ownership.h"

namespace mw::daemon {

alerts::AlertRoutingOptions routing_options(const config::AlertingConfig& alerting);
std::vector<std::unique_ptr<alerts::AlertSink>> make_sinks(const config::AlertingConfig& alerting);

class AlertLoop {
public:
    AlertLoop(const config::AlertingConfig& alerting, DaemonMetrics& metrics);
    // Routes, re-sends and delivers for the models `ownership` holds now,
    // each under its lease (alerts/outbox.h).
    void pass(pqxx::connection_base& connection, const Ownership& ownership, std::int64_t now_us);

private:
    DaemonMetrics& metrics_;
    alerts::AlertRoutingOptions routing_;
    std::vector<std::unique_ptr<alerts::AlertSink>> sinks_;
    std::vector<alerts::AlertSink*> sink_pointers_;
    alerts::AlertOutbox outbox_;
    alerts::Dispatcher dispatcher_;
};

}  // namespace mw::daemon
