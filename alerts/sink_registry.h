// The alert sinks by receiver type (STYLE.md section 2): one explicit table
// of name, description, the receiver keys the sink takes (its option table,
// declared next to the sink), and a factory. The config loader reads and
// checks a receiver against its sink's table (through registry/catalog.cpp)
// and the daemon builds sinks from it; adding a sink is its file pair and
// one row in sink_registry.cpp.
#pragma once

#include <memory>
#include <span>
#include <string_view>

#include "alerts/alert_sink.h"
#include "config/component.h"
#include "config/config.h"

namespace mw::alerts {

struct SinkEntry {
    config::ComponentInfo info;  // name (the receiver's type), summary, the receiver keys it takes
    // Re-send while firing: the receiver forgets an alert whose endsAt passes
    // (Alertmanager); the others are told once per state change.
    bool resends;
    std::unique_ptr<AlertSink> (*make)(const config::ReceiverConfig& receiver);
};

std::span<const SinkEntry> alert_sinks();
// nullptr for an unknown type.
const SinkEntry* find_alert_sink(std::string_view type);

}  // namespace mw::alerts
