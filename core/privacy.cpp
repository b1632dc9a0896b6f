#include "core/privacy.h"

namespace mw {

const char* to_string(PrivacyAction action) {
    switch (action) {
        case PrivacyAction::keep: return "keep";
        case PrivacyAction::drop: return "drop";
        case PrivacyAction::hash: return "hash";
        case PrivacyAction::generalise: return "generalise";
    }
    return "?";
}

const FieldPrivacy* PrivacyPolicy::find(std::string_view name) const {
    for (const auto& field : fields)
        if (field.name == name) return &field;
    return nullptr;
}

bool PrivacyPolicy::keeps_everything() const {
    if (id != PrivacyAction::keep || undeclared != PrivacyAction::keep) return false;
    for (const auto& field : fields)
        if (field.action != PrivacyAction::keep) return false;
    return true;
}

// previous_key_id is left out: it is read once, at start (a reload that
// adds or removes it changes nothing of what records are stored as).
bool PrivacyPolicy::operator==(const PrivacyPolicy& other) const {
    const bool same_key = key == other.key || (key && other.key && key->same_bytes(*other.key));
    return same_key && key_file == other.key_file && id == other.id &&
           undeclared == other.undeclared && fields == other.fields;
}

}  // namespace mw
