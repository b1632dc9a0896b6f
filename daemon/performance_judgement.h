// The performance of a closed window once its labels arrived: realised
// metrics and label delays (overall and per segment), the thresholds'
// verdicts, label drift, the gap of each segment against the rest, and the
// concept detector fed with the window's errors in prediction order.
#pragma once

#include <vector>

#include "config/config.h"
#include "daemon/reference_fit.h"
#include "daemon/window_verdicts.h"
#include "detectors/concept_detector.h"
#include "store/monitor_store.h"

namespace mw::daemon {

// The share of `rows` whose outcome arrived (a label, or a value for regression).
double label_coverage(const std::vector<store::WindowRow>& rows, bool regression);

// `fitted` caches the label reference's noise baselines; `concept_detector`
// (none when disabled) sees the window's errors.
WindowVerdicts judge_window_performance(ReferenceFit& fitted, const config::ModelOptions& options,
                                        concept_drift::ConceptDetector* concept_detector,
                                        const std::vector<store::WindowRow>& rows, const store::StoredWindow& window,
                                        double coverage);

}  // namespace mw::daemon
