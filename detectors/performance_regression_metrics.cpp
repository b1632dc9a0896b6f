#include "detectors/performance_regression_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace mw::performance {

namespace {

using config::ComponentInfo;
constexpr auto regression_family = MetricFamily::regression;

std::vector<double> squared_errors(const MetricRows& rows) {
    std::vector<double> squared(rows.target.size());
    for (std::size_t i = 0; i < squared.size(); ++i)
        squared[i] = (rows.target[i] - rows.predicted_value[i]) * (rows.target[i] - rows.predicted_value[i]);
    return squared;
}

std::optional<double> mae_of(const MetricRows& rows, std::string&) {
    std::vector<double> absolute(rows.target.size());
    for (std::size_t i = 0; i < absolute.size(); ++i) absolute[i] = std::abs(rows.predicted_value[i] - rows.target[i]);
    return numpy_mean(absolute);
}

std::optional<double> rmse_of(const MetricRows& rows, std::string&) {
    return std::sqrt(numpy_mean(squared_errors(rows)));
}

std::optional<double> mape_of(const MetricRows& rows, std::string&) {
    constexpr double eps = std::numeric_limits<double>::epsilon();
    std::vector<double> percentage(rows.target.size());
    for (std::size_t i = 0; i < percentage.size(); ++i)
        percentage[i] = std::abs(rows.predicted_value[i] - rows.target[i]) / std::max(std::abs(rows.target[i]), eps);
    return numpy_mean(percentage);
}

// r2_score(force_finite=True): a constant target scores 1 when predicted
// exactly, else 0, instead of -inf or NaN.
std::optional<double> r2_of(const MetricRows& rows, std::string& reason) {
    const std::size_t n = rows.target.size();
    if (n < 2) {
        reason = "r2 needs at least two labelled rows";
        return std::nullopt;
    }
    const double target_mean = numpy_mean(rows.target);
    std::vector<double> deviations(n);
    for (std::size_t i = 0; i < n; ++i)
        deviations[i] = (rows.target[i] - target_mean) * (rows.target[i] - target_mean);
    const double numerator = numpy_sum(squared_errors(rows));
    const double denominator = numpy_sum(deviations);
    if (denominator == 0.0) return numerator == 0.0 ? 1.0 : 0.0;
    if (numerator != 0.0) return 1.0 - numerator / denominator;
    return 1.0;
}

}  // namespace

constinit const PerformanceMetric mae_metric{ComponentInfo{"mae", "mean absolute error"}, regression_family, true,
                                             false, mae_of, true, unbounded_loss_range};
constinit const PerformanceMetric rmse_metric{ComponentInfo{"rmse", "root mean squared error"}, regression_family,
                                              true, false, rmse_of, false, unbounded_loss_range};
constinit const PerformanceMetric mape_metric{ComponentInfo{"mape", "mean absolute percentage error"},
                                              regression_family, true, false, mape_of, true, unbounded_loss_range};
constinit const PerformanceMetric r2_metric{ComponentInfo{"r2", "coefficient of determination (r2_score)"},
                                            regression_family, false, false, r2_of, false,
                                            MetricRange{-std::numeric_limits<double>::infinity(), 1}};

}  // namespace mw::performance
