// A model's privacy policy (DESIGN.md "collectors/"): what happens to each
// field of a record before anything reaches the spool. Plain vocabulary like
// the schema it belongs to; config/privacy_section.cpp fills and checks it,
// collectors/privacy.cpp applies it, docs/privacy.md explains it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/privacy_key.h"

namespace mw {

enum class PrivacyAction : std::uint8_t {
    keep,        // stored as sent
    drop,        // never stored
    hash,        // stored as the keyed HMAC-SHA256 of its text: equal values stay equal
    generalise,  // numbers to the lower edge of their bucket, text to its first characters
};

const char* to_string(PrivacyAction action);

// What a hashed value starts with: "hmac:<key id>:<hex>" (collectors/privacy.h).
inline constexpr std::string_view privacy_hash_prefix = "hmac:";

// The policy of one feature or attribute, by name (features and attributes
// never share a name: config/sections.cpp refuses it).
struct FieldPrivacy {
    std::string name;
    PrivacyAction action = PrivacyAction::keep;
    std::optional<double> width;  // generalise a number: floor(x / width) * width
    std::uint32_t max_chars = 0;  // generalise text: its first max_chars characters (UTF-8); 0: not text

    bool operator==(const FieldPrivacy&) const = default;
};

struct PrivacyPolicy {
    std::string key_file;  // the HMAC key's file; empty when nothing is hashed
    // The key, read from key_file by the config loader (null without one).
    // Never logged, never written anywhere, shared by copies of the policy;
    // a change of it is a key rotation.
    std::shared_ptr<const PrivacyKey> key;
    // A declared rotation: the id of the key this one replaces. The daemon
    // then replaces that key id recorded for the model in PostgreSQL instead
    // of refusing to start (store/privacy_keys.h, docs/privacy.md).
    std::string previous_key_id;
    PrivacyAction id = PrivacyAction::keep;  // keep or hash (predictions' and outcomes' ids alike)
    // Features and attributes the schema does not declare and `fields` does not name: keep or drop.
    PrivacyAction undeclared = PrivacyAction::keep;
    std::vector<FieldPrivacy> fields;

    // The row naming `name`, or nullptr.
    const FieldPrivacy* find(std::string_view name) const;
    // True when applying the policy changes nothing (the default).
    bool keeps_everything() const;
    // The key's id ("" without a key).
    std::string key_id() const { return key ? key->id() : std::string(); }

    // Equal policies with keys of equal bytes.
    bool operator==(const PrivacyPolicy& other) const;
};

}  // namespace mw
