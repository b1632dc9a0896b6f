// Gaps between segments of one window: for each configured attribute (sex,
// region, ...), each of its values against the rest of the window, in a
// performance rate (accuracy, or any rate the caller counts per row) and in
// the prediction rate (the share predicted positive). The difference of the
// two proportions gets Newcombe's hybrid score interval (Newcombe 1998,
// "Interval estimation for the difference between independent proportions:
// comparison of eleven methods", Statistics in Medicine 17:873-890, method
// 10): with Wilson score intervals (l1, u1) and (l2, u2) of p1 and p2 (Wilson
// 1927, without continuity correction) and d = p1 - p2,
//   lower = d - sqrt((p1 - l1)^2 + (u2 - p2)^2)
//   upper = d + sqrt((u1 - p1)^2 + (p2 - l2)^2).
// A gap is a finding when the interval excludes 0 and |d| >= min_gap.
//
// And segment drift: a segment whose dataset drift verdict
// (detectors/dataset_drift.h) is drifted while the whole window's is not.
//
// Pure computation, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/finding.h"
#include "detectors/dataset_drift.h"

namespace mw::segments {

// The two-sided standard normal quantile of a confidence level in (0, 1):
// z with P(|Z| <= z) = confidence, as scipy.stats.norm.ppf(0.5 + confidence / 2).
double two_sided_z(double confidence);

struct Interval {
    double lower = 0;
    double upper = 0;
};

// Wilson score interval of successes / trials (trials > 0), as statsmodels
// proportion_confint(method="wilson"). Counts may be fractional: CBPE's
// expected successes and trials (detectors/root_cause.cpp).
Interval wilson_interval(double successes, double trials, double z);

// Newcombe's method 10 interval of p1 - p2 (both trials > 0).
Interval newcombe_difference_interval(std::uint64_t successes1, std::uint64_t trials1, std::uint64_t successes2,
                                      std::uint64_t trials2, double z);

// One prediction of the window.
struct SegmentRow {
    std::vector<std::pair<std::string, std::string>> attributes;  // as Prediction::attributes
    bool predicted_positive = false;
    // The performance metric's event for this row (for accuracy: the
    // prediction was correct); nullopt when the row is outside the metric's
    // denominator (no outcome yet, or for a true positive rate a negative).
    std::optional<bool> metric_success;
};

struct SegmentGapOptions {
    std::vector<std::string> attributes;  // attribute names to segment by
    std::string metric_name = "accuracy"; // names the rate counted by SegmentRow::metric_success
    // Segments (and rests) with fewer rows than this are reported as too
    // small, never a finding; for the metric, rows with metric_success count.
    std::size_t min_segment_rows = 100;
    double min_gap = 0.05;     // |p_segment - p_rest| needed besides the interval excluding 0
    double confidence = 0.95;  // of the Newcombe interval
    // Values beyond this many per attribute (the least frequent) are left out
    // and counted: attribute values come from clients.
    std::size_t max_segments_per_attribute = 100;
};

// One rate compared between a segment and the rest of the window.
struct RateGap {
    std::string metric;  // "prediction_rate" or SegmentGapOptions::metric_name
    std::uint64_t segment_successes = 0;
    std::uint64_t segment_trials = 0;
    std::uint64_t rest_successes = 0;
    std::uint64_t rest_trials = 0;
    bool too_small = false;  // then the fields below are not computed
    double segment_rate = 0;
    double rest_rate = 0;
    double gap = 0;  // segment_rate - rest_rate
    Interval interval;
    bool excludes_zero = false;
    bool triggered = false;  // excludes_zero and |gap| >= min_gap
};

struct SegmentGapResult {
    std::string attribute;
    std::string value;
    std::size_t rows = 0;       // rows of the segment
    std::size_t rest_rows = 0;  // rows with another value of the attribute
    bool too_small = false;     // rows or rest_rows below min_segment_rows: no gaps computed
    std::vector<RateGap> gaps;  // prediction rate, then the metric
};

struct SegmentGapReport {
    std::size_t rows = 0;
    double confidence = 0.95;
    double min_gap = 0.05;
    std::size_t min_segment_rows = 100;
    std::string metric_name = "accuracy";
    std::vector<SegmentGapResult> segments;  // by attribute (options order), then value
    // Per attribute (options order): values left out by max_segments_per_attribute.
    std::vector<std::size_t> segments_left_out;

    const SegmentGapResult* find(std::string_view attribute, std::string_view value) const;
};

// Rows without a value for an attribute take no part in that attribute's
// comparisons (neither segment nor rest).
SegmentGapReport evaluate_segment_gaps(const std::vector<SegmentRow>& rows, const SegmentGapOptions& options);

// Rates in findings are published to this step (two decimals): the window's
// row count is public, so segment counts, or rates exact enough to give
// their fractions away, would let a reader subtract the shown segments and
// recover a suppressed one.
inline constexpr double published_rate_step = 0.01;
double rounded_rate(double value);

// Findings of kind "segment_gap", one per segment and rate: subject
// "<attribute>=<value>:<metric>", method "newcombe_wilson", statistic = the
// gap, threshold = min_gap, evidence = the rates and the interval, all
// rounded to published_rate_step, never counts;
// warning when triggered, info otherwise. A rate too small to compare is
// reported as such (method "too_small", never triggered, evidence
// {"too_small", "suppressed", "min_segment_rows"} without its counts: a
// handful of people is not described), so a small segment is visible without
// alarming, and an alert raised while it was larger resolves.
std::vector<Finding> to_findings(const SegmentGapReport& report, const std::string& model,
                                 std::int64_t window_start_us, std::int64_t window_end_us);

// Findings of kind "segment_drift", one per evaluated segment of `result`:
// subject "<column>=<value>", method "dataset_drift_share", statistic = the
// segment's drifted share, threshold = `drift_share` (the dataset options'
// DriftOptions::drift_share); triggered when the segment drifted and the
// whole window did not; evidence without row counts. Segments with an error
// give none; a segment with fewer than `min_segment_rows` rows in either
// window gives a "too_small" finding with no description, never triggered.
std::vector<Finding> segment_drift_findings(const drift::DatasetDriftResult& result, double drift_share,
                                            const std::string& model, std::int64_t window_start_us,
                                            std::int64_t window_end_us, std::size_t min_segment_rows);

}  // namespace mw::segments
