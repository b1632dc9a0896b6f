// How a model's reference comes to be stored: collected from its own
// predictions (the first N, the first N of a version after a promotion, or a
// pinned time range) or uploaded through the admin API. Fitting it is
// daemon/reference_fit.h's job.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/connection_base>

#include "config/config.h"
#include "daemon/periodic_worker.h"
#include "detectors/dataset_drift.h"
#include "store/monitor_store.h"
#include "store/profile_store.h"

namespace mw::daemon {

// Either the reference was stored, or what it still waits for, in words for
// the log ("1000 reference predictions of version v2 (have 120)").
struct ReferenceCapture {
    bool stored = false;
    std::string waiting_for;
    // A profile-only model's reference that waits because every profile
    // chunk of its time buckets is unusable (damaged, store::
    // merge_profile_chunks): those chunks, and the buckets' range as the log
    // names it ("reference=[start, end)"). A wait that does not end by itself
    // (the chunks of a closed bucket do not change), made visible by the
    // monitor (modelwatch_reference_unusable_profile_chunks).
    std::vector<store::SkippedChunk> unusable_chunks;
    std::string unusable_range;
};

// For a model with no reference (`pending` empty) or a pending one (after a
// promotion): collects its rows when they are all there and stores them as
// the active reference. Only rows received under the privacy policy the
// model runs under (`privacy`: since it was first in force) are read, so
// no value kept under an older policy reaches a new reference; and only
// rows certainly all stored (received before `stored_before_us`, the
// writers' watermark, store/watermarks.h), so that the first N are the
// first N and not the first N to have committed. Calls control.checkpoint()
// before writing.
ReferenceCapture capture_reference(pqxx::connection_base& connection, const config::ModelOptions& options,
                                   const std::optional<store::StoredReference>& pending,
                                   const store::PrivacyEpoch& privacy, std::int64_t now_us,
                                   std::optional<std::int64_t> stored_before_us, PassControl& control);

// Stores an uploaded reference (CSV or NDJSON parsed by the API) and makes it
// the model's active one; the model's monitor refits from it at its next
// pass. Returns its id.
std::int64_t store_uploaded_reference(pqxx::connection_base& connection, const ModelSchema& schema,
                                      const drift::DriftTable& table, const std::string& description);

}  // namespace mw::daemon
