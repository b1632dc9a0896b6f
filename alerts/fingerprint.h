// The stable identity of an alert: which model, which kind of finding, which
// subject (feature, segment or metric; empty for the whole model). Every
// finding about the same (model, kind, subject) updates the same alert, and
// receivers deduplicate on it (Alertmanager by labels, PagerDuty by dedup_key).
#pragma once

#include <string>
#include <string_view>

namespace mw::alerts {

// Lowercase hex of the first 16 bytes of SHA-256 over the three fields, each
// preceded by its length as 8 bytes big-endian. The length prefix makes the
// encoding injective: ("ab", "c") and ("a", "bc") hash different bytes, which
// a plain separator cannot promise for arbitrary text. 128 bits keep the
// chance of two of a deployment's alerts colliding negligible while the value
// stays short enough for labels and URLs. Never changes for the same inputs,
// across processes and releases: it is stored (alerts.fingerprint).
std::string fingerprint(std::string_view model, std::string_view kind, std::string_view subject);

}  // namespace mw::alerts
