// Applies a model's privacy policy (core/privacy.h) to accepted records. The
// ingest parser calls it for every record it accepts, and every collector
// (HTTP, file tail, NATS) parses through it, so a value the policy does not
// keep never reaches the spool, PostgreSQL or a log (docs/privacy.md).
//
// What each action stores:
//   drop        nothing: the feature or attribute is left out (declared
//               features cannot be dropped, config/privacy_section.cpp);
//               a feature dropped by `undeclared: drop` (no row of its own)
//               keeps its name with a null value, so the data-quality check
//               of undeclared fields still counts it.
//   hash        "hmac:<key id>:" + the lowercase hex HMAC-SHA256 (RFC 2104,
//               OpenSSL's HMAC) of "<model>\0<domain>\0<text>" under the
//               policy's key (the key id, core/privacy_key.h, says which key
//               made a stored hash after a rotation),
//               where <domain> is "record-id" for ids and "field:<name>" for
//               a feature or attribute, and <text> the value as stored
//               (numbers in their shortest round-trip form, booleans
//               "true"/"false"). Equal values under one key, model and field
//               hash equally, so outcomes still join their predictions and
//               categories still drift; the domain keeps one person's id from
//               matching a feature value (even of a feature named "id"), the
//               model keeps two models sharing a key file from being linked.
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

#include "core/privacy.h"
#include "core/record.h"
#include "core/utf8.h"

namespace mw {

inline constexpr std::string_view privacy_record_id_domain = "record-id";

// "hmac:<key id>:<64 hex digits>" of `value` in `domain` of `model` under `key`.
std::string privacy_hash(const PrivacyKey& key, std::string_view model, std::string_view domain,
                         std::string_view value);
// The domain of a feature's or an attribute's values: "field:<name>".
std::string privacy_field_domain(std::string_view name);
// True when `text` is what privacy_hash returns under some key ("hmac:", 8
// lowercase hex digits, ":", 64 lowercase hex digits).
bool is_privacy_hash(std::string_view text);
// The key id a hash was made under; "" when `text` is no hash.
std::string_view privacy_hash_key_id(std::string_view text);

// What identifies the policy records were accepted under: "" for a policy
// that keeps everything, else 16 hex digits of the SHA-256 of the canonical
// policy (every action, width and max_chars, the hashing scheme's version)
// and of the key's id (core/privacy_key.h), never of the key itself. A reference fitted under another fingerprint is not used
// (daemon/model_monitor.cpp); docs/privacy.md.
std::string privacy_fingerprint(const PrivacyPolicy& policy);

// The lower edge of x's bucket of `width` (> 0), or nullopt when it is not finite.
std::optional<double> generalise_number(double x, double width);


// `stored_values`: the record comes from data the daemon itself stored or
// exported (a reference upload of rows read back from PostgreSQL or a
// retraining export): a hashed field's value that already is a hash under
// the policy's key is kept, not hashed again (every category would otherwise
// read as unseen); a hash under another key is hashed like any text.
void apply_privacy(const ModelSchema& schema, Prediction& prediction, bool stored_values = false);
void apply_privacy(const ModelSchema& schema, Outcome& outcome);

// Rejection reasons quote what the client sent ("..., got the string \"x\""),
// and the file tail logs them: under a policy that does not keep everything
// the quoted value is cut from every reason.
void redact_rejections(const ModelSchema& schema, std::vector<Rejection>& rejections);

}  // namespace mw
