// Per-group classification metrics (counts, the nine confusion-matrix rates
// with Wilson intervals, calibration by score bucket) and per-group
// regression errors. A group below the minimum size is kept and flagged
// too_small: it is reported, never merged into another group or dropped.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <set>
#include <string>
#include <vector>

#include "fairness/audit_data.h"
#include "fairness/numerics.h"

namespace mw::fairness {

enum class Rate : std::uint8_t { base_rate, selection_rate, tpr, fpr, fnr, tnr, ppv, npv, accuracy };
inline constexpr std::size_t rate_count = 9;
inline constexpr std::array<Rate, rate_count> all_rates = {Rate::base_rate, Rate::selection_rate, Rate::tpr,
                                                           Rate::fpr,       Rate::fnr,            Rate::tnr,
                                                           Rate::ppv,       Rate::npv,            Rate::accuracy};
const char* to_string(Rate rate);  // "selection_rate", "tpr", ...
const char* title(Rate rate);      // "Selection rate", "True positive rate (TPR)", ...
const char* definition(Rate rate); // the formula stated in reports, e.g. "TP / (TP + FN)"

struct ConfusionCounts {
    std::uint64_t tp = 0;
    std::uint64_t fp = 0;
    std::uint64_t tn = 0;
    std::uint64_t fn = 0;
    std::uint64_t total() const { return tp + fp + tn + fn; }
};

struct Fraction {
    std::uint64_t numerator = 0;
    std::uint64_t denominator = 0;
    double value() const;  // NaN when the denominator is 0
};

// The numerator and denominator of a rate, as Fairlearn's metric functions
// define them (fairness/definitions.h states each one).
Fraction rate_fraction(const ConfusionCounts& counts, Rate rate);

struct RateEstimate {
    Fraction fraction;
    double value = std::numeric_limits<double>::quiet_NaN();
    Interval wilson;
};

struct CalibrationBucket {
    double lower = 0;  // scores in [lower, upper); the last bucket includes 1
    double upper = 0;
    std::uint64_t count = 0;
    double mean_score = std::numeric_limits<double>::quiet_NaN();
    double positive_rate = std::numeric_limits<double>::quiet_NaN();  // observed share of true positives
};

struct GroupMetrics {
    std::vector<std::string> values;  // one per attribute of the grouping
    std::string label;
    ConfusionCounts counts;
    // Suppressed: shown by name only, never compared. Below the minimum
    // size, or (`complementary`) hidden as well so a smaller group cannot be
    // recovered by subtraction (fairness/suppression.h).
    bool too_small = false;
    bool complementary = false;
    std::array<RateEstimate, rate_count> rates;
    std::vector<CalibrationBucket> calibration;  // empty without scores
    // Expected calibration error over the buckets; NaN without scores.
    double calibration_error = std::numeric_limits<double>::quiet_NaN();

    const RateEstimate& rate(Rate r) const { return rates[static_cast<std::size_t>(r)]; }
};

struct GroupMetricsOptions {
    std::uint64_t min_group_size = 30;
    double confidence = 0.95;
    std::size_t calibration_buckets = 10;
};

// The bucket of a score among `buckets` equal-width buckets of [0, 1].
std::size_t calibration_bucket(double score, std::size_t buckets);

// The metrics of several groupings of the same rows and of all rows, from
// one pass over the rows: each row is counted once in the cell of its
// combination of values of every attribute the groupings name, and each
// grouping's groups (and the overall row) are sums of cells, as SQL's
// GROUPING SETS roll one aggregation up. Confusion counts are exact; score
// sums are added cell by cell, so a calibration error may differ from a
// row-by-row sum in the last bits.
struct GroupingsMetrics {
    GroupMetrics overall;  // one group labelled "all", never too small
    // Per grouping in the order asked, its groups ordered by their values
    // (as make_grouping orders them); only groups with rows.
    std::vector<std::vector<GroupMetrics>> groupings;
};

// Suppresses, besides the groups below the minimum size, the groups that
// would let a reader recover one of them by subtraction from the others and
// the total (fairness/suppression.h); `avoid` (the reference group) last.
// `hidden_margins` (for an intersection, per attribute: the values hidden
// in that attribute's own table) hides the groups with such a value first
// (fairness/suppression.h, linked tables); empty for one attribute.
void suppress_complements(std::vector<GroupMetrics>& groups, std::uint64_t min_group_size,
                          std::optional<std::size_t> avoid,
                          const std::vector<std::set<std::string>>& hidden_margins = {});

// `groupings`: each a list of indices into data.attributes (one attribute,
// or several for their intersection).
GroupingsMetrics compute_groupings_metrics(const AuditData& data,
                                           const std::vector<std::vector<std::size_t>>& groupings,
                                           const GroupMetricsOptions& options);

// One grouping's groups (compute_groupings_metrics with one grouping).
std::vector<GroupMetrics> compute_group_metrics(const AuditData& data, const std::vector<std::size_t>& attribute_indices,
                                                const GroupMetricsOptions& options);

// The same metrics over all rows (one group labelled "all").
GroupMetrics compute_overall_metrics(const AuditData& data, const GroupMetricsOptions& options);

struct RegressionGroupMetrics {
    std::vector<std::string> values;
    std::string label;
    std::uint64_t count = 0;
    bool too_small = false;
    double mean_error = std::numeric_limits<double>::quiet_NaN();  // mean of (prediction - truth)
    double mean_absolute_error = std::numeric_limits<double>::quiet_NaN();
};

// Mean error (bias) and MAE per group for a regression model; y_true and
// y_pred are parallel to grouping.group_of_row.
std::vector<RegressionGroupMetrics> compute_regression_group_metrics(const Grouping& grouping,
                                                                     std::span<const double> y_true,
                                                                     std::span<const double> y_pred,
                                                                     std::uint64_t min_group_size);

}  // namespace mw::fairness
