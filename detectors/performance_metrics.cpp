#include "detectors/performance_metrics.h"

#include "detectors/performance_label_metrics.h"
#include "detectors/performance_regression_metrics.h"
#include "detectors/performance_score_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <set>

#include <fmt/format.h>

namespace mw::performance {

namespace {

// numpy_sum's pairwise summation (detectors/performance_metric.h).
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

MetricValue present(std::string name, double value) { return MetricValue{std::move(name), value, {}}; }
MetricValue absent(std::string name, std::string reason) {
    return MetricValue{std::move(name), std::nullopt, std::move(reason)};
}

struct LabelCounts {
    double tp = 0;
    double predicted = 0;
    double actual = 0;
};

// What every metric reads of the labelled rows of one set (detectors/performance_metric.h).
MetricRows metric_rows(const PerformanceWindow& window, const PerformanceSpec& spec,
                       const std::vector<std::size_t>& rows) {
    MetricRows out;
    out.rows = static_cast<double>(rows.size());
    if (spec.task == Task::regression) {
        for (std::size_t row : rows) {
            out.target.push_back(*window.target[row]);
            out.predicted_value.push_back(window.predicted_value[row]);
        }
        return out;
    }
    // sklearn's labels default: the sorted union of the labels in y_true and y_pred.
    std::map<std::string, LabelCounts> counts;
    for (std::size_t row : rows) {
        const std::string& truth = *window.y_true[row];
        const std::string& predicted = window.y_pred[row];
        counts[truth].actual += 1;
        counts[predicted].predicted += 1;
        if (truth == predicted) {
            counts[truth].tp += 1;
            out.correct += 1;
        }
    }
    if (auto it = counts.find(spec.positive_class); it != counts.end()) {
        out.positive_true_positives = it->second.tp;
        out.positive_predicted = it->second.predicted;
        out.positive_actual = it->second.actual;
    }
    for (const auto& [label, c] : counts) {
        out.label_precisions.push_back(divide_or_zero(c.tp, c.predicted));
        out.label_recalls.push_back(divide_or_zero(c.tp, c.actual));
        out.label_f1s.push_back(f1_from(out.label_precisions.back(), out.label_recalls.back()));
        out.label_supports.push_back(c.actual);
    }
    if (!window.score.empty()) {
        for (std::size_t row : rows) {
            out.is_positive.push_back(*window.y_true[row] == spec.positive_class);
            out.score.push_back(window.score[row]);
        }
    }
    return out;
}

// Every metric of the task's family, in registry order.
std::vector<MetricValue> family_metrics(const PerformanceWindow& window, const PerformanceSpec& spec,
                                        const std::vector<std::size_t>& rows) {
    const auto family = spec.task == Task::classification ? MetricFamily::classification : MetricFamily::regression;
    const MetricRows prepared = rows.empty() ? MetricRows{} : metric_rows(window, spec, rows);
    std::vector<MetricValue> out;
    for (const auto& metric : performance_metrics()) {
        if (metric.family != family) continue;
        std::string name(metric.info.name);
        if (rows.empty()) {
            out.push_back(absent(std::move(name), "no labelled rows"));
        } else if (metric.needs_score && window.score.empty()) {
            out.push_back(absent(std::move(name), "the window has no scores"));
        } else {
            std::string reason;
            const auto value = metric.compute(prepared, reason);
            out.push_back(value ? present(std::move(name), *value) : absent(std::move(name), std::move(reason)));
        }
    }
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
    set.metrics = family_metrics(window, spec, labelled);
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

// The registry: one line per metric, in MetricSet's order. A function-local
// static, so that the entries of the other translation units (constant-
// initialised) are there when it is built.
std::span<const PerformanceMetric> performance_metrics() {
    static const PerformanceMetric table[] = {
        accuracy_metric,
        precision_metric,
        recall_metric,
        f1_metric,
        precision_macro_metric,
        recall_macro_metric,
        f1_macro_metric,
        precision_weighted_metric,
        recall_weighted_metric,
        f1_weighted_metric,
        roc_auc_metric,
        average_precision_metric,
        log_loss_metric,
        brier_metric,
        ece_metric,
        mae_metric,
        rmse_metric,
        mape_metric,
        r2_metric,
    };
    return table;
}

const PerformanceMetric* find_performance_metric(std::string_view name) {
    return config::find_component(performance_metrics(), name);
}

namespace {

std::vector<std::string> names_of(MetricFamily family) {
    std::vector<std::string> names;
    for (const auto& metric : performance_metrics())
        if (metric.family == family) names.emplace_back(metric.info.name);
    return names;
}

}  // namespace

const std::vector<std::string>& classification_metric_names() {
    static const std::vector<std::string> names = names_of(MetricFamily::classification);
    return names;
}

const std::vector<std::string>& regression_metric_names() {
    static const std::vector<std::string> names = names_of(MetricFamily::regression);
    return names;
}

double numpy_sum(std::span<const double> values) { return pairwise_sum(values.data(), values.size()); }
double numpy_mean(std::span<const double> values) {
    return numpy_sum(values) / static_cast<double>(values.size());
}

std::string label_text(double label) {
    if (std::isfinite(label) && label == std::trunc(label) && std::abs(label) < 1e15) {
        return fmt::format("{}", static_cast<long long>(label));
    }
    return fmt::format("{}", label);
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
