#include "detectors/performance_score_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace mw::performance {

namespace {

using config::ComponentInfo;
constexpr auto score_family = MetricFamily::classification;

// Rows of one score column grouped by distinct score, highest first: the
// cumulative true and false positives at each distinct threshold, as
// sklearn.metrics._ranking._binary_clf_curve.
struct ThresholdCurve {
    std::vector<double> tps;
    std::vector<double> fps;
};

ThresholdCurve threshold_curve(const std::vector<bool>& positive, const std::vector<double>& score) {
    std::vector<std::size_t> order(score.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return score[a] > score[b]; });
    ThresholdCurve curve;
    double tp = 0;
    for (std::size_t k = 0; k < order.size(); ++k) {
        if (positive[order[k]]) tp += 1;
        const bool last_of_group = k + 1 == order.size() || score[order[k + 1]] != score[order[k]];
        if (last_of_group) {
            curve.tps.push_back(tp);
            curve.fps.push_back(static_cast<double>(k + 1) - tp);
        }
    }
    return curve;
}

std::optional<double> roc_auc_of(const MetricRows& rows, std::string& reason) {
    return roc_auc(rows.is_positive, rows.score, reason);
}

std::optional<double> average_precision_of(const MetricRows& rows, std::string& reason) {
    return average_precision(rows.is_positive, rows.score, reason);
}

// sklearn 1.2.1 log_loss(eps="auto"): clip to [eps, 1 - eps] with eps the
// float64 machine epsilon, stack [1 - p, p], renormalise each row by its
// sum, loss = -log of the true column, averaged.
std::optional<double> log_loss_of(const MetricRows& rows, std::string&) {
    constexpr double eps = std::numeric_limits<double>::epsilon();
    std::vector<double> log_losses(rows.score.size());
    for (std::size_t i = 0; i < rows.score.size(); ++i) {
        const double clipped = std::clamp(rows.score[i], eps, 1.0 - eps);
        const double negative = 1.0 - clipped;
        const double row_sum = negative + clipped;
        log_losses[i] = -std::log((rows.is_positive[i] ? clipped : negative) / row_sum);
    }
    return numpy_mean(log_losses);
}

// sklearn brier_score_loss: mean of (y - p)^2 with y in {0, 1}.
std::optional<double> brier_of(const MetricRows& rows, std::string&) {
    std::vector<double> squared(rows.score.size());
    for (std::size_t i = 0; i < rows.score.size(); ++i) {
        const double diff = (rows.is_positive[i] ? 1.0 : 0.0) - rows.score[i];
        squared[i] = diff * diff;
    }
    return numpy_mean(squared);
}

// Expected calibration error (Naeini, Cooper & Hauskrecht 2015; Guo et
// al. 2017): sum over non-empty bins of count/n * |mean(y) - mean(p)|.
std::optional<double> ece_of(const MetricRows& rows, std::string&) {
    const std::size_t n = rows.score.size();
    std::vector<std::vector<double>> bin_y(10);
    std::vector<std::vector<double>> bin_p(10);
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t bin = calibration_bin(rows.score[i]);
        bin_y[bin].push_back(rows.is_positive[i] ? 1.0 : 0.0);
        bin_p[bin].push_back(rows.score[i]);
    }
    double ece = 0;
    for (std::size_t bin = 0; bin < 10; ++bin) {
        if (bin_y[bin].empty()) continue;
        const double count = static_cast<double>(bin_y[bin].size());
        ece += count / static_cast<double>(n) * std::abs(numpy_mean(bin_y[bin]) - numpy_mean(bin_p[bin]));
    }
    return ece;
}

}  // namespace

// Bins of sklearn.calibration.calibration_curve(strategy="uniform",
// n_bins=10): interior edges i * 0.1 as numpy.linspace(0, 1, 11) computes
// them, and numpy.searchsorted(edges, p, side="left"), so a score equal to an
// edge falls in the lower bin.
std::size_t calibration_bin(double p) {
    std::size_t bin = 0;
    for (int i = 1; i <= 9; ++i) {
        if (static_cast<double>(i) * 0.1 < p) bin = static_cast<std::size_t>(i);
    }
    return bin;
}

std::optional<double> roc_auc(const std::vector<bool>& positive, const std::vector<double>& score,
                              std::string& reason) {
    const auto positives = std::count(positive.begin(), positive.end(), true);
    if (positives == 0 || positives == static_cast<std::ptrdiff_t>(positive.size())) {
        reason = "roc_auc needs both classes among the labelled rows";
        return std::nullopt;
    }
    // sklearn roc_curve(drop_intermediate=True) then auc: the trapezoid rule
    // over distinct thresholds; points collinear with both neighbours are
    // dropped first as sklearn does (this leaves the area unchanged).
    ThresholdCurve curve = threshold_curve(positive, score);
    std::vector<double> tps{0.0};
    std::vector<double> fps{0.0};
    const std::size_t k = curve.tps.size();
    for (std::size_t i = 0; i < k; ++i) {
        bool keep = k <= 2 || i == 0 || i + 1 == k;
        if (!keep) {
            const double d2_fps = curve.fps[i + 1] - 2 * curve.fps[i] + curve.fps[i - 1];
            const double d2_tps = curve.tps[i + 1] - 2 * curve.tps[i] + curve.tps[i - 1];
            keep = d2_fps != 0.0 || d2_tps != 0.0;
        }
        if (keep) {
            tps.push_back(curve.tps[i]);
            fps.push_back(curve.fps[i]);
        }
    }
    const double tp_total = tps.back();
    const double fp_total = fps.back();
    std::vector<double> areas;
    for (std::size_t i = 1; i < tps.size(); ++i) {
        const double dx = fps[i] / fp_total - fps[i - 1] / fp_total;
        areas.push_back(dx * (tps[i] / tp_total + tps[i - 1] / tp_total) / 2.0);
    }
    return numpy_sum(areas);
}

std::optional<double> average_precision(const std::vector<bool>& positive, const std::vector<double>& score,
                                        std::string& reason) {
    if (std::count(positive.begin(), positive.end(), true) == 0) {
        // sklearn 1.2 returns 0 with a warning that recall is undefined.
        reason = "average_precision needs at least one positive label";
        return std::nullopt;
    }
    // sklearn average_precision_score: the step-wise sum
    // AP = sum_k (R_k - R_{k-1}) P_k over distinct thresholds, no interpolation,
    // summed from the lowest threshold up as sklearn's reversed arrays are.
    const ThresholdCurve curve = threshold_curve(positive, score);
    const std::size_t k = curve.tps.size();
    const double tp_total = curve.tps.back();
    std::vector<double> terms;
    for (std::size_t j = k; j-- > 0;) {
        const double recall = curve.tps[j] / tp_total;
        const double previous_recall = j == 0 ? 0.0 : curve.tps[j - 1] / tp_total;
        const double precision = curve.tps[j] / (curve.tps[j] + curve.fps[j]);
        terms.push_back(-((previous_recall - recall) * precision));
    }
    return numpy_sum(terms);
}

constinit const PerformanceMetric roc_auc_metric{
    ComponentInfo{"roc_auc", "area under the ROC curve of the score (roc_auc_score)"}, score_family, false, true,
    roc_auc_of};
constinit const PerformanceMetric average_precision_metric{
    ComponentInfo{"average_precision",
                  "the PR AUC as average_precision_score computes it (step-wise, not the trapezoid)"},
    score_family, false, true, average_precision_of};
constinit const PerformanceMetric log_loss_metric{ComponentInfo{"log_loss", "cross-entropy of the score (log_loss)"},
                                                  score_family, true, true, log_loss_of, true,
                                                  unbounded_loss_range};
constinit const PerformanceMetric brier_metric{
    ComponentInfo{"brier", "mean squared error of the score (brier_score_loss)"}, score_family, true, true, brier_of, true};
constinit const PerformanceMetric ece_metric{
    ComponentInfo{"ece", "expected calibration error over 10 equal-width bins"}, score_family, true, true, ece_of};

}  // namespace mw::performance
