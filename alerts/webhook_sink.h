// A generic signed JSON webhook, for receivers that are neither Alertmanager,
// PagerDuty nor Slack.
//
// Body (Content-Type: application/json), one alert per request:
//   {
//     "version": "1",
//     "state": "firing" | "resolved",
//     "fingerprint": "<hex sha256 of model, kind, subject>",
//     "labels": {"alertname": ..., "model": ..., "kind": ..., "subject": ..., "severity": ...},
//     "annotations": {"summary": ..., "description": ..., "finding_url": ..., ...},
//     "startsAt": "2024-05-01T12:00:00.000Z",
//     "endsAt": "2024-05-01T12:15:00.000Z",   // firing: when it expires unless re-sent; resolved: when it cleared
//     "generatorURL": "http://modelwatch:8470/v1/findings/42"
//   }
//
// Signature (the Stripe/GitHub scheme), when a secret is configured:
//   X-Modelwatch-Timestamp: <unix seconds when sent>
//   X-Modelwatch-Signature: sha256=<lowercase hex of HMAC-SHA256(secret, "<timestamp>.<raw body>")>
// To verify, a receiver:
//   1. takes the raw body bytes exactly as received (before any JSON parsing);
//   2. computes HMAC-SHA256 with the shared secret over the timestamp header's
//      value, a ".", and the raw body, e.g. in Python:
//        expected = "sha256=" + hmac.new(secret, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
//   3. compares with the signature header in constant time
//      (hmac.compare_digest), and rejects a mismatch;
//   4. rejects a timestamp too far from its own clock (e.g. 5 minutes), so
//      that a captured request cannot be replayed later.
// The same delivery may arrive more than once (retries after a timeout):
// deduplicate on fingerprint + state + endsAt.
#pragma once

#include <span>
#include <memory>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "alerts/alert_sink.h"
#include "config/config.h"
#include "config/option_table.h"

namespace mw::alerts {

struct WebhookSinkOptions {
    std::string url;                                           // http:// or https:// receiver
    std::string secret;                                        // HMAC key; empty: requests are not signed
    std::int64_t timeout_ms = 10000;                           // the whole HTTP exchange
    std::vector<std::pair<std::string, std::string>> headers;  // added to every request (e.g. Authorization)
};

class WebhookSink : public AlertSink {
public:
    // `clock_s` gives the signature timestamp (Unix seconds); tests inject it.
    WebhookSink(std::string name, WebhookSinkOptions options, std::function<std::int64_t()> clock_s = {});
    const std::string& name() const override { return name_; }
    DeliveryResult deliver(const Alert& alert) override;

private:
    std::string name_;
    WebhookSinkOptions options_;
    std::function<std::int64_t()> clock_s_;
};

// The documented body above, also what the exec sink writes to stdin.
std::string webhook_body(const Alert& alert);

// Lowercase hex of HMAC-SHA256(key, message) (RFC 2104 with SHA-256, as
// Python's hmac.new(key, message, hashlib.sha256).hexdigest()).
std::string hmac_sha256_hex(std::string_view key, std::string_view message);

// The receiver keys this sink takes besides name, type, timeout and
// max_per_minute (docs/monitoring.md, "Alert sinks"), and the sink made
// from a receiver the loader checked against them.
std::span<const config::SettingRow> webhook_sink_options();
std::unique_ptr<AlertSink> make_webhook_sink(const config::ReceiverConfig& receiver);

}  // namespace mw::alerts
