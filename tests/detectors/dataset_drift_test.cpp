#include <cmath>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "detectors/csv_table.h"
#include "detectors/dataset_drift.h"
#include "stats/ks_test.h"
#include "tests/support/command_output.h"
#include "tests/support/random_samples.h"

using namespace mw::drift;

namespace {

// Two standard normal features with correlation rho (Cholesky of [[1, rho], [rho, 1]]).
DriftTable correlated(std::size_t n, double rho, std::uint64_t seed) {
    const auto a = mw::testing::normal_sample(n, 0, 1, seed);
    const auto b = mw::testing::normal_sample(n, 0, 1, seed + 1000);
    DriftTable table;
    table.rows = n;
    ColumnData x{"x", true, a, {}};
    ColumnData y{"y", true, {}, {}};
    for (std::size_t i = 0; i < n; ++i) y.numbers.push_back(rho * a[i] + std::sqrt(1 - rho * rho) * b[i]);
    table.columns = {std::move(x), std::move(y)};
    return table;
}

const FeatureDriftResult& feature(const DriftVerdict& verdict, const std::string& name) {
    for (const auto& f : verdict.features)
        if (f.feature == name) return f;
    FAIL("no feature " << name);
    return verdict.features.front();
}

}  // namespace

TEST_CASE("Jacobi eigen-decomposition of a known symmetric matrix", "[drift][dataset]") {
    // [[2, 1, 0], [1, 2, 0], [0, 0, 5]]: eigenvalues 5, 3, 1.
    const auto eigen = jacobi_eigen({{2, 1, 0}, {1, 2, 0}, {0, 0, 5}});
    REQUIRE(eigen.values.size() == 3);
    CHECK(eigen.values[0] == Approx(5));
    CHECK(eigen.values[1] == Approx(3));
    CHECK(eigen.values[2] == Approx(1));
    CHECK(std::abs(eigen.vectors[1][0]) == Approx(std::sqrt(0.5)));
    CHECK(eigen.vectors[1][0] * eigen.vectors[1][1] > 0);  // (1, 1)/sqrt(2) up to sign
    CHECK(std::abs(eigen.vectors[0][2]) == Approx(1));
}

TEST_CASE("dataset drift when the share of drifted features reaches drift_share", "[drift][dataset]") {
    DriftTable reference, current;
    reference.rows = current.rows = 3000;
    for (int i = 0; i < 3; ++i) {
        reference.columns.push_back({"f" + std::to_string(i), true, mw::testing::normal_sample(3000, 0, 1, 100 + i), {}});
        current.columns.push_back(
            {"f" + std::to_string(i), true, mw::testing::normal_sample(3000, i < 2 ? 1.0 : 0.0, 1, 200 + i), {}});
    }
    DatasetDriftOptions options;
    auto fitted = FittedReference::fit(reference, options);
    REQUIRE(fitted.ok());
    const auto result = fitted.reference->evaluate(current);
    CHECK(result.overall.evaluated == 3);
    CHECK(result.overall.drifted == 2);
    CHECK(feature(result.overall, "f0").drifted);
    CHECK_FALSE(feature(result.overall, "f2").drifted);
    CHECK(result.overall.dataset_drift);

    options.feature.drift_share = 0.7;
    auto strict = FittedReference::fit(reference, options);
    const auto strict_result = strict.reference->evaluate(current);
    CHECK_FALSE(strict_result.overall.dataset_drift);

    // The stored finding says what the share was compared with: the finding
    // page and /v1/findings show statistic and threshold side by side.
    for (const auto* judged : {&result, &strict_result}) {
        const bool strict_one = judged == &strict_result;
        std::size_t dataset_findings = 0;
        for (const auto& finding : to_findings(*judged, "m1", 10, 20)) {
            if (finding.kind != "dataset_drift") continue;
            ++dataset_findings;
            CHECK(finding.statistic == Approx(2.0 / 3.0));
            CHECK(finding.threshold == (strict_one ? 0.7 : 0.5));
            CHECK(finding.triggered == !strict_one);
        }
        CHECK(dataset_findings == 1);
    }

    // The fitted reference is reused: a second window gives the same answer.
    const auto again = fitted.reference->evaluate(current);
    CHECK(again.overall.features[0].statistic == result.overall.features[0].statistic);
    CHECK(again.overall.features[0].noise->limit == result.overall.features[0].noise->limit);
}

TEST_CASE("fit errors name the column", "[drift][dataset]") {
    DriftTable reference;
    reference.rows = 2;
    reference.columns.push_back({"a", true, {1, 2}, {}});
    DatasetDriftOptions options;
    options.columns = {"a", "b"};
    CHECK(FittedReference::fit(reference, options).error == "column 'b' is not in the reference");
    options.columns = {};
    options.segment_column = "region";
    CHECK(FittedReference::fit(reference, options).error == "segment column 'region' is not in the reference");
}

TEST_CASE("a shift confined to one segment is found in that segment", "[drift][dataset]") {
    constexpr std::size_t n = 4000;
    auto make = [&](std::uint64_t seed, double shift_in_b) {
        DriftTable table;
        table.rows = n;
        ColumnData region{"region", false, {}, {}};
        ColumnData x{"x", true, mw::testing::normal_sample(n, 0, 1, seed), {}};
        ColumnData z{"z", true, mw::testing::normal_sample(n, 5, 2, seed + 1), {}};
        for (std::size_t i = 0; i < n; ++i) {
            const bool in_b = i % 4 == 0;  // a quarter of the rows
            region.texts.push_back(in_b ? "b" : "a");
            if (in_b) x.numbers[i] += shift_in_b;
        }
        table.columns = {std::move(region), std::move(x), std::move(z)};
        return table;
    };
    DatasetDriftOptions options;
    options.segment_column = "region";
    auto fitted = FittedReference::fit(make(1, 0.0), options);
    REQUIRE(fitted.ok());
    const auto result = fitted.reference->evaluate(make(2, 1.0));
    REQUIRE(result.segments.size() == 2);
    CHECK(result.segments[0].value == "a");
    CHECK_FALSE(feature(result.segments[0].verdict, "x").drifted);
    CHECK(result.segments[1].value == "b");
    CHECK(result.segments[1].reference_rows == 1000);
    CHECK(feature(result.segments[1].verdict, "x").drifted);
    CHECK_FALSE(feature(result.segments[1].verdict, "z").drifted);
    // The segment column is not itself a feature.
    CHECK(result.overall.features.size() == 2);

    // As findings: 2 features + 1 dataset verdict, for the whole set and for each segment, + multivariate.
    const auto findings = to_findings(result, "m1", 10, 20);
    REQUIRE(findings.size() == 3 * 3 + 1);
    std::size_t triggered_b = 0;
    for (const auto& finding : findings) {
        CHECK(finding.model == "m1");
        CHECK(finding.window_end_us == 20);
        if (finding.subject == "x[region=b]") {
            CHECK(finding.kind == "feature_drift");
            CHECK(finding.method == "ks");
            CHECK(finding.triggered);
            CHECK(finding.severity == mw::Severity::warning);
            CHECK(finding.evidence_json.find("\"effect_size\"") != std::string::npos);
            ++triggered_b;
        }
        if (finding.subject == "x[region=a]") CHECK_FALSE(finding.triggered);
    }
    CHECK(triggered_b == 1);
    CHECK(findings.back().kind == "multivariate_drift");
}

TEST_CASE("segments unknown to the reference or too small are reported, not evaluated", "[drift][dataset]") {
    DriftTable reference, current;
    reference.rows = 100;
    current.rows = 40;
    ColumnData ref_key{"k", false, {}, {}};
    ref_key.texts.assign(100, "a");
    ref_key.texts.set(0, "tiny");
    reference.columns = {ref_key, {"x", true, mw::testing::normal_sample(100, 0, 1, 1), {}}};
    ColumnData cur_key{"k", false, {}, {}};
    cur_key.texts.assign(40, "a");
    cur_key.texts.set(0, "new");
    cur_key.texts.set(1, "tiny");
    current.columns = {cur_key, {"x", true, mw::testing::normal_sample(40, 0, 1, 2), {}}};
    DatasetDriftOptions options;
    options.segment_column = "k";
    auto fitted = FittedReference::fit(reference, options);
    const auto result = fitted.reference->evaluate(current);
    REQUIRE(result.segments.size() == 3);
    CHECK(result.segments[0].error.empty());
    CHECK(result.segments[1].value == "new");
    CHECK(result.segments[1].error == "value never seen in the reference");
    CHECK(result.segments[2].value == "tiny");
    CHECK(result.segments[2].error == "1 reference rows, fewer than the 30 needed");
}

TEST_CASE("PCA reconstruction error catches a correlation flip no marginal shows", "[drift][dataset]") {
    const DriftTable reference = correlated(5000, 0.9, 1);
    DatasetDriftOptions options;
    auto fitted = FittedReference::fit(reference, options);
    REQUIRE(fitted.ok());

    const auto flipped = fitted.reference->evaluate(correlated(2000, -0.9, 2));
    CHECK_FALSE(flipped.overall.features[0].drifted);
    CHECK_FALSE(flipped.overall.features[1].drifted);
    CHECK_FALSE(flipped.overall.dataset_drift);
    const auto& m = flipped.multivariate;
    REQUIRE(m.evaluated);
    CHECK(m.components == 1);  // the first component explains 95% of the variance
    CHECK(m.explained_variance_share == Approx(0.95).margin(0.01));
    CHECK(m.chunk_rows == 500);  // 5000 rows hold only 2 chunks of 2000: 10 equal chunks
    CHECK(m.current_error > m.upper);
    CHECK(m.drifted);

    const auto same = fitted.reference->evaluate(correlated(2000, 0.9, 3));
    REQUIRE(same.multivariate.evaluated);
    CHECK_FALSE(same.multivariate.drifted);
    CHECK(same.multivariate.current_error < same.multivariate.upper);
}

TEST_CASE("PCA needs two non-constant numeric features", "[drift][dataset]") {
    DriftTable reference;
    reference.rows = 100;
    reference.columns = {{"x", true, mw::testing::normal_sample(100, 0, 1, 1), {}}, {"c", true, std::vector<double>(100, 1.0), {}}};
    const auto model = fit_pca(reference, {"x", "c"}, MultivariateOptions{});
    CHECK(model.error == "needs at least 2 non-constant numeric features, found 1");
}

namespace {

// Elec2's rows [first, last) as a DriftTable, every column numeric but class.
DriftTable elec2_rows(const CsvTable& csv, std::size_t first, std::size_t last) {
    DriftTable table;
    table.rows = last - first;
    for (std::size_t c = 0; c < csv.header.size(); ++c) {
        ColumnData column{csv.header[c], csv.header[c] != "class", {}, {}};
        for (std::size_t r = first; r < last; ++r) {
            if (column.numeric)
                column.numbers.push_back(std::stod(csv.rows[r][c]));
            else
                column.texts.push_back(csv.rows[r][c]);
        }
        table.columns.push_back(std::move(column));
    }
    return table;
}

CsvTable read_elec2() {
    std::istringstream in(mw::testing::bundled_data("elec2/elec2.csv.gz"));
    return read_csv(in, "elec2.csv");
}

}  // namespace

TEST_CASE("Elec2: the first 5000 rows vs rows 30000-35000", "[drift][dataset][elec2]") {
    const CsvTable csv = read_elec2();
    REQUIRE(csv.ok());
    REQUIRE(csv.rows.size() == 45312);
    DatasetDriftOptions options;
    auto fitted = FittedReference::fit(elec2_rows(csv, 0, 5000), options);
    REQUIRE(fitted.ok());
    const auto result = fitted.reference->evaluate(elec2_rows(csv, 30000, 35000));
    const auto& o = result.overall;

    // Known from scipy 1.10.1 (scripts/gen_drift_elec2_reference.py prints them):
    // nswprice p = 0 and normalised W1 = 1.1505895494354608; nswdemand
    // p = 8.637211612983435e-78 and 0.3452941223679367; day p = 0.99720;
    // period has identical distributions (every half hour equally often).
    const auto& nswprice = feature(o, "nswprice");
    CHECK(nswprice.method == &drift_method("ks"));
    CHECK(nswprice.effect_size == Approx(1.1505895494354608).epsilon(1e-9));
    CHECK(nswprice.drifted);
    const auto& nswdemand = feature(o, "nswdemand");
    CHECK(*nswdemand.p_value == Approx(8.637211612983435e-78).epsilon(1e-6));
    CHECK(nswdemand.effect_size == Approx(0.3452941223679367).epsilon(1e-9));
    CHECK(nswdemand.drifted);
    CHECK(*feature(o, "day").p_value == Approx(0.9971978177256445).epsilon(1e-6));
    CHECK_FALSE(feature(o, "day").drifted);
    CHECK(feature(o, "period").statistic == 0.0);
    CHECK_FALSE(feature(o, "period").drifted);
    CHECK_FALSE(feature(o, "class").drifted);
    // vicprice, vicdemand and transfer are constant over the first 5000 rows
    // (a single value each: the Victorian data starts later). They are numbers
    // all the same (KS and normalised W1 with the 0.001 sd floor, as scipy and
    // Evidently: scripts/gen_drift_elec2_reference.py), and the constant
    // reference is reported.
    const struct {
        const char* name;
        double ks;
        double w1;
    } constant_reference[] = {{"vicprice", 0.9588, 1.7566376},
                              {"vicdemand", 0.5924, 132.36664879999998},
                              {"transfer", 0.8692, 266.0706518}};
    for (const auto& c : constant_reference) {
        const auto& f = feature(o, c.name);
        INFO(c.name);
        CHECK_FALSE(f.categorical);
        CHECK(f.method == &drift_method("ks"));
        CHECK(f.reference_distinct == 1);
        CHECK(f.statistic == Approx(c.ks).epsilon(1e-12));
        CHECK(*f.p_value == 0.0);
        CHECK(f.effect_size == Approx(c.w1).epsilon(1e-9));
        CHECK(f.drifted);
        CHECK(f.unseen_categories.empty());
    }
    CHECK(o.dataset_drift);
    CHECK(result.multivariate.drifted);
    // The constant reference columns are left out of the PCA (an sd of 1e-18
    // from the rounded mean once made the error 7.6e+12).
    for (const auto& column : result.multivariate.columns)
        CHECK((column != "vicprice" && column != "vicdemand" && column != "transfer"));
    CHECK(result.multivariate.current_error < 1000);  // 111: date lies far past the reference's range
}
