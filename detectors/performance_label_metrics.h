// Performance metrics from the predicted and observed labels (sklearn 1.2.1,
// zero_division=0): accuracy; precision, recall and f1 of the positive
// class; their macro and support-weighted means over the labels. One family
// by nature: each reads the same confusion counts of MetricRows.
#pragma once

#include "detectors/performance_metric.h"

namespace mw::performance {

extern const PerformanceMetric accuracy_metric;
extern const PerformanceMetric precision_metric;
extern const PerformanceMetric recall_metric;
extern const PerformanceMetric f1_metric;
extern const PerformanceMetric precision_macro_metric;
extern const PerformanceMetric recall_macro_metric;
extern const PerformanceMetric f1_macro_metric;
extern const PerformanceMetric precision_weighted_metric;
extern const PerformanceMetric recall_weighted_metric;
extern const PerformanceMetric f1_weighted_metric;

// sklearn's _prf_divide with zero_division=0: a zero denominator gives 0.
double divide_or_zero(double numerator, double denominator);
// sklearn precision_recall_fscore_support, beta = 1: F from the rounded
// precision and recall, denominator 0 replaced by 1.
double f1_from(double precision, double recall);

}  // namespace mw::performance
