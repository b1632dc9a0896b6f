#include "collectors/privacy.h"

#include <charconv>
#include <cmath>
#include <stdexcept>
#include <variant>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace mw {
namespace {

// The text a value is hashed as: what the store would have held.
std::optional<std::string> privacy_hashable_text(const Value& value) {
    if (const auto* text = std::get_if<std::string>(&value)) return *text;
    if (const auto* flag = std::get_if<bool>(&value)) return std::string(*flag ? "true" : "false");
    if (const auto* number = std::get_if<double>(&value)) return fmt::format("{}", *number);
    return std::nullopt;  // null stays null: a missing value is data, not a person's
}

// Applies one field's action to a feature value; false when the value must be left out.
bool privacy_transform_value(const PrivacyPolicy& policy, const FieldPrivacy& row, Value& value) {
    if (std::holds_alternative<std::monostate>(value)) return row.action != PrivacyAction::drop;
    switch (row.action) {
        case PrivacyAction::keep: return true;
        case PrivacyAction::drop: return false;
        case PrivacyAction::hash:
            value = privacy_hash(policy.key, row.name, *privacy_hashable_text(value));
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
bool privacy_transform_attribute(const PrivacyPolicy& policy, const FieldPrivacy& row, std::string& text) {
    switch (row.action) {
        case PrivacyAction::keep: return true;
        case PrivacyAction::drop: return false;
        case PrivacyAction::hash: text = privacy_hash(policy.key, row.name, text); return true;
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

}  // namespace

std::string privacy_hash(std::string_view key, std::string_view field, std::string_view value) {
    // The message is "<field>\0<value>": field names hold no NUL, so no two
    // (field, value) pairs give one message.
    std::string message;
    message.reserve(field.size() + 1 + value.size());
    message.append(field).push_back('\0');
    message.append(value);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
             reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest, &length) == nullptr ||
        length != 32)
        throw std::runtime_error("HMAC-SHA256 failed");
    static constexpr char hex[] = "0123456789abcdef";
    std::string out(privacy_hash_prefix);
    for (unsigned int i = 0; i < length; ++i) {
        out.push_back(hex[digest[i] >> 4]);
        out.push_back(hex[digest[i] & 0x0f]);
    }
    return out;
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

std::string truncate_utf8(std::string_view text, std::size_t max_chars) {
    std::size_t chars = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        // A byte that is not a continuation byte (10xxxxxx) starts a character.
        if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 && chars++ == max_chars)
            return std::string(text.substr(0, i));
    }
    return std::string(text);
}

void apply_privacy(const ModelSchema& schema, Prediction& prediction) {
    const PrivacyPolicy& policy = schema.privacy;
    if (policy.id == PrivacyAction::hash) prediction.id = privacy_hash(policy.key, "id", prediction.id);
    for (std::size_t f = 0; f < schema.features.size() && f < prediction.features.size(); ++f) {
        const auto* row = policy.find(schema.features[f].name);
        if (row != nullptr && !privacy_transform_value(policy, *row, prediction.features[f]))
            prediction.features[f] = Value{};
    }
    auto& undeclared = prediction.undeclared_features;
    std::erase_if(undeclared, [&](std::pair<std::string, Value>& feature) {
        return !privacy_transform_value(policy, privacy_row_for(policy, feature.first, false), feature.second);
    });
    std::erase_if(prediction.attributes, [&](std::pair<std::string, std::string>& attribute) {
        const bool declared = privacy_is_declared_attribute(schema, attribute.first);
        return !privacy_transform_attribute(policy, privacy_row_for(policy, attribute.first, declared),
                                            attribute.second);
    });
}

void apply_privacy(const ModelSchema& schema, Outcome& outcome) {
    if (schema.privacy.id == PrivacyAction::hash) outcome.id = privacy_hash(schema.privacy.key, "id", outcome.id);
}

void redact_rejections(const ModelSchema& schema, std::vector<Rejection>& rejections) {
    if (schema.privacy.keeps_everything()) return;
    constexpr std::string_view quoted = ", got ";
    for (auto& rejection : rejections) {
        const auto at = rejection.reason.find(quoted);
        if (at == std::string::npos) continue;
        rejection.reason.resize(at);
        rejection.reason += " (the value sent is not shown: the model's privacy policy does not keep every field)";
    }
}

}  // namespace mw
