// Stable reason codes for rejected records, for the metric
// modelwatch_records_rejected_total{model,kind,reason}: a small fixed set, so a
// hostile client cannot mint label values, and finer than the field at fault
// (a wrong type and a missing field of "features" are different problems).
//
// The ingest parser (collectors/ingest_parser.cpp) states each problem in a
// sentence meant for people; classify_rejection maps each kind of sentence
// it writes to one code. The table in rejection_reasons.cpp lists, per code,
// the parser's messages it covers; a new message kind there needs a row here,
// or it counts as "other".
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/record.h"

namespace mw::quality {

enum class RejectionReason {
    malformed_json,        // "line 3: malformed JSON: ...", "... nests deeper than 32 levels ..."
    not_an_object,         // "a record must be a JSON object, got ..."
    missing_field,         // "required: ..."
    unknown_field,         // "unknown field \"x\"; ...", "the model comes from the URL ..."
    duplicate_key,         // "the key occurs twice ...", "the feature occurs twice ..."
    wrong_type,            // "numeric feature: expected a finite number or null, got ...", "expected ..., got ..."
    empty_value,           // "id is empty", "a feature name is empty", "the label is empty"
    too_large,             // "... more than the limit of N"
    control_characters,    // "id contains control characters", "the string contains a NUL character ..."
    invalid_timestamp,     // "... is not an RFC 3339 timestamp", "... outside the accepted range ..."
    future_timestamp,      // "ts is 7200 s ahead of the server clock ..."
    label_not_in_classes,  // "\"maybe\" is not one of the model's classes (...)"
    invalid_score,         // "expected a probability in [0, 1], got ..."
    conflicting_fields,    // "give label or value, not both", "... outcome is a class: send it as label"
    duplicate_id,          // "duplicate id within request, first at index 0"
    id_conflict,           // "the id was acknowledged before with another payload; ..." (daemon/ingest_pipeline.h)
    unknown_model,         // "unknown model 'x'" (refused by the API before parsing)
    other,
};

inline constexpr std::size_t rejection_reason_count = static_cast<std::size_t>(RejectionReason::other) + 1;

// The code as a metric label: the enumerator's name ("wrong_type").
const char* to_string(RejectionReason reason);
// Inverse of to_string; nullopt for an unknown code.
std::optional<RejectionReason> parse_rejection_reason(std::string_view code);

RejectionReason classify_rejection(const Rejection& rejection);

// Counts of rejections by reason, e.g. for one request or one model; the
// caller adds them to its counters.
class RejectionCounts {
public:
    void add(const Rejection& rejection) { add(classify_rejection(rejection)); }
    void add(RejectionReason reason, std::uint64_t count = 1);

    std::uint64_t count(RejectionReason reason) const { return counts_[static_cast<std::size_t>(reason)]; }
    std::uint64_t total() const;
    // Every reason with its count, zeros included, in enumerator order.
    const std::array<std::uint64_t, rejection_reason_count>& counts() const { return counts_; }

private:
    std::array<std::uint64_t, rejection_reason_count> counts_{};
};

}  // namespace mw::quality
