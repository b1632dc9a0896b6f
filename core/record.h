// The shared vocabulary of modelwatch: what a prediction and an outcome are,
// how a model's schema describes them, and what a rejected record carries.
// Plain values; everything else may use them, they use nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/privacy.h"

namespace mw {

enum class FeatureType { numeric, categorical, boolean };
enum class PredictionType { binary, multiclass, regression, score };
enum class RecordKind : std::uint8_t { prediction = 1, outcome = 2 };

const char* to_string(FeatureType);
const char* to_string(PredictionType);
const char* to_string(RecordKind);

// A feature value as it arrived. Null (monostate) is data, not an error:
// missing rates are a data-quality signal.
using Value = std::variant<std::monostate, double, bool, std::string>;

struct FeatureSpec {
    std::string name;
    FeatureType type = FeatureType::numeric;
};

struct ModelSchema {
    std::string name;
    std::vector<FeatureSpec> features;
    PredictionType prediction_type = PredictionType::binary;
    std::vector<std::string> attributes;  // segment and sensitive attributes
    std::vector<std::string> classes;     // class labels (binary, multiclass); empty when not declared
    // Applied by the parser to every accepted record (collectors/privacy.h),
    // so a batch holds only what the policy in force when it was accepted keeps.
    PrivacyPolicy privacy;

    // Index into `features`, or -1 when the schema does not declare `name`.
    int feature_index(std::string_view feature_name) const;
};

struct Prediction {
    std::string id;
    std::int64_t ts_us = 0;  // microseconds since the Unix epoch, UTC
    std::string model_version;
    std::vector<Value> features;  // parallel to ModelSchema::features; monostate when absent
    std::vector<std::pair<std::string, Value>> undeclared_features;  // kept, counted as schema drift
    std::optional<std::string> label;  // predicted class (classification)
    std::optional<double> value;       // predicted number (regression, score models)
    std::optional<double> score;       // probability of the positive class
    std::vector<std::pair<std::string, std::string>> attributes;
};

struct Outcome {
    std::string id;
    std::int64_t ts_us = 0;
    std::optional<std::string> label;
    std::optional<double> value;
};

// Why one record of a request was not accepted: its position in the body,
// the field at fault (JSON-pointer-like, e.g. "features.age"), and a reason
// a person can act on.
struct Rejection {
    std::size_t index = 0;
    std::string field;
    std::string reason;
};

struct PredictionBatch {
    std::string model;
    std::vector<Prediction> records;
    // The schema the records were validated under: Prediction::features is
    // parallel to its features, so the batch is encoded with this one and
    // never with the configuration in force when it reaches the spool (a
    // reload may have reordered, added or removed features meanwhile).
    std::shared_ptr<const ModelSchema> schema;
};

struct OutcomeBatch {
    std::string model;
    std::vector<Outcome> records;
    // The id of the key the privacy policy hashed the records' ids under
    // (PrivacyPolicy::key_id(); "" when it hashed nothing), set by the parser
    // that applied it: it travels with the batch into the spool.
    std::string privacy_key_id;
};

}  // namespace mw
