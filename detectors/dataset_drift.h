// Drift of a whole data set: every feature (detectors/feature_drift.h), the
// dataset verdict (the share of drifted features reaches drift_share, as
// Evidently's DatasetDriftMetric), the same per segment (each value of an
// attribute column, against that segment's own reference rows), and a
// multivariate check that catches shifts no single feature shows.
//
// Multivariate drift: PCA reconstruction error, as NannyML's
// DataReconstructionDriftCalculator: the numeric features are standardised
// with the reference mean and population sd (a missing value becomes the
// mean, i.e. 0), PCA is fitted on the reference's correlation matrix and
// keeps the fewest components explaining >= 65% of the variance; a row's
// error is the Euclidean distance between it and its reconstruction, a
// window's error the mean over its rows. The alert band comes from the
// reference's own chunks: mean +- 3 sd (ddof = 1) of the chunk errors, the
// chunks being of the current window's size when the reference holds at
// least 5 of them, otherwise 10 equal chunks. Categorical features are left
// out of the PCA (NannyML one-hot encodes them; modelwatch does not yet).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/finding.h"
#include "detectors/feature_drift.h"

namespace mw::drift {

struct DriftTable {
    std::vector<ColumnData> columns;
    std::size_t rows = 0;

    const ColumnData* find(std::string_view name) const;
};

struct MultivariateOptions {
    bool enabled = true;
    double variance_share = 0.65;  // NannyML's default n_components=0.65
    double sd_multiplier = 3.0;
    std::size_t min_chunks = 5;  // chunks of the current size needed before using that size
    std::size_t fallback_chunks = 10;
};

struct DatasetDriftOptions {
    DriftOptions feature;
    std::vector<std::string> columns;             // features to compare; empty: every column but the segment column
    std::string segment_column;                   // empty: no segments
    std::size_t min_segment_reference_rows = 30;  // smaller segments are reported, not evaluated
    MultivariateOptions multivariate;
};

// The fitted PCA of the reference.
struct PcaModel {
    std::vector<std::string> columns;
    std::vector<double> means;
    std::vector<double> sds;
    std::vector<std::vector<double>> components;  // each of columns.size(), orthonormal
    std::vector<double> eigenvalues;              // all, descending
    double explained_variance_share = 0;          // of the kept components
    std::vector<double> reference_row_errors;     // in reference row order
    std::string error;                            // why no model was fitted

    bool ok() const { return error.empty(); }
    // Mean reconstruction error of the rows of `table`.
    double window_error(const DriftTable& table) const;
};

// Eigen-decomposition of a symmetric matrix by the cyclic Jacobi method
// (Golub & Van Loan, Matrix Computations, 4th ed., section 8.5.2-8.5.3):
// rotations zero each off-diagonal entry in turn until the off-diagonal norm
// is below 1e-14 of the total norm. Returns eigenvalues descending and the
// matching unit eigenvectors.
struct SymmetricEigen {
    std::vector<double> values;
    std::vector<std::vector<double>> vectors;
};
SymmetricEigen jacobi_eigen(std::vector<std::vector<double>> matrix);

PcaModel fit_pca(const DriftTable& reference, const std::vector<std::string>& columns,
                 const MultivariateOptions& options);

struct MultivariateDriftResult {
    bool evaluated = false;
    std::vector<std::string> columns;
    std::size_t components = 0;
    double explained_variance_share = 0;
    std::size_t chunk_rows = 0;
    std::size_t chunks = 0;
    double reference_mean = 0;
    double reference_sd = 0;
    double lower = 0;
    double upper = 0;
    double current_error = 0;
    bool drifted = false;
    std::string error;
};

MultivariateDriftResult evaluate_pca(const PcaModel& model, const DriftTable& current,
                                     const MultivariateOptions& options);

struct DriftVerdict {
    std::vector<FeatureDriftResult> features;
    std::size_t evaluated = 0;  // features without error
    std::size_t drifted = 0;
    double share = 0;  // drifted / evaluated
    double drift_share = 0;  // the share at or above which it is dataset drift (drift.drift_share)
    bool dataset_drift = false;
};

struct SegmentDriftResult {
    std::string value;
    std::size_t reference_rows = 0;
    std::size_t current_rows = 0;
    DriftVerdict verdict;
    std::string error;  // e.g. too few reference rows; then verdict is empty
};

struct DatasetDriftResult {
    DriftVerdict overall;
    MultivariateDriftResult multivariate;
    std::string segment_column;
    std::vector<SegmentDriftResult> segments;
    std::size_t reference_rows = 0;
    std::size_t current_rows = 0;
};

// A reference fitted once: per feature, per segment, the PCA and the noise
// baselines (cached by window size). evaluate() is what runs on each window.
class FittedReference {
public:
    struct FitResult;
    static FitResult fit(const DriftTable& reference, const DatasetDriftOptions& options);

    DatasetDriftResult evaluate(const DriftTable& current);
    const DatasetDriftOptions& options() const { return options_; }
    const std::vector<FittedFeature>& features() const { return features_; }

private:
    struct Segment {
        std::size_t reference_rows = 0;
        std::vector<FittedFeature> features;
        std::vector<NoiseBaselineCache> caches;
        std::string error;
    };

    DriftVerdict evaluate_features(const std::vector<FittedFeature>& features, std::vector<NoiseBaselineCache>& caches,
                                   const DriftTable& current) const;

    DatasetDriftOptions options_;
    std::size_t reference_rows_ = 0;
    std::vector<std::string> columns_;
    std::vector<FittedFeature> features_;
    std::vector<NoiseBaselineCache> caches_;
    std::map<std::string, Segment> segments_;
    PcaModel pca_;
};

struct FittedReference::FitResult {
    std::optional<FittedReference> reference;
    std::string error;  // e.g. "column 'x' is not in the reference"

    bool ok() const { return error.empty(); }
};

// The findings of one evaluated window (core/finding.h), for the store, the
// alert router and the retrain policy: one "feature_drift" per evaluated
// feature (subject = the feature, or "feature[column=value]" in a segment),
// one "dataset_drift" (statistic = drifted share) and, when evaluated, one
// "multivariate_drift" (statistic = reconstruction error, threshold = the upper
// band). Severity: warning when triggered, info otherwise.
std::vector<Finding> to_findings(const DatasetDriftResult& result, const std::string& model,
                                 std::int64_t window_start_us, std::int64_t window_end_us);

// The rows of `table` whose `column` equals `value` (numbers compared by their
// shortest round-trip text).
DriftTable select_rows(const DriftTable& table, const std::string& column, const std::string& value);

}  // namespace mw::drift
