#include "fairness/group_metrics.h"

#include <algorithm>
#include <cmath>

namespace mw::fairness {

const char* to_string(Rate rate) {
    switch (rate) {
        case Rate::base_rate: return "base_rate";
        case Rate::selection_rate: return "selection_rate";
        case Rate::tpr: return "tpr";
        case Rate::fpr: return "fpr";
        case Rate::fnr: return "fnr";
        case Rate::tnr: return "tnr";
        case Rate::ppv: return "ppv";
        case Rate::npv: return "npv";
        case Rate::accuracy: return "accuracy";
    }
    return "unknown";
}

const char* title(Rate rate) {
    switch (rate) {
        case Rate::base_rate: return "Base rate";
        case Rate::selection_rate: return "Selection rate";
        case Rate::tpr: return "True positive rate (TPR)";
        case Rate::fpr: return "False positive rate (FPR)";
        case Rate::fnr: return "False negative rate (FNR)";
        case Rate::tnr: return "True negative rate (TNR)";
        case Rate::ppv: return "Precision (PPV)";
        case Rate::npv: return "Negative predictive value (NPV)";
        case Rate::accuracy: return "Accuracy";
    }
    return "unknown";
}

// Each matches the Fairlearn function of the same meaning (fairlearn.metrics.
// selection_rate, true_positive_rate, false_positive_rate, ...) and the
// Aequitas column (pprev, tpr, fpr, fnr, tnr, precision, npv).
const char* definition(Rate rate) {
    switch (rate) {
        case Rate::base_rate: return "(TP + FN) / n: the share of rows whose true label is positive";
        case Rate::selection_rate: return "(TP + FP) / n: the share of rows predicted positive";
        case Rate::tpr: return "TP / (TP + FN): of the truly positive rows, the share predicted positive";
        case Rate::fpr: return "FP / (FP + TN): of the truly negative rows, the share predicted positive";
        case Rate::fnr: return "FN / (TP + FN): of the truly positive rows, the share predicted negative";
        case Rate::tnr: return "TN / (FP + TN): of the truly negative rows, the share predicted negative";
        case Rate::ppv: return "TP / (TP + FP): of the rows predicted positive, the share truly positive";
        case Rate::npv: return "TN / (TN + FN): of the rows predicted negative, the share truly negative";
        case Rate::accuracy: return "(TP + TN) / n: the share of rows predicted correctly";
    }
    return "unknown";
}

double Fraction::value() const {
    if (denominator == 0) return std::numeric_limits<double>::quiet_NaN();
    return static_cast<double>(numerator) / static_cast<double>(denominator);
}

Fraction rate_fraction(const ConfusionCounts& c, Rate rate) {
    switch (rate) {
        case Rate::base_rate: return {c.tp + c.fn, c.total()};
        case Rate::selection_rate: return {c.tp + c.fp, c.total()};
        case Rate::tpr: return {c.tp, c.tp + c.fn};
        case Rate::fpr: return {c.fp, c.fp + c.tn};
        case Rate::fnr: return {c.fn, c.tp + c.fn};
        case Rate::tnr: return {c.tn, c.fp + c.tn};
        case Rate::ppv: return {c.tp, c.tp + c.fp};
        case Rate::npv: return {c.tn, c.tn + c.fn};
        case Rate::accuracy: return {c.tp + c.tn, c.total()};
    }
    return {};
}

std::size_t calibration_bucket(double score, std::size_t buckets) {
    const double scaled = std::floor(score * static_cast<double>(buckets));
    if (!(scaled > 0)) return 0;
    return std::min(static_cast<std::size_t>(scaled), buckets - 1);
}

namespace {

// Running sums of one group, filled in one pass over the rows.
struct Accumulator {
    ConfusionCounts counts;
    std::vector<std::uint64_t> bucket_count;
    std::vector<std::uint64_t> bucket_positives;
    std::vector<double> bucket_score_sum;
};

void add_rows(std::vector<Accumulator>& groups, const std::uint32_t* group_of_row, const AuditData& data,
              std::size_t buckets) {
    const bool scores = data.has_scores();
    for (auto& g : groups) {
        g.bucket_count.assign(scores ? buckets : 0, 0);
        g.bucket_positives.assign(scores ? buckets : 0, 0);
        g.bucket_score_sum.assign(scores ? buckets : 0, 0.0);
    }
    for (std::size_t r = 0; r < data.rows(); ++r) {
        Accumulator& g = groups[group_of_row ? group_of_row[r] : 0];
        const bool truth = data.y_true[r] != 0;
        const bool predicted = data.y_pred[r] != 0;
        if (truth) {
            if (predicted) ++g.counts.tp; else ++g.counts.fn;
        } else {
            if (predicted) ++g.counts.fp; else ++g.counts.tn;
        }
        if (scores) {
            const std::size_t b = calibration_bucket(data.score[r], buckets);
            ++g.bucket_count[b];
            g.bucket_positives[b] += truth ? 1 : 0;
            g.bucket_score_sum[b] += data.score[r];
        }
    }
}

GroupMetrics finish(const Accumulator& a, std::vector<std::string> values, const GroupMetricsOptions& options) {
    GroupMetrics m;
    m.label = group_label(values);
    m.values = std::move(values);
    m.counts = a.counts;
    m.too_small = a.counts.total() < options.min_group_size;
    for (Rate rate : all_rates) {
        RateEstimate& e = m.rates[static_cast<std::size_t>(rate)];
        e.fraction = rate_fraction(a.counts, rate);
        e.value = e.fraction.value();
        e.wilson = wilson_interval(e.fraction.numerator, e.fraction.denominator, options.confidence);
    }
    if (a.bucket_count.empty()) return m;
    // Expected calibration error: Naeini, Cooper and Hauskrecht (2015),
    // "Obtaining well calibrated probabilities using Bayesian binning", AAAI;
    // sum over buckets of n_b / n * |mean score_b - observed positive rate_b|.
    const std::size_t buckets = a.bucket_count.size();
    const double n = static_cast<double>(a.counts.total());
    double error = 0;
    for (std::size_t b = 0; b < buckets; ++b) {
        CalibrationBucket bucket;
        bucket.lower = static_cast<double>(b) / static_cast<double>(buckets);
        bucket.upper = static_cast<double>(b + 1) / static_cast<double>(buckets);
        bucket.count = a.bucket_count[b];
        if (bucket.count > 0) {
            const double count = static_cast<double>(bucket.count);
            bucket.mean_score = a.bucket_score_sum[b] / count;
            bucket.positive_rate = static_cast<double>(a.bucket_positives[b]) / count;
            error += count / n * std::fabs(bucket.mean_score - bucket.positive_rate);
        }
        m.calibration.push_back(bucket);
    }
    m.calibration_error = a.counts.total() > 0 ? error : std::numeric_limits<double>::quiet_NaN();
    return m;
}

}  // namespace

std::vector<GroupMetrics> compute_group_metrics(const Grouping& grouping, const AuditData& data,
                                                const GroupMetricsOptions& options) {
    std::vector<Accumulator> groups(grouping.group_count());
    add_rows(groups, grouping.group_of_row.data(), data, options.calibration_buckets);
    std::vector<GroupMetrics> metrics;
    metrics.reserve(groups.size());
    for (std::size_t g = 0; g < groups.size(); ++g) metrics.push_back(finish(groups[g], grouping.group_values[g], options));
    return metrics;
}

GroupMetrics compute_overall_metrics(const AuditData& data, const GroupMetricsOptions& options) {
    std::vector<Accumulator> groups(1);
    add_rows(groups, nullptr, data, options.calibration_buckets);
    GroupMetricsOptions overall = options;
    overall.min_group_size = 0;
    return finish(groups[0], {"all"}, overall);
}

std::vector<RegressionGroupMetrics> compute_regression_group_metrics(const Grouping& grouping,
                                                                     std::span<const double> y_true,
                                                                     std::span<const double> y_pred,
                                                                     std::uint64_t min_group_size) {
    std::vector<RegressionGroupMetrics> metrics(grouping.group_count());
    std::vector<double> error_sum(grouping.group_count(), 0.0);
    std::vector<double> absolute_sum(grouping.group_count(), 0.0);
    const std::size_t rows = std::min({y_true.size(), y_pred.size(), grouping.group_of_row.size()});
    for (std::size_t r = 0; r < rows; ++r) {
        const std::uint32_t g = grouping.group_of_row[r];
        const double error = y_pred[r] - y_true[r];
        ++metrics[g].count;
        error_sum[g] += error;
        absolute_sum[g] += std::fabs(error);
    }
    for (std::size_t g = 0; g < metrics.size(); ++g) {
        metrics[g].values = grouping.group_values[g];
        metrics[g].label = group_label(metrics[g].values);
        metrics[g].too_small = metrics[g].count < min_group_size;
        if (metrics[g].count == 0) continue;
        metrics[g].mean_error = error_sum[g] / static_cast<double>(metrics[g].count);
        metrics[g].mean_absolute_error = absolute_sum[g] / static_cast<double>(metrics[g].count);
    }
    return metrics;
}

}  // namespace mw::fairness
