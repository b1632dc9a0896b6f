// The parser of the HTTP ingest API: turns a request body of predictions or
// outcomes into a batch of validated records plus, for each record it refused,
// a Rejection saying where and why. The body is hostile input: any byte string
// is parsed without crashing, without reading out of bounds, without throwing
// (std::bad_alloc aside) and with bounded nesting.
//
// Body forms, told apart by the first non-whitespace byte:
//   '['  a JSON array of records. Malformed JSON anywhere makes the whole body
//        unusable (body_error), since there is no reliable record boundary.
//        That includes numbers simdjson refuses: 1e999 (overflows a double),
//        integers beyond 64 bits, NaN and Infinity (not JSON).
//   '{'  NDJSON, one object per line; lines of only whitespace are skipped and
//        do not count as records. A malformed line (or one nested too deeply)
//        rejects only that record, and its reason names the line number.
//   anything else, or an empty body: body_error.
// A record's index is its position among the records of the body, from 0.
//
// Validation choices (DESIGN.md "Records" leaves these open):
//   - One Rejection per refused record: the first problem found, in the order
//     of the record's keys, then missing required fields.
//   - Unknown top-level keys are rejected, naming the key, so that a typo such
//     as "featurs" cannot silently drop data. Duplicate keys are rejected.
//   - null means "absent" for every optional field (ts, model_version, score,
//     attributes, an outcome's label or value) and "missing value" for any
//     feature; a null attribute is not stored. Required: id, features (may be
//     {}), prediction; for outcomes id and label or value.
//   - id: a non-empty string without control characters, or an integer
//     (stored as its decimal text); at most max_id_bytes.
//   - Categorical features and class labels accept strings, integers and
//     integral doubles (3 and 3.0 both become "3", since pandas writes integer
//     columns with missing values as floats), and labels also accept booleans
//     ("true"/"false"). A non-integral number is refused: its text form would
//     depend on the client's float formatting.
//   - Numeric features are finite numbers only; boolean features true/false
//     only; no coercion from strings.
//   - No string holds U+0000: ids and names refuse every control character,
//     feature strings, labels and attribute values refuse NUL (which
//     PostgreSQL cannot store) and keep the others.
//   - Outcomes: binary and multiclass models take "label"; regression and
//     score models take "value" (a numeric "label" is accepted as the value).
//   - Duplicate ids within one request: the later record is rejected and the
//     reason names the index of the first accepted one.
//   - The schema's privacy policy is applied to every accepted record before
//     it is returned, and under a policy that does not keep everything no
//     rejection reason quotes a value (collectors/privacy.h, docs/privacy.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/record.h"

namespace mw {

struct ParseLimits {
    std::size_t max_records = 100000;  // per request; more is a body_error
    std::size_t max_depth = 32;        // nesting levels of arrays and objects, the outer array included
    std::size_t max_features = 4096;   // keys of one record's "features"
    std::size_t max_attributes = 256;  // keys of one record's "attributes"
    std::size_t max_id_bytes = 256;
    std::size_t max_name_bytes = 256;            // feature and attribute names, model_version, labels
    std::size_t max_feature_string_bytes = 1024;  // string values of features
    std::size_t max_attribute_value_bytes = 256;
    // The store creates time partitions on demand; rows far in the future would
    // create partitions nobody asked for, so they are refused.
    std::int64_t max_future_skew_us = 3600LL * 1'000'000;
};

// Timestamps accepted in "ts": 1970-01-01T00:00:00Z up to the last microsecond
// that int64 nanoseconds since the epoch can hold (2262-04-11T23:47:16.854775Z),
// so every consumer using nanosecond timestamps (pandas, Arrow) can read them.
inline constexpr std::int64_t min_record_ts_us = 0;
inline constexpr std::int64_t max_record_ts_us = 9'223'372'036'854'775;

struct ParsedPredictions {
    PredictionBatch batch;            // accepted records; batch.model is schema.name, batch.schema the schema
    std::vector<Rejection> rejections;  // field "" means the record as a whole
    std::string body_error;           // non-empty: nothing was accepted or rejected
};

struct ParsedOutcomes {
    OutcomeBatch batch;
    std::vector<Rejection> rejections;
    std::string body_error;
};

// `now_us` is the arrival time: the ts of records without one, and the base of
// the future-skew check. Each thread reuses one simdjson parser across calls.
// The batch keeps `schema` (not null), since its records are only meaningful
// with it; an outcome's encoding does not depend on the schema.
ParsedPredictions parse_predictions(std::string_view body, std::shared_ptr<const ModelSchema> schema,
                                    const ParseLimits& limits, std::int64_t now_us);
ParsedOutcomes parse_outcomes(std::string_view body, const ModelSchema& schema, const ParseLimits& limits,
                              std::int64_t now_us);

}  // namespace mw
