// Everything the detectors compare a model's windows with, fitted once on its
// stored reference: the feature-drift reference (overall and per segment
// attribute), prediction and label drift, data quality, CBPE and the
// performance thresholds' reference bands. A new reference or a new
// configuration is a new fit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "core/record.h"
#include "detectors/cbpe.h"
#include "detectors/data_quality.h"
#include "detectors/dataset_drift.h"
#include "detectors/performance_thresholds.h"
#include "detectors/profile_drift.h"
#include "detectors/root_cause.h"
#include "stats/feature_profile.h"
#include "store/monitor_store.h"

namespace mw::daemon {

// Fewer outcomes than this (in a reference or a window) are not compared for
// label drift: the tests' sampling error would swamp any verdict.
inline constexpr std::size_t min_labelled_rows = 30;

struct ReferenceFit {
    std::int64_t reference_id = 0;
    std::int64_t reference_rows = 0;
    std::optional<store::RowKey> data_end;
    // The model's schema cut to the features the reference can judge: those
    // its sample holds, as numbers or as texts like the schema says. A
    // feature added since, or whose type changed across a restart, is not
    // compared for drift until the model has a new reference (docs/monitoring.md "Reloading").
    ModelSchema judged;
    std::optional<drift::FittedReference> features;
    std::vector<std::pair<std::string, drift::FittedReference>> segments;
    std::optional<drift::FittedReference> outputs;
    std::optional<drift::FittedReference> labels;  // when the reference was captured with its outcomes
    std::optional<quality::QualityReference> quality;
    std::optional<performance::CbpeReference> cbpe;  // binary models whose reference has scores and labels
    std::vector<performance::ReferenceBand> bands;   // of the performance thresholds, from reference chunks
    // The job whose re-base (store::ReferenceRebase) the bands carry, when
    // the model re-bases on rejection: a pass compares it with the stored one.
    std::optional<std::int64_t> rebased_by_job;
    // The reference's labelled rows as the root-cause ranking reads them
    // (daemon/performance_causes.h), when it has at least min_labelled_rows.
    std::optional<rootcause::RankingRows> causes_reference;
    // A profile-only model's reference profile (store/profile_store.h), which
    // its windows' profiles are judged against (daemon/profile_detectors.h).
    std::optional<stats::ProfileSet> profiles;
    // Their noise gates, built from `profiles` on first use and cached by
    // window size (detectors/profile_drift.h): what a restart rebuilds the same.
    drift::ProfileNoiseGates profile_noise;
    std::string error;  // why the reference cannot be used (logged); then nothing else is set but the ids
};

// Fits `reference` for the model `options` describe; a reference that cannot
// be used says why in `error`. A stored re-base is applied (apply_rebase).
ReferenceFit fit_reference(const store::StoredReference& reference, const config::ModelOptions& options);

// With retrain.rebase_on_rejection, the reference value of the re-based
// metric becomes the one a rejected job measured for the served model
// (store::rebase_reference), in place of the value on the reference's own
// rows; a metric whose band was not fitted (a reference without labels)
// gets a value-only band. Nothing when the fit already carries that re-base,
// the option is off, or `reference` is not the fitted one.
void apply_rebase(ReferenceFit& fitted, const store::StoredReference& reference, const config::ModelOptions& options);

}  // namespace mw::daemon
