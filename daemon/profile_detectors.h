// The detectors of a profile-only model (store_raw: false) that read its
// features: feature drift and data quality from the reference's profile and
// the window's (the merge of its time bucket's chunks, store/profile_store.h),
// with detectors/profile_drift.h and detectors/profile_quality.h. Their
// findings have the kinds, subjects and methods of the row-based ones
// (daemon/window_detectors.h); each one's evidence says "from_profiles":
// true, how its numbers were obtained ("basis", the statistic's bound when
// it has one), and the window's dataset_drift finding lists what was not
// computed and why ("not_computed"). The detectors that read the outputs and
// outcomes (prediction drift, CBPE, realised performance, operational
// series) run on the stored rows as for any model.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "config/config.h"
#include "daemon/metrics.h"
#include "daemon/window_verdicts.h"
#include "detectors/dataset_drift.h"
#include "detectors/profile_drift.h"
#include "stats/feature_profile.h"
#include "store/profile_store.h"

namespace mw::daemon {

// `window_rows`: the predictions the window holds, compared with the
// profile's row count (a difference, from chunks cut at another window
// length before a restart, is reported in the evidence).
// `noise`: the reference's noise gates (robust mode), kept with it.
// `skipped`: the window's chunks left out of its profile
// (store::merge_profile_chunks), listed in the dataset_drift evidence
// ("skipped_chunks") beside the profile's and the window's row counts.
drift::DriftVerdict detect_profile_drift(const stats::ProfileSet& reference, const stats::ProfileSet& window,
                                         std::size_t window_rows, const config::ModelOptions& options,
                                         drift::ProfileNoiseGates& noise, const WindowSpan& span,
                                         DaemonMetrics& metrics, WindowVerdicts& verdicts,
                                         std::span<const store::SkippedChunk> skipped = {});

// One error line per skipped chunk, naming the model, what was being merged
// (`merging`, e.g. "window=12") and the chunk.
void log_skipped_chunks(std::string_view model, std::string_view merging,
                        std::span<const store::SkippedChunk> skipped);

void check_profile_quality(const stats::ProfileSet& reference, const stats::ProfileSet& window,
                           const config::ModelOptions& options, const WindowSpan& span, WindowVerdicts& verdicts);

}  // namespace mw::daemon
