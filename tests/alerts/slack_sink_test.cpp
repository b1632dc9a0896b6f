#include <catch2/catch.hpp>

#include <atomic>

#include <nlohmann/json.hpp>

#include "alerts/slack_sink.h"
#include "tests/alerts/sink_test_support.h"
#include "tests/support/test_http_server.h"

using mw::alerts::AlertState;
using mw::testing::CannedResponse;
using mw::testing::ReceivedRequest;
using mw::testing::TestHttpServer;

TEST_CASE("the Slack sink posts text and blocks to the webhook") {
    TestHttpServer server([](const ReceivedRequest&) { return CannedResponse{200, {}, "ok"}; });
    mw::alerts::SlackSink sink("slack-ml", {server.url() + "/services/T000/B000/XXXX", 5000});
    CHECK(sink.deliver(mw::testing::sample_alert()).delivered);

    const auto requests = server.requests();
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].target == "/services/T000/B000/XXXX");
    const auto body = nlohmann::json::parse(requests[0].body);
    CHECK(body["text"] == "[FIRING] churn: tenure drifted (PSI 0.31 > 0.2)");
    const auto& blocks = body["blocks"];
    REQUIRE(blocks.size() == 4);
    CHECK(blocks[0]["type"] == "header");
    CHECK(blocks[0]["text"]["text"] == "[FIRING] churn: tenure drifted (PSI 0.31 > 0.2)");
    CHECK(blocks[1]["type"] == "section");
    REQUIRE(blocks[1]["fields"].size() == 4);
    CHECK(blocks[1]["fields"][0]["text"] == "*Model*\nchurn");
    CHECK(blocks[1]["fields"][1]["text"] == "*Kind*\nfeature_drift");
    CHECK(blocks[1]["fields"][2]["text"] == "*Subject*\ntenure");
    CHECK(blocks[1]["fields"][3]["text"] == "*Severity*\ncritical");
    CHECK(blocks[2]["text"]["text"] == "PSI of tenure between reference and window 42 is 0.31.");
    CHECK(blocks[3]["type"] == "context");
    CHECK(blocks[3]["elements"][0]["text"] == "<http://modelwatch:8470/v1/findings/42|Finding in modelwatch>");
}

TEST_CASE("a resolved alert says RESOLVED, and mrkdwn control characters are escaped") {
    auto alert = mw::testing::sample_alert(AlertState::resolved);
    alert.labels["subject"] = "a<b>&c";
    const auto body = nlohmann::json::parse(mw::alerts::slack_body(alert));
    CHECK(body["text"] == "[RESOLVED] churn: tenure drifted (PSI 0.31 > 0.2)");
    CHECK(body["blocks"][1]["fields"][2]["text"] == "*Subject*\na&lt;b&gt;&amp;c");
}

TEST_CASE("the Slack sink retries 429 after Retry-After and gives up on a dead webhook") {
    std::atomic<int> status = 429;
    TestHttpServer server([&status](const ReceivedRequest&) {
        return CannedResponse{
            status.load(), {{"Retry-After", "3"}}, status.load() == 429 ? "rate_limited" : "no_service"};
    });
    mw::alerts::SlackSink sink("slack-ml", {server.url() + "/services/x", 5000});
    auto result = sink.deliver(mw::testing::sample_alert());
    CHECK_FALSE(result.delivered);
    CHECK(result.retryable);
    CHECK(result.retry_after == std::chrono::seconds(3));
    status = 404;
    result = sink.deliver(mw::testing::sample_alert());
    CHECK_FALSE(result.retryable);
    CHECK_THAT(result.error, Catch::Contains("slack slack-ml") && Catch::Contains("no_service"));
    CHECK_THAT(result.error, !Catch::Contains("/services/x"));  // the URL is the credential
}
