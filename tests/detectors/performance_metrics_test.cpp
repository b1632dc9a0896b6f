// Parity of detectors/performance_metrics with scikit-learn 1.2.1 on the
// vectors written by scripts/gen_performance_vectors.py, plus the error
// values the function must return for broken input.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "detectors/performance_metric.h"
#include "detectors/performance_metrics.h"
#include "tests/support/detector_vectors.h"

namespace mp = mw::performance;
using nlohmann::json;

namespace {


json read_vectors(const std::string& file) {
    std::ifstream in(mw::testing::detector_vectors_dir + file);
    REQUIRE(in);
    return json::parse(in);
}

// 1e-12 relative, or 1e-12 absolute near zero.
bool close(double actual, double expected) {
    return std::abs(actual - expected) <= 1e-12 * std::max(1.0, std::abs(expected));
}

void check_metric(const mp::MetricSet& set, const std::string& name, const json& expected, const std::string& where) {
    INFO(where << " metric " << name);
    const mp::MetricValue* metric = set.find(name);
    REQUIRE(metric != nullptr);
    if (expected.is_null()) {
        CHECK_FALSE(metric->value.has_value());
        CHECK_FALSE(metric->absent_reason.empty());
        return;
    }
    REQUIRE(metric->value.has_value());
    INFO("actual " << *metric->value << " expected " << expected.get<double>());
    CHECK(close(*metric->value, expected.get<double>()));
    CHECK(metric->absent_reason.empty());
    // Within the range its registry entry gives (what the root-cause
    // ranking clips intervals to): scikit-learn's r2 below 0, rmse above 1.
    const mp::PerformanceMetric* entry = mp::find_performance_metric(name);
    REQUIRE(entry != nullptr);
    CHECK(*metric->value >= entry->range.min);
    CHECK(*metric->value <= entry->range.max);
}

void check_optional(const std::optional<double>& actual, const json& expected, const std::string& what) {
    INFO(what);
    if (expected.is_null()) {
        CHECK_FALSE(actual.has_value());
        return;
    }
    REQUIRE(actual.has_value());
    CHECK(close(*actual, expected.get<double>()));
}

mp::PerformanceWindow classification_window(const json& c) {
    mp::PerformanceWindow window;
    for (const auto& v : c["y_pred"]) window.y_pred.push_back(v.get<std::string>());
    for (const auto& v : c["y_true"]) {
        window.y_true.push_back(v.is_null() ? std::nullopt : std::optional<std::string>(v.get<std::string>()));
    }
    if (!c["score"].is_null()) {
        for (const auto& v : c["score"]) window.score.push_back(v.get<double>());
    }
    if (!c["segment"].is_null()) {
        for (const auto& v : c["segment"]) window.segment.push_back(v.get<std::string>());
    }
    if (!c["delay_seconds"].is_null()) {
        for (const auto& v : c["delay_seconds"]) {
            window.label_delay_seconds.push_back(v.is_null() ? std::nullopt : std::optional<double>(v.get<double>()));
        }
    }
    return window;
}

mp::PerformanceWindow regression_window(const json& c) {
    mp::PerformanceWindow window;
    for (const auto& v : c["value"]) window.predicted_value.push_back(v.get<double>());
    for (const auto& v : c["target"]) {
        window.target.push_back(v.is_null() ? std::nullopt : std::optional<double>(v.get<double>()));
    }
    if (!c["segment"].is_null()) {
        for (const auto& v : c["segment"]) window.segment.push_back(v.get<std::string>());
    }
    return window;
}

void check_set(const mp::MetricSet& set, const json& expected, const std::vector<std::string>& names,
               const std::string& where) {
    for (const auto& name : names) check_metric(set, name, expected[name], where);
    check_optional(set.label_coverage, expected["label_coverage"], where + " label_coverage");
}

}  // namespace

TEST_CASE("classification metrics match scikit-learn 1.2.1", "[performance][vectors]") {
    const json vectors = read_vectors("performance_classification.json");
    REQUIRE(vectors["cases"].size() >= 15);
    for (const auto& c : vectors["cases"]) {
        const std::string name = c["name"].get<std::string>();
        mp::PerformanceSpec spec;
        spec.positive_class = c["positive"].get<std::string>();
        for (const auto& v : c["classes"]) spec.classes.push_back(v.get<std::string>());
        spec.segment_name = "region";
        const auto report = mp::compute_performance(classification_window(c), spec);
        INFO("case " << name << " error " << report.error);
        REQUIRE(report.ok());
        check_set(report.overall, c["expected"], mp::classification_metric_names(), name);
        const auto& delay = c["expected"]["delay"];
        check_optional(report.overall.delay.p50_seconds, delay["p50"], name + " delay p50");
        check_optional(report.overall.delay.p95_seconds, delay["p95"], name + " delay p95");
        check_optional(report.overall.delay.max_seconds, delay["max"], name + " delay max");
        if (c.contains("expected_segments")) {
            const auto& segments = c["expected_segments"];
            REQUIRE(report.segments.size() == segments.size());
            for (const auto& set : report.segments) {
                REQUIRE(segments.contains(set.segment_value));
                check_set(set, segments[set.segment_value], mp::classification_metric_names(),
                          name + " segment " + set.segment_value);
            }
        } else {
            CHECK(report.segments.empty());
        }
    }
}

TEST_CASE("regression metrics match scikit-learn 1.2.1", "[performance][vectors]") {
    const json vectors = read_vectors("performance_regression.json");
    REQUIRE(vectors["cases"].size() >= 8);
    for (const auto& c : vectors["cases"]) {
        const std::string name = c["name"].get<std::string>();
        mp::PerformanceSpec spec;
        spec.task = mp::Task::regression;
        const auto report = mp::compute_performance(regression_window(c), spec);
        INFO("case " << name << " error " << report.error);
        REQUIRE(report.ok());
        check_set(report.overall, c["expected"], mp::regression_metric_names(), name);
        if (c.contains("expected_segments")) {
            const auto& segments = c["expected_segments"];
            REQUIRE(report.segments.size() == segments.size());
            for (const auto& set : report.segments) {
                check_set(set, segments[set.segment_value], mp::regression_metric_names(),
                          name + " segment " + set.segment_value);
            }
        }
    }
}

TEST_CASE("undefined metrics are absent with a reason, never NaN", "[performance]") {
    mp::PerformanceWindow window;
    window.y_pred = {"1", "1"};
    window.y_true = {std::string("1"), std::string("1")};
    window.score = {0.9, 0.2};
    mp::PerformanceSpec spec;
    spec.positive_class = "1";
    const auto report = mp::compute_performance(window, spec);
    REQUIRE(report.ok());
    const auto* auc = report.overall.find("roc_auc");
    REQUIRE(auc != nullptr);
    CHECK_FALSE(auc->value.has_value());
    CHECK(auc->absent_reason.find("both classes") != std::string::npos);
    for (const auto& metric : report.overall.metrics) {
        if (metric.value) CHECK(std::isfinite(*metric.value));
    }
    CHECK_FALSE(report.overall.delay.p50_seconds.has_value());
}

TEST_CASE("broken input is an error value naming the column and row", "[performance]") {
    mp::PerformanceSpec spec;
    spec.positive_class = "yes";
    spec.classes = {"no", "yes"};

    mp::PerformanceWindow unknown_label;
    unknown_label.y_pred = {"yes", "maybe"};
    unknown_label.y_true = {std::string("yes"), std::string("no")};
    auto report = mp::compute_performance(unknown_label, spec);
    CHECK(report.error == "y_pred[1]: label \"maybe\" is not in the class list");

    mp::PerformanceWindow short_truth;
    short_truth.y_pred = {"yes", "no"};
    short_truth.y_true = {std::string("yes")};
    report = mp::compute_performance(short_truth, spec);
    CHECK(report.error == "y_true: expected 2 values (one per prediction), got 1");

    mp::PerformanceWindow bad_score;
    bad_score.y_pred = {"yes", "no"};
    bad_score.y_true = {std::string("yes"), std::nullopt};
    bad_score.score = {0.5, 1.5};
    report = mp::compute_performance(bad_score, spec);
    CHECK(report.error == "score[1]: 1.5 is not a probability in [0, 1]");

    mp::PerformanceSpec no_positive = spec;
    no_positive.positive_class = "";
    report = mp::compute_performance(short_truth, no_positive);
    CHECK_FALSE(report.ok());

    mp::PerformanceSpec regression;
    regression.task = mp::Task::regression;
    mp::PerformanceWindow nan_target;
    nan_target.predicted_value = {1.0, 2.0};
    nan_target.target = {1.0, std::nan("")};
    report = mp::compute_performance(nan_target, regression);
    CHECK(report.error == "target[1]: nan is not a finite number");
}

TEST_CASE("numeric labels have one text form", "[performance]") {
    CHECK(mp::label_text(1.0) == "1");
    CHECK(mp::label_text(-3.0) == "-3");
    CHECK(mp::label_text(0.0) == "0");
    CHECK(mp::label_text(2.5) == "2.5");
    // A label given as 1.0 by one source and 1 by another still matches.
    mp::PerformanceWindow window;
    window.y_pred = {mp::label_text(1.0), mp::label_text(0.0)};
    window.y_true = {mp::label_text(1), mp::label_text(1)};
    mp::PerformanceSpec spec;
    spec.positive_class = "1";
    const auto report = mp::compute_performance(window, spec);
    REQUIRE(report.ok());
    CHECK(*report.overall.find("accuracy")->value == 0.5);
}

TEST_CASE("percentile_linear follows numpy's linear method", "[performance]") {
    CHECK(mp::percentile_linear({5.0}, 95) == 5.0);
    CHECK(mp::percentile_linear({1.0, 2.0, 3.0, 4.0}, 50) == 2.5);
    CHECK(mp::percentile_linear({4.0, 1.0, 3.0, 2.0}, 100) == 4.0);
    CHECK(mp::percentile_linear({0.0, 10.0}, 95) == Approx(9.5).epsilon(1e-15));
}
