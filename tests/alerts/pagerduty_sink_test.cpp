#include <catch2/catch.hpp>

#include <atomic>

#include <nlohmann/json.hpp>

#include "alerts/pagerduty_sink.h"
#include "tests/alerts/sink_test_support.h"
#include "tests/support/test_http_server.h"

using mw::alerts::AlertState;
using mw::testing::CannedResponse;
using mw::testing::ReceivedRequest;
using mw::testing::TestHttpServer;

namespace {
// What PagerDuty answers to an accepted event.
CannedResponse accepted(const ReceivedRequest&) {
    return CannedResponse{202, {}, R"({"status":"success","message":"Event processed","dedup_key":"x"})"};
}

mw::alerts::PagerDutySinkOptions options_for(const TestHttpServer& server) {
    mw::alerts::PagerDutySinkOptions options;
    options.url = server.url() + "/v2/enqueue";
    options.routing_key = "R0UT1NGKEY0123456789012345678901";
    return options;
}
}  // namespace

TEST_CASE("the PagerDuty sink's default URL is the Events API v2 endpoint") {
    CHECK(mw::alerts::PagerDutySinkOptions{}.url == "https://events.pagerduty.com/v2/enqueue");
}

TEST_CASE("a firing alert is a trigger event keyed by the fingerprint") {
    TestHttpServer server(accepted);
    mw::alerts::PagerDutySink sink("pd", options_for(server));
    const auto result = sink.deliver(mw::testing::sample_alert());
    CHECK(result.delivered);

    const auto requests = server.requests();
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].target == "/v2/enqueue");
    const auto body = nlohmann::json::parse(requests[0].body);
    CHECK(body["routing_key"] == "R0UT1NGKEY0123456789012345678901");
    CHECK(body["event_action"] == "trigger");
    CHECK(body["dedup_key"] == mw::testing::sample_alert().fingerprint);
    const auto& payload = body["payload"];
    CHECK(payload["summary"] == "churn: tenure drifted (PSI 0.31 > 0.2)");
    CHECK(payload["source"] == "modelwatch");
    CHECK(payload["severity"] == "critical");
    CHECK(payload["component"] == "churn");
    CHECK(payload["group"] == "feature_drift");
    CHECK(payload["class"] == "ModelDrift");
    CHECK(payload["timestamp"] == "2024-05-01T12:00:00.123Z");
    CHECK(payload["custom_details"]["labels"]["subject"] == "tenure");
    CHECK(payload["custom_details"]["annotations"]["description"] ==
          "PSI of tenure between reference and window 42 is 0.31.");
    REQUIRE(body["links"].size() == 1);
    CHECK(body["links"][0]["href"] == "http://modelwatch:8470/v1/findings/42");
    CHECK(body["client"] == "modelwatch");
}

TEST_CASE("a resolved alert is a resolve event with the same dedup_key") {
    TestHttpServer server(accepted);
    mw::alerts::PagerDutySink sink("pd", options_for(server));
    CHECK(sink.deliver(mw::testing::sample_alert(AlertState::resolved)).delivered);
    const auto body = nlohmann::json::parse(server.requests().at(0).body);
    CHECK(body["event_action"] == "resolve");
    CHECK(body["dedup_key"] == mw::testing::sample_alert().fingerprint);
    CHECK(body["routing_key"] == "R0UT1NGKEY0123456789012345678901");
    CHECK_FALSE(body.contains("payload"));
}

TEST_CASE("severity labels map onto PagerDuty's four severities") {
    using mw::alerts::pagerduty_severity;
    CHECK(std::string(pagerduty_severity("critical")) == "critical");
    CHECK(std::string(pagerduty_severity("error")) == "error");
    CHECK(std::string(pagerduty_severity("high")) == "error");
    CHECK(std::string(pagerduty_severity("warning")) == "warning");
    CHECK(std::string(pagerduty_severity("info")) == "info");
    CHECK(std::string(pagerduty_severity("low")) == "info");
    CHECK(std::string(pagerduty_severity("")) == "warning");
    CHECK(std::string(pagerduty_severity("whatever")) == "warning");
}

TEST_CASE("a summary over PagerDuty's 1024 characters is cut on a character boundary") {
    auto alert = mw::testing::sample_alert();
    std::string summary = "x";
    while (summary.size() < 1100) summary += "\xc3\xa9";  // é, two bytes each
    alert.annotations["summary"] = summary;
    const auto body = nlohmann::json::parse(mw::alerts::pagerduty_body(alert, {}));
    const std::string sent = body["payload"]["summary"];
    CHECK(sent.size() == 1023);
    CHECK(summary.starts_with(sent));
}

TEST_CASE("PagerDuty's answers: 400 is final, 429 and 5xx are retried") {
    std::atomic<int> status = 400;
    TestHttpServer server([&status](const ReceivedRequest&) {
        return CannedResponse{status.load(), {{"Retry-After", "60"}}, R"({"status":"invalid event"})"};
    });
    mw::alerts::PagerDutySink sink("pd", options_for(server));
    auto result = sink.deliver(mw::testing::sample_alert());
    CHECK_FALSE(result.delivered);
    CHECK_FALSE(result.retryable);
    CHECK_THAT(result.error, Catch::Contains("invalid event"));
    status = 429;
    result = sink.deliver(mw::testing::sample_alert());
    CHECK(result.retryable);
    CHECK(result.retry_after == std::chrono::seconds(60));
    status = 500;
    CHECK(sink.deliver(mw::testing::sample_alert()).retryable);
}

TEST_CASE("a PagerDuty sink without a routing key refuses for good") {
    const auto result = mw::alerts::PagerDutySink("pd", {}).deliver(mw::testing::sample_alert());
    CHECK_FALSE(result.delivered);
    CHECK_FALSE(result.retryable);
    CHECK_THAT(result.error, Catch::Contains("routing_key"));
}
