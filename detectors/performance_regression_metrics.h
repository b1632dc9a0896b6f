// Regression metrics (sklearn 1.2.1): mae (mean_absolute_error), rmse
// (mean_squared_error(squared=False)), mape (mean_absolute_percentage_error,
// denominator max(|y|, float64 eps)), r2 (r2_score, force_finite). One
// family by nature: each reads the same target and predicted value columns.
#pragma once

#include "detectors/performance_metric.h"

namespace mw::performance {

extern const PerformanceMetric mae_metric;
extern const PerformanceMetric rmse_metric;
extern const PerformanceMetric mape_metric;
extern const PerformanceMetric r2_metric;

}  // namespace mw::performance
