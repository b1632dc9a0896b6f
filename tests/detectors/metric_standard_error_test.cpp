// The delta-method standard errors of detectors/metric_standard_error.h:
// - against the bootstrap they replace: on 8 seeds of 800 rows each, the
//   standard error is within 15% of the standard deviation of 400 bootstrap
//   replicates of the metric (compute_performance on rows drawn with
//   replacement) for rmse, r2, f1, roc_auc and ece;
// - against independent computations: roc_auc's against DeLong's variance
//   from the pairwise kernel (O(n1 n0), no ranks) to 1e-12; rmse's, r2's and
//   f1's against the jackknife (leave-one-out recomputation), within 5%.
// The rows are heteroscedastic (regression) and miscalibrated
// (classification: every bin's gap away from 0, where the delta method holds
// for ECE's absolute values).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "detectors/metric_standard_error.h"
#include "detectors/performance_metrics.h"

using namespace mw::performance;

namespace {

PerformanceWindow scored_rows(std::size_t n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> probability(0.05, 0.95), uniform(0, 1);
    PerformanceWindow window;
    for (std::size_t i = 0; i < n; ++i) {
        // The row's true probability q, and a score q^2 that ranks the rows
        // right but understates every one of them, so that every bin's
        // calibration gap (q - q^2 on average) is away from 0: where a gap is
        // near 0 the ECE's |.| makes any first-order rule and the bootstrap
        // part ways.
        const double q = probability(rng);
        const bool y = uniform(rng) < q;
        const double score = q * q;
        window.y_true.push_back(y ? "1" : "0");
        window.y_pred.push_back(score >= 0.5 ? "1" : "0");
        window.score.push_back(score);
    }
    return window;
}

PerformanceWindow regression_rows_of(std::size_t n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal(0, 1);
    PerformanceWindow window;
    for (std::size_t i = 0; i < n; ++i) {
        const double x = normal(rng);
        // The error's spread grows with |x|: rows differ in variance.
        window.target.push_back(2 * x + normal(rng) * (0.5 + std::abs(x)));
        window.predicted_value.push_back(1.8 * x + 0.3);
    }
    return window;
}

PerformanceSpec spec_of(Task task) {
    PerformanceSpec spec;
    spec.task = task;
    spec.positive_class = "1";
    return spec;
}

PerformanceWindow subset_of(const PerformanceWindow& window, const std::vector<std::size_t>& rows) {
    PerformanceWindow part;
    for (const auto r : rows) {
        if (!window.y_true.empty()) {
            part.y_true.push_back(window.y_true[r]);
            part.y_pred.push_back(window.y_pred[r]);
            part.score.push_back(window.score[r]);
        } else {
            part.target.push_back(window.target[r]);
            part.predicted_value.push_back(window.predicted_value[r]);
        }
    }
    return part;
}

double metric_of(const PerformanceWindow& window, const PerformanceSpec& spec, const std::string& metric) {
    const auto report = compute_performance(window, spec);
    REQUIRE(report.ok());
    const auto* value = report.overall.find(metric);
    REQUIRE(value != nullptr);
    REQUIRE(value->value);
    return *value->value;
}

double sd_of(const std::vector<double>& values) {
    double mean = 0;
    for (const double v : values) mean += v;
    mean /= static_cast<double>(values.size());
    double squares = 0;
    for (const double v : values) squares += (v - mean) * (v - mean);
    return std::sqrt(squares / static_cast<double>(values.size() - 1));
}

std::vector<std::size_t> all_rows(std::size_t n) {
    std::vector<std::size_t> rows(n);
    for (std::size_t r = 0; r < n; ++r) rows[r] = r;
    return rows;
}

// The bootstrap standard deviation of each of `metrics` over `replicates` resamples.
std::map<std::string, double> bootstrap_sd(const PerformanceWindow& window, const PerformanceSpec& spec,
                                           const std::vector<std::string>& metrics, std::size_t replicates,
                                           std::uint64_t seed) {
    const std::size_t n = spec.task == Task::regression ? window.target.size() : window.y_true.size();
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<std::size_t> pick(0, n - 1);
    std::map<std::string, std::vector<double>> values;
    std::vector<std::size_t> drawn(n);
    for (std::size_t b = 0; b < replicates; ++b) {
        for (auto& r : drawn) r = pick(rng);
        const auto report = compute_performance(subset_of(window, drawn), spec);
        REQUIRE(report.ok());
        for (const auto& metric : metrics)
            if (const auto* value = report.overall.find(metric); value != nullptr && value->value)
                values[metric].push_back(*value->value);
    }
    std::map<std::string, double> sd;
    for (const auto& [metric, replicate_values] : values) sd[metric] = sd_of(replicate_values);
    return sd;
}

// The jackknife standard error: sqrt((n - 1) / n * sum (theta_(i) - mean)^2).
double jackknife_se(const PerformanceWindow& window, const PerformanceSpec& spec, const std::string& metric,
                    std::size_t n) {
    std::vector<double> leave_one_out;
    for (std::size_t i = 0; i < n; ++i) {
        auto rows = all_rows(n);
        rows.erase(rows.begin() + static_cast<std::ptrdiff_t>(i));
        leave_one_out.push_back(metric_of(subset_of(window, rows), spec, metric));
    }
    double mean = 0;
    for (const double v : leave_one_out) mean += v;
    mean /= static_cast<double>(n);
    double squares = 0;
    for (const double v : leave_one_out) squares += (v - mean) * (v - mean);
    return std::sqrt(static_cast<double>(n - 1) / static_cast<double>(n) * squares);
}

}  // namespace

TEST_CASE("delta-method standard errors agree with the bootstrap on many seeds", "[metric_standard_error]") {
    constexpr std::size_t rows = 800;
    constexpr std::size_t replicates = 400;
    const std::vector<std::pair<Task, std::vector<std::string>>> families{
        {Task::classification, {"f1", "roc_auc", "ece"}}, {Task::regression, {"rmse", "r2"}}};
    std::map<std::string, std::pair<double, double>> ratios;  // lowest and highest, for bench/RESULTS.md
    for (std::uint64_t seed = 1; seed <= 8; ++seed) {
        for (const auto& [task, metrics] : families) {
            const auto window = task == Task::regression ? regression_rows_of(rows, seed) : scored_rows(rows, seed);
            const auto spec = spec_of(task);
            const auto sd = bootstrap_sd(window, spec, metrics, replicates, seed + 100);
            for (const auto& metric : metrics) {
                const auto se = metric_standard_error(metric, window, spec, all_rows(rows));
                REQUIRE(se);
                INFO(metric << " seed " << seed << ": delta " << *se << ", bootstrap " << sd.at(metric));
                CHECK(*se / sd.at(metric) == Approx(1.0).margin(0.15));
                auto& [lowest, highest] = ratios.try_emplace(metric, 10.0, 0.0).first->second;
                lowest = std::min(lowest, *se / sd.at(metric));
                highest = std::max(highest, *se / sd.at(metric));
            }
        }
    }
    for (const auto& [metric, range] : ratios)
        std::printf("metric_standard_error %s: delta / bootstrap sd %.3f to %.3f over 8 seeds of %zu rows\n",
                    metric.c_str(), range.first, range.second, rows);
}

TEST_CASE("roc_auc's standard error is DeLong's variance from the pairwise kernel", "[metric_standard_error]") {
    // Scores rounded to 0.05 so that ties between classes occur (the kernel's 1/2).
    auto window = scored_rows(300, 42);
    for (auto& s : window.score) s = std::round(s * 20) / 20;
    std::vector<double> positives, negatives;
    for (std::size_t i = 0; i < window.score.size(); ++i)
        (*window.y_true[i] == "1" ? positives : negatives).push_back(window.score[i]);
    const auto kernel = [](double x, double y) { return x > y ? 1.0 : x == y ? 0.5 : 0.0; };
    std::vector<double> v10, v01;
    for (const double x : positives) {
        double sum = 0;
        for (const double y : negatives) sum += kernel(x, y);
        v10.push_back(sum / static_cast<double>(negatives.size()));
    }
    for (const double y : negatives) {
        double sum = 0;
        for (const double x : positives) sum += kernel(x, y);
        v01.push_back(sum / static_cast<double>(positives.size()));
    }
    const double variance = sd_of(v10) * sd_of(v10) / static_cast<double>(positives.size()) +
                            sd_of(v01) * sd_of(v01) / static_cast<double>(negatives.size());
    const auto se = metric_standard_error("roc_auc", window, spec_of(Task::classification), all_rows(300));
    REQUIRE(se);
    CHECK(*se == Approx(std::sqrt(variance)).epsilon(1e-12));
}

TEST_CASE("rmse, r2 and f1 standard errors agree with the jackknife", "[metric_standard_error]") {
    constexpr std::size_t n = 300;
    const auto regression = regression_rows_of(n, 7);
    for (const char* metric : {"rmse", "r2"}) {
        const auto se = metric_standard_error(metric, regression, spec_of(Task::regression), all_rows(n));
        REQUIRE(se);
        INFO(metric);
        CHECK(*se == Approx(jackknife_se(regression, spec_of(Task::regression), metric, n)).epsilon(0.05));
    }
    const auto classification = scored_rows(n, 7);
    const auto se = metric_standard_error("f1", classification, spec_of(Task::classification), all_rows(n));
    REQUIRE(se);
    CHECK(*se == Approx(jackknife_se(classification, spec_of(Task::classification), "f1", n)).epsilon(0.05));
}

TEST_CASE("a standard error is the subset's own, and absent where the metric has no sampling model",
          "[metric_standard_error]") {
    const auto window = scored_rows(800, 3);
    const auto spec = spec_of(Task::classification);
    std::vector<std::size_t> quarter;
    for (std::size_t r = 0; r < 800; r += 4) quarter.push_back(r);
    // A quarter of the rows: about twice the whole set's error, from its own rows.
    const auto whole = metric_standard_error("roc_auc", window, spec, all_rows(800));
    const auto part = metric_standard_error("roc_auc", window, spec, quarter);
    REQUIRE(whole);
    REQUIRE(part);
    CHECK(*part / *whole == Approx(2.0).margin(0.4));
    // One class: no roc_auc; macro averages are not covered (the caller bootstraps).
    std::vector<std::size_t> positives;
    for (std::size_t r = 0; r < 800; ++r)
        if (*window.y_true[r] == "1") positives.push_back(r);
    CHECK_FALSE(metric_standard_error("roc_auc", window, spec, positives));
    CHECK_FALSE(metric_standard_error("f1_macro", window, spec, all_rows(800)));
    CHECK_FALSE(has_influence_standard_error("f1_macro"));
    CHECK(has_influence_standard_error("ece"));
    // A constant target has no r2 variance to speak of.
    PerformanceWindow constant;
    for (int i = 0; i < 10; ++i) constant.target.push_back(1.0), constant.predicted_value.push_back(1.0 + i);
    CHECK_FALSE(metric_standard_error("r2", constant, spec_of(Task::regression), all_rows(10)));
}
