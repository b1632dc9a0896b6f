// Applies a model's privacy policy (core/privacy.h) to accepted records. The
// ingest parser calls it for every record it accepts, and every collector
// (HTTP, file tail, NATS) parses through it, so a value the policy does not
// keep never reaches the spool, PostgreSQL or a log (docs/privacy.md).
//
// What each action stores:
//   drop        nothing: the feature or attribute is left out (declared
//               features cannot be dropped, config/privacy_section.cpp).
//   hash        "hmac:" + the lowercase hex HMAC-SHA256 (RFC 2104, OpenSSL's
//               HMAC) of "<field>\0<text>" under the policy's key, where
//               <field> is "id", the feature's or the attribute's name and
//               <text> the value as stored (numbers in their shortest
//               round-trip form, booleans "true"/"false"). Equal values under
//               one key and field hash equally, so outcomes still join their
//               predictions and categories still drift; the field in the
//               message keeps one person's id from matching a feature value.
//   generalise  a number: floor(x / width) * width, the lower edge of its
//               bucket (when that is not a finite number, the value is left
//               out rather than stored raw); text: its first max_chars
//               characters (code points, never cutting one in half). A value
//               of another type than the row generalises is left out.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/record.h"

namespace mw {

inline constexpr std::string_view privacy_hash_prefix = "hmac:";

// "hmac:<64 hex digits>" of `value` in `field` under `key`.
std::string privacy_hash(std::string_view key, std::string_view field, std::string_view value);

// The lower edge of x's bucket of `width` (> 0), or nullopt when it is not finite.
std::optional<double> generalise_number(double x, double width);

// The first `max_chars` code points of valid UTF-8 `text`.
std::string truncate_utf8(std::string_view text, std::size_t max_chars);

void apply_privacy(const ModelSchema& schema, Prediction& prediction);
void apply_privacy(const ModelSchema& schema, Outcome& outcome);

// Rejection reasons quote what the client sent ("..., got the string \"x\""),
// and the file tail logs them: under a policy that does not keep everything
// the quoted value is cut from every reason.
void redact_rejections(const ModelSchema& schema, std::vector<Rejection>& rejections);

}  // namespace mw
