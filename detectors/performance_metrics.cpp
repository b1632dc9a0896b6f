#include "detectors/performance_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <set>

#include <fmt/format.h>

namespace mw::performance {

namespace {

// numpy's pairwise summation (numpy/core/src/umath/loops_utils.h.src,
// pairwise_sum), which np.sum, np.mean and np.average use on contiguous
// float64 arrays: summing in the same order keeps parity with sklearn to the
// last bits instead of to 1e-14.
double pairwise_sum(const double* a, std::size_t n) {
    constexpr std::size_t block = 128;
    if (n < 8) {
        double res = 0.0;
        for (std::size_t i = 0; i < n; ++i) res += a[i];
        return res;
    }
    if (n <= block) {
        double r[8];
        for (std::size_t j = 0; j < 8; ++j) r[j] = a[j];
        std::size_t i = 8;
        for (; i < n - (n % 8); i += 8) {
            for (std::size_t j = 0; j < 8; ++j) r[j] += a[i + j];
        }
        double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; ++i) res += a[i];
        return res;
    }
    std::size_t half = n / 2;
    half -= half % 8;
    return pairwise_sum(a, half) + pairwise_sum(a + half, n - half);
}

double sum(const std::vector<double>& values) { return pairwise_sum(values.data(), values.size()); }
double mean(const std::vector<double>& values) { return sum(values) / static_cast<double>(values.size()); }

MetricValue present(std::string name, double value) { return MetricValue{std::move(name), value, {}}; }
MetricValue absent(std::string name, std::string reason) {
    return MetricValue{std::move(name), std::nullopt, std::move(reason)};
}

// sklearn's _prf_divide with zero_division=0: a zero denominator gives 0.
double divide_or_zero(double numerator, double denominator) {
    return denominator == 0.0 ? 0.0 : numerator / denominator;
}

// sklearn precision_recall_fscore_support, beta = 1: F from the rounded
// precision and recall, denominator 0 replaced by 1.
double f1_from(double precision, double recall) {
    double denominator = precision + recall;
    if (denominator == 0.0) denominator = 1.0;
    return 2.0 * precision * recall / denominator;
}

struct LabelCounts {
    double tp = 0;
    double predicted = 0;
    double actual = 0;
};

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

void add_score_metrics(const std::vector<bool>& positive, const std::vector<double>& score,
                       std::vector<MetricValue>& out) {
    std::string reason;
    const auto auc = roc_auc(positive, score, reason);
    out.push_back(auc ? present("roc_auc", *auc) : absent("roc_auc", reason));
    const auto ap = average_precision(positive, score, reason);
    out.push_back(ap ? present("average_precision", *ap) : absent("average_precision", reason));

    const std::size_t n = score.size();
    // sklearn 1.2.1 log_loss(eps="auto"): clip to [eps, 1 - eps] with eps the
    // float64 machine epsilon, stack [1 - p, p], renormalise each row by its
    // sum, loss = -log of the true column, averaged.
    constexpr double eps = std::numeric_limits<double>::epsilon();
    std::vector<double> log_losses(n);
    std::vector<double> squared(n);
    for (std::size_t i = 0; i < n; ++i) {
        const double clipped = std::clamp(score[i], eps, 1.0 - eps);
        const double negative = 1.0 - clipped;
        const double row_sum = negative + clipped;
        log_losses[i] = -std::log((positive[i] ? clipped : negative) / row_sum);
        // sklearn brier_score_loss: mean of (y - p)^2 with y in {0, 1}.
        const double diff = (positive[i] ? 1.0 : 0.0) - score[i];
        squared[i] = diff * diff;
    }
    out.push_back(present("log_loss", mean(log_losses)));
    out.push_back(present("brier", mean(squared)));

    // Expected calibration error (Naeini, Cooper & Hauskrecht 2015; Guo et
    // al. 2017): sum over non-empty bins of count/n * |mean(y) - mean(p)|.
    std::vector<std::vector<double>> bin_y(10);
    std::vector<std::vector<double>> bin_p(10);
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t bin = calibration_bin(score[i]);
        bin_y[bin].push_back(positive[i] ? 1.0 : 0.0);
        bin_p[bin].push_back(score[i]);
    }
    double ece = 0;
    for (std::size_t bin = 0; bin < 10; ++bin) {
        if (bin_y[bin].empty()) continue;
        const double count = static_cast<double>(bin_y[bin].size());
        ece += count / static_cast<double>(n) * std::abs(mean(bin_y[bin]) - mean(bin_p[bin]));
    }
    out.push_back(present("ece", ece));
}

std::vector<MetricValue> classification_metrics(const PerformanceWindow& window, const PerformanceSpec& spec,
                                                const std::vector<std::size_t>& rows) {
    std::vector<MetricValue> out;
    if (rows.empty()) {
        for (const auto& name : classification_metric_names()) out.push_back(absent(name, "no labelled rows"));
        return out;
    }
    // sklearn's labels default: the sorted union of the labels in y_true and y_pred.
    std::map<std::string, LabelCounts> counts;
    double correct = 0;
    for (std::size_t row : rows) {
        const std::string& truth = *window.y_true[row];
        const std::string& predicted = window.y_pred[row];
        counts[truth].actual += 1;
        counts[predicted].predicted += 1;
        if (truth == predicted) {
            counts[truth].tp += 1;
            correct += 1;
        }
    }
    const double n = static_cast<double>(rows.size());
    out.push_back(present("accuracy", correct / n));

    // Positive class against the rest (sklearn average="binary", pos_label).
    LabelCounts positive_counts;
    if (auto it = counts.find(spec.positive_class); it != counts.end()) positive_counts = it->second;
    const double precision = divide_or_zero(positive_counts.tp, positive_counts.predicted);
    const double recall = divide_or_zero(positive_counts.tp, positive_counts.actual);
    out.push_back(present("precision", precision));
    out.push_back(present("recall", recall));
    out.push_back(present("f1", f1_from(precision, recall)));

    std::vector<double> precisions;
    std::vector<double> recalls;
    std::vector<double> f1s;
    std::vector<double> supports;
    for (const auto& [label, c] : counts) {
        precisions.push_back(divide_or_zero(c.tp, c.predicted));
        recalls.push_back(divide_or_zero(c.tp, c.actual));
        f1s.push_back(f1_from(precisions.back(), recalls.back()));
        supports.push_back(c.actual);
    }
    out.push_back(present("precision_macro", mean(precisions)));
    out.push_back(present("recall_macro", mean(recalls)));
    out.push_back(present("f1_macro", mean(f1s)));
    // numpy.average(values, weights=support): sum(values * w) / sum(w); the
    // support sums to n > 0 here, so sklearn's all-zero-weight branch is moot.
    const double support_total = sum(supports);
    const auto weighted = [&](const std::vector<double>& values) {
        std::vector<double> products(values.size());
        for (std::size_t i = 0; i < values.size(); ++i) products[i] = values[i] * supports[i];
        return sum(products) / support_total;
    };
    out.push_back(present("precision_weighted", weighted(precisions)));
    out.push_back(present("recall_weighted", weighted(recalls)));
    out.push_back(present("f1_weighted", weighted(f1s)));

    if (window.score.empty()) {
        for (const char* name : {"roc_auc", "average_precision", "log_loss", "brier", "ece"}) {
            out.push_back(absent(name, "the window has no scores"));
        }
        return out;
    }
    std::vector<bool> positive;
    std::vector<double> score;
    for (std::size_t row : rows) {
        positive.push_back(*window.y_true[row] == spec.positive_class);
        score.push_back(window.score[row]);
    }
    add_score_metrics(positive, score, out);
    return out;
}

std::vector<MetricValue> regression_metrics(const PerformanceWindow& window, const std::vector<std::size_t>& rows) {
    std::vector<MetricValue> out;
    if (rows.empty()) {
        for (const auto& name : regression_metric_names()) out.push_back(absent(name, "no labelled rows"));
        return out;
    }
    // sklearn.metrics mean_absolute_error, mean_squared_error(squared=False),
    // mean_absolute_percentage_error (denominator max(|y|, float64 eps)), r2_score.
    constexpr double eps = std::numeric_limits<double>::epsilon();
    const std::size_t n = rows.size();
    std::vector<double> absolute(n), squared(n), percentage(n), targets(n);
    for (std::size_t i = 0; i < n; ++i) {
        const double target = *window.target[rows[i]];
        const double predicted = window.predicted_value[rows[i]];
        absolute[i] = std::abs(predicted - target);
        squared[i] = (target - predicted) * (target - predicted);
        percentage[i] = absolute[i] / std::max(std::abs(target), eps);
        targets[i] = target;
    }
    out.push_back(present("mae", mean(absolute)));
    out.push_back(present("rmse", std::sqrt(mean(squared))));
    out.push_back(present("mape", mean(percentage)));
    if (n < 2) {
        out.push_back(absent("r2", "r2 needs at least two labelled rows"));
        return out;
    }
    const double target_mean = mean(targets);
    std::vector<double> deviations(n);
    for (std::size_t i = 0; i < n; ++i) deviations[i] = (targets[i] - target_mean) * (targets[i] - target_mean);
    const double numerator = sum(squared);
    const double denominator = sum(deviations);
    // r2_score(force_finite=True): a constant target scores 1 when predicted
    // exactly, else 0, instead of -inf or NaN.
    double r2 = 1.0;
    if (denominator == 0.0) {
        r2 = numerator == 0.0 ? 1.0 : 0.0;
    } else if (numerator != 0.0) {
        r2 = 1.0 - numerator / denominator;
    }
    out.push_back(present("r2", r2));
    return out;
}

MetricSet metric_set(const PerformanceWindow& window, const PerformanceSpec& spec,
                     const std::vector<std::size_t>& rows, std::string segment_value) {
    MetricSet set;
    set.segment_value = std::move(segment_value);
    set.predictions = rows.size();
    std::vector<std::size_t> labelled;
    std::vector<double> delays;
    for (std::size_t row : rows) {
        const bool has_label =
            spec.task == Task::classification ? window.y_true[row].has_value() : window.target[row].has_value();
        if (!has_label) continue;
        labelled.push_back(row);
        if (!window.label_delay_seconds.empty() && window.label_delay_seconds[row]) {
            delays.push_back(*window.label_delay_seconds[row]);
        }
    }
    set.labelled = labelled.size();
    if (!rows.empty()) set.label_coverage = static_cast<double>(labelled.size()) / static_cast<double>(rows.size());
    if (!delays.empty()) {
        set.delay.p50_seconds = percentile_linear(delays, 50);
        set.delay.p95_seconds = percentile_linear(delays, 95);
        set.delay.max_seconds = *std::max_element(delays.begin(), delays.end());
    }
    set.metrics = spec.task == Task::classification ? classification_metrics(window, spec, labelled)
                                                    : regression_metrics(window, labelled);
    return set;
}

std::string check_length(std::string_view column, std::size_t size, std::size_t rows, bool optional) {
    if (optional && size == 0) return {};
    if (size == rows) return {};
    return fmt::format("{}: expected {} values (one per prediction), got {}", column, rows, size);
}

std::string validate(const PerformanceWindow& window, const PerformanceSpec& spec) {
    if (spec.task == Task::classification) {
        const std::size_t n = window.y_pred.size();
        for (const auto& error : {check_length("y_true", window.y_true.size(), n, false),
                                  check_length("score", window.score.size(), n, true),
                                  check_length("segment", window.segment.size(), n, true),
                                  check_length("label_delay_seconds", window.label_delay_seconds.size(), n, true)}) {
            if (!error.empty()) return error;
        }
        if (spec.positive_class.empty()) return "positive_class: a classification window needs a positive class";
        const std::set<std::string> classes(spec.classes.begin(), spec.classes.end());
        const auto known = [&](const std::string& label) { return classes.empty() || classes.count(label) > 0; };
        if (!known(spec.positive_class)) {
            return fmt::format("positive_class: \"{}\" is not in the class list", spec.positive_class);
        }
        for (std::size_t i = 0; i < n; ++i) {
            if (!known(window.y_pred[i])) {
                return fmt::format("y_pred[{}]: label \"{}\" is not in the class list", i, window.y_pred[i]);
            }
            if (window.y_true[i] && !known(*window.y_true[i])) {
                return fmt::format("y_true[{}]: label \"{}\" is not in the class list", i, *window.y_true[i]);
            }
            if (!window.score.empty() && !(window.score[i] >= 0.0 && window.score[i] <= 1.0)) {
                return fmt::format("score[{}]: {} is not a probability in [0, 1]", i, window.score[i]);
            }
        }
    } else {
        const std::size_t n = window.predicted_value.size();
        for (const auto& error : {check_length("target", window.target.size(), n, false),
                                  check_length("segment", window.segment.size(), n, true),
                                  check_length("label_delay_seconds", window.label_delay_seconds.size(), n, true)}) {
            if (!error.empty()) return error;
        }
        for (std::size_t i = 0; i < n; ++i) {
            if (!std::isfinite(window.predicted_value[i])) {
                return fmt::format("predicted_value[{}]: {} is not a finite number", i, window.predicted_value[i]);
            }
            if (window.target[i] && !std::isfinite(*window.target[i])) {
                return fmt::format("target[{}]: {} is not a finite number", i, *window.target[i]);
            }
        }
    }
    for (std::size_t i = 0; i < window.label_delay_seconds.size(); ++i) {
        const auto& delay = window.label_delay_seconds[i];
        if (delay && !std::isfinite(*delay)) {
            return fmt::format("label_delay_seconds[{}]: {} is not a finite number", i, *delay);
        }
    }
    return {};
}

}  // namespace

const MetricValue* MetricSet::find(std::string_view name) const {
    for (const auto& metric : metrics) {
        if (metric.name == name) return &metric;
    }
    return nullptr;
}

namespace {

using config::ComponentInfo;
constexpr auto classification = MetricFamily::classification;
constexpr auto regression = MetricFamily::regression;

constexpr PerformanceMetricEntry metric_table[] = {
    {ComponentInfo{"accuracy", "share of correct predictions (accuracy_score)"}, classification, false},
    {ComponentInfo{"precision", "precision of the positive class"}, classification, false},
    {ComponentInfo{"recall", "recall of the positive class"}, classification, false},
    {ComponentInfo{"f1", "F1 of the positive class"}, classification, false},
    {ComponentInfo{"precision_macro", "unweighted mean of the per-label precisions"}, classification, false},
    {ComponentInfo{"recall_macro", "unweighted mean of the per-label recalls"}, classification, false},
    {ComponentInfo{"f1_macro", "unweighted mean of the per-label F1s"}, classification, false},
    {ComponentInfo{"precision_weighted", "per-label precisions weighted by support"}, classification, false},
    {ComponentInfo{"recall_weighted", "per-label recalls weighted by support"}, classification, false},
    {ComponentInfo{"f1_weighted", "per-label F1s weighted by support"}, classification, false},
    {ComponentInfo{"roc_auc", "area under the ROC curve of the score (roc_auc_score)"}, classification, false},
    {ComponentInfo{"average_precision",
                   "the PR AUC as average_precision_score computes it (step-wise, not the trapezoid)"},
     classification, false},
    {ComponentInfo{"log_loss", "cross-entropy of the score (log_loss)"}, classification, true},
    {ComponentInfo{"brier", "mean squared error of the score (brier_score_loss)"}, classification, true},
    {ComponentInfo{"ece", "expected calibration error over 10 equal-width bins"}, classification, true},
    {ComponentInfo{"mae", "mean absolute error"}, regression, true},
    {ComponentInfo{"rmse", "root mean squared error"}, regression, true},
    {ComponentInfo{"mape", "mean absolute percentage error"}, regression, true},
    {ComponentInfo{"r2", "coefficient of determination (r2_score)"}, regression, false},
};

std::vector<std::string> names_of(MetricFamily family) {
    std::vector<std::string> names;
    for (const auto& metric : metric_table)
        if (metric.family == family) names.emplace_back(metric.info.name);
    return names;
}

}  // namespace

std::span<const PerformanceMetricEntry> performance_metrics() { return metric_table; }

const PerformanceMetricEntry* find_performance_metric(std::string_view name) {
    return config::find_component(performance_metrics(), name);
}

const std::vector<std::string>& classification_metric_names() {
    static const std::vector<std::string> names = names_of(classification);
    return names;
}

const std::vector<std::string>& regression_metric_names() {
    static const std::vector<std::string> names = names_of(regression);
    return names;
}

std::string label_text(double label) {
    if (std::isfinite(label) && label == std::trunc(label) && std::abs(label) < 1e15) {
        return fmt::format("{}", static_cast<long long>(label));
    }
    return fmt::format("{}", label);
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
    return sum(areas);
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
    return sum(terms);
}

double percentile_linear(std::vector<double> values, double q) {
    std::sort(values.begin(), values.end());
    // numpy 1.24 _quantile with method="linear": virtual index
    // n*q + (1 + q*(1 - 1 - 1)) - 1, then _lerp, which computes from the
    // upper neighbour when the fraction is >= 0.5.
    const double fraction = q / 100.0;
    const double n = static_cast<double>(values.size());
    const double virtual_index = n * fraction + (1.0 + fraction * (1.0 - 1.0 - 1.0)) - 1.0;
    const double previous = std::floor(virtual_index);
    const double gamma = virtual_index - previous;
    const auto clamp_index = [&](double index) {
        return static_cast<std::size_t>(std::clamp(index, 0.0, n - 1.0));
    };
    const double a = values[clamp_index(previous)];
    const double b = values[clamp_index(previous + 1.0)];
    const double diff = b - a;
    return gamma >= 0.5 ? b - diff * (1.0 - gamma) : a + diff * gamma;
}

PerformanceReport compute_performance(const PerformanceWindow& window, const PerformanceSpec& spec) {
    PerformanceReport report;
    report.error = validate(window, spec);
    if (!report.ok()) return report;
    const std::size_t n = spec.task == Task::classification ? window.y_pred.size() : window.predicted_value.size();
    std::vector<std::size_t> all(n);
    std::iota(all.begin(), all.end(), std::size_t{0});
    report.overall = metric_set(window, spec, all, {});
    if (window.segment.empty()) return report;
    std::map<std::string, std::vector<std::size_t>> by_segment;
    for (std::size_t i = 0; i < n; ++i) by_segment[window.segment[i]].push_back(i);
    for (const auto& [value, rows] : by_segment) report.segments.push_back(metric_set(window, spec, rows, value));
    return report;
}

}  // namespace mw::performance
