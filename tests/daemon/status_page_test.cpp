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
    const std::string html = daemon::render_status_page({status}, 0);

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

TEST_CASE("cookie_value finds one cookie among several, exactly by name") {
    CHECK(daemon::cookie_value("a=1; modelwatch_token=s3cret; b=2", "modelwatch_token") == "s3cret");
    CHECK(daemon::cookie_value("modelwatch_token=x", "modelwatch_token") == "x");
    CHECK_FALSE(daemon::cookie_value("xmodelwatch_token=x; y=1", "modelwatch_token"));
    CHECK_FALSE(daemon::cookie_value("", "modelwatch_token"));
}
