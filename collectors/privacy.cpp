#include "collectors/privacy.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <variant>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/privacy_key_id.h"

namespace mw {
namespace {

// The text a value is hashed as: what the store would have held.
std::optional<std::string> privacy_hashable_text(const Value& value) {
    if (const auto* text = std::get_if<std::string>(&value)) return *text;
    if (const auto* flag = std::get_if<bool>(&value)) return std::string(*flag ? "true" : "false");
    if (const auto* number = std::get_if<double>(&value)) return fmt::format("{}", *number);
    return std::nullopt;  // null stays null: a missing value is data, not a person's
}

// What one record goes through: the model, its policy, and whether its
// values are the daemon's own stored ones (apply_privacy's stored_values).
struct PrivacyPass {
    const std::string& model;
    const PrivacyPolicy& policy;
    bool stored_values = false;

    std::string hash(const std::string& field, const std::string& text) const {
        if (stored_values && privacy_hash_key_id(text) == policy.key->id()) return text;
        return privacy_hash(*policy.key, model, privacy_field_domain(field), text);
    }
};

// Applies one field's action to a feature value; false when the value must be left out.
bool privacy_transform_value(const PrivacyPass& pass, const FieldPrivacy& row, Value& value) {
    if (std::holds_alternative<std::monostate>(value)) return row.action != PrivacyAction::drop;
    switch (row.action) {
        case PrivacyAction::keep: return true;
        case PrivacyAction::drop: return false;
        case PrivacyAction::hash:
            value = pass.hash(row.name, *privacy_hashable_text(value));
            return true;
        case PrivacyAction::generalise:
            if (row.width) {
                const auto* number = std::get_if<double>(&value);
                if (number == nullptr) return false;
                const auto edge = generalise_number(*number, *row.width);
                if (!edge) return false;
                value = *edge;
                return true;
            }
            if (const auto* text = std::get_if<std::string>(&value)) {
                value = truncate_utf8(*text, row.max_chars);
                return true;
            }
            return false;
    }
    return false;
}

// Applies one field's action to an attribute's text; false when it must be left out.
bool privacy_transform_attribute(const PrivacyPass& pass, const FieldPrivacy& row, std::string& text) {
    switch (row.action) {
        case PrivacyAction::keep: return true;
        case PrivacyAction::drop: return false;
        case PrivacyAction::hash: text = pass.hash(row.name, text); return true;
        case PrivacyAction::generalise: {
            if (!row.width) {
                text = truncate_utf8(text, row.max_chars);
                return true;
            }
            double number = 0;
            const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
            if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(number)) return false;
            const auto edge = generalise_number(number, *row.width);
            if (!edge) return false;
            text = fmt::format("{}", *edge);
            return true;
        }
    }
    return false;
}

// The row for a field, or the policy's rule for names the schema does not declare.
FieldPrivacy privacy_row_for(const PrivacyPolicy& policy, const std::string& name, bool declared) {
    if (const auto* row = policy.find(name)) return *row;
    return {name, declared ? PrivacyAction::keep : policy.undeclared, std::nullopt, 0};
}

bool privacy_is_declared_attribute(const ModelSchema& schema, const std::string& name) {
    for (const auto& attribute : schema.attributes)
        if (attribute == name) return true;
    return false;
}

std::string privacy_hex(const unsigned char* bytes, std::size_t size) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * size);
    for (std::size_t i = 0; i < size; ++i) {
        out.push_back(hex[bytes[i] >> 4]);
        out.push_back(hex[bytes[i] & 0x0f]);
    }
    return out;
}

std::string privacy_hmac_hex(const PrivacyKey& key, std::string_view message) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (HMAC(EVP_sha256(), key.view().data(), static_cast<int>(key.size()),
             reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest, &length) == nullptr ||
        length != 32)
        throw std::runtime_error("HMAC-SHA256 failed");
    return privacy_hex(digest, length);
}

}  // namespace

std::string privacy_hash(const PrivacyKey& key, std::string_view model, std::string_view domain,
                         std::string_view value) {
    // The message is "<model>\0<domain>\0<value>": model names and domains
    // hold no NUL, so no two (model, domain, value) give one message.
    std::string message;
    message.reserve(model.size() + domain.size() + 2 + value.size());
    message.append(model).push_back('\0');
    message.append(domain).push_back('\0');
    message.append(value);
    return fmt::format("{}{}:{}", privacy_hash_prefix, key.id(), privacy_hmac_hex(key, message));
}

std::string privacy_field_domain(std::string_view name) { return "field:" + std::string(name); }

bool is_privacy_hash(std::string_view text) {
    if (text.size() != privacy_hash_prefix.size() + privacy_key_id_digits + 1 + 64 ||
        !text.starts_with(privacy_hash_prefix))
        return false;
    text.remove_prefix(privacy_hash_prefix.size());
    if (text[privacy_key_id_digits] != ':' || !is_privacy_key_id(text.substr(0, privacy_key_id_digits))) return false;
    const auto is_hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); };
    return std::all_of(text.begin() + privacy_key_id_digits + 1, text.end(), is_hex);
}

std::string_view privacy_hash_key_id(std::string_view text) {
    if (!is_privacy_hash(text)) return {};
    return text.substr(privacy_hash_prefix.size(), privacy_key_id_digits);
}

std::string privacy_fingerprint(const PrivacyPolicy& policy) {
    if (policy.keeps_everything()) return {};
    // "v3": the hashing scheme's version (the message layout of
    // privacy_hash, and since v3 the key id in its output).
    std::string canonical = fmt::format("modelwatch privacy v3\nid={}\nundeclared={}\nkey_id={}\n",
                                        to_string(policy.id), to_string(policy.undeclared),
                                        policy.key ? policy.key->id() : "-");
    std::vector<const FieldPrivacy*> rows;
    for (const auto& row : policy.fields) rows.push_back(&row);
    std::sort(rows.begin(), rows.end(), [](const auto* a, const auto* b) { return a->name < b->name; });
    for (const auto* row : rows)
        canonical += fmt::format("field={} action={} width={} max_chars={}\n", row->name, to_string(row->action),
                                 row->width ? fmt::format("{}", *row->width) : "-", row->max_chars);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_Digest(canonical.data(), canonical.size(), digest, &length, EVP_sha256(), nullptr) != 1 || length != 32)
        throw std::runtime_error("SHA-256 failed");
    return privacy_hex(digest, 8);
}

std::optional<double> generalise_number(double x, double width) {
    if (!std::isfinite(x) || !std::isfinite(width) || width <= 0) return std::nullopt;
    // Past 2^52 buckets a double cannot tell a bucket's edge from the value
    // itself (floor changes nothing), and past 2^53 the edge is no exact
    // multiple of the width: such a value is left out, never stored raw.
    const double bucket = std::floor(x / width);
    if (!std::isfinite(bucket) || std::fabs(bucket) >= 0x1p52) return std::nullopt;
    const double edge = bucket * width;
    if (!std::isfinite(edge) || std::fabs(edge) > 0x1p53) return std::nullopt;
    return edge + 0.0;  // -0 becomes 0, so one bucket has one text
}

void apply_privacy(const ModelSchema& schema, Prediction& prediction, bool stored_values) {
    const PrivacyPolicy& policy = schema.privacy;
    const PrivacyPass pass{schema.name, policy, stored_values};
    if (policy.id == PrivacyAction::hash && !(stored_values && privacy_hash_key_id(prediction.id) == policy.key->id()))
        prediction.id = privacy_hash(*policy.key, schema.name, privacy_record_id_domain, prediction.id);
    for (std::size_t f = 0; f < schema.features.size() && f < prediction.features.size(); ++f) {
        const auto* row = policy.find(schema.features[f].name);
        if (row != nullptr && !privacy_transform_value(pass, *row, prediction.features[f]))
            prediction.features[f] = Value{};
    }
    auto& undeclared = prediction.undeclared_features;
    std::erase_if(undeclared, [&](std::pair<std::string, Value>& feature) {
        const auto* row = policy.find(feature.first);
        if (row == nullptr && policy.undeclared == PrivacyAction::drop) {
            // `undeclared: drop` drops the value, not the name: a name with a
            // null value still counts in the data-quality check that clients
            // send fields nobody declared (undeclared_feature), which is what
            // a data-protection officer wants to hear of (docs/privacy.md).
            feature.second = Value{};
            return false;
        }
        return !privacy_transform_value(pass, row ? *row : privacy_row_for(policy, feature.first, false),
                                        feature.second);
    });
    std::erase_if(prediction.attributes, [&](std::pair<std::string, std::string>& attribute) {
        const bool declared = privacy_is_declared_attribute(schema, attribute.first);
        return !privacy_transform_attribute(pass, privacy_row_for(policy, attribute.first, declared),
                                            attribute.second);
    });
}

void apply_privacy(const ModelSchema& schema, Outcome& outcome) {
    if (schema.privacy.id == PrivacyAction::hash)
        outcome.id = privacy_hash(*schema.privacy.key, schema.name, privacy_record_id_domain, outcome.id);
}

namespace {

// A field path the client chose ("features.<name>", "attributes.<name>", an
// unknown top-level key) is kept only when it names something the
// configuration declares (a feature, an attribute or a policy row): key
// names can carry personal data too (one-hot names such as
// "email_alice@example.org").
std::string privacy_redacted_field(const ModelSchema& schema, const std::string& field) {
    static constexpr std::string_view known_fields[] = {"", "id", "ts", "model_version", "features", "prediction",
                                                        "score", "attributes", "label", "value", "model"};
    for (const auto known : known_fields)
        if (field == known) return field;
    const auto dot = field.find('.');
    const std::string parent = field.substr(0, dot);
    if (dot != std::string::npos && (parent == "features" || parent == "attributes")) {
        const std::string name = field.substr(dot + 1);
        if (schema.feature_index(name) >= 0 || privacy_is_declared_attribute(schema, name) ||
            schema.privacy.find(name) != nullptr)
            return field;
        return parent + ".(a name the model does not declare)";
    }
    return "(a field the model does not declare)";
}

// Replaces the client's text quoted between `open` (ending in a quote) and
// `close` (starting with one), when the reason has both.
void privacy_replace_quoted(std::string& reason, std::string_view open, std::string_view close) {
    const auto start = reason.find(open);
    if (start == std::string::npos) return;
    const auto from = start + open.size();
    const auto end = reason.rfind(close);
    if (end == std::string::npos || end < from) return;
    reason.replace(from, end - from, "(not shown)");
}

}  // namespace

void redact_rejections(const ModelSchema& schema, std::vector<Rejection>& rejections) {
    if (schema.privacy.keeps_everything()) return;
    constexpr std::string_view quoted = ", got ";
    for (auto& rejection : rejections) {
        rejection.field = privacy_redacted_field(schema, rejection.field);
        auto& reason = rejection.reason;
        // The sentences of collectors/ingest_parser.cpp that quote input
        // elsewhere than after ", got ": a timestamp's or a label's text
        // first, an unknown key's name.
        if (reason.starts_with('"')) {
            for (const std::string_view close : {"\" is not an RFC 3339 timestamp", "\" is outside the accepted range",
                                                 "\" is not one of the model's classes"})
                if (reason.find(close) != std::string::npos) {
                    privacy_replace_quoted(reason, "\"", close);
                    break;
                }
        }
        privacy_replace_quoted(reason, "unknown field \"", "\"; ");
        const auto at = reason.find(quoted);
        if (at == std::string::npos) continue;
        reason.resize(at);
        reason += " (the value sent is not shown: the model's privacy policy does not keep every field)";
    }
}

}  // namespace mw
