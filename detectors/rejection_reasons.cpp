#include "detectors/rejection_reasons.h"

#include <numeric>

namespace mw::quality {

namespace {

constexpr const char* reason_names[rejection_reason_count] = {
    "malformed_json",   "not_an_object",     "missing_field",        "unknown_field", "duplicate_key",
    "wrong_type",       "empty_value",       "too_large",            "control_characters",
    "invalid_timestamp", "future_timestamp", "label_not_in_classes", "invalid_score", "conflicting_fields",
    "duplicate_id",     "id_conflict",       "unknown_model",        "other",
};

bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

// One row per kind of message of the ingest parser (and the API's unknown
// model), tried in order: the first whose fragment occurs in the reason wins.
// The order matters where sentences share words: the limit, emptiness and
// class checks come before the generic "expected ... got" of a wrong type.
// Messages quote client text (a field name, a label); a crafted name can at
// worst move its own rejection to another code of this fixed set.
struct Pattern {
    std::string_view fragment;
    RejectionReason reason;
};

constexpr Pattern patterns[] = {
    {"malformed JSON", RejectionReason::malformed_json},
    {"nests deeper than", RejectionReason::malformed_json},
    {"a record must be a JSON object", RejectionReason::not_an_object},
    {"duplicate id within request", RejectionReason::duplicate_id},
    {"acknowledged before with another payload", RejectionReason::id_conflict},
    {"occurs twice in the record", RejectionReason::duplicate_key},
    {"unknown field", RejectionReason::unknown_field},
    {"the model comes from the URL", RejectionReason::unknown_field},
    {"unknown model", RejectionReason::unknown_model},
    {"is not one of the model's classes", RejectionReason::label_not_in_classes},
    {"ahead of the server clock", RejectionReason::future_timestamp},
    {"is not an RFC 3339 timestamp", RejectionReason::invalid_timestamp},
    {"is outside the accepted range", RejectionReason::invalid_timestamp},
    {"more than the limit of", RejectionReason::too_large},
    {"contains control characters", RejectionReason::control_characters},
    {"contains a NUL character", RejectionReason::control_characters},
    {"give label or value, not both", RejectionReason::conflicting_fields},
    {"send it as label", RejectionReason::conflicting_fields},
    {"expected a probability in [0, 1]", RejectionReason::invalid_score},
    // Wrong types whose sentence does not say "expected": under a privacy
    // policy the ", got ..." part is cut (collectors/privacy.cpp), and they
    // must still count as wrong_type.
    {"model's label is a class", RejectionReason::wrong_type},
    {"model's value is a finite number", RejectionReason::wrong_type},
    {"expected", RejectionReason::wrong_type},
    {", got ", RejectionReason::wrong_type},
};

}  // namespace

const char* to_string(RejectionReason reason) { return reason_names[static_cast<std::size_t>(reason)]; }

std::optional<RejectionReason> parse_rejection_reason(std::string_view code) {
    for (std::size_t i = 0; i < rejection_reason_count; ++i)
        if (code == reason_names[i]) return static_cast<RejectionReason>(i);
    return std::nullopt;
}

RejectionReason classify_rejection(const Rejection& rejection) {
    const std::string_view reason = rejection.reason;
    // "required: ..." starts the sentence; elsewhere the word may be quoted data.
    if (reason.starts_with("required")) return RejectionReason::missing_field;
    for (const auto& pattern : patterns)
        if (contains(reason, pattern.fragment)) return pattern.reason;
    if (reason.ends_with(" is empty")) return RejectionReason::empty_value;
    return RejectionReason::other;
}

void RejectionCounts::add(RejectionReason reason, std::uint64_t count) {
    counts_[static_cast<std::size_t>(reason)] += count;
}

std::uint64_t RejectionCounts::total() const {
    return std::accumulate(counts_.begin(), counts_.end(), std::uint64_t{0});
}

}  // namespace mw::quality
