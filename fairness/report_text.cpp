#include "fairness/report_text.h"

#include <cmath>

#include <fmt/format.h>

namespace mw::fairness {

AuditStatus audit_status(const VerdictCounts& counts) {
    if (counts.beyond_clear > 0) return AuditStatus::fail;
    if (counts.beyond_unclear > 0) return AuditStatus::review;
    return AuditStatus::pass;
}

const char* to_string(AuditStatus status) {
    switch (status) {
        case AuditStatus::pass: return "pass";
        case AuditStatus::review: return "review";
        case AuditStatus::fail: return "fail";
    }
    return "unknown";
}

std::string format_percent(double rate) {
    if (!std::isfinite(rate)) return "n/a";
    return fmt::format("{:.1f}%", rate * 100.0);
}

std::string format_ratio(double ratio) {
    if (!std::isfinite(ratio)) return "n/a";
    return fmt::format("{:.3f}", ratio);
}

std::string format_signed_points(double difference) {
    if (!std::isfinite(difference)) return "n/a";
    return fmt::format("{:+.1f} pp", difference * 100.0);
}

namespace {

bool judged_by_ratio(const DisparityValue& v) { return definition_of(v.metric).judged_by == JudgedBy::ratio; }

std::string format_points(double difference) {
    if (!std::isfinite(difference)) return "n/a";
    return fmt::format("{:.1f}", difference * 100.0);
}

}  // namespace

std::string format_judged(const DisparityValue& v) {
    return judged_by_ratio(v) ? format_ratio(v.judged_value) : format_signed_points(v.judged_value);
}

std::string format_judged_interval(const DisparityValue& v) {
    if (!v.judged_interval.defined()) return "not computed";
    if (judged_by_ratio(v))
        return fmt::format("{} to {}", format_ratio(v.judged_interval.lower), format_ratio(v.judged_interval.upper));
    return fmt::format("{} to {} pp", format_points(v.judged_interval.lower), format_points(v.judged_interval.upper));
}

std::string format_band(const DisparityValue& v) {
    if (judged_by_ratio(v)) {
        if (v.band.upper <= 1.0) return fmt::format("at least {}", format_ratio(v.band.lower));
        return fmt::format("{} to {}", format_ratio(v.band.lower), format_ratio(v.band.upper));
    }
    if (v.band.lower < 0) return fmt::format("within ±{} pp", format_points(v.band.upper));
    return fmt::format("at most {} pp", format_points(v.band.upper));
}

std::string verdict_phrase(Verdict verdict) {
    switch (verdict) {
        case Verdict::within_tolerance: return "within tolerance";
        case Verdict::beyond_clear: return "beyond tolerance, statistically clear";
        case Verdict::beyond_unclear: return "beyond tolerance, not statistically clear";
        case Verdict::not_evaluable: return "not evaluable";
    }
    return "unknown";
}

std::string explain(const DisparityValue& v, const GroupingResult& grouping) {
    std::string reference = "the reference group";
    if (grouping.disparities.reference_index) reference = grouping.groups[*grouping.disparities.reference_index].label;
    const std::string name = grouping_name(grouping.attributes);
    const std::string closing = [&] {
        switch (v.verdict) {
            case Verdict::within_tolerance: return std::string("This is within tolerance.");
            case Verdict::beyond_clear:
                return fmt::format("This is outside the tolerance ({}) and the {} interval ({}) lies entirely outside "
                                   "it: the gap is statistically clear.",
                                   format_band(v), "95%", format_judged_interval(v));
            case Verdict::beyond_unclear:
                return fmt::format("This is outside the tolerance ({}), but the interval ({}) reaches into it: the "
                                   "gap may be chance; more data would settle it.",
                                   format_band(v), format_judged_interval(v));
            case Verdict::not_evaluable:
                return std::string("It cannot be evaluated: a rate it needs has no cases (e.g. no positive labels).");
        }
        return std::string();
    }();
    if (v.group.empty()) {
        switch (v.metric) {
            case DisparityMetric::demographic_parity:
                return fmt::format("Across {} groups, the lowest selection rate is {} times the highest. {}", name,
                                   format_ratio(v.ratio), closing);
            case DisparityMetric::equal_opportunity:
                return fmt::format("Across {} groups, true positive rates differ by up to {} percentage points. {}",
                                   name, format_points(v.difference), closing);
            case DisparityMetric::equalized_odds:
                return fmt::format("Across {} groups, the larger of the TPR and FPR spreads is {} percentage points. {}",
                                   name, format_points(v.difference), closing);
            case DisparityMetric::predictive_parity:
                return fmt::format("Across {} groups, the lowest precision is {} times the highest. {}", name,
                                   format_ratio(v.ratio), closing);
            case DisparityMetric::fpr_parity:
                return fmt::format("Across {} groups, the lowest false positive rate is {} times the highest. {}",
                                   name, format_ratio(v.ratio), closing);
            case DisparityMetric::fnr_parity:
                return fmt::format("Across {} groups, the lowest false negative rate is {} times the highest. {}",
                                   name, format_ratio(v.ratio), closing);
            case DisparityMetric::calibration_gap:
                return fmt::format("Across {} groups, calibration errors differ by up to {} percentage points. {}",
                                   name, format_points(v.difference), closing);
        }
    }
    const std::string& g = v.group;
    const char* direction = v.difference < 0 ? "less" : "more";
    switch (v.metric) {
        case DisparityMetric::demographic_parity:
            return fmt::format("{} receives positive predictions at {} times the rate of {}. {}", g,
                               format_ratio(v.ratio), reference, closing);
        case DisparityMetric::equal_opportunity:
            return fmt::format("Among truly positive cases, {} is predicted positive {} percentage points {} often "
                               "than {}. {}",
                               g, format_points(std::fabs(v.difference)), direction, reference, closing);
        case DisparityMetric::equalized_odds:
            return fmt::format("The larger of the TPR and FPR gaps between {} and {} is {} percentage points. {}", g,
                               reference, format_points(v.difference), closing);
        case DisparityMetric::predictive_parity:
            return fmt::format("A positive prediction for {} is correct {} times as often as one for {}. {}", g,
                               format_ratio(v.ratio), reference, closing);
        case DisparityMetric::fpr_parity:
            return fmt::format("{} is wrongly predicted positive at {} times the rate of {}. {}", g,
                               format_ratio(v.ratio), reference, closing);
        case DisparityMetric::fnr_parity:
            return fmt::format("Positive cases of {} are missed at {} times the rate of {}. {}", g,
                               format_ratio(v.ratio), reference, closing);
        case DisparityMetric::calibration_gap:
            return fmt::format("Scores for {} are off by {} percentage points {} than for {} (expected calibration "
                               "error). {}",
                               g, format_points(std::fabs(v.difference)), direction, reference, closing);
    }
    return closing;
}

}  // namespace mw::fairness
