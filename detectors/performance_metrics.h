// Realised performance of one window of joined predictions and outcomes:
// classification metrics (sklearn 1.2.1 definitions), regression metrics,
// label coverage and label delay, for the whole window and per segment.
// Pure computation; the daemon hands in the columns of a window.
//
// Every metric is either a finite value or absent with a reason ("one class
// in y_true"); NaN never leaves this file. Inputs that break the contract
// (columns of different lengths, a label outside the class list, a score
// outside [0, 1]) give an error value naming the column and the row.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "detectors/performance_metric.h"

namespace mw::performance {

enum class Task { classification, regression };

// One window as columns, one entry per prediction. A row whose label
// (y_true / target) is empty has no outcome yet: it counts for label
// coverage and is left out of every metric.
struct PerformanceWindow {
    // Classification.
    std::vector<std::string> y_pred;                 // predicted class label
    std::vector<std::optional<std::string>> y_true;  // observed class label; numbers via label_text()
    std::vector<double> score;                       // empty, or probability of the positive class per row
    // Regression.
    std::vector<double> predicted_value;
    std::vector<std::optional<double>> target;
    // Both.
    std::vector<std::string> segment;                         // empty, or the segment value per row
    std::vector<std::optional<double>> label_delay_seconds;   // empty, or outcome ts - prediction ts per row
};

struct PerformanceSpec {
    Task task = Task::classification;
    std::string positive_class;        // the class `score` is the probability of; binary metrics use it
    std::vector<std::string> classes;  // declared class list; empty: any label is accepted
    std::string segment_name;          // names the segment column in subjects ("region")
};

// A metric's value, or why it has none.
struct MetricValue {
    std::string name;
    std::optional<double> value;
    std::string absent_reason;  // set exactly when value is empty
};

// numpy.percentile(method="linear") of the delays of the labelled rows.
struct LabelDelay {
    std::optional<double> p50_seconds;
    std::optional<double> p95_seconds;
    std::optional<double> max_seconds;
};

struct MetricSet {
    std::string segment_value;  // empty for the whole window
    std::size_t predictions = 0;
    std::size_t labelled = 0;
    std::optional<double> label_coverage;  // labelled / predictions; absent when there are no predictions
    LabelDelay delay;
    std::vector<MetricValue> metrics;  // fixed order, see classification_metric_names()

    // The metric called `name`, or nullptr when this set has no such metric.
    const MetricValue* find(std::string_view name) const;
};

struct PerformanceReport {
    std::string error;  // "y_true[17]: label \"maybe\" is not in the class list"
    MetricSet overall;
    std::vector<MetricSet> segments;  // sorted by segment value; empty without a segment column

    bool ok() const { return error.empty(); }
};

// Metric names in report order, each matching the scikit-learn 1.2.1
// function named (tests/detectors/vectors/performance_*.json pin them):
// - accuracy: accuracy_score.
// - precision, recall, f1: precision_recall_fscore_support of the positive
//   class against the rest (labels=[positive]); _macro and _weighted: the same
//   with average="macro"/"weighted" over the labels present in y_true or
//   y_pred (sklearn's default label set, not the declared class list), all
//   with zero_division=0 (a zero denominator gives 0, and F is 0 when both
//   precision and recall are).
// - roc_auc: roc_auc_score, the trapezoid over distinct score thresholds
//   (tied scores form one point); absent unless both classes are labelled.
// - average_precision: the PR AUC as average_precision_score computes it, the
//   step-wise sum of precision times recall increments (no trapezoid, no
//   interpolation); absent without a positive label (sklearn returns 0).
// - log_loss: log_loss(eps="auto"), i.e. clipped to [2^-52, 1 - 2^-52].
// - brier: brier_score_loss.
// - ece: expected calibration error over the 10 equal-width bins of
//   calibration_curve(strategy="uniform"): sum of count/n * |mean(y) - mean(p)|
//   over non-empty bins (Naeini et al. 2015; Guo et al. 2017).
// Score metrics are absent without a score column. Regression: mae
// (mean_absolute_error), rmse (mean_squared_error(squared=False)), mape
// (mean_absolute_percentage_error, denominator max(|y|, 2^-52), so a zero
// target gives a huge but finite term), r2 (r2_score, force_finite: a
// constant target gives 1 if predicted exactly, else 0; absent below 2 rows).
//
// Each metric is an entry of the registry in detectors/performance_metric.h.
const std::vector<std::string>& classification_metric_names();
const std::vector<std::string>& regression_metric_names();

// The canonical text of a numeric label, so that 1, 1.0 and "1" agree:
// integers without a decimal point, other numbers in shortest round-trip form.
std::string label_text(double label);

PerformanceReport compute_performance(const PerformanceWindow& window, const PerformanceSpec& spec);

// numpy.percentile(values, q, method="linear") for q in [0, 100]; values non-empty.
double percentile_linear(std::vector<double> values, double q);

}  // namespace mw::performance
