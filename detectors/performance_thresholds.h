// Turns a window's performance metrics (realised, or estimated by CBPE) into
// findings: each configured metric is compared with absolute bounds, with a
// band fitted on reference chunks (mean +- k sd, NannyML's
// StandardDeviationThreshold), and/or with a maximum drop from the reference
// value. One finding per metric (and per segment), triggered or not, so the
// alert router can also resolve.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/finding.h"
#include "detectors/cbpe.h"
#include "detectors/performance_metrics.h"

namespace mw::performance {

struct MetricThreshold {
    std::string metric;            // a name from classification_metric_names() / regression_metric_names()
    std::optional<double> lower;   // absolute: below is a finding
    std::optional<double> upper;   // absolute: above is a finding
    bool reference_band = false;   // also bound by the reference band mean +- band_k * sd
    double band_k = 3.0;           // NannyML's default multiplier
    // Largest tolerated relative worsening from the metric on the whole
    // reference (0.1 = 10%): a drop for scores, a rise for losses
    // (log_loss, brier, ece, mae, rmse, mape).
    std::optional<double> max_drop;
    Severity severity = Severity::warning;
};

// One metric over the reference: its value on each complete chunk of
// `chunk_rows` rows (mean and population sd, numpy.std's default as NannyML
// uses) and its value on the whole reference.
// A band of no chunks carries only a reference value (one a rejected
// retraining job re-based, daemon/reference_fit.h): no band bound.
struct ReferenceBand {
    std::string metric;
    double mean = 0;
    double sd = 0;
    std::size_t chunks = 0;
    std::optional<double> reference_value;
    // The retraining job whose gate measured reference_value for the served
    // model (retrain.rebase_on_rejection); none: the value on the reference's rows.
    std::optional<std::int64_t> rebased_by_job;
};

struct BandFit {
    std::string error;  // "reference: 3 rows make no complete chunk of 500"
    std::vector<ReferenceBand> bands;
    bool ok() const { return error.empty(); }
};

// Splits the reference into consecutive chunks of chunk_rows predictions (a
// trailing partial chunk is dropped: its metric is noisier than the window
// it stands for) and fits a band per metric. A metric defined on fewer than
// two chunks is an error, since its sd would be meaningless.
BandFit fit_reference_band(const PerformanceWindow& reference, const PerformanceSpec& spec, std::size_t chunk_rows,
                           const std::vector<std::string>& metrics);

// Where the findings come from.
struct FindingContext {
    std::string model;
    std::string segment_name;  // names the segment in subjects: "f1[region=eu]"
    std::int64_t window_start_us = 0;
    std::int64_t window_end_us = 0;
};

// Compares the metrics of one set (the whole window or one segment). A
// metric absent from the set, or with no bound at all, gives no finding.
// `estimated` selects method "cbpe" instead of "realised".
std::vector<Finding> evaluate_thresholds(const MetricSet& metrics, bool estimated,
                                         const std::vector<MetricThreshold>& thresholds,
                                         const std::vector<ReferenceBand>& bands, const FindingContext& context);

// The whole window and each of its segments.
std::vector<Finding> evaluate_thresholds(const PerformanceReport& report, const std::vector<MetricThreshold>& thresholds,
                                         const std::vector<ReferenceBand>& bands, const FindingContext& context);

// A CBPE estimate as a metric set (no labels, so coverage is absent).
MetricSet to_metric_set(const CbpeEstimate& estimate);

}  // namespace mw::performance
