// Performance metrics of the score column (the probability of the positive
// class), sklearn 1.2.1: roc_auc, average_precision, log_loss, brier, ece.
// One family by nature: each reads the labelled rows' scores and whether
// each row is positive, and the two curve metrics share the threshold curve.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "detectors/performance_metric.h"

namespace mw::performance {

extern const PerformanceMetric roc_auc_metric;
extern const PerformanceMetric average_precision_metric;
extern const PerformanceMetric log_loss_metric;
extern const PerformanceMetric brier_metric;
extern const PerformanceMetric ece_metric;

// The single metrics, exposed for tests. Each takes the labelled rows only
// and returns an empty optional (with `reason` filled) when the metric is
// undefined for them.
std::optional<double> roc_auc(const std::vector<bool>& positive, const std::vector<double>& score,
                              std::string& reason);
std::optional<double> average_precision(const std::vector<bool>& positive, const std::vector<double>& score,
                                        std::string& reason);
// The ECE bin of a score (0-9), as ece computes it; also read by its
// standard error (detectors/metric_standard_error.h).
std::size_t calibration_bin(double p);

}  // namespace mw::performance
