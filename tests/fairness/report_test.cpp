// The JSON, Markdown and HTML renderings of a small audit: schema fields,
// null for undefined numbers, escaping of hostile group labels, the summary
// wording, and JSON reports read back as history for the trend chart.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "fairness/audit.h"
#include "fairness/report_html.h"
#include "fairness/report_json.h"
#include "fairness/report_markdown.h"
#include "fairness/report_text.h"

using namespace mw::fairness;

namespace {

// Group "a|<b>" is selected at 0.2, group "c" at 0.6, 200 rows each: a clear
// demographic-parity violation. No true negatives in "c", so its FPR is undefined.
AuditResult small_audit() {
    AuditData data;
    data.attributes.push_back(AttributeColumn{"g", {}, {}});
    AttributeEncoder encoder(data.attributes[0]);
    for (int i = 0; i < 400; ++i) {
        const bool first = i < 200;
        encoder.append(first ? "a|<b>" : "c");
        data.y_true.push_back(first ? (i % 2) : 1);
        data.y_pred.push_back(first ? (i % 5 == 0 ? 1 : 0) : (i % 5 < 3 ? 1 : 0));
    }
    AuditOptions options;
    options.sensitive_attributes = {"g"};
    options.bootstrap.replicates = 200;
    AuditRun run = run_audit(data, options);
    REQUIRE(run.ok());
    run.result.model = "credit";
    run.result.generated_at = "2026-11-25T12:00:00Z";
    run.result.window = {"test.csv", "all rows of the file", 400, 0, "1"};
    return run.result;
}

}  // namespace

TEST_CASE("JSON report: schema version, summary, null for undefined numbers") {
    const AuditResult r = small_audit();
    const nlohmann::json j = nlohmann::json::parse(render_json(r));
    CHECK(j["schema_version"] == 1);
    CHECK(j["kind"] == "modelwatch.fairness_audit");
    CHECK(j["model"] == "credit");
    CHECK(j["summary"]["status"] == "fail");
    CHECK(j["data_window"]["rows"] == 400);
    CHECK(j["options"]["tolerance"]["ratio_lower"] == 0.8);
    const auto& grouping = j["groupings"][0];
    CHECK(grouping["name"] == "g");
    CHECK(grouping["reference_group"] == "c");  // equal sizes: the later label
    CHECK(grouping["groups"][1]["rates"]["fpr"]["value"].is_null());
    CHECK(grouping["groups"][1]["rates"]["fpr"]["interval"].is_null());
    CHECK(grouping["groups"][0]["rates"]["selection_rate"]["value"] == 0.2);
    CHECK(grouping["groups"][0]["rates"]["selection_rate"]["numerator"] == 40);
    const auto& dp = grouping["disparities"]["between_groups"][0];
    CHECK(dp["metric"] == "demographic_parity");
    CHECK(dp["judged_by"] == "ratio");
    CHECK(dp["ratio"].get<double>() == Approx(0.2 / 0.6));
    CHECK(dp["verdict"] == "beyond_tolerance_clear");
    CHECK(j["definitions"]["disparities"].size() == disparity_metric_count);
}

TEST_CASE("JSON reports read back as history") {
    const AuditResult r = small_audit();
    const HistoryRead h = history_from_report_json(render_json(r));
    REQUIRE(h.error.empty());
    REQUIRE_FALSE(h.points.empty());
    CHECK(h.points[0].label == "2026-11-25T12:00:00Z");
    CHECK(h.points[0].grouping == "g");
    CHECK(h.points[0].metric == DisparityMetric::demographic_parity);
    CHECK(h.points[0].judged_value == Approx(0.2 / 0.6));
    CHECK(history_from_report_json("[1,2]").error == "not a JSON object");
    CHECK(history_from_report_json("{\"schema_version\": 7}").error == "schema_version is not 1");
    CHECK(history_from_report_json("{").error == "not a JSON object");
}

TEST_CASE("plain-language explanations") {
    const AuditResult r = small_audit();
    const GroupingResult& g = r.groupings[0];
    const DisparityValue& dp = g.disparities.to_reference[0];
    REQUIRE(dp.metric == DisparityMetric::demographic_parity);
    CHECK(explain(dp, g).rfind("a|<b> receives positive predictions at 0.333 times the rate of c. This is outside the "
                               "tolerance (0.800 to 1.250) and the 95% interval (",
                               0) == 0);
    CHECK(format_percent(0.3721) == "37.2%");
    CHECK(format_signed_points(-0.041) == "-4.1 pp");
    CHECK(format_ratio(std::nan("")) == "n/a");
}

TEST_CASE("Markdown report escapes table cells") {
    const std::string md = render_markdown(small_audit());
    CHECK(md.rfind("# Fairness audit: credit\n", 0) == 0);
    CHECK(md.find("**FAIL**") != std::string::npos);
    CHECK(md.find("| a\\|<b> | 200 |") != std::string::npos);
    CHECK(md.find("| a|<b> |") == std::string::npos);
}

TEST_CASE("HTML report is self-contained and escapes labels") {
    AuditResult r = small_audit();
    std::string html = render_html(r);
    CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
    CHECK(html.find("<script") == std::string::npos);
    CHECK(html.find("a|&lt;b&gt;") != std::string::npos);
    CHECK(html.find("a|<b>") == std::string::npos);
    CHECK(html.find("id=\"summary\"") != std::string::npos);
    CHECK(html.find("\u2717 FAIL") != std::string::npos);
    CHECK(html.find("id=\"trend\"") == std::string::npos);  // no history, no trend
    r.history = history_from_report_json(render_json(r)).points;
    for (auto& p : r.history) p.label = "2026-11-18T12:00:00Z";
    html = render_html(r);
    CHECK(html.find("id=\"trend\"") != std::string::npos);
    CHECK(html.find(">2026-11-18 12:00<") != std::string::npos);  // the earlier audit on the time axis
}

TEST_CASE("a group under the minimum size is named and suppressed in every format, with its representation") {
    // 200 + 200 rows as above, plus group "tiny" of 7 rows (all predicted 1,
    // selection rate 100%); the representation compares with a reference
    // window that has 11 of them.
    const auto audit_data = [](int tiny_rows) {
        AuditData data;
        data.attributes.push_back(AttributeColumn{"g", {}, {}});
        AttributeEncoder encoder(data.attributes[0]);
        for (int i = 0; i < 400 + tiny_rows; ++i) {
            encoder.append(i < 200 ? "a" : i < 400 ? "c" : "tiny");
            data.y_true.push_back(i % 2);
            data.y_pred.push_back(i >= 400 ? 1 : i % 3 == 0);
        }
        return data;
    };
    const AuditData data = audit_data(7);
    const AuditData reference = audit_data(11);
    AuditOptions options;
    options.sensitive_attributes = {"g"};
    options.bootstrap.replicates = 20;
    AuditRun run = run_audit(data, options);
    REQUIRE(run.ok());
    AuditResult r = run.result;
    r.model = "credit";
    r.generated_at = "2026-11-25T12:00:00Z";
    r.window = {"test.csv", "all rows", 407, 0, "1"};
    r.representation = {compare_representation(reference, data, {"g"})};
    REQUIRE(r.representation[0].error.empty());

    const nlohmann::json j = nlohmann::json::parse(render_json(r));
    const nlohmann::json* tiny = nullptr;
    for (const auto& g : j["groupings"][0]["groups"])
        if (g["label"] == "tiny") tiny = &g;
    REQUIRE(tiny != nullptr);
    CHECK((*tiny)["too_small"] == true);
    CHECK((*tiny)["suppressed"] == true);
    CHECK((*tiny)["count"].is_null());
    CHECK((*tiny)["rates"].is_null());
    CHECK((*tiny)["confusion"].is_null());
    for (const auto& row : j["representation"][0]["groups"]) {
        INFO(row.dump());
        if (row["label"] != "tiny") continue;
        CHECK(row["suppressed"] == true);
        CHECK(row["reference_count"].is_null());
        CHECK(row["current_count"].is_null());
        CHECK(row["current_share"].is_null());
    }
    // Complementary suppression: "a" (the smaller of the two at 200, first
    // by value) is hidden too, so the overall count minus the shown groups
    // gives only a + tiny (207 rows), never tiny's 7; "c" keeps its figures.
    const auto& groups = j["groupings"][0]["groups"];
    REQUIRE(groups.size() == 3);
    CHECK(groups[0]["label"] == "a");
    CHECK(groups[0]["suppressed"] == true);
    CHECK(groups[0]["complementary"] == true);
    CHECK(groups[0]["too_small"] == false);
    CHECK(groups[0]["count"].is_null());
    CHECK(groups[1]["count"] == 200);
    CHECK((*tiny)["complementary"] == false);
    std::uint64_t hidden = j["overall"]["count"].get<std::uint64_t>();
    std::uint64_t hidden_tp = j["overall"]["confusion"]["tp"].get<std::uint64_t>();
    for (const auto& g : groups)
        if (!g["count"].is_null()) {
            hidden -= g["count"].get<std::uint64_t>();
            hidden_tp -= g["confusion"]["tp"].get<std::uint64_t>();
        }
    CHECK(hidden == 207);
    CHECK(hidden >= j["options"]["min_group_size"].get<std::uint64_t>());
    CHECK(hidden_tp > 3);  // tiny's 3 true positives are mixed with a's
    // The representation table likewise: tiny and one complement hidden.
    std::size_t hidden_rows = 0;
    for (const auto& row : j["representation"][0]["groups"]) hidden_rows += row.value("suppressed", false);
    CHECK(hidden_rows == 2);

    const std::string html = render_html(r);
    const auto tiny_row = html.find("<tr class=\"small\"><td>tiny");
    REQUIRE(tiny_row != std::string::npos);
    const std::string row_html = html.substr(tiny_row, html.find("</tr>", tiny_row) - tiny_row);
    CHECK(row_html.find("fewer than 30 rows") != std::string::npos);
    CHECK(row_html.find("100.0%") == std::string::npos);  // its selection rate
    CHECK(row_html.find(">7<") == std::string::npos);     // its count
    CHECK(html.find(">11<") == std::string::npos);        // its reference count

    const std::string markdown = render_markdown(r);
    CHECK(markdown.find("| tiny (too small: suppressed) | < 30 |") != std::string::npos);
    CHECK(markdown.find("| tiny (too small: suppressed) | - |") != std::string::npos);
    CHECK(markdown.find("| tiny | 7 |") == std::string::npos);
}
