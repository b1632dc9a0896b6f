// The form of a privacy key's id (core/privacy_key.h, PrivacyKey::id()): the
// first 4 bytes of HMAC-SHA256(key, "modelwatch key id") as 8 lowercase hex
// digits. The one place its length is written: the hashes' "hmac:<key id>:"
// (collectors/privacy.h), model_privacy.key_id and privacy.previous_key_id
// all follow it.
#pragma once

#include <cstddef>
#include <string_view>

namespace mw {

inline constexpr std::size_t privacy_key_id_digits = 8;

// True when `text` has the form of a key id (privacy_key_id_digits lowercase hex digits).
bool is_privacy_key_id(std::string_view text);

}  // namespace mw
