#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "alerts/alertmanager_sink.h"
#include "tests/alerts/sink_test_support.h"
#include "tests/support/test_http_server.h"

using mw::alerts::AlertState;
using mw::testing::CannedResponse;
using mw::testing::ReceivedRequest;
using mw::testing::TestHttpServer;

namespace {
CannedResponse ok(const ReceivedRequest&) { return CannedResponse{200, {}, ""}; }

std::string closed_url() { return "http://127.0.0.1:" + std::to_string(mw::testing::unused_port()); }
}  // namespace

TEST_CASE("the Alertmanager sink posts one postableAlert to /api/v2/alerts") {
    TestHttpServer server(ok);
    mw::alerts::AlertmanagerSinkOptions options;
    options.urls = {server.url() + "/"};
    mw::alerts::AlertmanagerSink sink("am", options);
    const auto result = sink.deliver(mw::testing::sample_alert());
    CHECK(result.delivered);
    CHECK(result.error.empty());

    const auto requests = server.requests();
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].method == "POST");
    CHECK(requests[0].target == "/api/v2/alerts");
    CHECK(requests[0].header("Authorization").empty());
    const auto body = nlohmann::json::parse(requests[0].body);
    REQUIRE(body.is_array());
    REQUIRE(body.size() == 1);
    const auto& alert = body[0];
    CHECK(alert["labels"] == nlohmann::json{{"alertname", "ModelDrift"},
                                            {"model", "churn"},
                                            {"kind", "feature_drift"},
                                            {"subject", "tenure"},
                                            {"severity", "critical"}});
    CHECK(alert["annotations"]["summary"] == "churn: tenure drifted (PSI 0.31 > 0.2)");
    CHECK(alert["annotations"]["finding_url"] == "http://modelwatch:8470/v1/findings/42");
    CHECK(alert["startsAt"] == "2024-05-01T12:00:00.123Z");
    CHECK(alert["endsAt"] == "2024-05-01T12:15:00.000Z");
    CHECK(alert["generatorURL"] == "http://modelwatch:8470/v1/findings/42");
    CHECK(alert.size() == 5);
}

TEST_CASE("a resolved alert is the same labels with endsAt at the resolve time") {
    const auto firing = nlohmann::json::parse(mw::alerts::alertmanager_body(mw::testing::sample_alert()));
    const auto resolved =
        nlohmann::json::parse(mw::alerts::alertmanager_body(mw::testing::sample_alert(AlertState::resolved)));
    CHECK(resolved[0]["labels"] == firing[0]["labels"]);
    CHECK(resolved[0]["startsAt"] == firing[0]["startsAt"]);
    CHECK(resolved[0]["endsAt"] == "2024-05-01T12:03:20.250Z");
}

TEST_CASE("the Alertmanager sink sends bearer or basic credentials") {
    TestHttpServer server(ok);
    mw::alerts::AlertmanagerSinkOptions options;
    options.urls = {server.url()};
    options.bearer_token = "s3cr3t";
    options.headers = {{"X-Scope-OrgID", "team-ml"}};
    CHECK(mw::alerts::AlertmanagerSink("am", options).deliver(mw::testing::sample_alert()).delivered);
    options.bearer_token.clear();
    options.basic_auth_username = "Aladdin";
    options.basic_auth_password = "open sesame";  // RFC 7617 section 2's example
    CHECK(mw::alerts::AlertmanagerSink("am", options).deliver(mw::testing::sample_alert()).delivered);
    const auto requests = server.requests();
    REQUIRE(requests.size() == 2);
    CHECK(requests[0].header("Authorization") == "Bearer s3cr3t");
    CHECK(requests[0].header("X-Scope-OrgID") == "team-ml");
    CHECK(requests[1].header("Authorization") == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
}

TEST_CASE("an HA pair: sent to every member, delivered when one accepts") {
    TestHttpServer first(ok);
    TestHttpServer second(ok);
    mw::alerts::AlertmanagerSinkOptions options;
    options.urls = {first.url(), second.url()};
    CHECK(mw::alerts::AlertmanagerSink("am", options).deliver(mw::testing::sample_alert()).delivered);
    CHECK(first.requests().size() == 1);
    CHECK(second.requests().size() == 1);

    options.urls = {closed_url(), second.url()};
    const auto one_down = mw::alerts::AlertmanagerSink("am", options).deliver(mw::testing::sample_alert());
    CHECK(one_down.delivered);
    CHECK(second.requests().size() == 2);
}

TEST_CASE("an HA pair: retryable when no member accepts and one may later") {
    TestHttpServer busy([](const ReceivedRequest&) { return CannedResponse{503, {{"Retry-After", "20"}}, "busy"}; });
    TestHttpServer refusing([](const ReceivedRequest&) { return CannedResponse{400, {}, "bad alert"}; });
    mw::alerts::AlertmanagerSinkOptions options;
    options.urls = {refusing.url(), busy.url()};
    auto result = mw::alerts::AlertmanagerSink("am", options).deliver(mw::testing::sample_alert());
    CHECK_FALSE(result.delivered);
    CHECK(result.retryable);
    CHECK(result.retry_after == std::chrono::seconds(20));
    CHECK_THAT(result.error,
               Catch::Contains("HTTP 400") && Catch::Contains("bad alert") && Catch::Contains("HTTP 503"));

    options.urls = {refusing.url()};
    result = mw::alerts::AlertmanagerSink("am", options).deliver(mw::testing::sample_alert());
    CHECK_FALSE(result.delivered);
    CHECK_FALSE(result.retryable);

    options.urls = {closed_url()};
    result = mw::alerts::AlertmanagerSink("am", options).deliver(mw::testing::sample_alert());
    CHECK_FALSE(result.delivered);
    CHECK(result.retryable);
    CHECK_THAT(result.error, Catch::Contains("connect to 127.0.0.1:"));
}

TEST_CASE("an Alertmanager sink without URLs refuses for good") {
    const auto result = mw::alerts::AlertmanagerSink("am", {}).deliver(mw::testing::sample_alert());
    CHECK_FALSE(result.delivered);
    CHECK_FALSE(result.retryable);
    CHECK_THAT(result.error, Catch::Contains("no URL"));
}
