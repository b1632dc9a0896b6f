// Disparities between groups: each group against a reference group (the
// configured one, or the largest eligible group) as a difference and a ratio
// (Aequitas's "disparity"), and across all eligible groups as max - min and
// min / max (Fairlearn's method="between_groups"). Groups flagged too_small
// take no part. Each metric is judged either by its ratio against a tolerance
// band (Aequitas's default [0.8, 1.25]; the four-fifths rule for selection
// rates) or by its absolute difference against a tolerance.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "fairness/group_metrics.h"
#include "fairness/numerics.h"

namespace mw::fairness {

enum class DisparityMetric : std::uint8_t {
    demographic_parity,
    equal_opportunity,
    equalized_odds,
    predictive_parity,
    fpr_parity,
    fnr_parity,
    calibration_gap,
};
inline constexpr std::size_t disparity_metric_count = 7;

enum class JudgedBy : std::uint8_t { ratio, difference };

struct DisparityDefinition {
    DisparityMetric metric;
    const char* id;          // "demographic_parity", used in JSON and findings
    const char* title;       // "Demographic parity (disparate impact)"
    const char* definition;  // stated in every report
    const char* source;      // the library function or paper it matches
    JudgedBy judged_by;
    bool needs_scores;
};

const std::array<DisparityDefinition, disparity_metric_count>& disparity_definitions();
const DisparityDefinition& definition_of(DisparityMetric metric);

struct Tolerance {
    double ratio_lower = 0.8;   // Aequitas's default band [tau, 1/tau], tau = 0.8
    double ratio_upper = 1.25;
    double difference = 0.1;    // |difference| for equal opportunity and equalized odds
    double calibration_difference = 0.05;  // |difference| of expected calibration error
};

enum class Verdict : std::uint8_t { within_tolerance, beyond_clear, beyond_unclear, not_evaluable };
const char* to_string(Verdict verdict);  // "within_tolerance", ...

// One disparity: one metric for one group against the reference, or (group
// empty) across all eligible groups.
struct DisparityValue {
    DisparityMetric metric = DisparityMetric::demographic_parity;
    std::string group;  // the compared group's label; empty for between-groups
    double difference = std::numeric_limits<double>::quiet_NaN();
    double ratio = std::numeric_limits<double>::quiet_NaN();  // NaN where the metric has none
    Interval difference_interval;  // bootstrap percentile intervals
    Interval ratio_interval;
    // What the verdict judges: the ratio or the difference, its interval, and
    // the band inside which it is within tolerance.
    double judged_value = std::numeric_limits<double>::quiet_NaN();
    Interval judged_interval;
    Interval band;
    Verdict verdict = Verdict::not_evaluable;
};

// What a disparity is computed from, per group: the confusion counts and the
// expected calibration error (NaN without scores).
struct GroupSummary {
    ConfusionCounts counts;
    double calibration_error = std::numeric_limits<double>::quiet_NaN();
};

struct DisparityPoint {
    double difference = std::numeric_limits<double>::quiet_NaN();
    double ratio = std::numeric_limits<double>::quiet_NaN();
};

// group - reference and group / reference.
DisparityPoint disparity_to_reference(DisparityMetric metric, const GroupSummary& group, const GroupSummary& reference);
// max - min and min / max over `groups` (all assumed eligible).
DisparityPoint disparity_between_groups(DisparityMetric metric, std::span<const GroupSummary> groups);

struct GroupingDisparities {
    std::optional<std::size_t> reference_index;  // into the grouping's groups
    bool reference_configured = false;
    std::vector<std::size_t> eligible;  // indices of groups not too small
    std::vector<DisparityValue> to_reference;
    std::vector<DisparityValue> between_groups;
};

// The point values (no intervals yet; every verdict judged on the point alone
// until bootstrap intervals are attached by attach_intervals). `reference`
// names a group index, or empty for the largest eligible group. The metrics
// that need scores are skipped when `with_scores` is false.
GroupingDisparities compute_disparities(const std::vector<GroupMetrics>& groups, std::optional<std::size_t> reference,
                                        bool with_scores, const Tolerance& tolerance);

// The band inside which the judged value of a metric is within tolerance.
Interval tolerance_band(DisparityMetric metric, bool between_groups, const Tolerance& tolerance);

// Sets the judged value, band and verdict of `value` from its point values and intervals.
void judge(DisparityValue& value, bool between_groups, const Tolerance& tolerance);

}  // namespace mw::fairness
