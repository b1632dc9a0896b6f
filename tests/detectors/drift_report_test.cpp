#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "detectors/drift_report.h"

using namespace mw::drift;

namespace {

std::vector<double> normal_sample(std::size_t n, double mean, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal(mean, 1.0);
    std::vector<double> out(n);
    for (auto& v : out) v = normal(rng);
    return out;
}

struct Fixture {
    DatasetDriftOptions options;
    DatasetDriftResult result;
    ReportSources sources{"ref.csv", "cur.csv"};

    Fixture() {
        DriftTable reference, current;
        reference.rows = 2000;
        current.rows = 1000;
        reference.columns = {{"shifted", true, normal_sample(2000, 0, 1), {}},
                             {"stable", true, normal_sample(2000, 0, 3), {}},
                             {"<color>", false, {}, std::vector<std::string>(2000, "red")}};
        for (std::size_t i = 0; i < 1000; ++i) reference.columns[2].texts.set(i, "blue");
        std::vector<std::string> colors(1000, "red");
        for (std::size_t i = 0; i < 300; ++i) colors[i] = "blue";
        for (std::size_t i = 300; i < 400; ++i) colors[i] = "green & gold";
        current.columns = {{"shifted", true, normal_sample(1000, 1.0, 6), {}},
                           {"stable", true, normal_sample(1000, 0, 5), {}},
                           {"<color>", false, {}, colors}};
        auto fitted = FittedReference::fit(reference, options);
        result = fitted.reference->evaluate(current);
    }
};

}  // namespace

TEST_CASE("JSON report: per column results, definitions and the dataset verdict", "[drift][report]") {
    Fixture f;
    const auto document = nlohmann::json::parse(render_json(f.result, f.options, f.sources));
    REQUIRE(document["features"].size() == 3);
    const auto& shifted = document["features"][0];
    CHECK(shifted["column"] == "shifted");
    CHECK(shifted["method"] == "ks");
    CHECK(shifted["drifted"] == true);
    CHECK(shifted["threshold"] == 0.05);
    CHECK(shifted["p_value"].is_number());
    CHECK(shifted["adjusted_p_value"].is_number());
    CHECK(shifted["effect_size_method"] == "wasserstein");
    CHECK(shifted["noise_baseline"]["resamples"] == 50);
    CHECK(shifted["noise_baseline"]["sample_rows"] == 1000);
    CHECK(shifted["definition"].get<std::string>().find("ks_2samp") != std::string::npos);
    CHECK(document["features"][1]["drifted"] == false);
    const auto& color = document["features"][2];
    CHECK(color["method"] == "z");  // two reference categories
    CHECK(color["effect_size_method"] == "jensenshannon");
    REQUIRE(color["unseen_categories"].size() == 1);
    CHECK(color["unseen_categories"][0]["value"] == "green & gold");
    CHECK(color["unseen_categories"][0]["count"] == 100);
    CHECK(document["dataset"]["drifted_features"] == f.result.overall.drifted);
    CHECK(document["dataset"]["dataset_drift"] == f.result.overall.dataset_drift);
    CHECK(document["dataset"]["drift_share"] == 0.5);
    CHECK(document["correction"] == "benjamini_hochberg");
    CHECK(document["mode"] == "robust");
    CHECK(document["definitions"]["effect_size"].get<std::string>().find("max(population sd of the reference (ddof=0), "
                                                                     "0.001)") != std::string::npos);
    CHECK(document["definitions"]["effect_size"].get<std::string>().find("natural log") != std::string::npos);
    CHECK(document["definitions"]["verdict"].get<std::string>().find("benjamini_hochberg") != std::string::npos);
    CHECK(document["multivariate"]["method"] == "pca_reconstruction_error");
    CHECK(document["multivariate"]["evaluated"] == true);
    CHECK(document["reference"]["rows"] == 2000);
    CHECK(document["segments"].empty());
}

TEST_CASE("text report: an aligned table and the verdict", "[drift][report]") {
    Fixture f;
    const std::string text = render_text(f.result, f.options, f.sources);
    CHECK(text.find("column   method") != std::string::npos);  // the header padded to the longest name
    CHECK(text.find("\nshifted  ks ") != std::string::npos);
    CHECK(text.find("DRIFT") != std::string::npos);
    CHECK(text.find("unseen: green & gold=100") != std::string::npos);
    CHECK(text.find(" features drifted (share ") != std::string::npos);
    CHECK(text.find("multivariate (PCA reconstruction error") != std::string::npos);
}

TEST_CASE("HTML report: self-contained, escaped, every feature charted, drifted first", "[drift][report]") {
    Fixture f;
    f.sources.excluded = {{"class", "label column"}};
    const std::string html = render_html(f.result, f.options, f.sources);
    CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
    CHECK(html.find("<script") == std::string::npos);
    CHECK(html.find("src=") == std::string::npos);
    CHECK(html.find("href=") == std::string::npos);
    CHECK(html.find("@import") == std::string::npos);
    CHECK(html.find("&lt;color&gt;") != std::string::npos);
    CHECK(html.find("<color>") == std::string::npos);
    CHECK(html.find("green &amp; gold") != std::string::npos);
    std::size_t charts = 0;
    for (auto at = html.find("<svg"); at != std::string::npos; at = html.find("<svg", at + 1)) ++charts;
    CHECK(charts == f.result.overall.features.size());
    // Drifted features come first among the charts; "stable" is charted too.
    const auto shifted = html.find("aria-label=\"shifted distribution\"");
    const auto stable = html.find("aria-label=\"stable distribution\"");
    REQUIRE(shifted != std::string::npos);
    REQUIRE(stable != std::string::npos);
    CHECK(shifted < stable);
    // Axis titles, sizes, missing shares, quantiles and top categories.
    CHECK(html.find(">share of rows</text>") != std::string::npos);
    CHECK(html.find(">category</text>") != std::string::npos);
    CHECK(html.find("n: reference 2000, current 1000; missing: reference 0.0%, current 0.0%") != std::string::npos);
    CHECK(html.find("quantiles p5 p25 p50 p75 p95") != std::string::npos);
    CHECK(html.find("top categories:") != std::string::npos);
    CHECK(html.find("not compared: class (label column)") != std::string::npos);
    CHECK(html.find("natural log") != std::string::npos);
    CHECK(html.find("Definitions") != std::string::npos);
}

TEST_CASE("every verdict says why, including a significant test under the effect floor", "[drift][report]") {
    FeatureDriftResult f;
    f.feature = "nswdemand";
    f.method = &drift_method("ks");
    f.statistic = 0.08;
    f.p_value = 1e-7;
    f.adjusted_p_value = 5e-6;
    f.threshold = 0.05;
    f.test_significant = true;
    f.effect_size = 0.031;
    f.drifted = false;
    f.reference_distinct = 900;
    const DriftOptions options;
    CHECK(verdict_reason(f, options) == "adjusted p 5e-06 < 0.05 but effect size 0.031 is under the floor 0.1");
    f.noise = NoiseBaseline{1000, 50, 0.05, 0.02, 0.11};
    f.effect_size = 0.105;
    CHECK(verdict_reason(f, options) ==
          "adjusted p 5e-06 < 0.05 but effect size 0.105 is within the noise of reference resamples (limit 0.11)");
    f.effect_size = 0.3;
    f.drifted = true;
    CHECK(verdict_reason(f, options) == "adjusted p 5e-06 < 0.05, effect size 0.3 > floor 0.1 and > noise limit 0.11");
    f.test_significant = false;
    f.drifted = false;
    f.adjusted_p_value = 0.2;
    f.reference_distinct = 1;
    CHECK(verdict_reason(f, options) ==
          "adjusted p 0.2 >= 0.05; the reference is constant (one distinct value): check its data quality");
}

TEST_CASE("legacy mode says so and has no adjusted p-values or noise", "[drift][report]") {
    Fixture f;
    f.options.feature.mode = DriftMode::legacy;
    DriftTable reference, current;
    reference.rows = current.rows = 500;
    reference.columns = {{"x", true, normal_sample(500, 0, 1), {}}};
    current.columns = {{"x", true, normal_sample(500, 0.5, 2), {}}};
    auto fitted = FittedReference::fit(reference, f.options);
    const auto result = fitted.reference->evaluate(current);
    const auto document = nlohmann::json::parse(render_json(result, f.options, f.sources));
    CHECK(document["mode"] == "legacy");
    CHECK(document["correction"] == "none");
    CHECK(document["features"][0]["adjusted_p_value"].is_null());
    CHECK(document["features"][0]["noise_baseline"].is_null());
    CHECK(document["definitions"]["verdict"].get<std::string>().find("legacy") != std::string::npos);
}

TEST_CASE("JSON report: names that are not UTF-8 are replaced, not fatal", "[drift][report]") {
    DatasetDriftOptions options;
    DriftTable reference, current;
    reference.rows = current.rows = 3;
    reference.columns = {{"bad\xff", false, {}, {"a", "b", "a"}}};
    current.columns = {{"bad\xff", false, {}, {"a", "\xfe", "a"}}};
    auto fitted = FittedReference::fit(reference, options);
    const auto result = fitted.reference->evaluate(current);
    const auto document = nlohmann::json::parse(render_json(result, options, {"r", "c"}));
    CHECK(document["features"][0]["column"] == "bad\xEF\xBF\xBD");
    CHECK(document["features"][0]["unseen_categories"][0]["value"] == "\xEF\xBF\xBD");
}
