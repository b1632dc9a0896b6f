#include "detectors/performance_label_metrics.h"

namespace mw::performance {

namespace {

using config::ComponentInfo;
constexpr auto label_family = MetricFamily::classification;

std::optional<double> accuracy_of(const MetricRows& rows, std::string&) { return rows.correct / rows.rows; }

std::optional<double> precision_of(const MetricRows& rows, std::string&) {
    return divide_or_zero(rows.positive_true_positives, rows.positive_predicted);
}
std::optional<double> recall_of(const MetricRows& rows, std::string&) {
    return divide_or_zero(rows.positive_true_positives, rows.positive_actual);
}
std::optional<double> f1_of(const MetricRows& rows, std::string&) {
    return f1_from(divide_or_zero(rows.positive_true_positives, rows.positive_predicted),
                   divide_or_zero(rows.positive_true_positives, rows.positive_actual));
}

std::optional<double> precision_macro_of(const MetricRows& rows, std::string&) {
    return numpy_mean(rows.label_precisions);
}
std::optional<double> recall_macro_of(const MetricRows& rows, std::string&) { return numpy_mean(rows.label_recalls); }
std::optional<double> f1_macro_of(const MetricRows& rows, std::string&) { return numpy_mean(rows.label_f1s); }

// numpy.average(values, weights=support): sum(values * w) / sum(w); the
// support sums to the labelled rows > 0, so sklearn's all-zero-weight branch
// is moot.
double support_weighted(const MetricRows& rows, const std::vector<double>& values) {
    std::vector<double> products(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) products[i] = values[i] * rows.label_supports[i];
    return numpy_sum(products) / numpy_sum(rows.label_supports);
}
std::optional<double> precision_weighted_of(const MetricRows& rows, std::string&) {
    return support_weighted(rows, rows.label_precisions);
}
std::optional<double> recall_weighted_of(const MetricRows& rows, std::string&) {
    return support_weighted(rows, rows.label_recalls);
}
std::optional<double> f1_weighted_of(const MetricRows& rows, std::string&) {
    return support_weighted(rows, rows.label_f1s);
}

}  // namespace

double divide_or_zero(double numerator, double denominator) {
    return denominator == 0.0 ? 0.0 : numerator / denominator;
}

double f1_from(double precision, double recall) {
    double denominator = precision + recall;
    if (denominator == 0.0) denominator = 1.0;
    return 2.0 * precision * recall / denominator;
}

constinit const PerformanceMetric accuracy_metric{
    ComponentInfo{"accuracy", "share of correct predictions (accuracy_score)"}, label_family, false, false,
    accuracy_of};
constinit const PerformanceMetric precision_metric{ComponentInfo{"precision", "precision of the positive class"},
                                                   label_family, false, false, precision_of};
constinit const PerformanceMetric recall_metric{ComponentInfo{"recall", "recall of the positive class"},
                                                label_family, false, false, recall_of};
constinit const PerformanceMetric f1_metric{ComponentInfo{"f1", "F1 of the positive class"}, label_family, false,
                                            false, f1_of};
constinit const PerformanceMetric precision_macro_metric{
    ComponentInfo{"precision_macro", "unweighted mean of the per-label precisions"}, label_family, false, false,
    precision_macro_of};
constinit const PerformanceMetric recall_macro_metric{
    ComponentInfo{"recall_macro", "unweighted mean of the per-label recalls"}, label_family, false, false,
    recall_macro_of};
constinit const PerformanceMetric f1_macro_metric{
    ComponentInfo{"f1_macro", "unweighted mean of the per-label F1s"}, label_family, false, false, f1_macro_of};
constinit const PerformanceMetric precision_weighted_metric{
    ComponentInfo{"precision_weighted", "per-label precisions weighted by support"}, label_family, false, false,
    precision_weighted_of};
constinit const PerformanceMetric recall_weighted_metric{
    ComponentInfo{"recall_weighted", "per-label recalls weighted by support"}, label_family, false, false,
    recall_weighted_of};
constinit const PerformanceMetric f1_weighted_metric{
    ComponentInfo{"f1_weighted", "per-label F1s weighted by support"}, label_family, false, false, f1_weighted_of};

}  // namespace mw::performance
