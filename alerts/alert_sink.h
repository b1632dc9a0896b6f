// What every alert receiver implements. A delivery is one state change (or
// re-send) of one alert to one receiver; the sink turns it into the
// receiver's own protocol and reports whether the receiver took it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

namespace mw::alerts {

enum class AlertState { firing, resolved };
const char* to_string(AlertState);

// An alert as receivers see it, following Alertmanager's conventions:
// labels identify it (alertname, model, kind, subject, severity), annotations
// explain it (summary, description, runbook_url, finding_url).
struct Alert {
    std::string fingerprint;  // stable: sha256 of model, kind, subject (alerts/fingerprint.h)
    AlertState state = AlertState::firing;
    std::map<std::string, std::string> labels;
    std::map<std::string, std::string> annotations;
    std::int64_t starts_at_us = 0;
    std::int64_t ends_at_us = 0;  // firing: a few resend intervals ahead; resolved: the moment it cleared
    std::string generator_url;    // link to the finding in the daemon's admin API
};

struct DeliveryResult {
    bool delivered = false;
    bool retryable = true;        // false: the receiver refused it for good (e.g. 400), do not retry
    std::string error;            // why it was not delivered
    std::chrono::milliseconds retry_after{0};  // the receiver asked to wait (429/503 Retry-After)
};

class AlertSink {
public:
    virtual ~AlertSink() = default;
    virtual const std::string& name() const = 0;  // the receiver's name in config
    virtual DeliveryResult deliver(const Alert& alert) = 0;
};

}  // namespace mw::alerts
