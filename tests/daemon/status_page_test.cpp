// The status and finding pages as values in, HTML out: every stored string
// is escaped, links are built from ids only, and nothing is loaded from
// elsewhere. The browser-side checks are tests/integration/test_status_page.py.
#include <catch2/catch.hpp>

#include "daemon/bearer_auth.h"
#include "daemon/status_page.h"

using namespace mw;
using nlohmann::json;

namespace {

const std::string hostile = "<img src=x onerror=alert(1)>\"'&";

}  // namespace

TEST_CASE("the status page escapes every stored string and loads nothing from elsewhere") {
    daemon::ModelStatus status;
    status.model = hostile;
    status.latest_window = {{"sequence", 7}, {"rows", 1000}, {"first_ts", hostile}, {"last_ts", "t"},
                            {"label_coverage", nullptr}, {"metrics", {{"accuracy_estimated", 0.8125}}}};
    status.judged_window = {{"sequence", 6}, {"metrics", {{"accuracy", 0.75}}}};
    status.dataset_drift = {{"id", 42}, {"statistic", 0.5}, {"triggered", true},
                            {"evidence", {{"drifted", 2}, {"evaluated", 4}}}};
    status.open_alerts.push_back({{"severity", "critical"}, {"kind", "data_quality"}, {"subject", hostile},
                                  {"summary", hostile}, {"started_at", "t"}, {"finding_id", 42}});
    status.jobs.push_back({{"id", 3}, {"state", "failed"}, {"trigger", "manual"}, {"reason", hostile},
                           {"created_at", "t"}, {"finished_at", nullptr}});
    status.last_audit = {{"id", 9}, {"audit", hostile}, {"state", "passed"}, {"rows", 10},
                         {"finished_at", "t"}, {"reports", {{"html", "/x.html"}}}};
    status.breaker_open = true;
    const std::string html = daemon::render_status_page({status}, {}, 0);

    CHECK(html.find(hostile) == std::string::npos);
    CHECK(html.find("&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;") != std::string::npos);
    CHECK(html.find("<script") == std::string::npos);
    CHECK(html.find("http://") == std::string::npos);
    CHECK(html.find("https://") == std::string::npos);
    CHECK(html.find("href=\"/v1/findings/42\"") != std::string::npos);
    CHECK(html.find("href=\"/audits/9/report\"") != std::string::npos);
    CHECK(html.find("50.0%") != std::string::npos);   // the drift share
    CHECK(html.find(">0.75<") != std::string::npos);  // realised accuracy
    CHECK(html.find(">0.8125<") != std::string::npos);  // its CBPE estimate
    CHECK(html.find("breaker open") != std::string::npos);
}

TEST_CASE("a finding's page escapes its subject and evidence") {
    const json finding = {{"id", 5}, {"model", "m"}, {"kind", "feature_drift"}, {"subject", hostile},
                          {"method", "ks"}, {"statistic", 0.25}, {"threshold", 0.05}, {"p_value", nullptr},
                          {"triggered", true}, {"severity", "warning"}, {"window_start", "a"}, {"window_end", "b"},
                          {"window_id", 1}, {"created_at", "c"}, {"evidence", {{hostile, hostile}}}};
    const std::string html = daemon::render_finding_page(finding);
    CHECK(html.find(hostile) == std::string::npos);
    CHECK(html.find("<script") == std::string::npos);
    CHECK(html.find("href=\"/v1/findings/5?format=json\"") != std::string::npos);
    CHECK(html.find(">0.25<") != std::string::npos);
}

TEST_CASE("a performance finding's page shows its root-cause ranking, escaped") {
    const json ranking = {{"summary", "accuracy 0.6 vs 0.8 in reference; segment " + hostile},
                          {"causes", {"segment " + hostile + ": accuracy 0.5"}},
                          {"candidates", 12},
                          {"suppressed_segments", 3},
                          {"columns_left_out", 2},
                          {"columns_not_compared", {"age", hostile}},
                          {"time_budget_reached", true},
                          {"correlation_values", "estimated"},
                          {"correlation_ranking", {{{"feature", hostile}, {"correlation", 0.91}, {"windows", 8}, {"alerts", 3}}}},
                          {"alert_count_ranking", {{{"feature", "age"}, {"correlation", nullptr}, {"windows", 8}, {"alerts", 3}}}},
                          {"ranked",
                           {{{"name", "segment " + hostile}, {"kind", "segment"}, {"window_metric", 0.5},
                             {"interval", {0.45, 0.55, "wilson"}}, {"reference_metric", 0.8}, {"window_share", 0.25},
                             {"contribution", 0.0875}, {"explained_share", 0.875}, {"significant", true}}}}};
    const json finding = {{"id", 6}, {"model", "m"}, {"kind", "performance"}, {"subject", "accuracy"},
                          {"method", "realised"}, {"statistic", 0.6}, {"threshold", 0.7}, {"p_value", nullptr},
                          {"triggered", true}, {"severity", "warning"}, {"window_start", "a"}, {"window_end", "b"},
                          {"window_id", 1}, {"created_at", "c"}, {"evidence", {{"n", 1000}, {"root_cause", ranking}}}};
    const std::string html = daemon::render_finding_page(finding);
    CHECK(html.find(hostile) == std::string::npos);
    CHECK(html.find("<h3>Root cause</h3>") != std::string::npos);
    CHECK(html.find("<ol class=\"causes\"><li>segment &lt;img") != std::string::npos);
    CHECK(html.find("[0.45, 0.55] wilson") != std::string::npos);
    CHECK(html.find(">88%<") != std::string::npos);
    // The columns the time budget left out, by name.
    CHECK(html.find("3 segments below the minimum size suppressed; 2 columns not compared (time budget reached): "
                    "age, &lt;img") != std::string::npos);
    CHECK(html.find("correlation with the estimated metric over recent windows: &lt;img") != std::string::npos);
    CHECK(html.find("(0.91)") != std::string::npos);
    CHECK(html.find("drift alerts over recent windows: age (3 of 8 windows)") != std::string::npos);

    // The open alert on the status page shows the causes under its summary.
    daemon::ModelStatus status;
    status.model = "m";
    status.open_alerts.push_back({{"severity", "warning"}, {"kind", "performance"}, {"subject", "accuracy"},
                                  {"summary", "Performance"}, {"started_at", "t"}, {"finding_id", 6},
                                  {"causes", "segment " + hostile + "\nfeature age"}});
    const std::string page = daemon::render_status_page({status}, {}, 0);
    CHECK(page.find(hostile) == std::string::npos);
    CHECK(page.find("<div class=\"causes muted\"><div>segment &lt;img") != std::string::npos);
    CHECK(page.find("<div>feature age</div></div>") != std::string::npos);
}

TEST_CASE("the status page names the quarantine files while there are any, and what to do with them") {
    daemon::ModelStatus status;
    status.model = "m";
    CHECK(daemon::render_status_page({status}, {}, 0).find("quarantine") == std::string::npos);
    daemon::QuarantineStatus quarantine;
    quarantine.count = {.files = 2, .records = 15, .bytes = 900, .oldest_us = 1'000'000, .newest_us = 2'000'000};
    quarantine.directory = "/var/lib/" + hostile;
    const std::string page = daemon::render_status_page({status}, quarantine, 0);
    CHECK(page.find(hostile) == std::string::npos);
    CHECK(page.find("2 quarantine files holding 15 records that were acknowledged but not stored, in "
                    "<code>/var/lib/&lt;img") != std::string::npos);
    CHECK(page.find("(oldest 1970-01-01T00:00:01") != std::string::npos);
    CHECK(page.find("docs/privacy.md, \"Quarantine files\"") != std::string::npos);
    // Above the models: the first thing an operator reads.
    CHECK(page.find("class=\"quarantine\"") < page.find("data-model=\"m\""));
}

TEST_CASE("cookie_value finds one cookie among several, exactly by name") {
    CHECK(daemon::cookie_value("a=1; modelwatch_token=s3cret; b=2", "modelwatch_token") == "s3cret");
    CHECK(daemon::cookie_value("modelwatch_token=x", "modelwatch_token") == "x");
    CHECK_FALSE(daemon::cookie_value("xmodelwatch_token=x; y=1", "modelwatch_token"));
    CHECK_FALSE(daemon::cookie_value("", "modelwatch_token"));
}
