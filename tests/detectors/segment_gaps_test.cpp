#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "detectors/csv_table.h"
#include "detectors/dataset_drift.h"
#include "detectors/segment_gaps.h"
#include "tests/support/command_output.h"

using namespace mw::segments;

namespace {

constexpr double z95 = 1.959963984540054;  // scipy.stats.norm.ppf(0.975)

// `n` rows of one attribute value with `positive` predicted positive and
// `correct` of them right (the first ones of each kind).
void add_rows(std::vector<SegmentRow>& rows, const std::string& attribute, const std::string& value, std::size_t n,
              std::size_t positive, std::size_t correct) {
    for (std::size_t i = 0; i < n; ++i)
        rows.push_back({{{attribute, value}}, i < positive, i < correct});
}

const RateGap& gap(const SegmentGapReport& report, const std::string& attribute, const std::string& value,
                   const std::string& metric) {
    const SegmentGapResult* segment = report.find(attribute, value);
    INFO(attribute << "=" << value << " " << metric);
    REQUIRE(segment != nullptr);
    const RateGap* found = nullptr;
    for (const auto& g : segment->gaps)
        if (g.metric == metric) found = &g;
    REQUIRE(found != nullptr);
    return *found;
}

}  // namespace

TEST_CASE("two_sided_z matches scipy.stats.norm.ppf", "[segments]") {
    CHECK(two_sided_z(0.95) == Approx(z95).epsilon(1e-12));
    CHECK(two_sided_z(0.90) == Approx(1.6448536269514722).epsilon(1e-12));  // norm.ppf(0.95)
    CHECK(std::isnan(two_sided_z(1.0)));
}

TEST_CASE("Newcombe method 10 reproduces Table II of Newcombe (1998)", "[segments][newcombe]") {
    // Newcombe, Statistics in Medicine 17:873-890 (1998), Table II, method 10
    // ("score method incorporating continuity correction" is 11; 10 is without),
    // the paper's eight examples, to its four decimals.
    struct Example {
        std::uint64_t a, m, b, n;
        double lower, upper;
    };
    const Example examples[] = {
        {56, 70, 48, 80, 0.0524, 0.3339}, {9, 10, 3, 10, 0.1705, 0.8090},  {6, 7, 2, 7, 0.0582, 0.8062},
        {5, 56, 0, 29, -0.0381, 0.1926},  {0, 10, 0, 20, -0.1611, 0.2775}, {0, 10, 0, 10, -0.2775, 0.2775},
        {10, 10, 0, 20, 0.6791, 1.0000},  {10, 10, 0, 10, 0.6075, 1.0000},
    };
    for (const auto& e : examples) {
        INFO(e.a << "/" << e.m << " - " << e.b << "/" << e.n);
        const Interval interval = newcombe_difference_interval(e.a, e.m, e.b, e.n, z95);
        CHECK(std::fabs(interval.lower - e.lower) < 5e-5);
        CHECK(std::fabs(interval.upper - e.upper) < 5e-5);
    }
}

TEST_CASE("Wilson interval: closed form checks", "[segments]") {
    // 0 of n: lower 0, upper z^2 / (n + z^2) (Wilson 1927).
    const Interval zero = wilson_interval(0, 10, z95);
    CHECK(zero.lower == 0);
    CHECK(zero.upper == Approx(z95 * z95 / (10 + z95 * z95)).epsilon(1e-12));
    // Symmetric around 1/2 for n/2 of n.
    const Interval half = wilson_interval(50, 100, z95);
    CHECK(half.lower + half.upper == Approx(1.0).epsilon(1e-12));
}

TEST_CASE("Newcombe interval covers the true difference at about 95%", "[segments][newcombe]") {
    std::mt19937_64 rng(20261125);
    const double p1 = 0.30;
    const double p2 = 0.45;
    const std::uint64_t n1 = 80;
    const std::uint64_t n2 = 120;
    std::binomial_distribution<std::uint64_t> first(n1, p1);
    std::binomial_distribution<std::uint64_t> second(n2, p2);
    int covered = 0;
    const int pairs = 2000;
    for (int i = 0; i < pairs; ++i) {
        const Interval interval = newcombe_difference_interval(first(rng), n1, second(rng), n2, z95);
        covered += interval.lower <= p1 - p2 && p1 - p2 <= interval.upper;
    }
    const double coverage = static_cast<double>(covered) / pairs;
    INFO("coverage " << coverage);
    CHECK(coverage >= 0.93);
    // Newcombe reports mean coverage near 0.95 for method 10, not far above.
    CHECK(coverage <= 0.975);
}

TEST_CASE("segment gaps: a real gap is found, each condition is needed", "[segments]") {
    std::vector<SegmentRow> rows;
    // sex: F accuracy 0.70, prediction rate 0.20; M accuracy 0.85, rate 0.40.
    add_rows(rows, "sex", "F", 300, 60, 210);
    add_rows(rows, "sex", "M", 700, 280, 595);
    SegmentGapOptions options;
    options.attributes = {"sex"};
    const auto report = evaluate_segment_gaps(rows, options);
    REQUIRE(report.segments.size() == 2);

    const auto& accuracy = gap(report, "sex", "F", "accuracy");
    CHECK(accuracy.segment_rate == Approx(0.70));
    CHECK(accuracy.rest_rate == Approx(0.85));
    CHECK(accuracy.gap == Approx(-0.15));
    CHECK(accuracy.interval.upper < 0);
    CHECK(accuracy.triggered);
    const auto& rate = gap(report, "sex", "F", "prediction_rate");
    CHECK(rate.gap == Approx(-0.20));
    CHECK(rate.triggered);
    // The mirror image for M.
    CHECK(gap(report, "sex", "M", "accuracy").gap == Approx(0.15));
    CHECK(gap(report, "sex", "M", "accuracy").interval.lower ==
          Approx(-accuracy.interval.upper).epsilon(1e-12));

    // Significant but small: 0.50 vs 0.53 over 20000 rows each.
    std::vector<SegmentRow> large;
    add_rows(large, "region", "north", 20000, 10000, 10000);
    add_rows(large, "region", "south", 20000, 10600, 10600);
    options.attributes = {"region"};
    const auto small_gap = gap(evaluate_segment_gaps(large, options), "region", "north", "accuracy");
    CHECK(small_gap.excludes_zero);
    CHECK(small_gap.gap == Approx(-0.03));
    CHECK_FALSE(small_gap.triggered);

    // Large but uncertain: 0.50 vs 0.58 over 100 rows each.
    std::vector<SegmentRow> noisy;
    add_rows(noisy, "region", "north", 100, 50, 50);
    add_rows(noisy, "region", "south", 100, 58, 58);
    const auto uncertain = gap(evaluate_segment_gaps(noisy, options), "region", "north", "accuracy");
    CHECK(uncertain.gap == Approx(-0.08));
    CHECK_FALSE(uncertain.excludes_zero);
    CHECK_FALSE(uncertain.triggered);
}

TEST_CASE("segment gaps: small segments are reported as too small, never a finding", "[segments]") {
    std::vector<SegmentRow> rows;
    add_rows(rows, "region", "north", 500, 100, 450);
    add_rows(rows, "region", "south", 500, 400, 250);
    add_rows(rows, "region", "islands", 99, 99, 0);
    // Rows without the attribute take no part.
    for (int i = 0; i < 1000; ++i) rows.push_back({{}, true, false});
    SegmentGapOptions options;
    options.attributes = {"region"};
    const auto report = evaluate_segment_gaps(rows, options);
    const auto* islands = report.find("region", "islands");
    REQUIRE(islands != nullptr);
    CHECK(islands->too_small);
    CHECK(islands->rows == 99);
    CHECK(islands->gaps.empty());
    const auto* north = report.find("region", "north");
    REQUIRE(north != nullptr);
    CHECK_FALSE(north->too_small);
    CHECK(north->rest_rows == 599);

    // Outcomes known for too few rows: the metric is too small, the
    // prediction rate is still compared.
    for (std::size_t i = 0; i < rows.size(); ++i)
        if (i % 10 != 0) rows[i].metric_success.reset();
    const auto unlabelled = evaluate_segment_gaps(rows, options);
    CHECK(gap(unlabelled, "region", "north", "accuracy").too_small);
    CHECK_FALSE(gap(unlabelled, "region", "north", "prediction_rate").too_small);

    const auto findings = to_findings(unlabelled, "credit", 1, 2);
    // Compared: north and south, prediction rate only. Reported as too
    // small, never triggered: their accuracy, and both rates of the islands.
    std::map<std::string, const mw::Finding*> by_subject;
    for (const auto& f : findings) {
        CHECK(f.kind == "segment_gap");
        by_subject[f.subject] = &f;
        if (f.subject.find("islands") != std::string::npos || f.subject.find("accuracy") != std::string::npos) {
            CHECK(f.method == "too_small");
            CHECK_FALSE(f.triggered);
            CHECK(f.severity == mw::Severity::info);
            CHECK(f.evidence_json.find("\"too_small\":true") != std::string::npos);
        } else {
            CHECK(f.method == "newcombe_wilson");
        }
    }
    REQUIRE(findings.size() == 6);
    REQUIRE(by_subject.count("region=islands:prediction_rate") == 1);
    // A segment under the minimum is named, never described: no counts in its evidence.
    const auto islands_evidence = nlohmann::json::parse(by_subject["region=islands:prediction_rate"]->evidence_json);
    CHECK(islands_evidence == nlohmann::json{{"too_small", true}, {"suppressed", true}, {"min_segment_rows", 100}});
    REQUIRE(by_subject.count("region=north:accuracy") == 1);
    REQUIRE(by_subject.count("region=north:prediction_rate") == 1);
    const auto& north_rate = *by_subject["region=north:prediction_rate"];
    CHECK(north_rate.statistic == Approx(100.0 / 500 - 499.0 / 599).margin(0.005));
    CHECK(north_rate.triggered);
    // Rates to two decimals and no counts: with the window's row count
    // public, the compared segments' counts (or exact fractions) would give
    // the suppressed islands' count away by subtraction.
    const auto evidence = nlohmann::json::parse(north_rate.evidence_json);
    for (const char* count : {"segment_trials", "rest_trials", "segment_successes", "rest_successes"})
        CHECK_FALSE(evidence.contains(count));
    CHECK(evidence["segment_rate"].get<double>() == Approx(0.20));
    CHECK(evidence["rest_rate"].get<double>() == Approx(0.83));
    CHECK(evidence["upper"].get<double>() < 0);
    for (const auto& [subject, finding] : by_subject) {
        const auto published = nlohmann::json::parse(finding->evidence_json);
        for (const char* rate : {"segment_rate", "rest_rate", "lower", "upper"})
            if (published.contains(rate))
                CHECK(published[rate].get<double>() * 100 == Approx(std::round(published[rate].get<double>() * 100)));
    }
}

TEST_CASE("segment gaps: values beyond the cap are left out and counted", "[segments]") {
    std::vector<SegmentRow> rows;
    for (std::size_t v = 0; v < 10; ++v) add_rows(rows, "shop", "s" + std::to_string(v), 100 + v, 50, 50);
    SegmentGapOptions options;
    options.attributes = {"shop"};
    options.max_segments_per_attribute = 3;
    const auto report = evaluate_segment_gaps(rows, options);
    REQUIRE(report.segments.size() == 3);
    CHECK(report.segments[0].value == "s7");
    CHECK(report.segments[2].value == "s9");
    CHECK(report.segments_left_out == std::vector<std::size_t>{7});
}

namespace {

using namespace mw::drift;

// Two standard normal features and a segment column: "B" holds every 30th
// row. In the current window B's features are shifted by `shift_b`.
DriftTable segmented(std::size_t n, double shift_b, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal(0, 1);
    DriftTable table;
    table.rows = n;
    ColumnData x1{"x1", true, {}, {}};
    ColumnData x2{"x2", true, {}, {}};
    ColumnData group{"group", false, {}, {}};
    for (std::size_t i = 0; i < n; ++i) {
        const bool b = i % 30 == 0;
        x1.numbers.push_back(normal(rng) + (b ? shift_b : 0));
        x2.numbers.push_back(normal(rng) + (b ? shift_b : 0));
        group.texts.push_back(b ? "B" : "A");
    }
    table.columns = {std::move(x1), std::move(x2), std::move(group)};
    return table;
}

}  // namespace

TEST_CASE("segment drift: a segment drifting alone is found", "[segments][drift]") {
    DatasetDriftOptions options;
    options.segment_column = "group";
    options.multivariate.enabled = false;
    auto fitted = FittedReference::fit(segmented(6000, 0, 1), options);
    REQUIRE(fitted.ok());
    const auto result = fitted.reference->evaluate(segmented(6000, 2.0, 2));
    // 1/30 of the rows shifted by 2 sd moves the whole window by far less than
    // the effect floor; segment B on its own drifts in both features.
    REQUIRE_FALSE(result.overall.dataset_drift);
    const auto findings = segment_drift_findings(result, options.feature.drift_share, "credit", 10, 20, 100);
    REQUIRE(findings.size() == 2);
    const mw::Finding* a = nullptr;
    const mw::Finding* b = nullptr;
    for (const auto& f : findings) {
        CHECK(f.kind == "segment_drift");
        (f.subject == "group=A" ? a : b) = &f;
    }
    REQUIRE(a != nullptr);
    REQUIRE(b != nullptr);
    CHECK(b->subject == "group=B");
    CHECK(b->triggered);
    CHECK(b->statistic == 1.0);
    CHECK(b->threshold == 0.5);
    CHECK(nlohmann::json::parse(b->evidence_json)["drifted_features"] == nlohmann::json{"x1", "x2"});
    CHECK_FALSE(a->triggered);
}

TEST_CASE("segment drift: not alone when the whole window drifted", "[segments][drift]") {
    DatasetDriftResult result;
    result.segment_column = "group";
    result.overall.dataset_drift = true;
    result.overall.share = 1.0;
    SegmentDriftResult drifting;
    drifting.value = "B";
    drifting.verdict.dataset_drift = true;
    drifting.verdict.share = 1.0;
    SegmentDriftResult failed;
    failed.value = "C";
    failed.error = "too few reference rows";
    result.segments = {drifting, failed};
    drifting.reference_rows = drifting.current_rows = 100;
    result.segments = {drifting, failed};
    auto findings = segment_drift_findings(result, 0.5, "credit", 0, 1, 100);
    REQUIRE(findings.size() == 1);  // C has an error: no finding
    CHECK_FALSE(findings[0].triggered);
    result.overall.dataset_drift = false;
    findings = segment_drift_findings(result, 0.5, "credit", 0, 1, 100);
    CHECK(findings[0].triggered);
    CHECK_FALSE(nlohmann::json::parse(findings[0].evidence_json).contains("current_rows"));
    // Below the minimum in either window: named, never described, never triggered.
    result.segments[0].current_rows = 99;
    findings = segment_drift_findings(result, 0.5, "credit", 0, 1, 100);
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].method == "too_small");
    CHECK_FALSE(findings[0].triggered);
    CHECK(nlohmann::json::parse(findings[0].evidence_json) ==
          nlohmann::json{{"too_small", true}, {"suppressed", true}, {"min_segment_rows", 100}});
}

TEST_CASE("segment gaps on Adult: the accuracy gap by sex of a rule-based model", "[segments][adult]") {
    std::istringstream in(mw::testing::bundled_data("adult/adult.csv.gz"));
    const auto csv = read_csv(in, "adult.csv");
    REQUIRE(csv.ok());
    const int education = csv.column_index("education_num");
    const int sex = csv.column_index("sex");
    const int income = csv.column_index("income");
    REQUIRE((education >= 0 && sex >= 0 && income >= 0));

    // The "model": income >50K when education_num >= 13 (a bachelor's degree or more).
    std::vector<SegmentRow> rows;
    for (const auto& cells : csv.rows) {
        const bool predicted = std::stoi(cells[education]) >= 13;
        const bool actual = cells[income].find(">50K") != std::string::npos;
        rows.push_back({{{"sex", cells[sex]}}, predicted, predicted == actual});
    }
    REQUIRE(rows.size() == 32561);
    SegmentGapOptions options;
    options.attributes = {"sex"};
    const auto report = evaluate_segment_gaps(rows, options);

    // Counts from the file (gzip -dc | awk): Female 10771 rows, 2333 predicted
    // >50K, 8479 right; Male 21790, 5734, 15992. Expected intervals from
    // Newcombe's formula evaluated by hand (Python, z = norm.ppf(0.975)).
    const auto& accuracy = gap(report, "sex", "Female", "accuracy");
    CHECK(accuracy.segment_successes == 8479);
    CHECK(accuracy.segment_trials == 10771);
    CHECK(accuracy.rest_successes == 15992);
    CHECK(accuracy.rest_trials == 21790);
    CHECK(accuracy.gap == Approx(0.05329174777904855).epsilon(1e-9));
    CHECK(accuracy.interval.lower == Approx(0.043531292303425936).epsilon(1e-9));
    CHECK(accuracy.interval.upper == Approx(0.06293895468125857).epsilon(1e-9));
    CHECK(accuracy.triggered);  // the rule is right more often for women

    // Women are predicted >50K less often; the interval excludes 0, but the
    // gap (0.047) is below min_gap, so it is no finding.
    const auto& rate = gap(report, "sex", "Female", "prediction_rate");
    CHECK(rate.gap == Approx(-0.046548103155818976).epsilon(1e-9));
    CHECK(rate.interval.lower == Approx(-0.0562235367341766).epsilon(1e-9));
    CHECK(rate.interval.upper == Approx(-0.03676130340441054).epsilon(1e-9));
    CHECK(rate.excludes_zero);
    CHECK_FALSE(rate.triggered);

    const auto findings = to_findings(report, "adult", 0, 1);
    int triggered = 0;
    for (const auto& f : findings) triggered += f.triggered;
    CHECK(findings.size() == 4);  // Female and Male, two rates each
    CHECK(triggered == 2);        // the accuracy gap, seen from both sides
}
