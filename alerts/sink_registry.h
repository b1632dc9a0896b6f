// The alert sinks by receiver type (STYLE.md section 2): one explicit table
// of name, description, what the receiver's keys must hold, and a factory.
// The config loader checks receivers against it (through
// registry/catalog.cpp) and the daemon builds sinks from it; adding a sink is
// its file pair and one row in sink_registry.cpp.
#pragma once

#include <memory>
#include <span>
#include <string_view>

#include "alerts/alert_sink.h"
#include "config/catalog.h"
#include "config/config.h"

namespace mw::alerts {

struct SinkEntry {
    config::SinkInfo about;  // name (the receiver's type), summary, rules for its keys
    // Re-send while firing: the receiver forgets an alert whose endsAt passes
    // (Alertmanager); the others are told once per state change.
    bool resends;
    std::unique_ptr<AlertSink> (*make)(const config::ReceiverConfig& receiver);
};

std::span<const SinkEntry> alert_sinks();
// nullptr for an unknown type.
const SinkEntry* find_alert_sink(std::string_view type);

}  // namespace mw::alerts
