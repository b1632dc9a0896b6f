#include "detectors/metric_standard_error.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>

#include "detectors/performance_score_metrics.h"

namespace mw::performance {
namespace {

// sqrt(sum_i (IF_i - mean)^2) / n: the delta-method standard error.
std::optional<double> influence_se(const std::vector<double>& influence) {
    if (influence.empty()) return std::nullopt;
    const double n = static_cast<double>(influence.size());
    const double mean = std::accumulate(influence.begin(), influence.end(), 0.0) / n;
    double squares = 0;
    for (const double v : influence) squares += (v - mean) * (v - mean);
    return std::sqrt(squares) / n;
}

// The labelled rows of a regression subset: target and prediction.
struct RegressionRows {
    std::vector<double> target;
    std::vector<double> predicted;
};

RegressionRows regression_rows(const PerformanceWindow& window, const std::vector<std::size_t>& subset) {
    RegressionRows rows;
    for (const auto r : subset) {
        if (r >= window.target.size() || r >= window.predicted_value.size() || !window.target[r]) continue;
        rows.target.push_back(*window.target[r]);
        rows.predicted.push_back(window.predicted_value[r]);
    }
    return rows;
}

std::optional<double> rmse_se(const RegressionRows& rows) {
    const std::size_t n = rows.target.size();
    if (n == 0) return std::nullopt;
    std::vector<double> squared(n);
    for (std::size_t i = 0; i < n; ++i) squared[i] = std::pow(rows.target[i] - rows.predicted[i], 2);
    const double mse = std::accumulate(squared.begin(), squared.end(), 0.0) / static_cast<double>(n);
    if (!(mse > 0)) return 0.0;
    const double rmse = std::sqrt(mse);
    for (auto& v : squared) v = (v - mse) / (2 * rmse);
    return influence_se(squared);
}

std::optional<double> r2_se(const RegressionRows& rows) {
    const std::size_t n = rows.target.size();
    if (n < 2) return std::nullopt;
    const double count = static_cast<double>(n);
    const double mean = std::accumulate(rows.target.begin(), rows.target.end(), 0.0) / count;
    double mse = 0, variance = 0;
    for (std::size_t i = 0; i < n; ++i) {
        mse += std::pow(rows.target[i] - rows.predicted[i], 2);
        variance += std::pow(rows.target[i] - mean, 2);
    }
    mse /= count, variance /= count;
    if (!(variance > 0)) return std::nullopt;  // force_finite's constant target: no sampling model
    const double r2 = 1 - mse / variance;
    std::vector<double> influence(n);
    for (std::size_t i = 0; i < n; ++i)
        influence[i] = -((std::pow(rows.target[i] - rows.predicted[i], 2) - mse) -
                         (1 - r2) * (std::pow(rows.target[i] - mean, 2) - variance)) /
                       variance;
    return influence_se(influence);
}

// The labelled rows of a classification subset: positive or not, predicted
// positive or not, and the score when the window has one.
struct ClassificationRows {
    std::vector<bool> positive;
    std::vector<bool> predicted;
    std::vector<double> score;
};

ClassificationRows classification_rows(const PerformanceWindow& window, const PerformanceSpec& spec,
                                       const std::vector<std::size_t>& subset) {
    ClassificationRows rows;
    const bool scored = !window.score.empty();
    for (const auto r : subset) {
        if (r >= window.y_true.size() || !window.y_true[r]) continue;
        rows.positive.push_back(*window.y_true[r] == spec.positive_class);
        rows.predicted.push_back(r < window.y_pred.size() && window.y_pred[r] == spec.positive_class);
        if (scored) rows.score.push_back(r < window.score.size() ? window.score[r] : std::nan(""));
    }
    return rows;
}

std::optional<double> f1_se(const ClassificationRows& rows) {
    double tp = 0, fp = 0, fn = 0;
    for (std::size_t i = 0; i < rows.positive.size(); ++i) {
        tp += rows.positive[i] && rows.predicted[i] ? 1 : 0;
        fp += !rows.positive[i] && rows.predicted[i] ? 1 : 0;
        fn += rows.positive[i] && !rows.predicted[i] ? 1 : 0;
    }
    const double n = static_cast<double>(rows.positive.size());
    const double denominator = 2 * tp + fp + fn;
    if (n == 0 || denominator == 0) return std::nullopt;  // zero_division: F1 is 0 by convention, not by sampling
    const double f1 = 2 * tp / denominator;
    const double b = denominator / n;
    // The influence values take three values, so their variance is had from the counts.
    const double if_tp = (2 - 2 * f1) / b;
    const double if_miss = -f1 / b;
    const double squares = tp * if_tp * if_tp + (fp + fn) * if_miss * if_miss;  // their mean is 0
    return std::sqrt(squares) / n;
}

// 1-based midranks of `values` (ties share the mean of their ranks).
std::vector<double> auc_midranks(const std::vector<double>& values) {
    std::vector<std::size_t> order(values.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return values[a] < values[b]; });
    std::vector<double> ranks(values.size());
    for (std::size_t i = 0; i < order.size();) {
        std::size_t j = i;
        while (j + 1 < order.size() && values[order[j + 1]] == values[order[i]]) ++j;
        const double rank = (static_cast<double>(i) + static_cast<double>(j)) / 2 + 1;
        for (std::size_t k = i; k <= j; ++k) ranks[order[k]] = rank;
        i = j + 1;
    }
    return ranks;
}

double placement_variance(const std::vector<double>& values) {
    const double n = static_cast<double>(values.size());
    const double mean = std::accumulate(values.begin(), values.end(), 0.0) / n;
    double squares = 0;
    for (const double v : values) squares += (v - mean) * (v - mean);
    return squares / (n - 1);
}

std::optional<double> roc_auc_se(const ClassificationRows& rows) {
    if (rows.score.size() != rows.positive.size()) return std::nullopt;
    std::vector<double> all, positives, negatives;
    for (std::size_t i = 0; i < rows.score.size(); ++i) {
        if (!std::isfinite(rows.score[i])) return std::nullopt;
        all.push_back(rows.score[i]);
        (rows.positive[i] ? positives : negatives).push_back(rows.score[i]);
    }
    const std::size_t n1 = positives.size(), n0 = negatives.size();
    if (n1 < 2 || n0 < 2) return std::nullopt;
    const auto rank_all = auc_midranks(all);
    const auto rank_positive = auc_midranks(positives);
    const auto rank_negative = auc_midranks(negatives);
    // Placement values: a positive's share of negatives scored below it
    // (ties half), a negative's share of positives scored above it.
    std::vector<double> v10, v01;
    std::size_t p = 0, q = 0;
    for (std::size_t i = 0; i < all.size(); ++i) {
        if (rows.positive[i])
            v10.push_back((rank_all[i] - rank_positive[p++]) / static_cast<double>(n0));
        else
            v01.push_back(1 - (rank_all[i] - rank_negative[q++]) / static_cast<double>(n1));
    }
    return std::sqrt(placement_variance(v10) / static_cast<double>(n1) + placement_variance(v01) / static_cast<double>(n0));
}

std::optional<double> ece_se(const ClassificationRows& rows) {
    const std::size_t n = rows.score.size();
    if (n == 0 || n != rows.positive.size()) return std::nullopt;
    std::array<double, 10> gap{};  // sum over the bin's rows of y - p
    std::vector<std::size_t> bin(n);
    for (std::size_t i = 0; i < n; ++i) {
        if (!std::isfinite(rows.score[i])) return std::nullopt;
        bin[i] = calibration_bin(rows.score[i]);
        gap[bin[i]] += (rows.positive[i] ? 1.0 : 0.0) - rows.score[i];
    }
    double ece = 0;
    for (const double g : gap) ece += std::abs(g) / static_cast<double>(n);
    std::vector<double> influence(n);
    for (std::size_t i = 0; i < n; ++i) {
        const double sign = gap[bin[i]] > 0 ? 1.0 : gap[bin[i]] < 0 ? -1.0 : 0.0;
        influence[i] = sign * ((rows.positive[i] ? 1.0 : 0.0) - rows.score[i]) - ece;
    }
    return influence_se(influence);
}

}  // namespace

bool has_influence_standard_error(std::string_view metric) {
    return metric == "rmse" || metric == "r2" || metric == "f1" || metric == "roc_auc" || metric == "ece";
}

std::optional<double> metric_standard_error(std::string_view metric, const PerformanceWindow& window,
                                            const PerformanceSpec& spec, const std::vector<std::size_t>& subset) {
    if (spec.task == Task::regression) {
        if (metric == "rmse") return rmse_se(regression_rows(window, subset));
        if (metric == "r2") return r2_se(regression_rows(window, subset));
        return std::nullopt;
    }
    if (metric == "f1") return f1_se(classification_rows(window, spec, subset));
    if (metric == "roc_auc") return roc_auc_se(classification_rows(window, spec, subset));
    if (metric == "ece") return ece_se(classification_rows(window, spec, subset));
    return std::nullopt;
}

}  // namespace mw::performance
