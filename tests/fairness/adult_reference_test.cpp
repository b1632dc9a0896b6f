// Every group metric, Wilson interval and disparity on the UCI Adult
// predictions against the independent numpy computation committed in
// tests/fairness/vectors/adult_reference.json (scripts/gen_fairness_vectors.py).
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "fairness/audit.h"
#include "fairness/audit_csv.h"
#include "tests/support/command_output.h"

using namespace mw::fairness;
using nlohmann::json;

namespace {

constexpr double tolerance = 1e-12;

json read_reference() {
    std::ifstream in(std::string(MODELWATCH_SOURCE_DIR) + "/tests/fairness/vectors/adult_reference.json");
    REQUIRE(in);
    return json::parse(in);
}

// The reference writes NaN as the string "nan".
double number(const json& j) { return j.is_string() ? std::nan("") : j.get<double>(); }

void check_close(double actual, const json& expected, const std::string& what) {
    const double e = number(expected);
    INFO(what << ": modelwatch " << actual << ", numpy " << e);
    if (std::isnan(e)) {
        CHECK(std::isnan(actual));
    } else {
        CHECK(std::fabs(actual - e) <= tolerance * std::max(1.0, std::fabs(e)));
    }
}

void check_group(const GroupMetrics& g, const json& ref, const std::string& where) {
    CHECK(g.counts.tp == ref["tp"].get<std::uint64_t>());
    CHECK(g.counts.fp == ref["fp"].get<std::uint64_t>());
    CHECK(g.counts.tn == ref["tn"].get<std::uint64_t>());
    CHECK(g.counts.fn == ref["fn"].get<std::uint64_t>());
    for (Rate rate : all_rates) {
        const json& r = ref["rates"][to_string(rate)];
        const std::string what = where + " " + to_string(rate);
        check_close(g.rate(rate).value, r["value"], what);
        check_close(g.rate(rate).wilson.lower, r["wilson"][0], what + " wilson lower");
        check_close(g.rate(rate).wilson.upper, r["wilson"][1], what + " wilson upper");
    }
    REQUIRE(g.calibration.size() == ref["calibration"].size());
    for (std::size_t b = 0; b < g.calibration.size(); ++b) {
        const json& bucket = ref["calibration"][b];
        CHECK(g.calibration[b].count == bucket["count"].get<std::uint64_t>());
        if (g.calibration[b].count == 0) continue;
        check_close(g.calibration[b].mean_score, bucket["mean_score"], where + " bucket mean score");
        check_close(g.calibration[b].positive_rate, bucket["positive_rate"], where + " bucket positive rate");
    }
    check_close(g.calibration_error, ref["calibration_error"], where + " calibration error");
}

// The reference's key prefix for each metric.
const std::map<DisparityMetric, std::string> reference_key = {
    {DisparityMetric::demographic_parity, "selection_rate"}, {DisparityMetric::equal_opportunity, "tpr"},
    {DisparityMetric::predictive_parity, "ppv"},             {DisparityMetric::fpr_parity, "fpr"},
    {DisparityMetric::fnr_parity, "fnr"},
};

void check_disparity(const DisparityValue& v, const json& ref, const std::string& where) {
    const std::string what = where + " " + definition_of(v.metric).id;
    if (v.metric == DisparityMetric::equalized_odds) {
        check_close(v.difference, ref["equalized_odds_difference"], what);
    } else if (v.metric == DisparityMetric::calibration_gap) {
        check_close(v.difference, ref["calibration_error_difference"], what);
    } else {
        const std::string key = reference_key.at(v.metric);
        check_close(v.difference, ref[key + "_difference"], what + " difference");
        check_close(v.ratio, ref[key + "_ratio"], what + " ratio");
    }
}

}  // namespace

TEST_CASE("Adult: group metrics and disparities match the numpy reference to 1e-12") {
    const json reference = read_reference();
    const std::string csv = mw::testing::command_output("gzip -dc '" + std::string(MODELWATCH_SOURCE_DIR) +
                                         "/tests/fairness/vectors/adult_predictions.csv.gz'");
    std::istringstream in(csv);
    CsvAuditSpec spec;
    spec.sensitive_columns = {"sex", "race"};
    spec.y_true_column = "y_true";
    spec.y_pred_column = "y_pred";
    spec.score_column = "score";
    const CsvAuditRead read = read_audit_csv(in, spec);
    REQUIRE(read.ok());
    REQUIRE(read.rows_rejected == 0);
    REQUIRE(read.data.rows() == reference["overall"]["count"].get<std::size_t>());

    AuditOptions options;
    options.sensitive_attributes = {"sex", "race"};
    options.metrics.min_group_size = reference["min_group_size"].get<std::uint64_t>();
    options.metrics.confidence = reference["confidence"].get<double>();
    options.metrics.calibration_buckets = reference["calibration_buckets"].get<std::size_t>();
    options.bootstrap.replicates = 50;  // intervals are checked elsewhere; keep this test quick
    options.complementary_suppression = false;  // the reference suppresses only groups under the minimum
    const AuditRun run = run_audit(read.data, options);
    REQUIRE(run.ok());
    check_group(run.result.overall, reference["overall"], "overall");

    const json& groupings = reference["groupings"];
    REQUIRE(run.result.groupings.size() == groupings.size());
    for (std::size_t k = 0; k < groupings.size(); ++k) {
        const GroupingResult& mine = run.result.groupings[k];
        const json& ref = groupings[k];
        CHECK(mine.attributes == ref["attributes"].get<std::vector<std::string>>());
        std::map<std::string, const GroupMetrics*> by_label;
        for (const auto& g : mine.groups) by_label[g.label] = &g;
        REQUIRE(mine.groups.size() == ref["groups"].size());
        for (const json& rg : ref["groups"]) {
            const std::string label = rg["label"];
            REQUIRE(by_label.count(label) == 1);
            CHECK(by_label[label]->too_small == rg["too_small"].get<bool>());
            check_group(*by_label[label], rg, label);
        }

        const json& rd = ref["disparities"];
        REQUIRE(mine.disparities.reference_index.has_value());
        CHECK(mine.groups[*mine.disparities.reference_index].label == rd["reference_group"].get<std::string>());
        std::map<std::string, const json*> ref_by_group;
        for (const json& e : rd["to_reference"]) ref_by_group[e["group"]] = &e;
        CHECK(mine.disparities.to_reference.size() == ref_by_group.size() * disparity_metric_count);
        for (const auto& v : mine.disparities.to_reference) {
            REQUIRE(ref_by_group.count(v.group) == 1);
            check_disparity(v, *ref_by_group[v.group], v.group);
        }
        CHECK(mine.disparities.between_groups.size() == disparity_metric_count);
        for (const auto& v : mine.disparities.between_groups) check_disparity(v, rd["between_groups"], "between");
    }
}
