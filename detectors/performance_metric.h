// The registry of performance metrics (STYLE.md section 2): one entry per
// metric, carrying its name and one-line meaning (config's
// performance.thresholds[].metric, the window gauges of daemon/metrics.cpp,
// docs/monitoring.md), its family, whether it is a loss, and the function
// that computes it from the labelled rows of one window or segment.
//
// The rows are prepared once per set (MetricRows) and every metric reads
// them; a metric's order in the registry is its order in a MetricSet.
// Adding a metric: its function and entry in a file pair (or beside its
// family: performance_label_metrics.h, performance_score_metrics.h,
// performance_regression_metrics.h) and one line in
// performance_metrics.cpp's table.
#pragma once

#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/component.h"

namespace mw::performance {

enum class MetricFamily { classification, regression };

// The values a metric can take (intervals around it are clipped to them).
struct MetricRange {
    double min = 0;
    double max = 1;
};
// A loss with no upper end (log_loss, mae, rmse, mape).
inline constexpr MetricRange unbounded_loss_range{0, std::numeric_limits<double>::infinity()};

// The labelled rows of one set (at least one), as the metrics read them.
struct MetricRows {
    double rows = 0;  // labelled rows
    // Classification: the counts of the positive class against the rest
    // (sklearn average="binary", pos_label) ...
    double correct = 0;
    double positive_true_positives = 0;
    double positive_predicted = 0;
    double positive_actual = 0;
    // ... and per label, over sklearn's default label set (the sorted union
    // of the labels in y_true and y_pred), with zero_division=0.
    std::vector<double> label_precisions;
    std::vector<double> label_recalls;
    std::vector<double> label_f1s;
    std::vector<double> label_supports;
    // The score column of the labelled rows; empty when the window has none.
    std::vector<bool> is_positive;
    std::vector<double> score;
    // Regression.
    std::vector<double> target;
    std::vector<double> predicted_value;
};

struct PerformanceMetric {
    config::ComponentInfo info;  // no options: name and one-line meaning
    MetricFamily family;
    bool lower_is_better;  // a loss (log_loss, brier, ece, mae, rmse, mape)
    bool needs_score;      // absent when the window has no score column
    // The value, or nullopt with `reason` filled when it is undefined for the rows.
    std::optional<double> (*compute)(const MetricRows&, std::string& reason);
    // The mean over rows of a per-row loss that `compute` gives for one row
    // (log_loss, brier, mae, mape): a subset's value and standard error then
    // follow from per-row values (detectors/root_cause.cpp).
    bool mean_over_rows = false;
    // [0, 1] for the shares, areas, brier and ece.
    MetricRange range{};
};

std::span<const PerformanceMetric> performance_metrics();
// nullptr for an unknown name.
const PerformanceMetric* find_performance_metric(std::string_view name);

// numpy's pairwise summation (numpy/core/src/umath/loops_utils.h.src,
// pairwise_sum), which np.sum, np.mean and np.average use on contiguous
// float64 arrays: summing in the same order keeps parity with sklearn to the
// last bits instead of to 1e-14.
double numpy_sum(std::span<const double> values);
double numpy_mean(std::span<const double> values);

}  // namespace mw::performance
