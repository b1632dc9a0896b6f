// What the store writer does for a profile-only model (store_raw: false,
// docs/privacy.md "Profile-only models"): its predictions are stored with an
// empty features object, and their features are folded into profile chunks
// (store/profile_store.h) written in the same transaction as the rows.
//
// Why in the writer's transaction, and only for the rows it inserted: a spool
// range is written again after a crash or a failed commit, and a prediction
// id may be sent twice; the rows are stored once by (model, id) and so are
// their profiles. A replayed range inserts no row and therefore profiles
// nothing; a write that rolls back takes its chunks with it. Keying chunks
// by spool range would not do: one id sent in two ranges is one row, and
// would have been profiled twice.
//
// The features are read after the privacy policy (the collectors applied it
// before the spool), so a hashed or generalised value is profiled as stored
// elsewhere; the raw value never reaches the writer.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "store/encoded_batch.h"
#include "store/profile_store.h"

namespace mw::store {

struct ProfiledModel {
    std::vector<FeatureSpec> features;
    // Chunks cover [k * bucket_us, (k + 1) * bucket_us) of prediction time:
    // the model's time window (profile-only models have time windows, so a
    // window is the merge of its bucket's chunks, exactly in counts).
    std::int64_t bucket_us = 0;
    // drift.segments: each attribute's values get profiles of their own
    // (stats::SegmentProfiles), at most max_segment_values of them.
    std::vector<std::string> segments;
    std::size_t max_segment_values = stats::ProfileSet::default_max_segment_values;
};

// The profile-only models of a configuration, by name.
using ProfilePlan = std::map<std::string, ProfiledModel, std::less<>>;
ProfilePlan profile_plan(const std::vector<config::ModelOptions>& models);

// A prediction row whose features were taken out of its COPY row.
struct HeldFeatures {
    std::string model;
    std::string id;
    std::string model_version;
    std::int64_t ts_us = 0;
    std::int64_t received_us = 0;
    std::string features_json;
    std::string attributes_json;
};

struct StrippedBatches {
    std::vector<EncodedBatch> batches;  // the prediction rows of profiled models with features "{}"
    std::vector<HeldFeatures> held;     // in row order
};

// None when no row of `batches` belongs to a model of `plan` (the batches
// are then written as they are). Throws pqxx::data_exception for a row that
// cannot be a prediction row (as the writer's own scan does).
std::optional<StrippedBatches> strip_profiled_features(std::span<const EncodedBatch> batches, const ProfilePlan& plan);

// The chunks of the rows `inserted` (the ones the write stored): one per
// model, model version and time bucket, with each segment attribute's
// values' profiles. A row's features object is folded as the model's
// features declare them: a numeric feature takes JSON numbers, a
// categorical or boolean one strings, booleans ("true", "false") and
// numbers (their JSON text); absent, null and anything else count as
// missing. A chunk whose attribute passed max_segment_values keeps none for
// it and names it in `overflowed` (the writer logs it).
struct ProfileChunks {
    std::vector<ProfileChunk> chunks;
    std::set<std::pair<std::string, std::string>> overflowed;  // (model, attribute)
};
ProfileChunks build_profile_chunks(const std::vector<const HeldFeatures*>& inserted, const ProfilePlan& plan);

}  // namespace mw::store
