// Group metrics and disparities on small tables whose every number is worked
// out by hand in the comments.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <random>
#include <stdexcept>

#include "fairness/audit.h"
#include "fairness/disparities.h"
#include "fairness/group_metrics.h"

using namespace mw::fairness;

namespace {

struct GroupRow {
    const char* group;
    int y_true;
    int y_pred;
};

AuditData make_data(const std::vector<GroupRow>& rows) {
    AuditData data;
    data.attributes.push_back(AttributeColumn{"g", {}, {}});
    AttributeEncoder encoder(data.attributes[0]);
    for (const auto& r : rows) {
        encoder.append(r.group);
        data.y_true.push_back(static_cast<std::uint8_t>(r.y_true));
        data.y_pred.push_back(static_cast<std::uint8_t>(r.y_pred));
    }
    return data;
}

void add(std::vector<GroupRow>& rows, const char* group, int y_true, int y_pred, int times) {
    for (int i = 0; i < times; ++i) rows.push_back({group, y_true, y_pred});
}

// Group A: tp 3, fp 1, tn 4, fn 2.  Group B: tp 1, fp 3, tn 2, fn 4.  Group C: 2 rows.
std::vector<GroupRow> hand_table() {
    std::vector<GroupRow> rows;
    add(rows, "B", 1, 1, 1);
    add(rows, "A", 1, 1, 3);
    add(rows, "C", 1, 0, 1);
    add(rows, "A", 0, 1, 1);
    add(rows, "A", 0, 0, 4);
    add(rows, "B", 0, 1, 3);
    add(rows, "A", 1, 0, 2);
    add(rows, "B", 0, 0, 2);
    add(rows, "C", 0, 0, 1);
    add(rows, "B", 1, 0, 4);
    return rows;
}

const DisparityValue& find(const std::vector<DisparityValue>& values, DisparityMetric metric) {
    for (const auto& v : values)
        if (v.metric == metric) return v;
    FAIL("metric missing");
    return values.front();
}

}  // namespace

TEST_CASE("confusion-matrix rates of hand-computed groups") {
    const AuditData data = make_data(hand_table());
    GroupMetricsOptions options;
    options.min_group_size = 5;
    const auto groups = compute_group_metrics(data, {0}, options);
    REQUIRE(groups.size() == 3);
    REQUIRE(groups[0].label == "A");
    REQUIRE(groups[1].label == "B");
    REQUIRE(groups[2].label == "C");

    const GroupMetrics& a = groups[0];
    CHECK(a.counts.tp == 3);
    CHECK(a.counts.fp == 1);
    CHECK(a.counts.tn == 4);
    CHECK(a.counts.fn == 2);
    CHECK_FALSE(a.too_small);
    CHECK(a.rate(Rate::base_rate).value == Approx(5.0 / 10));
    CHECK(a.rate(Rate::selection_rate).value == Approx(4.0 / 10));
    CHECK(a.rate(Rate::tpr).value == Approx(3.0 / 5));
    CHECK(a.rate(Rate::fpr).value == Approx(1.0 / 5));
    CHECK(a.rate(Rate::fnr).value == Approx(2.0 / 5));
    CHECK(a.rate(Rate::tnr).value == Approx(4.0 / 5));
    CHECK(a.rate(Rate::ppv).value == Approx(3.0 / 4));
    CHECK(a.rate(Rate::npv).value == Approx(4.0 / 6));
    CHECK(a.rate(Rate::accuracy).value == Approx(7.0 / 10));
    CHECK(a.rate(Rate::ppv).fraction.numerator == 3);
    CHECK(a.rate(Rate::ppv).fraction.denominator == 4);

    const GroupMetrics& b = groups[1];
    CHECK(b.rate(Rate::tpr).value == Approx(1.0 / 5));
    CHECK(b.rate(Rate::fpr).value == Approx(3.0 / 5));
    CHECK(b.rate(Rate::ppv).value == Approx(1.0 / 4));
    CHECK(b.rate(Rate::npv).value == Approx(2.0 / 6));
    CHECK(b.rate(Rate::accuracy).value == Approx(3.0 / 10));

    // C has 2 rows: kept and flagged, not merged or dropped.
    const GroupMetrics& c = groups[2];
    CHECK(c.too_small);
    CHECK(c.counts.total() == 2);
    CHECK(c.rate(Rate::tpr).value == Approx(0.0));
    CHECK(std::isnan(c.rate(Rate::ppv).value));  // no predicted positives: undefined, not 0
    CHECK_FALSE(c.rate(Rate::ppv).wilson.defined());
}

TEST_CASE("disparities of hand-computed groups, to the reference and between groups") {
    const AuditData data = make_data(hand_table());
    GroupMetricsOptions options;
    options.min_group_size = 5;
    const auto groups = compute_group_metrics(data, {0}, options);
    const GroupingDisparities d = compute_disparities(groups, std::nullopt, false, Tolerance{});

    // A and B both have 10 rows: the tie goes to the later label, B. C is too small.
    REQUIRE(d.reference_index == std::optional<std::size_t>(1));
    CHECK(d.eligible == std::vector<std::size_t>{0, 1});
    CHECK(d.to_reference.size() == 6);  // one per metric that needs no scores, for A only
    for (const auto& v : d.to_reference) CHECK(v.group == "A");

    const auto& dp = find(d.to_reference, DisparityMetric::demographic_parity);
    CHECK(dp.difference == Approx(0.0));  // 0.4 - 0.4
    CHECK(dp.ratio == Approx(1.0));
    CHECK(dp.verdict == Verdict::within_tolerance);
    const auto& eo = find(d.to_reference, DisparityMetric::equal_opportunity);
    CHECK(eo.difference == Approx(0.4));  // 0.6 - 0.2
    CHECK(eo.ratio == Approx(3.0));
    // Without intervals a gap beyond tolerance cannot be called statistically clear.
    CHECK(eo.verdict == Verdict::beyond_unclear);
    CHECK(find(d.to_reference, DisparityMetric::equalized_odds).difference == Approx(0.4));  // max(|0.4|, |-0.4|)
    CHECK(find(d.to_reference, DisparityMetric::predictive_parity).ratio == Approx(3.0));   // 0.75 / 0.25
    CHECK(find(d.to_reference, DisparityMetric::fpr_parity).ratio == Approx(1.0 / 3));      // 0.2 / 0.6
    CHECK(find(d.to_reference, DisparityMetric::fnr_parity).ratio == Approx(0.5));          // 0.4 / 0.8

    CHECK(find(d.between_groups, DisparityMetric::demographic_parity).ratio == Approx(1.0));
    CHECK(find(d.between_groups, DisparityMetric::equal_opportunity).difference == Approx(0.4));
    CHECK(find(d.between_groups, DisparityMetric::predictive_parity).ratio == Approx(1.0 / 3));
    CHECK(find(d.between_groups, DisparityMetric::predictive_parity).difference == Approx(0.5));
    CHECK(find(d.between_groups, DisparityMetric::fnr_parity).ratio == Approx(0.5));
    CHECK(find(d.between_groups, DisparityMetric::fnr_parity).band.lower == Approx(0.8));
}

TEST_CASE("a configured reference group replaces the largest") {
    const AuditData data = make_data(hand_table());
    GroupMetricsOptions options;
    options.min_group_size = 5;
    const auto groups = compute_group_metrics(data, {0}, options);
    const GroupingDisparities d = compute_disparities(groups, std::size_t{0}, false, Tolerance{});
    CHECK(d.reference_configured);
    const auto& fpr = find(d.to_reference, DisparityMetric::fpr_parity);
    CHECK(fpr.group == "B");
    CHECK(fpr.ratio == Approx(3.0));  // 0.6 / 0.2
    CHECK(fpr.verdict == Verdict::beyond_unclear);
}

TEST_CASE("verdicts from the band and the interval") {
    DisparityValue v;
    v.metric = DisparityMetric::fpr_parity;
    v.ratio = 1.5;
    v.ratio_interval = {1.3, 1.7};
    judge(v, false, Tolerance{});
    CHECK(v.verdict == Verdict::beyond_clear);
    v.ratio_interval = {1.1, 1.7};
    judge(v, false, Tolerance{});
    CHECK(v.verdict == Verdict::beyond_unclear);
    v.ratio = 1.2;
    judge(v, false, Tolerance{});
    CHECK(v.verdict == Verdict::within_tolerance);
    v.ratio = std::nan("");
    judge(v, false, Tolerance{});
    CHECK(v.verdict == Verdict::not_evaluable);

    DisparityValue gap;
    gap.metric = DisparityMetric::equal_opportunity;
    gap.difference = -0.2;
    gap.difference_interval = {-0.3, -0.15};
    judge(gap, false, Tolerance{});
    CHECK(gap.verdict == Verdict::beyond_clear);
    CHECK(gap.band.lower == Approx(-0.1));
    CHECK(gap.band.upper == Approx(0.1));
}

TEST_CASE("calibration by score bucket and expected calibration error") {
    AuditData data;
    data.attributes.push_back(AttributeColumn{"g", {}, {}});
    AttributeEncoder encoder(data.attributes[0]);
    const double scores[] = {0.15, 0.15, 0.85, 0.95};
    const int truth[] = {0, 1, 1, 1};
    for (int i = 0; i < 4; ++i) {
        encoder.append("A");
        data.y_true.push_back(static_cast<std::uint8_t>(truth[i]));
        data.y_pred.push_back(scores[i] >= 0.5 ? 1 : 0);
        data.score.push_back(scores[i]);
    }
    const auto groups = compute_group_metrics(data, {0}, GroupMetricsOptions{});
    REQUIRE(groups[0].calibration.size() == 10);
    const auto& low = groups[0].calibration[1];
    CHECK(low.count == 2);
    CHECK(low.mean_score == Approx(0.15));
    CHECK(low.positive_rate == Approx(0.5));
    CHECK(groups[0].calibration[0].count == 0);
    CHECK(groups[0].calibration[9].count == 1);
    // 2/4 * |0.15 - 0.5| + 1/4 * |0.85 - 1| + 1/4 * |0.95 - 1| = 0.175 + 0.0375 + 0.0125
    CHECK(groups[0].calibration_error == Approx(0.225));
    CHECK(calibration_bucket(1.0, 10) == 9);
    CHECK(calibration_bucket(0.0, 10) == 0);
}

TEST_CASE("regression mean error and MAE per group") {
    AuditData data;
    data.attributes.push_back(AttributeColumn{"g", {}, {}});
    AttributeEncoder encoder(data.attributes[0]);
    for (const char* g : {"X", "X", "X", "Y"}) encoder.append(g);
    data.y_true.assign(4, 0);
    data.y_pred.assign(4, 0);
    const std::vector<double> truth = {1, 2, 3, 0};
    const std::vector<double> predicted = {2, 2, 1, 0.5};
    const auto groups = compute_regression_group_metrics(make_grouping(data, {0}), truth, predicted, 2);
    REQUIRE(groups.size() == 2);
    CHECK(groups[0].mean_error == Approx(-1.0 / 3));  // (1 + 0 - 2) / 3
    CHECK(groups[0].mean_absolute_error == Approx(1.0));
    CHECK_FALSE(groups[0].too_small);
    CHECK(groups[1].mean_error == Approx(0.5));
    CHECK(groups[1].too_small);
}

TEST_CASE("intersectional groups keep every combination that occurs") {
    AuditData data;
    data.attributes.resize(2);
    data.attributes[0].name = "sex";
    data.attributes[1].name = "race";
    AttributeEncoder sex(data.attributes[0]);
    AttributeEncoder race(data.attributes[1]);
    const char* rows[][2] = {{"M", "W"}, {"F", "B"}, {"M", "B"}, {"F", "B"}, {"M", "W"}};
    for (const auto& r : rows) {
        sex.append(r[0]);
        race.append(r[1]);
        data.y_true.push_back(1);
        data.y_pred.push_back(1);
    }
    const Grouping g = make_grouping(data, {0, 1});
    REQUIRE(g.group_count() == 3);  // F,W never occurs and is not invented
    CHECK(g.group_values[0] == std::vector<std::string>{"F", "B"});
    CHECK(g.group_values[1] == std::vector<std::string>{"M", "B"});
    CHECK(g.group_values[2] == std::vector<std::string>{"M", "W"});
    CHECK(g.group_of_row == std::vector<std::uint32_t>{2, 0, 1, 0, 2});
    CHECK(grouping_name(g.attributes) == "sex x race");
}

TEST_CASE("intersectional metrics from one pass count every combination that occurs") {
    AuditData data;
    data.attributes.resize(2);
    data.attributes[0].name = "sex";
    data.attributes[1].name = "race";
    AttributeEncoder sex(data.attributes[0]);
    AttributeEncoder race(data.attributes[1]);
    const char* rows[][2] = {{"M", "W"}, {"F", "B"}, {"M", "B"}, {"F", "B"}, {"M", "W"}};
    const std::uint8_t truth[] = {1, 0, 1, 1, 0};
    for (std::size_t r = 0; r < 5; ++r) {
        sex.append(rows[r][0]);
        race.append(rows[r][1]);
        data.y_true.push_back(truth[r]);
        data.y_pred.push_back(1);
    }
    const GroupingsMetrics all = compute_groupings_metrics(data, {{0}, {1}, {0, 1}}, GroupMetricsOptions{});
    REQUIRE(all.groupings.size() == 3);
    CHECK(all.overall.label == "all");
    CHECK(all.overall.counts.tp == 3);
    CHECK(all.overall.counts.fp == 2);
    const auto& by_sex = all.groupings[0];
    REQUIRE(by_sex.size() == 2);
    CHECK(by_sex[0].values == std::vector<std::string>{"F"});
    CHECK(by_sex[0].counts.tp == 1);  // rows 2 and 4
    CHECK(by_sex[0].counts.fp == 1);
    CHECK(by_sex[1].counts.tp == 2);  // rows 1, 3 and 5
    CHECK(by_sex[1].counts.fp == 1);
    const auto& both = all.groupings[2];
    REQUIRE(both.size() == 3);  // F,W never occurs and is not invented
    CHECK(both[0].label == "F, B");
    CHECK(both[1].label == "M, B");
    CHECK(both[2].label == "M, W");
    CHECK(both[2].counts.tp == 1);
    CHECK(both[2].counts.fp == 1);
}

namespace {

// A row-by-row tally of one grouping, as the metrics were computed before
// they were rolled up from cells: the yardstick of the one-pass sums.
struct NaiveGroup {
    ConfusionCounts counts;
    std::vector<std::uint64_t> bucket_count = std::vector<std::uint64_t>(10, 0);
    std::vector<double> score_sum = std::vector<double>(10, 0.0);
};

std::map<std::vector<std::string>, NaiveGroup> naive_groups(const AuditData& data,
                                                            const std::vector<std::size_t>& attributes) {
    std::map<std::vector<std::string>, NaiveGroup> groups;
    for (std::size_t r = 0; r < data.rows(); ++r) {
        std::vector<std::string> key;
        for (std::size_t a : attributes) key.push_back(data.attributes[a].values[data.attributes[a].codes[r]]);
        NaiveGroup& g = groups[key];
        const bool truth = data.y_true[r] != 0;
        const bool predicted = data.y_pred[r] != 0;
        ++(truth ? (predicted ? g.counts.tp : g.counts.fn) : (predicted ? g.counts.fp : g.counts.tn));
        const std::size_t b = calibration_bucket(data.score[r], 10);
        ++g.bucket_count[b];
        g.score_sum[b] += data.score[r];
    }
    return groups;
}

}  // namespace

TEST_CASE("one pass over the rows gives every grouping's row-by-row counts, dense or hashed cells") {
    // 3 attributes: with 12 values each the cells are indexed by a table;
    // with 120 each (1.7M combinations) they are hashed.
    const std::size_t values = GENERATE(12u, 120u);
    AuditData data;
    data.attributes.resize(3);
    std::vector<AttributeEncoder> encoders;
    for (std::size_t a = 0; a < 3; ++a) {
        data.attributes[a].name = "a" + std::to_string(a);
        encoders.emplace_back(data.attributes[a]);
    }
    std::mt19937_64 rng(7);
    for (std::size_t r = 0; r < 20000; ++r) {
        for (auto& encoder : encoders) encoder.append("v" + std::to_string(rng() % values));
        const double score = static_cast<double>(rng() % 1001) / 1000.0;  // 0 and 1 included
        data.y_true.push_back(rng() % 3 == 0 ? 1 : 0);
        data.y_pred.push_back(score >= 0.5 ? 1 : 0);
        data.score.push_back(score);
    }
    const std::vector<std::vector<std::size_t>> groupings = {{0}, {2}, {1, 2}, {0, 1, 2}};
    const GroupingsMetrics all = compute_groupings_metrics(data, groupings, GroupMetricsOptions{});
    CHECK(all.overall.counts.total() == 20000);
    for (std::size_t i = 0; i < groupings.size(); ++i) {
        const auto naive = naive_groups(data, groupings[i]);
        REQUIRE(all.groupings[i].size() == naive.size());
        std::size_t k = 0;
        for (const auto& [key, expected] : naive) {  // std::map: the same order by values
            const GroupMetrics& mine = all.groupings[i][k++];
            REQUIRE(mine.values == key);
            CHECK(mine.counts.tp == expected.counts.tp);
            CHECK(mine.counts.fp == expected.counts.fp);
            CHECK(mine.counts.tn == expected.counts.tn);
            CHECK(mine.counts.fn == expected.counts.fn);
            for (std::size_t b = 0; b < 10; ++b) {
                CHECK(mine.calibration[b].count == expected.bucket_count[b]);
                if (expected.bucket_count[b] > 0)
                    CHECK(mine.calibration[b].mean_score ==
                          Approx(expected.score_sum[b] / static_cast<double>(expected.bucket_count[b])).epsilon(1e-12));
            }
        }
    }
}

TEST_CASE("an attribute holds at most 65,536 distinct values") {
    AttributeColumn column{"id", {}, {}};
    AttributeEncoder encoder(column);
    for (std::size_t i = 0; i < max_attribute_values; ++i) encoder.append(std::to_string(i));
    encoder.append("0");  // seen before: still fine
    CHECK(column.codes.back() == 0);
    CHECK_THROWS_AS(encoder.append("one too many"), std::length_error);
}

TEST_CASE("run_audit refuses an unknown attribute or a reference group without rows") {
    const AuditData data = make_data(hand_table());
    AuditOptions options;
    options.sensitive_attributes = {"h"};
    CHECK(run_audit(data, options).error == "sensitive attribute 'h' is not in the data");
    options.sensitive_attributes = {"g"};
    options.reference_values = {{"g", "Z"}};
    CHECK(run_audit(data, options).error == "reference group 'Z' of g has no rows");
    options.reference_values = {{"g", "C"}};
    options.metrics.min_group_size = 5;
    // Without its count: the error is logged and shown on the status page.
    CHECK(run_audit(data, options).error ==
          "reference group 'C' of g is suppressed: fewer rows than the minimum group size 5");
}
