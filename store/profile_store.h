// The feature profiles of profile-only models (store_raw: false) in
// PostgreSQL (migration 13): chunks written by the store writer with the
// rows they profile (store/profile_writer.h), and the merged profile each
// reference keeps. A window or a reference is the merge of the chunks whose
// time bucket lies in its range; counts merge exactly, the KLL sketches
// within their bound (stats/feature_profile.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/connection_base>
#include <pqxx/transaction_base>

#include "stats/feature_profile.h"

namespace mw::store {

struct ProfileChunk {
    std::string model;
    std::string model_version;  // "" when the predictions carried none
    std::int64_t bucket_start_us = 0;
    std::int64_t bucket_end_us = 0;
    std::int64_t received_from_us = 0;  // the earliest received_at of its rows
    std::int64_t rows = 0;
    std::string profiles;  // stats::ProfileSet::serialize()
};

// In the caller's transaction: the one that stores the chunk's rows.
void insert_profile_chunks(pqxx::transaction_base& transaction, const std::vector<ProfileChunk>& chunks);

// A chunk left out of a merge: its blob does not decode (damaged, cut short,
// of a format version this daemon does not read, sizes that lie), disagrees
// with its row's `rows`, or does not merge with the others (other sketch
// sizes, a feature of another type).
struct SkippedChunk {
    std::int64_t id = 0;
    std::int64_t rows = 0;  // as its row records them
    std::string error;
};

struct MergedProfiles {
    stats::ProfileSet profiles;
    std::size_t chunks = 0;             // merged
    std::vector<SkippedChunk> skipped;  // in id order; none of their rows are in `profiles`
};

// The merge of `model`'s chunks with start_us <= bucket_start < end_us; only
// of `model_version` when not empty, only of chunks whose rows were all
// received at or after `received_since_us` when given; a segment attribute
// with more than `max_segment_values` values in all is overflowed
// (stats::SegmentProfiles). The database is read as an input that can be
// damaged: a chunk that cannot be used is skipped and listed, never merged
// in part, and the rest are merged (the caller says so where it judges).
MergedProfiles merge_profile_chunks(pqxx::connection_base& connection, const std::string& model,
                                    std::int64_t start_us, std::int64_t end_us, const std::string& model_version = {},
                                    std::optional<std::int64_t> received_since_us = std::nullopt,
                                    std::size_t max_segment_values = stats::ProfileSet::default_max_segment_values);

// The merged profile stored with reference `reference_id`; none when it has
// none (a reference of a model that stores its rows); error set when it does
// not decode or disagrees with its row's `rows`.
struct ReferenceProfile {
    std::int64_t rows = 0;
    stats::ProfileSet profiles;
    std::string error;
};
std::optional<ReferenceProfile> load_reference_profile(pqxx::connection_base& connection, std::int64_t reference_id);
bool reference_has_profile(pqxx::connection_base& connection, std::int64_t reference_id);

}  // namespace mw::store
