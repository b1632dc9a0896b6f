// The detectors run on a closed window's rows against the model's fitted
// reference, before its labels arrive: feature, segment, multivariate and
// prediction drift; data quality; CBPE performance estimates. Each adds its
// findings and metrics to the window's verdicts (daemon/window_verdicts.h).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "daemon/metrics.h"
#include "daemon/reference_fit.h"
#include "daemon/window_verdicts.h"
#include "detectors/dataset_drift.h"
#include "store/monitor_store.h"

namespace mw::daemon {

// Feature, segment, multivariate and prediction drift; sets the drift gauges.
// `fitted` caches the noise baselines per window size (FittedReference::evaluate).
// Its findings come first: it replaces verdicts.findings.
drift::DriftVerdict detect_drift(ReferenceFit& fitted, const config::ModelOptions& options,
                                 const drift::DriftTable& table, const WindowSpan& span, DaemonMetrics& metrics,
                                 WindowVerdicts& verdicts);

// The feature-drift gauges of one window's verdict (shared with
// daemon/profile_detectors.h).
void set_drift_gauges(DaemonMetrics& metrics, const std::string& model, const drift::DriftVerdict& verdict);

// Needs fitted.quality.
void check_quality(const ReferenceFit& fitted, const config::ModelOptions& options,
                   const std::vector<store::WindowRow>& rows, const std::vector<nlohmann::json>& feature_objects,
                   const WindowSpan& span, WindowVerdicts& verdicts);

// CBPE, for binary models whose reference had scores and labels (needs
// fitted.cbpe): estimated metrics and the thresholds' verdicts on them.
void estimate_performance(const ReferenceFit& fitted, const config::ModelOptions& options,
                          const std::vector<store::WindowRow>& rows, const WindowSpan& span,
                          WindowVerdicts& verdicts);

}  // namespace mw::daemon
