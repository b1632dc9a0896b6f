// libFuzzer harness of the ingest parser (run by scripts/fuzz.sh). Every input
// goes through parse_predictions and parse_outcomes under ASan and UBSan, and
// the results are checked against invariants that must hold for any bytes:
//   - with a body error nothing is accepted or rejected;
//   - otherwise accepted + rejected == the number of records in the body,
//     counted here independently of the parser (non-blank NDJSON lines, or the
//     elements of the array parsed by a separate simdjson parser), and the
//     rejection indexes are increasing and inside the body;
//   - every accepted record satisfies the schema and the limits;
//   - parsing the same body again gives the same result (the thread's reused
//     parser carries no state from one call to the next);
//   - under a privacy policy, nothing it does not keep comes out.
// A violated invariant aborts, which libFuzzer reports as a crash.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>

#include <simdjson.h>

#include "collectors/ingest_parser.h"
#include "collectors/privacy.h"

namespace {

constexpr std::int64_t now_us = 1714564800LL * 1'000'000;  // 2024-05-01T12:00:00Z

mw::ModelSchema make_schema(mw::PredictionType type) {
    mw::ModelSchema schema;
    schema.name = "fuzz";
    schema.features = {{"age", mw::FeatureType::numeric},
                       {"city", mw::FeatureType::categorical},
                       {"member", mw::FeatureType::boolean}};
    schema.prediction_type = type;
    schema.attributes = {"sex"};
    return schema;
}

// Small limits, so that inputs of a few hundred bytes reach every limit.
mw::ParseLimits small_limits() {
    mw::ParseLimits limits;
    limits.max_records = 16;
    limits.max_depth = 6;
    limits.max_features = 8;
    limits.max_attributes = 4;
    limits.max_id_bytes = 12;
    limits.max_name_bytes = 12;
    limits.max_feature_string_bytes = 24;
    limits.max_attribute_value_bytes = 12;
    limits.max_future_skew_us = 3600LL * 1'000'000;
    return limits;
}

[[noreturn]] void violated(const char* invariant) {
    std::fprintf(stderr, "ingest_parser_fuzz: invariant violated: %s\n", invariant);
    std::abort();
}

void require(bool condition, const char* invariant) {
    if (!condition) violated(invariant);
}

bool is_blank(std::string_view line) {
    for (const char c : line)
        if (c != ' ' && c != '\t' && c != '\r') return false;
    return true;
}

// How many records the body holds, or nothing when it is not a well-formed
// array or NDJSON body (then the parser must report a body error).
// `reference` fails on the same nesting as the parser under test (see make_reference_parser).
std::optional<std::size_t> count_records(std::string_view body, simdjson::dom::parser& reference) {
    std::size_t first = 0;
    while (first < body.size() && (body[first] == ' ' || body[first] == '\t' || body[first] == '\n' || body[first] == '\r'))
        ++first;
    if (first == body.size()) return std::nullopt;
    if (body[first] == '{') {
        std::size_t records = 0;
        std::size_t start = 0;
        while (start <= body.size()) {
            std::size_t end = body.find('\n', start);
            if (end == std::string_view::npos) end = body.size();
            if (!is_blank(body.substr(start, end - start))) ++records;
            start = end + 1;
        }
        return records;
    }
    if (body[first] != '[') return std::nullopt;
    const simdjson::padded_string padded(body.data(), body.size());
    simdjson::dom::array array;
    if (reference.parse(padded).get(array) != simdjson::SUCCESS) return std::nullopt;
    std::size_t records = 0;
    for ([[maybe_unused]] simdjson::dom::element element : array) ++records;
    return records;
}

// A simdjson parser that fails on the same nesting as the parser under test
// with `limits` (it gives simdjson max_depth + 1, see walk_body).
simdjson::dom::parser make_reference_parser(const mw::ParseLimits& limits) {
    simdjson::dom::parser parser;
    if (parser.allocate(simdjson::dom::MINIMAL_DOCUMENT_CAPACITY, limits.max_depth + 1) != simdjson::SUCCESS)
        violated("the reference parser could not allocate");
    return parser;
}

template <typename Parsed>
void check_body(const Parsed& parsed, std::string_view body, const mw::ParseLimits& limits,
                simdjson::dom::parser& reference) {
    require(parsed.batch.model == "fuzz", "batch.model is the schema's name");
    if (!parsed.body_error.empty()) {
        require(parsed.batch.records.empty() && parsed.rejections.empty(), "a body error comes alone");
        return;
    }
    const std::optional<std::size_t> records = count_records(body, reference);
    require(records.has_value(), "a body the reference cannot read is a body error");
    require(*records <= limits.max_records, "more than max_records is a body error");
    require(parsed.batch.records.size() + parsed.rejections.size() == *records, "accepted + rejected == records");
    for (std::size_t i = 0; i < parsed.rejections.size(); ++i) {
        require(parsed.rejections[i].index < *records, "rejection index inside the body");
        require(i == 0 || parsed.rejections[i - 1].index < parsed.rejections[i].index, "rejection indexes increase");
        require(!parsed.rejections[i].reason.empty(), "every rejection has a reason");
    }
    std::set<std::string> ids;
    for (const auto& record : parsed.batch.records) {
        require(!record.id.empty() && record.id.size() <= limits.max_id_bytes, "id non-empty and within the limit");
        require(ids.insert(record.id).second, "accepted ids are unique");
        require(record.ts_us >= mw::min_record_ts_us && record.ts_us <= now_us + limits.max_future_skew_us,
                "ts within range and skew");
    }
}

void check_value_finite(const mw::Value& value) {
    if (const double* number = std::get_if<double>(&value)) require(std::isfinite(*number), "numbers are finite");
}

// No accepted string holds U+0000, which the store cannot keep.
void check_no_nul(std::string_view text) {
    require(text.find('\0') == std::string_view::npos, "no NUL in an accepted string");
}

void check_value_no_nul(const mw::Value& value) {
    if (const auto* text = std::get_if<std::string>(&value)) check_no_nul(*text);
}

void check_predictions(const mw::ParsedPredictions& parsed, const mw::ModelSchema& schema,
                       const mw::ParseLimits& limits) {
    require(parsed.batch.schema.get() == &schema, "the batch carries the schema it was parsed under");
    const bool classification = schema.prediction_type == mw::PredictionType::binary ||
                                schema.prediction_type == mw::PredictionType::multiclass;
    for (const auto& record : parsed.batch.records) {
        require(record.model_version.size() <= limits.max_name_bytes, "model_version within the limit");
        require(record.features.size() == schema.features.size(), "one value per declared feature");
        for (std::size_t i = 0; i < record.features.size(); ++i) {
            const mw::Value& value = record.features[i];
            if (std::holds_alternative<std::monostate>(value)) continue;
            check_value_no_nul(value);
            switch (schema.features[i].type) {
                case mw::FeatureType::numeric:
                    require(std::holds_alternative<double>(value), "numeric feature holds a number");
                    check_value_finite(value);
                    break;
                case mw::FeatureType::categorical:
                    require(std::holds_alternative<std::string>(value), "categorical feature holds a string");
                    require(std::get<std::string>(value).size() <= limits.max_feature_string_bytes,
                            "categorical value within the limit");
                    break;
                case mw::FeatureType::boolean:
                    require(std::holds_alternative<bool>(value), "boolean feature holds a bool");
                    break;
            }
        }
        require(record.undeclared_features.size() <= limits.max_features, "undeclared features within the limit");
        for (const auto& [name, value] : record.undeclared_features) {
            require(!name.empty() && name.size() <= limits.max_name_bytes, "undeclared name within the limit");
            require(schema.feature_index(name) < 0, "undeclared features are not declared ones");
            check_value_finite(value);
            check_no_nul(name);
            check_value_no_nul(value);
        }
        require(classification ? record.label.has_value() && !record.value.has_value()
                               : record.value.has_value() && !record.label.has_value(),
                "the prediction fits the prediction type");
        if (record.value) require(std::isfinite(*record.value), "predicted value finite");
        if (record.label) check_no_nul(*record.label);
        check_no_nul(record.id);
        check_no_nul(record.model_version);
        if (record.score) require(*record.score >= 0 && *record.score <= 1, "score in [0, 1]");
        require(record.attributes.size() <= limits.max_attributes, "attributes within the limit");
        for (const auto& [name, value] : record.attributes)
            require(!name.empty() && name.size() <= limits.max_name_bytes &&
                        value.size() <= limits.max_attribute_value_bytes,
                    "attribute name and value within the limits");
        for (const auto& [name, value] : record.attributes) check_no_nul(name), check_no_nul(value);
    }
}

void check_outcomes(const mw::ParsedOutcomes& parsed, const mw::ModelSchema& schema) {
    const bool classification = schema.prediction_type == mw::PredictionType::binary ||
                                schema.prediction_type == mw::PredictionType::multiclass;
    for (const auto& record : parsed.batch.records) {
        require(classification ? record.label.has_value() && !record.value.has_value()
                               : record.value.has_value() && !record.label.has_value(),
                "the outcome fits the prediction type");
        if (record.value) require(std::isfinite(*record.value), "outcome value finite");
        if (record.label) check_no_nul(*record.label);
        check_no_nul(record.id);
    }
}

// A policy that hashes the id and "city", buckets "age" by 10 and drops
// every undeclared feature and attribute.
mw::ModelSchema make_privacy_schema() {
    mw::ModelSchema schema = make_schema(mw::PredictionType::binary);
    schema.privacy.key = mw::PrivacyKey::from_bytes("fuzz-key-0123456789abcdef0123456789");
    schema.privacy.id = mw::PrivacyAction::hash;
    schema.privacy.undeclared = mw::PrivacyAction::drop;
    schema.privacy.fields = {{"age", mw::PrivacyAction::generalise, 10.0, 0},
                             {"city", mw::PrivacyAction::hash, std::nullopt, 0}};
    return schema;
}

bool is_hash(std::string_view text) { return mw::is_privacy_hash(text); }

// Whether `text` quotes nothing a client sent: every double-quoted span is
// one the messages write themselves (examples, or the redaction's mark).
bool quotes_no_input(std::string_view text) {
    static const std::set<std::string_view> fixed = {"2024-05-01T12:00:00Z", "2024-05-01T12:00:00.5+02:00",
                                                     "(not shown)"};
    for (std::size_t open = text.find('"'); open != std::string_view::npos;) {
        const std::size_t close = text.find('"', open + 1);
        if (close == std::string_view::npos) return false;
        if (!fixed.contains(text.substr(open + 1, close - open - 1))) return false;
        open = text.find('"', close + 1);
    }
    return text.find(", got ") == std::string_view::npos;
}

// A field path that names only what the schema declares (or says it does not).
bool names_no_input(std::string_view field) {
    static const std::set<std::string_view> known = {
        "", "id", "ts", "model_version", "features", "prediction", "score", "attributes", "label", "value", "model",
        "features.age", "features.city", "features.member", "attributes.sex",
        "features.(a name the model does not declare)", "attributes.(a name the model does not declare)",
        "(a field the model does not declare)"};
    return known.contains(field);
}

// Whatever the body, nothing the policy does not keep comes out: hashed ids
// and cities, ages on a bucket edge, no undeclared field's value, and no
// rejection reason or field path quoting input.
template <typename Parsed>
void check_privacy(const Parsed& parsed) {
    for (const auto& rejection : parsed.rejections) {
        require(quotes_no_input(rejection.reason), "no reason quotes input under a policy");
        require(names_no_input(rejection.field), "no field path names an undeclared key under a policy");
    }
    for (const auto& record : parsed.batch.records) require(is_hash(record.id), "ids are hashed");
}

void check_private_predictions(const mw::ParsedPredictions& parsed) {
    check_privacy(parsed);
    for (const auto& record : parsed.batch.records) {
        if (const auto* age = std::get_if<double>(&record.features[0]))
            require(std::isfinite(*age) && std::fmod(*age, 10.0) == 0, "ages are bucket edges");
        if (const auto* city = std::get_if<std::string>(&record.features[1])) require(is_hash(*city), "cities are hashed");
        for (const auto& [name, value] : record.undeclared_features)
            require(std::holds_alternative<std::monostate>(value), "undeclared features' values are dropped");
        for (const auto& [name, value] : record.attributes) require(name == "sex", "undeclared attributes are dropped");
    }
}

template <typename Parsed>
bool same_result(const Parsed& a, const Parsed& b) {
    if (a.body_error != b.body_error || a.batch.records.size() != b.batch.records.size() ||
        a.rejections.size() != b.rejections.size())
        return false;
    for (std::size_t i = 0; i < a.rejections.size(); ++i)
        if (a.rejections[i].index != b.rejections[i].index || a.rejections[i].field != b.rejections[i].field ||
            a.rejections[i].reason != b.rejections[i].reason)
            return false;
    for (std::size_t i = 0; i < a.batch.records.size(); ++i)
        if (a.batch.records[i].id != b.batch.records[i].id) return false;
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const auto binary_schema = std::make_shared<const mw::ModelSchema>(make_schema(mw::PredictionType::binary));
    static const auto regression_schema =
        std::make_shared<const mw::ModelSchema>(make_schema(mw::PredictionType::regression));
    const mw::ModelSchema& binary = *binary_schema;
    const mw::ModelSchema& regression = *regression_schema;
    const std::string_view body(reinterpret_cast<const char*>(data), size);

    static const mw::ParseLimits limit_sets[] = {small_limits(), mw::ParseLimits{}};
    static simdjson::dom::parser references[] = {make_reference_parser(limit_sets[0]),
                                                 make_reference_parser(limit_sets[1])};

    for (std::size_t set = 0; set < std::size(limit_sets); ++set) {
        const mw::ParseLimits& limits = limit_sets[set];
        simdjson::dom::parser& reference = references[set];
        const mw::ParsedPredictions predictions = mw::parse_predictions(body, binary_schema, limits, now_us);
        check_body(predictions, body, limits, reference);
        check_predictions(predictions, binary, limits);
        require(same_result(predictions, mw::parse_predictions(body, binary_schema, limits, now_us)),
                "parsing the same body twice gives the same result");

        const mw::ParsedPredictions regression_predictions = mw::parse_predictions(body, regression_schema, limits, now_us);
        check_body(regression_predictions, body, limits, reference);
        check_predictions(regression_predictions, regression, limits);

        for (const mw::ModelSchema* schema : {&binary, &regression}) {
            const mw::ParsedOutcomes outcomes = mw::parse_outcomes(body, *schema, limits, now_us);
            check_body(outcomes, body, limits, reference);
            check_outcomes(outcomes, *schema);
        }
    }
    static const auto privacy_schema = std::make_shared<const mw::ModelSchema>(make_privacy_schema());
    check_private_predictions(mw::parse_predictions(body, privacy_schema, limit_sets[1], now_us));
    check_privacy(mw::parse_outcomes(body, *privacy_schema, limit_sets[1], now_us));
    return 0;
}
