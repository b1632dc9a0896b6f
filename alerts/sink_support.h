// What the HTTP alert sinks share: one mapping from an HTTP exchange to a
// DeliveryResult (so that every receiver is retried by the same rules), and
// the timestamp form receivers expect.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "alerts/alert_sink.h"
#include "core/http_client.h"

namespace mw::alerts {

// The longest wait a receiver may ask for with Retry-After; a larger value is
// clamped so that a misbehaving receiver cannot park a delivery for days.
inline constexpr std::chrono::milliseconds max_retry_after{std::chrono::hours(1)};

// Retry-After in its delay-seconds form (RFC 9110 section 10.2.3), clamped to
// max_retry_after; 0 when absent or in the HTTP-date form, which receivers of
// alerts do not use (Slack, PagerDuty and Alertmanager send seconds).
std::chrono::milliseconds parse_retry_after(std::string_view value);

// The rules, the same for every HTTP receiver (fluent-bit's outputs and
// Alertmanager's notifiers retry the same way):
// - 2xx: delivered;
// - 408, 429 and 5xx: not delivered, retryable, honouring Retry-After;
// - any other status (4xx, and 1xx/3xx, which a receiver API never answers
//   to a POST): refused for good, retrying would get the same answer;
// - no response (connect, TLS, timeout): retryable.
// `receiver` names the sink and URL in the error, which also quotes the start
// of the response body because receivers explain refusals there.
DeliveryResult result_of(const http::Response& response, std::string_view receiver);

// RFC 3339 in UTC with milliseconds, "2024-05-01T12:00:00.250Z", the form
// Alertmanager's API v2 (Go's strfmt.DateTime) and PagerDuty document.
std::string format_rfc3339_ms(std::int64_t us_since_epoch);

}  // namespace mw::alerts
