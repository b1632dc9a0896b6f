// A model's configuration (config/config.h) translated into the options the
// detector libraries take. Names were checked when the configuration was
// loaded, so the translation cannot fail.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"
#include "detectors/feature_drift.h"
#include "detectors/performance_metrics.h"
#include "detectors/performance_thresholds.h"

namespace mw::daemon {

drift::DriftOptions drift_options(const config::DriftConfig& config);

// The task, positive class (the configured one, else the first declared
// class, else "1") and classes of the model; `segment` names the segment
// column in subjects ("" for the whole window).
performance::PerformanceSpec performance_spec(const config::ModelOptions& options, const std::string& segment);

std::vector<performance::MetricThreshold> metric_thresholds(const config::PerformanceConfig& config);

}  // namespace mw::daemon
