#include "detectors/cbpe.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

namespace mw::performance {

namespace {

// sklearn's _make_unique treats x values closer than float64 resolution
// (numpy.finfo(float64).resolution = 1e-15) as one.
constexpr double same_x_resolution = 1e-15;

// Pool adjacent violators with weights, in place: sklearn's
// _inplace_contiguous_isotonic_regression (sklearn/_isotonic.pyx), which
// keeps for each block its first and last index in `target` so that merging
// backtracks in O(1) and the whole pass is O(n).
void pool_adjacent_violators(std::vector<double>& y, std::vector<double>& w) {
    const std::size_t n = y.size();
    std::vector<std::size_t> target(n);
    std::iota(target.begin(), target.end(), std::size_t{0});
    std::size_t i = 0;
    while (i < n) {
        std::size_t k = target[i] + 1;
        if (k == n) break;
        if (y[i] < y[k]) {
            i = k;
            continue;
        }
        double sum_wy = w[i] * y[i];
        double sum_w = w[i];
        while (true) {
            const double previous_y = y[k];
            sum_wy += w[k] * y[k];
            sum_w += w[k];
            k = target[k] + 1;
            if (k == n || previous_y < y[k]) {
                y[i] = sum_wy / sum_w;
                w[i] = sum_w;
                target[i] = k - 1;
                target[k - 1] = i;
                if (i > 0) i = target[i - 1];
                break;
            }
        }
    }
    i = 0;
    while (i < n) {
        const std::size_t k = target[i] + 1;
        for (std::size_t j = i + 1; j < k; ++j) y[j] = y[i];
        i = k;
    }
}

double population_sd(const std::vector<double>& values) {
    if (values.empty()) return 0.0;
    const double n = static_cast<double>(values.size());
    const double mean = std::accumulate(values.begin(), values.end(), 0.0) / n;
    double squares = 0;
    for (double v : values) squares += (v - mean) * (v - mean);
    return std::sqrt(squares / n);
}

EstimatedMetric estimated(std::string name, double numerator, double denominator, std::string_view what) {
    if (denominator == 0.0) {
        return EstimatedMetric{std::move(name), std::nullopt, fmt::format("no expected {}", what), std::nullopt};
    }
    return EstimatedMetric{std::move(name), numerator / denominator, {}, std::nullopt};
}

}  // namespace

double IsotonicCalibration::apply(double score) const {
    if (knots_x.size() == 1) return knots_y.front();
    if (score <= knots_x.front()) return knots_y.front();
    if (score >= knots_x.back()) return knots_y.back();
    // numpy.interp: the knot interval holding the score, then
    // slope * (x - x_j) + y_j; a score on a knot returns the knot's value.
    const auto upper = std::upper_bound(knots_x.begin(), knots_x.end(), score);
    const std::size_t j = static_cast<std::size_t>(upper - knots_x.begin()) - 1;
    if (knots_x[j] == score) return knots_y[j];
    const double slope = (knots_y[j + 1] - knots_y[j]) / (knots_x[j + 1] - knots_x[j]);
    return slope * (score - knots_x[j]) + knots_y[j];
}

IsotonicFit fit_isotonic(const std::vector<double>& x, const std::vector<double>& y) {
    IsotonicFit fit;
    if (x.size() != y.size()) {
        fit.error = fmt::format("x has {} values and y {}; they must pair up", x.size(), y.size());
        return fit;
    }
    if (x.empty()) {
        fit.error = "isotonic calibration needs at least one reference row";
        return fit;
    }
    for (std::size_t i = 0; i < x.size(); ++i) {
        if (!std::isfinite(x[i])) fit.error = fmt::format("x[{}]: {} is not a finite number", i, x[i]);
        if (!std::isfinite(y[i])) fit.error = fmt::format("y[{}]: {} is not a finite number", i, y[i]);
        if (!fit.ok()) return fit;
    }
    // sklearn sorts by (x, y) with numpy.lexsort, then pools equal x.
    std::vector<std::size_t> order(x.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return x[a] < x[b] || (x[a] == x[b] && y[a] < y[b]);
    });
    std::vector<double> unique_x;
    std::vector<double> pooled_y;
    std::vector<double> weight;
    double sum_y = 0;
    double count = 0;
    double current_x = x[order.front()];
    for (std::size_t k = 0; k < order.size(); ++k) {
        const double xk = x[order[k]];
        if (xk - current_x >= same_x_resolution) {
            unique_x.push_back(current_x);
            pooled_y.push_back(sum_y / count);
            weight.push_back(count);
            current_x = xk;
            sum_y = 0;
            count = 0;
        }
        sum_y += y[order[k]];
        count += 1;
    }
    unique_x.push_back(current_x);
    pooled_y.push_back(sum_y / count);
    weight.push_back(count);

    pool_adjacent_violators(pooled_y, weight);

    // sklearn's _build_y keeps the end points and every point whose value
    // differs from a neighbour; the dropped points lie on flat runs, so
    // interpolation is unchanged.
    const std::size_t n = unique_x.size();
    for (std::size_t i = 0; i < n; ++i) {
        const bool keep = n <= 2 || i == 0 || i + 1 == n || pooled_y[i - 1] != pooled_y[i] ||
                          pooled_y[i] != pooled_y[i + 1];
        if (keep) {
            fit.calibration.knots_x.push_back(unique_x[i]);
            fit.calibration.knots_y.push_back(pooled_y[i]);
        }
    }
    return fit;
}

const EstimatedMetric* CbpeEstimate::find(const std::string& name) const {
    for (const auto& metric : metrics) {
        if (metric.name == name) return &metric;
    }
    return nullptr;
}

ExpectedConfusion expected_confusion(const std::vector<double>& calibrated_score,
                                     const std::vector<bool>& predicted_positive) {
    ExpectedConfusion confusion;
    for (std::size_t i = 0; i < calibrated_score.size(); ++i) {
        const double p = calibrated_score[i];
        if (predicted_positive[i]) {
            confusion.tp += p;
            confusion.fp += 1.0 - p;
        } else {
            confusion.fn += p;
            confusion.tn += 1.0 - p;
        }
    }
    return confusion;
}

std::optional<double> estimate_roc_auc(const std::vector<double>& calibrated_score,
                                       const std::vector<double>& raw_score) {
    const std::size_t n = raw_score.size();
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return raw_score[a] > raw_score[b]; });
    // numpy.round(x, 5) is rint(x * 1e5) / 1e5 (ties to even).
    const auto round5 = [](double v) { return std::nearbyint(v * 1e5) / 1e5; };
    std::vector<double> tps{0.0};
    std::vector<double> fps{0.0};
    double cumulative = 0;
    for (std::size_t k = 0; k < n; ++k) {
        cumulative += calibrated_score[order[k]];
        tps.push_back(round5(cumulative));
        fps.push_back(round5(1.0 + static_cast<double>(k) - cumulative));
    }
    if (tps.back() == 0.0 || fps.back() == 0.0) return std::nullopt;
    double area = 0;
    for (std::size_t i = 1; i < tps.size(); ++i) {
        const double dx = fps[i] / fps.back() - fps[i - 1] / fps.back();
        area += dx * (tps[i] / tps.back() + tps[i - 1] / tps.back()) / 2.0;
    }
    return area;
}

CbpeFit fit_cbpe(const std::vector<double>& score, const std::vector<bool>& predicted_positive,
                 const std::vector<bool>& actual_positive, const CbpeOptions& options) {
    CbpeFit fit;
    const std::size_t n = score.size();
    if (predicted_positive.size() != n || actual_positive.size() != n) {
        fit.error = fmt::format("reference columns differ in length: score {}, predicted {}, actual {}", n,
                                predicted_positive.size(), actual_positive.size());
        return fit;
    }
    if (n == 0) {
        fit.error = "CBPE needs labelled reference rows";
        return fit;
    }
    for (std::size_t i = 0; i < n; ++i) {
        if (!(score[i] >= 0.0 && score[i] <= 1.0)) {
            fit.error = fmt::format("reference score[{}]: {} is not a probability in [0, 1]", i, score[i]);
            return fit;
        }
    }
    if (options.isotonic_calibration) {
        std::vector<double> labels(n);
        for (std::size_t i = 0; i < n; ++i) labels[i] = actual_positive[i] ? 1.0 : 0.0;
        IsotonicFit isotonic = fit_isotonic(score, labels);
        if (!isotonic.ok()) {
            fit.error = isotonic.error;
            return fit;
        }
        fit.reference.calibration = std::move(isotonic.calibration);
    }
    // Per-observation values of each metric (nannyml/sampling_error/
    // binary_classification.py, *_sampling_error_components).
    std::vector<double> accuracy, precision, recall, f1, specificity;
    for (std::size_t i = 0; i < n; ++i) {
        const bool yhat = predicted_positive[i];
        const bool y = actual_positive[i];
        accuracy.push_back(yhat == y ? 1.0 : 0.0);
        if (yhat) precision.push_back(y ? 1.0 : 0.0);
        if (y) recall.push_back(yhat ? 1.0 : 0.0);
        if (!y) specificity.push_back(yhat ? 0.0 : 1.0);
        if (yhat || y) f1.push_back(yhat && y ? 1.0 : 0.0);
    }
    const auto component = [&](std::string name, const std::vector<double>& values) {
        fit.reference.sampling_error.push_back(SamplingErrorComponent{
            std::move(name), population_sd(values), static_cast<double>(values.size()) / static_cast<double>(n)});
    };
    component("accuracy", accuracy);
    component("precision", precision);
    component("recall", recall);
    component("f1", f1);
    component("specificity", specificity);
    fit.reference.rows = n;
    return fit;
}

CbpeEstimate estimate_cbpe(const std::vector<double>& score, const std::vector<bool>& predicted_positive,
                           const CbpeReference* reference) {
    CbpeEstimate estimate;
    const std::size_t n = score.size();
    if (predicted_positive.size() != n) {
        estimate.error = fmt::format("score has {} values and predicted_positive {}; they must pair up", n,
                                     predicted_positive.size());
        return estimate;
    }
    for (std::size_t i = 0; i < n; ++i) {
        if (!(score[i] >= 0.0 && score[i] <= 1.0)) {
            estimate.error = fmt::format("score[{}]: {} is not a probability in [0, 1]", i, score[i]);
            return estimate;
        }
    }
    estimate.n = n;
    std::vector<double> calibrated = score;
    if (reference != nullptr && reference->calibration) {
        for (double& p : calibrated) p = reference->calibration->apply(p);
    }
    const ExpectedConfusion c = expected_confusion(calibrated, predicted_positive);
    estimate.confusion = c;
    // NannyML estimate_accuracy, estimate_precision, estimate_recall,
    // estimate_f1 (TP / (TP + (FP + FN) / 2)) and estimate_specificity.
    estimate.metrics.push_back(estimated("accuracy", c.tp + c.tn, c.tp + c.fp + c.fn + c.tn, "rows"));
    estimate.metrics.push_back(estimated("precision", c.tp, c.tp + c.fp, "positive predictions"));
    estimate.metrics.push_back(estimated("recall", c.tp, c.tp + c.fn, "positives"));
    estimate.metrics.push_back(estimated("f1", c.tp, c.tp + 0.5 * (c.fp + c.fn), "positives"));
    estimate.metrics.push_back(estimated("specificity", c.tn, c.tn + c.fp, "negatives"));
    const auto auc = estimate_roc_auc(calibrated, score);
    estimate.metrics.push_back(auc ? EstimatedMetric{"roc_auc", auc, {}, std::nullopt}
                                   : EstimatedMetric{"roc_auc", std::nullopt,
                                                     "roc_auc needs expected positives and negatives", std::nullopt});

    for (auto& metric : estimate.metrics) {
        if (!metric.value) continue;
        if (reference == nullptr) {
            if (metric.name == "accuracy" && n > 0) {
                const double a = *metric.value;
                metric.standard_error = std::sqrt(a * (1.0 - a) / static_cast<double>(n));
            }
            continue;
        }
        for (const auto& component : reference->sampling_error) {
            if (component.metric == metric.name && component.fraction > 0.0) {
                metric.standard_error = component.sd / std::sqrt(static_cast<double>(n) * component.fraction);
            }
        }
    }
    return estimate;
}

}  // namespace mw::performance
