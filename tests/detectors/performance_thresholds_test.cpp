// detectors/performance_thresholds: bounds, bands and the findings they give.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

#include "detectors/performance_thresholds.h"

namespace mp = mw::performance;

namespace {

mp::MetricSet set_with(std::vector<mp::MetricValue> metrics, std::string segment = {}) {
    mp::MetricSet set;
    set.segment_value = std::move(segment);
    set.predictions = 200;
    set.labelled = 150;
    set.label_coverage = 0.75;
    set.metrics = std::move(metrics);
    return set;
}

mp::FindingContext context() {
    mp::FindingContext c;
    c.model = "churn";
    c.segment_name = "region";
    c.window_start_us = 1000;
    c.window_end_us = 2000;
    return c;
}

// A reference whose accuracy is exactly known on each chunk of 10 rows:
// chunk k has 5 + k correct predictions (k = 0..4).
mp::PerformanceWindow staircase_reference() {
    mp::PerformanceWindow window;
    for (int chunk = 0; chunk < 5; ++chunk) {
        for (int row = 0; row < 10; ++row) {
            window.y_pred.push_back("1");
            window.y_true.push_back(std::string(row < 5 + chunk ? "1" : "0"));
        }
    }
    return window;
}

}  // namespace

TEST_CASE("absolute bounds give findings with the crossed bound", "[performance][thresholds]") {
    mp::MetricThreshold f1;
    f1.metric = "f1";
    f1.lower = 0.8;
    f1.upper = 0.99;
    f1.severity = mw::Severity::critical;

    auto findings = mp::evaluate_thresholds(set_with({{"f1", 0.7, {}}}), false, {f1}, {}, context());
    REQUIRE(findings.size() == 1);
    const auto& low = findings[0];
    CHECK(low.triggered);
    CHECK(low.threshold == 0.8);
    CHECK(low.statistic == 0.7);
    CHECK(low.kind == "performance");
    CHECK(low.subject == "f1");
    CHECK(low.method == "realised");
    CHECK(low.model == "churn");
    CHECK(low.severity == mw::Severity::critical);
    CHECK(low.window_start_us == 1000);
    CHECK(low.window_end_us == 2000);
    const auto evidence = nlohmann::json::parse(low.evidence_json);
    CHECK(evidence["label_coverage"] == 0.75);
    CHECK(evidence["n"] == 150);
    CHECK(evidence["lower"] == 0.8);
    CHECK(evidence["upper"] == 0.99);
    CHECK(evidence["estimated"] == false);

    findings = mp::evaluate_thresholds(set_with({{"f1", 0.995, {}}}), false, {f1}, {}, context());
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].triggered);
    CHECK(findings[0].threshold == 0.99);

    findings = mp::evaluate_thresholds(set_with({{"f1", 0.9, {}}}), false, {f1}, {}, context());
    REQUIRE(findings.size() == 1);
    CHECK_FALSE(findings[0].triggered);
    CHECK(findings[0].threshold == 0.8);
}

TEST_CASE("absent metrics and unbounded thresholds give no finding", "[performance][thresholds]") {
    mp::MetricThreshold auc;
    auc.metric = "roc_auc";
    auc.lower = 0.7;
    CHECK(mp::evaluate_thresholds(set_with({{"roc_auc", std::nullopt, "one class"}}), false, {auc}, {}, context())
              .empty());
    mp::MetricThreshold unbounded;
    unbounded.metric = "accuracy";
    CHECK(mp::evaluate_thresholds(set_with({{"accuracy", 0.5, {}}}), false, {unbounded}, {}, context()).empty());
}

TEST_CASE("reference band: mean +- k sd over reference chunks", "[performance][thresholds]") {
    mp::PerformanceSpec spec;
    spec.positive_class = "1";
    const auto fit = mp::fit_reference_band(staircase_reference(), spec, 10, {"accuracy"});
    REQUIRE(fit.ok());
    REQUIRE(fit.bands.size() == 1);
    const auto& band = fit.bands[0];
    // Chunk accuracies 0.5, 0.6, 0.7, 0.8, 0.9: mean 0.7, population sd sqrt(0.02).
    CHECK(band.chunks == 5);
    CHECK(band.mean == Approx(0.7).epsilon(1e-12));
    CHECK(band.sd == Approx(std::sqrt(0.02)).epsilon(1e-12));
    CHECK(*band.reference_value == Approx(0.7).epsilon(1e-12));

    mp::MetricThreshold accuracy;
    accuracy.metric = "accuracy";
    accuracy.reference_band = true;
    accuracy.band_k = 2.0;
    const double lower = 0.7 - 2 * std::sqrt(0.02);
    auto findings = mp::evaluate_thresholds(set_with({{"accuracy", 0.4, {}}}, "eu"), true, {accuracy}, fit.bands,
                                            context());
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].triggered);
    CHECK(findings[0].threshold == Approx(lower).epsilon(1e-12));
    CHECK(findings[0].subject == "accuracy[region=eu]");
    CHECK(findings[0].method == "cbpe");
    const auto evidence = nlohmann::json::parse(findings[0].evidence_json);
    CHECK(evidence["band"]["k"] == 2.0);
    CHECK(evidence["band"]["chunks"] == 5);
    CHECK(evidence["estimated"] == true);
    CHECK(evidence["n"] == 200);

    findings = mp::evaluate_thresholds(set_with({{"accuracy", 0.5, {}}}), false, {accuracy}, fit.bands, context());
    REQUIRE(findings.size() == 1);
    CHECK_FALSE(findings[0].triggered);
}

TEST_CASE("max_drop is relative to the reference value, in the bad direction", "[performance][thresholds]") {
    mp::ReferenceBand accuracy_band{"accuracy", 0.8, 0.01, 4, 0.8};
    mp::ReferenceBand loss_band{"log_loss", 0.4, 0.02, 4, 0.4};
    mp::MetricThreshold accuracy;
    accuracy.metric = "accuracy";
    accuracy.max_drop = 0.1;
    mp::MetricThreshold loss;
    loss.metric = "log_loss";
    loss.max_drop = 0.25;
    const auto findings =
        mp::evaluate_thresholds(set_with({{"accuracy", 0.71, {}}, {"log_loss", 0.49, {}}}), false, {accuracy, loss},
                                {accuracy_band, loss_band}, context());
    REQUIRE(findings.size() == 2);
    CHECK(findings[0].triggered);  // 0.71 < 0.8 * 0.9
    CHECK(findings[0].threshold == Approx(0.72));
    CHECK_FALSE(findings[1].triggered);  // 0.49 <= 0.4 * 1.25
    CHECK(findings[1].threshold == Approx(0.5));
}

TEST_CASE("the tighter of absolute and band bounds applies", "[performance][thresholds]") {
    mp::ReferenceBand band{"accuracy", 0.8, 0.05, 6, 0.8};
    mp::MetricThreshold accuracy;
    accuracy.metric = "accuracy";
    accuracy.lower = 0.7;
    accuracy.reference_band = true;  // band lower 0.65, looser than 0.7
    const auto findings =
        mp::evaluate_thresholds(set_with({{"accuracy", 0.68, {}}}), false, {accuracy}, {band}, context());
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].triggered);
    CHECK(findings[0].threshold == 0.7);
}

TEST_CASE("a report gives findings for the window and each segment", "[performance][thresholds]") {
    mp::PerformanceWindow window;
    window.y_pred = {"1", "1", "0", "0"};
    window.y_true = {std::string("1"), std::string("0"), std::string("0"), std::nullopt};
    window.segment = {"eu", "eu", "us", "us"};
    mp::PerformanceSpec spec;
    spec.positive_class = "1";
    const auto report = mp::compute_performance(window, spec);
    REQUIRE(report.ok());
    mp::MetricThreshold accuracy;
    accuracy.metric = "accuracy";
    accuracy.lower = 0.9;
    const auto findings = mp::evaluate_thresholds(report, {accuracy}, {}, context());
    REQUIRE(findings.size() == 3);
    CHECK(findings[0].subject == "accuracy");
    CHECK(findings[0].triggered);  // 2 of 3
    CHECK(findings[1].subject == "accuracy[region=eu]");
    CHECK(findings[1].triggered);  // 1 of 2
    CHECK(findings[2].subject == "accuracy[region=us]");
    CHECK_FALSE(findings[2].triggered);  // 1 of 1
    CHECK(nlohmann::json::parse(findings[2].evidence_json)["label_coverage"] == 0.5);
}

TEST_CASE("band fitting refuses what it cannot fit", "[performance][thresholds]") {
    mp::PerformanceSpec spec;
    spec.positive_class = "1";
    CHECK(mp::fit_reference_band(staircase_reference(), spec, 30, {"accuracy"}).error ==
          "reference: 50 rows make 1 complete chunks of 30; a band needs at least 2");
    CHECK(mp::fit_reference_band(staircase_reference(), spec, 10, {"mae"}).error ==
          "metrics[0]: \"mae\" is not a metric of this task");
    // No scores: roc_auc is never defined.
    CHECK(mp::fit_reference_band(staircase_reference(), spec, 10, {"roc_auc"}).error ==
          "metrics[0]: \"roc_auc\" is defined on 0 of 5 reference chunks; a band needs 2");
    CHECK_FALSE(mp::fit_reference_band(staircase_reference(), spec, 0, {"accuracy"}).ok());
}
