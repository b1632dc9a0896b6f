// Confidence-based performance estimation (CBPE) for binary classifiers, as
// NannyML defines it (nannyml/performance_estimation/confidence_based/
// metrics.py): when labels have not arrived yet, a calibrated score p is the
// probability that the row is positive, so each row adds its expected share
// to the confusion matrix and the metrics follow from the expected matrix.
//
// Scores that are not calibrated are mapped through an isotonic regression
// fitted on reference (score, label) pairs first, as NannyML's CBPE does.
// Pure computation, no I/O.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace mw::performance {

// A monotone step-and-ramp map from raw score to calibrated probability:
// sklearn.isotonic.IsotonicRegression(increasing=True, out_of_bounds="clip")
// fitted by pool adjacent violators (Ayer et al. 1955; Barlow et al. 1972),
// then evaluated by linear interpolation between its knots (numpy.interp).
struct IsotonicCalibration {
    std::vector<double> knots_x;  // increasing raw scores
    std::vector<double> knots_y;  // non-decreasing calibrated values

    // The calibrated value of `score`; scores outside the knots are clipped.
    double apply(double score) const;
};

struct IsotonicFit {
    std::string error;  // "x[3]: nan is not a finite number"
    IsotonicCalibration calibration;
    bool ok() const { return error.empty(); }
};

// Fits y (labels 0/1, or any numbers) against x with unit weights. Rows with
// equal x are pooled to their mean first, as sklearn's _make_unique does.
IsotonicFit fit_isotonic(const std::vector<double>& x, const std::vector<double>& y);

// Expected confusion matrix: per row with calibrated score p and predicted
// label yhat, TP += p and FP += 1 - p when yhat is positive, FN += p and
// TN += 1 - p when it is negative.
struct ExpectedConfusion {
    double tp = 0;
    double fp = 0;
    double fn = 0;
    double tn = 0;
};

// NannyML's sampling error components, fitted on reference rows with labels:
// the population standard deviation of a metric's per-observation values and
// the fraction of rows the metric is about (1 for accuracy; predicted
// positives for precision; actual positives for recall; actual negatives for
// specificity; TP + FP + FN for F1). The standard error of a window of n rows
// is then sd / sqrt(n * fraction) (nannyml/sampling_error/binary_classification.py).
struct SamplingErrorComponent {
    std::string metric;
    double sd = 0;
    double fraction = 0;
};

struct CbpeOptions {
    bool isotonic_calibration = true;  // fit and apply the reference calibration
};

struct CbpeReference {
    std::optional<IsotonicCalibration> calibration;  // absent when calibration is off
    std::vector<SamplingErrorComponent> sampling_error;
    std::size_t rows = 0;
};

struct CbpeFit {
    std::string error;
    CbpeReference reference;
    bool ok() const { return error.empty(); }
};

// Reference rows: the model's score, whether it predicted the positive class,
// and whether the row truly was positive.
CbpeFit fit_cbpe(const std::vector<double>& score, const std::vector<bool>& predicted_positive,
                 const std::vector<bool>& actual_positive, const CbpeOptions& options = {});

struct EstimatedMetric {
    std::string name;
    std::optional<double> value;
    std::string absent_reason;                  // set exactly when value is empty
    std::optional<double> standard_error;       // absent when no reference component applies
};

struct CbpeEstimate {
    std::string error;
    std::size_t n = 0;
    ExpectedConfusion confusion;
    std::vector<EstimatedMetric> metrics;  // accuracy, precision, recall, f1, specificity, roc_auc

    bool ok() const { return error.empty(); }
    const EstimatedMetric* find(const std::string& name) const;
};

ExpectedConfusion expected_confusion(const std::vector<double>& calibrated_score,
                                     const std::vector<bool>& predicted_positive);

// Estimates the window's metrics. With a reference, scores go through its
// calibration and standard errors come from its components; without one the
// scores are taken as calibrated and accuracy gets the binomial standard
// error sqrt(a (1 - a) / n), the other metrics none.
CbpeEstimate estimate_cbpe(const std::vector<double>& score, const std::vector<bool>& predicted_positive,
                           const CbpeReference* reference = nullptr);

// NannyML estimate_roc_auc: rows ordered by raw score (descending), expected
// TP and FP counts cumulated from the calibrated scores, rounded to 5
// decimals as NannyML does, normalised, and integrated with the trapezoid
// rule (sklearn.metrics.auc). Empty when every calibrated score is 0 or 1
// in one direction (no expected positives or negatives).
std::optional<double> estimate_roc_auc(const std::vector<double>& calibrated_score,
                                       const std::vector<double>& raw_score);

}  // namespace mw::performance
