#include "fairness/disparities.h"

#include <algorithm>
#include <cmath>

namespace mw::fairness {

namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

// The definitions are the report's text: each one says what is compared and
// which library computes the same number, so a reviewer can reproduce it.
constexpr std::array<DisparityDefinition, disparity_metric_count> definitions = {{
    {DisparityMetric::demographic_parity, "demographic_parity", "Demographic parity (disparate impact)",
     "Selection rate P(prediction = positive) of the group compared with the reference group: difference "
     "(group - reference) and ratio (group / reference). Across groups: max - min and min / max of the selection "
     "rates. A ratio below 0.8 fails the four-fifths rule of the US EEOC Uniform Guidelines (29 CFR 1607.4(D)).",
     "fairlearn.metrics.demographic_parity_difference / demographic_parity_ratio; Aequitas pprev_disparity",
     JudgedBy::ratio, false},
    {DisparityMetric::equal_opportunity, "equal_opportunity", "Equal opportunity (TPR difference)",
     "True positive rate P(prediction = positive | label = positive) of the group minus that of the reference "
     "group. Across groups: max - min of the true positive rates.",
     "fairlearn.metrics.equal_opportunity_difference; Hardt, Price and Srebro (2016)", JudgedBy::difference, false},
    {DisparityMetric::equalized_odds, "equalized_odds", "Equalized odds",
     "The larger of the absolute TPR gap and the absolute FPR gap between the group and the reference group. "
     "Across groups: max(max - min of TPR, max - min of FPR).",
     "fairlearn.metrics.equalized_odds_difference; Hardt, Price and Srebro (2016)", JudgedBy::difference, false},
    {DisparityMetric::predictive_parity, "predictive_parity", "Predictive parity (precision)",
     "Precision P(label = positive | prediction = positive) of the group divided by that of the reference group. "
     "Across groups: min / max of the precisions.",
     "Aequitas precision_disparity; Chouldechova (2017)", JudgedBy::ratio, false},
    {DisparityMetric::fpr_parity, "fpr_parity", "False positive rate parity",
     "False positive rate P(prediction = positive | label = negative) of the group divided by that of the reference "
     "group. Across groups: min / max of the false positive rates.",
     "Aequitas fpr_disparity", JudgedBy::ratio, false},
    {DisparityMetric::fnr_parity, "fnr_parity", "False negative rate parity",
     "False negative rate P(prediction = negative | label = positive) of the group divided by that of the reference "
     "group. Across groups: min / max of the false negative rates.",
     "Aequitas fnr_disparity", JudgedBy::ratio, false},
    {DisparityMetric::calibration_gap, "calibration_gap", "Calibration gap",
     "Expected calibration error of the group (over equal-width score buckets, the share-weighted mean of "
     "|mean score - observed positive rate|) minus that of the reference group. Across groups: max - min.",
     "Naeini, Cooper and Hauskrecht (2015) expected calibration error; per-group comparison as in Pleiss et al. (2017)",
     JudgedBy::difference, true},
}};

double rate(const GroupSummary& g, Rate r) { return rate_fraction(g.counts, r).value(); }

double safe_ratio(double a, double b) { return b != 0 && std::isfinite(a) && std::isfinite(b) ? a / b : nan; }

// The rate a single-rate metric compares; calibration and equalized odds are
// handled on their own.
Rate compared_rate(DisparityMetric metric) {
    switch (metric) {
        case DisparityMetric::demographic_parity: return Rate::selection_rate;
        case DisparityMetric::equal_opportunity: return Rate::tpr;
        case DisparityMetric::predictive_parity: return Rate::ppv;
        case DisparityMetric::fpr_parity: return Rate::fpr;
        case DisparityMetric::fnr_parity: return Rate::fnr;
        case DisparityMetric::equalized_odds:
        case DisparityMetric::calibration_gap: break;
    }
    return Rate::selection_rate;
}

// max - min and min / max of values; NaN when any value is undefined, since
// the spread of a set with an undefined member is undefined.
DisparityPoint spread(const std::vector<double>& values) {
    if (values.empty()) return {};
    for (double v : values)
        if (!std::isfinite(v)) return {};
    const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
    return {*hi - *lo, safe_ratio(*lo, *hi)};
}

}  // namespace

const std::array<DisparityDefinition, disparity_metric_count>& disparity_definitions() { return definitions; }

const DisparityDefinition& definition_of(DisparityMetric metric) { return definitions[static_cast<std::size_t>(metric)]; }

const char* to_string(Verdict verdict) {
    switch (verdict) {
        case Verdict::within_tolerance: return "within_tolerance";
        case Verdict::beyond_clear: return "beyond_tolerance_clear";
        case Verdict::beyond_unclear: return "beyond_tolerance_not_clear";
        case Verdict::not_evaluable: return "not_evaluable";
    }
    return "unknown";
}

DisparityPoint disparity_to_reference(DisparityMetric metric, const GroupSummary& group, const GroupSummary& reference) {
    switch (metric) {
        case DisparityMetric::equalized_odds: {
            const double tpr_gap = std::fabs(rate(group, Rate::tpr) - rate(reference, Rate::tpr));
            const double fpr_gap = std::fabs(rate(group, Rate::fpr) - rate(reference, Rate::fpr));
            if (!std::isfinite(tpr_gap) || !std::isfinite(fpr_gap)) return {};
            return {std::max(tpr_gap, fpr_gap), nan};
        }
        case DisparityMetric::calibration_gap:
            return {group.calibration_error - reference.calibration_error, nan};
        default: {
            const Rate r = compared_rate(metric);
            const double g = rate(group, r);
            const double ref = rate(reference, r);
            return {g - ref, safe_ratio(g, ref)};
        }
    }
}

DisparityPoint disparity_between_groups(DisparityMetric metric, std::span<const GroupSummary> groups) {
    std::vector<double> values;
    values.reserve(groups.size());
    switch (metric) {
        case DisparityMetric::equalized_odds: {
            for (const auto& g : groups) values.push_back(rate(g, Rate::tpr));
            const DisparityPoint tpr = spread(values);
            values.clear();
            for (const auto& g : groups) values.push_back(rate(g, Rate::fpr));
            const DisparityPoint fpr = spread(values);
            if (!std::isfinite(tpr.difference) || !std::isfinite(fpr.difference)) return {};
            return {std::max(tpr.difference, fpr.difference), nan};
        }
        case DisparityMetric::calibration_gap:
            for (const auto& g : groups) values.push_back(g.calibration_error);
            return {spread(values).difference, nan};
        default:
            for (const auto& g : groups) values.push_back(rate(g, compared_rate(metric)));
            return spread(values);
    }
}

Interval tolerance_band(DisparityMetric metric, bool between_groups, const Tolerance& tolerance) {
    const DisparityDefinition& d = definition_of(metric);
    if (d.judged_by == JudgedBy::ratio) {
        // min / max is at most 1, so across groups only the lower edge binds.
        if (between_groups) return {tolerance.ratio_lower, 1.0};
        return {tolerance.ratio_lower, tolerance.ratio_upper};
    }
    const double limit =
        metric == DisparityMetric::calibration_gap ? tolerance.calibration_difference : tolerance.difference;
    // max - min and the equalized-odds gap are never negative.
    if (between_groups || metric == DisparityMetric::equalized_odds) return {0.0, limit};
    return {-limit, limit};
}

void judge(DisparityValue& value, bool between_groups, const Tolerance& tolerance) {
    const bool by_ratio = definition_of(value.metric).judged_by == JudgedBy::ratio;
    value.judged_value = by_ratio ? value.ratio : value.difference;
    value.judged_interval = by_ratio ? value.ratio_interval : value.difference_interval;
    value.band = tolerance_band(value.metric, between_groups, tolerance);
    if (!std::isfinite(value.judged_value)) {
        value.verdict = Verdict::not_evaluable;
    } else if (value.judged_value >= value.band.lower && value.judged_value <= value.band.upper) {
        value.verdict = Verdict::within_tolerance;
    } else if (value.judged_interval.defined() &&
               (value.judged_interval.upper < value.band.lower || value.judged_interval.lower > value.band.upper)) {
        value.verdict = Verdict::beyond_clear;
    } else {
        value.verdict = Verdict::beyond_unclear;
    }
}

GroupingDisparities compute_disparities(const std::vector<GroupMetrics>& groups, std::optional<std::size_t> reference,
                                        bool with_scores, const Tolerance& tolerance) {
    GroupingDisparities result;
    for (std::size_t g = 0; g < groups.size(); ++g)
        if (!groups[g].too_small) result.eligible.push_back(g);
    if (reference) {
        result.reference_index = reference;
        result.reference_configured = true;
    } else {
        // The largest eligible group; ties go to the later label, so the
        // choice does not depend on the order groups were seen in.
        for (std::size_t g : result.eligible)
            if (!result.reference_index || groups[g].counts.total() >= groups[*result.reference_index].counts.total())
                result.reference_index = g;
    }
    if (result.eligible.size() < 2 || !result.reference_index) return result;

    std::vector<GroupSummary> summaries;
    for (const auto& g : groups) summaries.push_back({g.counts, g.calibration_error});
    std::vector<GroupSummary> eligible;
    for (std::size_t g : result.eligible) eligible.push_back(summaries[g]);
    const GroupSummary& ref = summaries[*result.reference_index];

    for (const auto& d : definitions) {
        if (d.needs_scores && !with_scores) continue;
        for (std::size_t g : result.eligible) {
            if (g == *result.reference_index) continue;
            DisparityValue v;
            v.metric = d.metric;
            v.group = groups[g].label;
            const DisparityPoint p = disparity_to_reference(d.metric, summaries[g], ref);
            v.difference = p.difference;
            v.ratio = p.ratio;
            judge(v, false, tolerance);
            result.to_reference.push_back(std::move(v));
        }
        DisparityValue v;
        v.metric = d.metric;
        const DisparityPoint p = disparity_between_groups(d.metric, eligible);
        v.difference = p.difference;
        v.ratio = p.ratio;
        judge(v, true, tolerance);
        result.between_groups.push_back(std::move(v));
    }
    return result;
}

}  // namespace mw::fairness
