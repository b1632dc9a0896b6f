#include "collectors/ingest_parser.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <optional>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <simdjson.h>

#include "collectors/privacy.h"
#include "core/time.h"

namespace mw {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

// What is wrong with one record; the body walker adds the record's index.
struct Problem {
    std::string field;
    std::string reason;
};
using Check = std::optional<Problem>;  // empty when the value is fine

// simdjson keeps buffers sized for the largest document it has parsed. After a
// body larger than this the thread gives its buffers back, so one 32 MiB
// request does not pin a few hundred MB per thread for the life of the daemon.
constexpr std::size_t retained_buffer_bytes = 8u << 20;

struct ThreadParser {
    simdjson::dom::parser parser;
    std::vector<char> padded;  // the body, then SIMDJSON_PADDING bytes simdjson may read
};

ThreadParser& thread_parser() {
    thread_local ThreadParser state;
    return state;
}

// ---- describing client input in messages --------------------------------

// At most 64 bytes of client text, cut at a UTF-8 character boundary (simdjson
// has validated the UTF-8), so a message stays short and valid UTF-8.
std::string excerpt(std::string_view text) {
    constexpr std::size_t max_bytes = 64;
    if (text.size() <= max_bytes) return std::string(text);
    std::size_t cut = max_bytes;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    return std::string(text.substr(0, cut)) + "...";
}

std::string field_path(std::string_view parent, std::string_view key) {
    return fmt::format("{}.{}", parent, excerpt(key));
}

std::string describe(element value) {
    switch (value.type()) {
        case element_type::ARRAY: return "an array";
        case element_type::OBJECT: return "an object";
        case element_type::INT64: return fmt::format("the number {}", value.get_int64().value_unsafe());
        case element_type::UINT64: return fmt::format("the number {}", value.get_uint64().value_unsafe());
        case element_type::DOUBLE: return fmt::format("the number {}", value.get_double().value_unsafe());
        case element_type::STRING: return fmt::format("the string \"{}\"", excerpt(value.get_string().value_unsafe()));
        case element_type::BOOL: return value.get_bool().value_unsafe() ? "true" : "false";
        case element_type::NULL_VALUE: return "null";
    }
    return "an unknown JSON value";
}

// ASCII controls, DEL, and the C1 controls U+0080..U+009F (UTF-8 C2 80..C2 9F):
// refused in ids and names, which end up in logs, metrics and SQL keys.
bool has_control_char(std::string_view text) {
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto byte = static_cast<unsigned char>(text[i]);
        if (byte < 0x20 || byte == 0x7f) return true;
        if (byte == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) <= 0x9F) return true;
    }
    return false;
}

// Checks a name or short text: non-empty, at most `max_bytes`, no control characters.
Check check_name(std::string_view field, std::string_view what, std::string_view text, std::size_t max_bytes) {
    if (text.empty()) return Problem{std::string(field), fmt::format("{} is empty", what)};
    if (text.size() > max_bytes)
        return Problem{std::string(field), fmt::format("{} is {} bytes, more than the limit of {}", what, text.size(), max_bytes)};
    if (has_control_char(text)) return Problem{std::string(field), fmt::format("{} contains control characters", what)};
    return std::nullopt;
}

// PostgreSQL text and jsonb cannot hold U+0000, and writing anything else in
// its place would store a value the client never sent, so values that may
// otherwise hold any character (feature strings, labels, attribute values)
// are refused when they contain one.
Check check_no_nul(std::string_view field, std::string_view text) {
    if (text.find('\0') == std::string_view::npos) return std::nullopt;
    return Problem{std::string(field), "the string contains a NUL character (U+0000), which the store cannot hold"};
}

// ---- converting JSON values ---------------------------------------------

// simdjson refuses numbers that overflow a double when parsing, so a DOUBLE is
// finite; the check keeps the promise "numeric values are finite" local.
std::optional<double> finite_number(element value) {
    switch (value.type()) {
        case element_type::INT64: return static_cast<double>(value.get_int64().value_unsafe());
        case element_type::UINT64: return static_cast<double>(value.get_uint64().value_unsafe());
        case element_type::DOUBLE: {
            const double number = value.get_double().value_unsafe();
            if (!std::isfinite(number)) return std::nullopt;
            return number;
        }
        default: return std::nullopt;
    }
}

template <typename Integer>
std::string decimal(Integer number) {
    char text[24];
    const auto end = std::to_chars(text, text + sizeof text, number).ptr;
    return std::string(text, end);
}

// The decimal text of an integer-valued number. Doubles qualify only when
// `integral_doubles` is set and they are whole and exact (|x| <= 2^53).
std::optional<std::string> integer_text(element value, bool integral_doubles) {
    switch (value.type()) {
        case element_type::INT64: return decimal(value.get_int64().value_unsafe());
        case element_type::UINT64: return decimal(value.get_uint64().value_unsafe());
        case element_type::DOUBLE: {
            const double number = value.get_double().value_unsafe();
            constexpr double exact_limit = 9007199254740992.0;  // 2^53
            if (!integral_doubles || std::trunc(number) != number || std::fabs(number) > exact_limit) return std::nullopt;
            return decimal(static_cast<std::int64_t>(number));
        }
        default: return std::nullopt;
    }
}

Check read_id(element value, const ParseLimits& limits, std::string& out) {
    if (value.is_string()) {
        out.assign(value.get_string().value_unsafe());
    } else if (auto text = integer_text(value, false)) {
        out = std::move(*text);
    } else {
        return Problem{"id",
                       fmt::format("expected a string or an integer (no fraction or exponent), got {}", describe(value))};
    }
    return check_name("id", "id", out, limits.max_id_bytes);
}

Check read_ts(element value, const ParseLimits& limits, std::int64_t now_us, std::int64_t& out) {
    if (value.is_null()) {
        out = now_us;
        return std::nullopt;
    }
    if (!value.is_string())
        return Problem{"ts", fmt::format("expected an RFC 3339 string such as \"2024-05-01T12:00:00Z\", got {}",
                                         describe(value))};
    const std::string_view text = value.get_string().value_unsafe();
    const std::optional<std::int64_t> ts_us = parse_rfc3339_us(text);
    if (!ts_us)
        return Problem{"ts", fmt::format("\"{}\" is not an RFC 3339 timestamp: expected a valid date and time with "
                                         "seconds and Z or an offset, e.g. \"2024-05-01T12:00:00.5+02:00\"",
                                         excerpt(text))};
    if (*ts_us < min_record_ts_us || *ts_us > max_record_ts_us)
        return Problem{"ts", fmt::format("\"{}\" is outside the accepted range 1970-01-01T00:00:00Z to "
                                         "2262-04-11T23:47:16Z",
                                         excerpt(text))};
    // Differences taken in uint64 so that no now_us can make them overflow.
    const auto max_skew_us = static_cast<std::uint64_t>(std::max<std::int64_t>(limits.max_future_skew_us, 0));
    if (*ts_us > now_us) {
        const std::uint64_t ahead_us = static_cast<std::uint64_t>(*ts_us) - static_cast<std::uint64_t>(now_us);
        if (ahead_us > max_skew_us)
            return Problem{"ts", fmt::format("ts is {} s ahead of the server clock (at most {} s allowed)",
                                             ahead_us / 1'000'000, max_skew_us / 1'000'000)};
    }
    out = *ts_us;
    return std::nullopt;
}

// A class label: a non-empty string, a bool ("true"/"false"), or an integer.
// A label outside the model's declared classes (when it declares them) is
// refused: it would silently become a class of its own in every metric.
Check check_class(std::string_view field, const std::vector<std::string>& classes, const std::string& label) {
    if (classes.empty() || std::find(classes.begin(), classes.end(), label) != classes.end()) return std::nullopt;
    return Problem{std::string(field),
                   fmt::format("\"{}\" is not one of the model's classes ({})", label, fmt::join(classes, ", "))};
}

Check read_label(element value, std::string_view field, PredictionType type, const std::vector<std::string>& classes,
                 const ParseLimits& limits, std::optional<std::string>& out) {
    if (value.is_string()) {
        const std::string_view label = value.get_string().value_unsafe();
        if (label.empty()) return Problem{std::string(field), "the label is empty"};
        if (label.size() > limits.max_name_bytes)
            return Problem{std::string(field), fmt::format("the label is {} bytes, more than the limit of {}",
                                                           label.size(), limits.max_name_bytes)};
        if (Check problem = check_no_nul(field, label)) return problem;
        out.emplace(label);
        return check_class(field, classes, *out);
    }
    if (value.is_bool()) {
        out.emplace(value.get_bool().value_unsafe() ? "true" : "false");
        return check_class(field, classes, *out);
    }
    if (auto text = integer_text(value, true)) {
        out = std::move(*text);
        return check_class(field, classes, *out);
    }
    return Problem{std::string(field), fmt::format("a {} model's label is a class (a string, bool or integer), got {}",
                                                   to_string(type), describe(value))};
}

Check read_number(element value, std::string_view field, PredictionType type, std::optional<double>& out) {
    if (auto number = finite_number(value)) {
        out = *number;
        return std::nullopt;
    }
    return Problem{std::string(field),
                   fmt::format("a {} model's value is a finite number, got {}", to_string(type), describe(value))};
}

bool is_classification(PredictionType type) {
    return type == PredictionType::binary || type == PredictionType::multiclass;
}

// The first name that occurs twice in `names` (which it sorts), if any.
std::optional<std::string_view> first_duplicate(std::vector<std::string_view>& names) {
    if (names.size() < 2) return std::nullopt;
    std::sort(names.begin(), names.end());
    const auto duplicate = std::adjacent_find(names.begin(), names.end());
    if (duplicate == names.end()) return std::nullopt;
    return *duplicate;
}

// Finds which of `keys` a record key is; -1 when it is none of them.
template <std::size_t N>
int key_index(const std::string_view (&keys)[N], std::string_view key) {
    for (std::size_t i = 0; i < N; ++i)
        if (keys[i] == key) return static_cast<int>(i);
    return -1;
}

// `record_kind` with its article: "a prediction", "an outcome".
Problem unknown_key(std::string_view key, std::string_view record_kind, std::string_view known) {
    if (key == "model")
        return Problem{"model", "the model comes from the URL (/v1/models/{model}/...), not from the body"};
    return Problem{excerpt(key), fmt::format("unknown field \"{}\"; {} has {}", excerpt(key), record_kind, known)};
}

// ---- predictions ---------------------------------------------------------

class PredictionReader {
public:
    PredictionReader(const ModelSchema& schema, const ParseLimits& limits, std::int64_t now_us)
        : schema_(schema), limits_(limits), now_us_(now_us), feature_stamp_(schema.features.size(), 0) {
        feature_index_.reserve(schema.features.size());
        for (std::size_t i = 0; i < schema.features.size(); ++i)
            feature_index_.try_emplace(schema.features[i].name, static_cast<int>(i));
    }

    Check read(object record, Prediction& out) {
        static constexpr std::string_view keys[] = {"id",         "ts",    "model_version", "features",
                                                    "prediction", "score", "attributes"};
        enum Key { id, ts, model_version, features, prediction, score, attributes };
        bool seen[std::size(keys)] = {};
        out.ts_us = now_us_;
        for (auto [key, value] : record) {
            const int index = key_index(keys, key);
            if (index < 0)
                return unknown_key(key, "a prediction",
                                   "id, ts, model_version, features, prediction, score and attributes");
            if (seen[index]) return Problem{std::string(key), "the key occurs twice in the record"};
            seen[index] = true;
            Check problem;
            switch (static_cast<Key>(index)) {
                case id: problem = read_id(value, limits_, out.id); break;
                case ts: problem = read_ts(value, limits_, now_us_, out.ts_us); break;
                case model_version: problem = read_model_version(value, out.model_version); break;
                case features: problem = read_features(value, out); break;
                case prediction: problem = read_prediction(value, out); break;
                case score: problem = read_score(value, out.score); break;
                case attributes: problem = read_attributes(value, out.attributes); break;
            }
            if (problem) return problem;
        }
        if (!seen[id]) return Problem{"id", "required: every record needs an id"};
        if (!seen[features]) return Problem{"features", "required: an object of feature values (may be {})"};
        if (!seen[prediction]) return Problem{"prediction", "required"};
        return std::nullopt;
    }

private:
    Check read_model_version(element value, std::string& out) const {
        if (value.is_null()) return std::nullopt;
        if (value.is_string()) {
            out.assign(value.get_string().value_unsafe());
        } else if (auto text = integer_text(value, false)) {
            out = std::move(*text);
        } else {
            return Problem{"model_version", fmt::format("expected a string or an integer, got {}", describe(value))};
        }
        return check_name("model_version", "model_version", out, limits_.max_name_bytes);
    }

    Check read_features(element value, Prediction& out) {
        object features;
        if (value.get(features) != simdjson::SUCCESS)
            return Problem{"features", fmt::format("expected an object of feature values, got {}", describe(value))};
        if (features.size() > limits_.max_features)
            return Problem{"features", fmt::format("more than the limit of {} features", limits_.max_features)};
        out.features.assign(schema_.features.size(), Value{});
        // A declared feature set twice is caught by stamping it with the
        // number of the record being read, so nothing is reset per record.
        ++record_number_;
        names_.clear();
        std::size_t next_in_schema_order = 0;
        for (auto [name, feature_value] : features) {
            const int declared = declared_index(name, next_in_schema_order);
            if (declared >= 0) {
                const auto index = static_cast<std::size_t>(declared);
                next_in_schema_order = index + 1;
                if (feature_stamp_[index] == record_number_)
                    return Problem{field_path("features", name), "the feature occurs twice in the record"};
                feature_stamp_[index] = record_number_;
                if (Check problem =
                        read_declared_feature(schema_.features[index].type, name, feature_value, out.features[index]))
                    return problem;
                continue;
            }
            if (name.empty()) return Problem{"features", "a feature name is empty"};
            if (Check problem = check_name(field_path("features", name), "the feature name", name, limits_.max_name_bytes))
                return problem;
            Value undeclared;
            if (Check problem = read_undeclared_feature(name, feature_value, undeclared)) return problem;
            names_.push_back(name);
            out.undeclared_features.emplace_back(std::string(name), std::move(undeclared));
        }
        if (auto duplicate = first_duplicate(names_))
            return Problem{field_path("features", *duplicate), "the feature occurs twice in the record"};
        return std::nullopt;
    }

    // Clients usually send features in the schema's order, so the feature
    // after the previous one is tried before the hash lookup.
    int declared_index(std::string_view name, std::size_t expected) const {
        if (expected < schema_.features.size() && schema_.features[expected].name == name)
            return static_cast<int>(expected);
        const auto found = feature_index_.find(name);
        return found == feature_index_.end() ? -1 : found->second;
    }

    Check read_declared_feature(FeatureType type, std::string_view name, element value, Value& out) const {
        if (value.is_null()) return std::nullopt;  // a missing value, already monostate
        switch (type) {
            case FeatureType::numeric:
                if (auto number = finite_number(value)) {
                    out.emplace<double>(*number);
                    return std::nullopt;
                }
                return Problem{field_path("features", name),
                               fmt::format("numeric feature: expected a finite number or null, got {}", describe(value))};
            case FeatureType::boolean:
                if (value.is_bool()) {
                    out.emplace<bool>(value.get_bool().value_unsafe());
                    return std::nullopt;
                }
                return Problem{field_path("features", name),
                               fmt::format("boolean feature: expected true, false or null, got {}", describe(value))};
            case FeatureType::categorical:
                if (value.is_string()) return read_feature_string(name, value.get_string().value_unsafe(), out);
                if (auto text = integer_text(value, true)) {
                    out.emplace<std::string>(std::move(*text));
                    return std::nullopt;
                }
                return Problem{field_path("features", name),
                               fmt::format("categorical feature: expected a string, an integer or null, got {}",
                                           describe(value))};
        }
        return std::nullopt;
    }

    Check read_undeclared_feature(std::string_view name, element value, Value& out) const {
        switch (value.type()) {
            case element_type::NULL_VALUE: return std::nullopt;
            case element_type::BOOL: out.emplace<bool>(value.get_bool().value_unsafe()); return std::nullopt;
            case element_type::STRING: return read_feature_string(name, value.get_string().value_unsafe(), out);
            case element_type::INT64:
            case element_type::UINT64:
            case element_type::DOUBLE:
                if (auto number = finite_number(value)) {
                    out.emplace<double>(*number);
                    return std::nullopt;
                }
                break;
            case element_type::ARRAY:
            case element_type::OBJECT: break;
        }
        return Problem{field_path("features", name),
                       fmt::format("expected a number, string, bool or null, got {}", describe(value))};
    }

    Check read_feature_string(std::string_view name, std::string_view text, Value& out) const {
        if (text.size() > limits_.max_feature_string_bytes)
            return Problem{field_path("features", name),
                           fmt::format("the string is {} bytes, more than the limit of {}", text.size(),
                                       limits_.max_feature_string_bytes)};
        if (Check problem = check_no_nul(field_path("features", name), text)) return problem;
        out.emplace<std::string>(text);
        return std::nullopt;
    }

    Check read_prediction(element value, Prediction& out) const {
        if (is_classification(schema_.prediction_type))
            return read_label(value, "prediction", schema_.prediction_type, schema_.classes, limits_, out.label);
        return read_number(value, "prediction", schema_.prediction_type, out.value);
    }

    static Check read_score(element value, std::optional<double>& out) {
        if (value.is_null()) return std::nullopt;
        const std::optional<double> score = finite_number(value);
        if (!score || *score < 0 || *score > 1)
            return Problem{"score", fmt::format("expected a probability in [0, 1], got {}", describe(value))};
        out = *score;
        return std::nullopt;
    }

    Check read_attributes(element value, std::vector<std::pair<std::string, std::string>>& out) {
        if (value.is_null()) return std::nullopt;
        object attributes;
        if (value.get(attributes) != simdjson::SUCCESS)
            return Problem{"attributes", fmt::format("expected an object of attribute values, got {}", describe(value))};
        if (attributes.size() > limits_.max_attributes)
            return Problem{"attributes", fmt::format("more than the limit of {} attributes", limits_.max_attributes)};
        names_.clear();
        for (auto [name, attribute_value] : attributes) {
            if (name.empty()) return Problem{"attributes", "an attribute name is empty"};
            const std::string field = field_path("attributes", name);
            if (Check problem = check_name(field, "the attribute name", name, limits_.max_name_bytes)) return problem;
            names_.push_back(name);
            std::string text;
            switch (attribute_value.type()) {
                case element_type::NULL_VALUE: continue;  // unknown for this record: not stored
                case element_type::STRING: text.assign(attribute_value.get_string().value_unsafe()); break;
                case element_type::BOOL: text = attribute_value.get_bool().value_unsafe() ? "true" : "false"; break;
                case element_type::INT64:
                case element_type::UINT64:
                case element_type::DOUBLE:
                    // Integers (and whole doubles) as integers; other numbers in
                    // fmt's shortest round-trip form, e.g. 0.1 -> "0.1".
                    if (auto integer = integer_text(attribute_value, true))
                        text = std::move(*integer);
                    else
                        text = fmt::format("{}", attribute_value.get_double().value_unsafe());
                    break;
                case element_type::ARRAY:
                case element_type::OBJECT:
                    return Problem{field, fmt::format("expected a string, number or bool, got {}",
                                                      describe(attribute_value))};
            }
            if (text.size() > limits_.max_attribute_value_bytes)
                return Problem{field, fmt::format("the value is {} bytes, more than the limit of {}", text.size(),
                                                  limits_.max_attribute_value_bytes)};
            if (Check problem = check_no_nul(field, text)) return problem;
            out.emplace_back(std::string(name), std::move(text));
        }
        if (auto duplicate = first_duplicate(names_))
            return Problem{field_path("attributes", *duplicate), "the attribute occurs twice in the record"};
        return std::nullopt;
    }

    const ModelSchema& schema_;
    const ParseLimits& limits_;
    std::int64_t now_us_;
    std::unordered_map<std::string_view, int> feature_index_;  // views of schema_'s names
    std::vector<std::size_t> feature_stamp_;                   // per declared feature: last record that set it
    std::size_t record_number_ = 0;
    std::vector<std::string_view> names_;  // scratch: names seen in one object, views of the parsed body
};

// ---- outcomes ------------------------------------------------------------

class OutcomeReader {
public:
    OutcomeReader(const ModelSchema& schema, const ParseLimits& limits, std::int64_t now_us)
        : type_(schema.prediction_type), classes_(schema.classes), limits_(limits), now_us_(now_us) {}

    Check read(object record, Outcome& out) const {
        static constexpr std::string_view keys[] = {"id", "ts", "label", "value"};
        enum Key { id, ts, label, value };
        bool seen[std::size(keys)] = {};
        bool has_truth = false;  // a non-null label or value was read
        out.ts_us = now_us_;
        for (auto [key, field_value] : record) {
            const int index = key_index(keys, key);
            if (index < 0) return unknown_key(key, "an outcome", "id, ts, and label or value");
            if (seen[index]) return Problem{std::string(key), "the key occurs twice in the record"};
            seen[index] = true;
            Check problem;
            switch (static_cast<Key>(index)) {
                case id: problem = read_id(field_value, limits_, out.id); break;
                case ts: problem = read_ts(field_value, limits_, now_us_, out.ts_us); break;
                case label:
                case value:
                    if (field_value.is_null()) break;
                    if (has_truth) return Problem{std::string(key), "give label or value, not both"};
                    has_truth = true;
                    problem = read_truth(static_cast<Key>(index) == label ? "label" : "value", field_value, out);
                    break;
            }
            if (problem) return problem;
        }
        if (!seen[id]) return Problem{"id", "required: every record needs an id"};
        if (!has_truth)
            return is_classification(type_) ? Problem{"label", "required: the observed class"}
                                            : Problem{"value", "required: the observed value"};
        return std::nullopt;
    }

private:
    // Classification models take the class as "label". Regression and score
    // models take a number as "value", or as "label" since people often call
    // any ground truth a label.
    Check read_truth(std::string_view key, element value, Outcome& out) const {
        if (is_classification(type_)) {
            if (key == "value")
                return Problem{"value", fmt::format("a {} model's outcome is a class: send it as label", to_string(type_))};
            return read_label(value, "label", type_, classes_, limits_, out.label);
        }
        return read_number(value, key, type_, out.value);
    }

    PredictionType type_;
    const std::vector<std::string>& classes_;
    const ParseLimits& limits_;
    std::int64_t now_us_;
};

// ---- the body ------------------------------------------------------------

bool is_json_whitespace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string json_error(simdjson::error_code error, std::size_t max_depth) {
    switch (error) {
        case simdjson::DEPTH_ERROR:
            return fmt::format("nests deeper than {} levels of arrays and objects", max_depth);
        case simdjson::NUMBER_ERROR:
            return "malformed JSON: a number is malformed or out of range (it must fit a double or a 64-bit "
                   "integer: 1e999 does not)";
        default: return fmt::format("malformed JSON: {}", simdjson::error_message(error));
    }
}

// Rejects every accepted record whose id an earlier accepted record already
// has, keeping `rejections` in body order. Sorting positions by id costs
// O(n log n) whatever the ids are, where a hash table over client-chosen keys
// can be flooded with collisions (std::hash is MurmurHash2, which has
// seed-independent multicollisions: Aumasson and Bernstein, "SipHash: a fast
// short-input PRF", 2012).
template <typename Record>
void reject_duplicate_ids(std::vector<Record>& accepted, const std::vector<std::size_t>& body_index,
                          std::vector<Rejection>& rejections) {
    if (accepted.size() < 2) return;
    std::vector<std::size_t> order(accepted.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        const int compared = accepted[a].id.compare(accepted[b].id);
        return compared != 0 ? compared < 0 : a < b;
    });
    std::vector<bool> duplicate(accepted.size(), false);
    std::vector<Rejection> duplicates;
    std::size_t first = order[0];
    for (std::size_t i = 1; i < order.size(); ++i) {
        if (accepted[order[i]].id != accepted[first].id) {
            first = order[i];
            continue;
        }
        duplicate[order[i]] = true;
        duplicates.push_back({body_index[order[i]], "id",
                              fmt::format("duplicate id within request, first at index {}", body_index[first])});
    }
    if (duplicates.empty()) return;

    std::size_t kept = 0;
    for (std::size_t i = 0; i < accepted.size(); ++i) {
        if (duplicate[i]) continue;
        if (kept != i) accepted[kept] = std::move(accepted[i]);  // never self-move: it empties strings
        ++kept;
    }
    accepted.resize(kept);
    const auto by_index = [](const Rejection& a, const Rejection& b) { return a.index < b.index; };
    std::sort(duplicates.begin(), duplicates.end(), by_index);
    const auto middle = static_cast<std::ptrdiff_t>(rejections.size());
    rejections.insert(rejections.end(), std::make_move_iterator(duplicates.begin()),
                      std::make_move_iterator(duplicates.end()));
    std::inplace_merge(rejections.begin(), rejections.begin() + middle, rejections.end(), by_index);
}

// Walks the records of a body, handing each object to `reader` and keeping
// the order, the indexes and the duplicate-id rule in one place for both kinds.
template <typename Record, typename Reader>
void walk_body(std::string_view body, const ParseLimits& limits, Reader& reader, std::vector<Record>& accepted,
               std::vector<Rejection>& rejections, std::string& body_error) {
    const auto first = std::find_if_not(body.begin(), body.end(), is_json_whitespace);
    if (first == body.end()) {
        body_error = "the body is empty: expected a JSON array of records or NDJSON (one object per line)";
        return;
    }
    if (*first != '[' && *first != '{') {
        body_error = "the body is neither a JSON array of records nor NDJSON (one object per line): it must start "
                     "with '[' or '{'";
        return;
    }

    ThreadParser& state = thread_parser();
    simdjson::dom::parser& parser = state.parser;
    // simdjson fails when a non-empty container would reach its max_depth, so
    // allowing max_depth levels takes one more (empty containers one level
    // deeper still pass, which is harmless).
    const std::size_t max_depth = std::max<std::size_t>(limits.max_depth, 1);
    const std::size_t simdjson_depth = max_depth + 1;
    if (parser.max_depth() != simdjson_depth &&
        parser.allocate(std::max(parser.capacity(), simdjson::dom::MINIMAL_DOCUMENT_CAPACITY), simdjson_depth) !=
            simdjson::SUCCESS) {
        body_error = "out of memory while preparing the JSON parser";
        return;
    }
    state.padded.resize(body.size() + simdjson::SIMDJSON_PADDING);
    std::memcpy(state.padded.data(), body.data(), body.size());
    const char* const data = state.padded.data();

    std::vector<std::size_t> accepted_body_index;  // parallel to `accepted`
    auto take = [&](std::size_t index, element value) {
        object record;
        if (value.get(record) != simdjson::SUCCESS) {
            rejections.push_back({index, "", fmt::format("a record must be a JSON object, got {}", describe(value))});
            return;
        }
        Record out;
        if (Check problem = reader.read(record, out)) {
            rejections.push_back({index, std::move(problem->field), std::move(problem->reason)});
            return;
        }
        accepted.push_back(std::move(out));
        accepted_body_index.push_back(index);
    };
    const auto too_many = [&] {
        return fmt::format("the body holds more than {} records, the limit per request: split it", limits.max_records);
    };

    if (*first == '[') {
        element root;
        simdjson::dom::array records;
        if (const auto error = parser.parse(data, body.size(), false).get(root)) {
            body_error = fmt::format("the body is not valid JSON: {}", json_error(error, max_depth));
        } else if (root.get(records) != simdjson::SUCCESS) {
            body_error = "the body starts with '[' but is not a JSON array";
        } else if (records.size() > limits.max_records) {
            body_error = too_many();
        } else {
            accepted.reserve(records.size());
            accepted_body_index.reserve(records.size());
            std::size_t index = 0;
            for (element value : records) take(index++, value);
        }
    } else {
        std::size_t index = 0;
        std::size_t line_number = 0;
        std::size_t position = 0;
        while (position < body.size()) {
            const void* newline = std::memchr(data + position, '\n', body.size() - position);
            const std::size_t end = newline ? static_cast<std::size_t>(static_cast<const char*>(newline) - data) : body.size();
            const std::string_view line(data + position, end - position);
            position = end + 1;
            ++line_number;
            if (std::all_of(line.begin(), line.end(), is_json_whitespace)) continue;
            if (index == limits.max_records) {
                accepted.clear();
                rejections.clear();
                accepted_body_index.clear();
                body_error = too_many();
                break;
            }
            // Every line is followed by the rest of the padded buffer, so
            // simdjson's padding requirement holds without copying the line.
            element value;
            if (const auto error = parser.parse(line.data(), line.size(), false).get(value)) {
                rejections.push_back({index++, "", fmt::format("line {}: {}", line_number, json_error(error, max_depth))});
                continue;
            }
            take(index++, value);
        }
    }

    if (body_error.empty()) reject_duplicate_ids(accepted, accepted_body_index, rejections);

    if (state.padded.capacity() > retained_buffer_bytes) state.padded = std::vector<char>();
    if (parser.capacity() > retained_buffer_bytes) parser = simdjson::dom::parser();
}

}  // namespace

ParsedPredictions parse_predictions(std::string_view body, std::shared_ptr<const ModelSchema> schema,
                                    const ParseLimits& limits, std::int64_t now_us) {
    ParsedPredictions result;
    result.batch.model = schema->name;
    result.batch.schema = std::move(schema);
    const ModelSchema& accepted_under = *result.batch.schema;
    PredictionReader reader(accepted_under, limits, now_us);
    walk_body(body, limits, reader, result.batch.records, result.rejections, result.body_error);
    // The one place every collector's records pass before the spool.
    if (!accepted_under.privacy.keeps_everything()) {
        for (auto& record : result.batch.records) apply_privacy(accepted_under, record);
        redact_rejections(accepted_under, result.rejections);
    }
    return result;
}

ParsedOutcomes parse_outcomes(std::string_view body, const ModelSchema& schema, const ParseLimits& limits,
                              std::int64_t now_us) {
    ParsedOutcomes result;
    result.batch.model = schema.name;
    result.batch.privacy_key_id = schema.privacy.key_id();
    OutcomeReader reader(schema, limits, now_us);
    walk_body(body, limits, reader, result.batch.records, result.rejections, result.body_error);
    if (!schema.privacy.keeps_everything()) {
        for (auto& record : result.batch.records) apply_privacy(schema, record);
        redact_rejections(schema, result.rejections);
    }
    return result;
}

}  // namespace mw
