#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "alerts/webhook_sink.h"
#include "tests/alerts/sink_test_support.h"
#include "tests/support/test_http_server.h"

using mw::alerts::AlertState;
using mw::testing::CannedResponse;
using mw::testing::ReceivedRequest;
using mw::testing::TestHttpServer;

namespace {
// webhook_body(sample_alert()), byte for byte: the signature below is over it.
const std::string expected_body =
    R"j({"annotations":{"description":"PSI of tenure between reference and window 42 is 0.31.","finding_url")j"
    R"j(:"http://modelwatch:8470/v1/findings/42","summary":"churn: tenure drifted (PSI 0.31 > 0.2)"},"endsAt)j"
    R"j(":"2024-05-01T12:15:00.000Z","fingerprint":"3f2a9c0e5b7d41e6a8c2f0b9d4e7a1c3b5d8e0f2a4c6e8b0d2f4a6c8)j"
    R"j(e0b2d4f6","generatorURL":"http://modelwatch:8470/v1/findings/42","labels":{"alertname":"ModelDrift",)j"
    R"j("kind":"feature_drift","model":"churn","severity":"critical","subject":"tenure"},"startsAt":"2024-05)j"
    R"j(-01T12:00:00.123Z","state":"firing","version":"1"})j";

// Computed independently of this code, with the body above in /tmp/body.json:
//   /usr/bin/python3 -c "import hmac,hashlib; body=open('/tmp/body.json','rb').read();
//     print(hmac.new(b'whsec_test_secret', b'1700000000.'+body, hashlib.sha256).hexdigest())"
const std::string python_signature = "f9b6270bf95c56b093ae239a3171dfea4a777a05720d9bf7d1e40d613f20098f";
}  // namespace

TEST_CASE("hmac_sha256_hex matches the RFC 4231 known-answer vectors") {
    // RFC 4231 section 4.2 (test case 1), 4.3 (test case 2), 4.7 (test case 6: a key longer than the block).
    CHECK(mw::alerts::hmac_sha256_hex(std::string(20, '\x0b'), "Hi There") ==
          "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    CHECK(mw::alerts::hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    CHECK(mw::alerts::hmac_sha256_hex(std::string(131, '\xaa'),
                                      "Test Using Larger Than Block-Size Key - Hash Key First") ==
          "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST_CASE("webhook_body is the documented document") {
    CHECK(mw::alerts::webhook_body(mw::testing::sample_alert()) == expected_body);
    const auto resolved =
        nlohmann::json::parse(mw::alerts::webhook_body(mw::testing::sample_alert(AlertState::resolved)));
    CHECK(resolved["state"] == "resolved");
    CHECK(resolved["endsAt"] == "2024-05-01T12:03:20.250Z");
    CHECK(resolved["version"] == "1");
}

TEST_CASE("the webhook sink posts the body signed over timestamp and body") {
    TestHttpServer server([](const ReceivedRequest&) { return CannedResponse{204, {}, ""}; });
    mw::alerts::WebhookSinkOptions options;
    options.url = server.url() + "/hooks/modelwatch";
    options.secret = "whsec_test_secret";
    options.headers = {{"X-Team", "ml-platform"}};
    mw::alerts::WebhookSink sink("ops-webhook", options, [] { return std::int64_t{1700000000}; });
    CHECK(sink.name() == "ops-webhook");
    const auto result = sink.deliver(mw::testing::sample_alert());
    CHECK(result.delivered);
    CHECK(result.error.empty());

    const auto requests = server.requests();
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].method == "POST");
    CHECK(requests[0].target == "/hooks/modelwatch");
    CHECK(requests[0].body == expected_body);
    CHECK(requests[0].header("Content-Type") == "application/json");
    CHECK(requests[0].header("X-Team") == "ml-platform");
    CHECK(requests[0].header("X-Modelwatch-Timestamp") == "1700000000");
    CHECK(requests[0].header("X-Modelwatch-Signature") == "sha256=" + python_signature);
}

TEST_CASE("the webhook sink sends no signature without a secret") {
    TestHttpServer server([](const ReceivedRequest&) { return CannedResponse{200, {}, "ok"}; });
    mw::alerts::WebhookSink sink("plain", {server.url() + "/", "", 5000, {}});
    CHECK(sink.deliver(mw::testing::sample_alert()).delivered);
    REQUIRE(server.requests().size() == 1);
    CHECK(server.requests()[0].header("X-Modelwatch-Signature").empty());
    CHECK(server.requests()[0].header("X-Modelwatch-Timestamp").empty());
}

TEST_CASE("the webhook sink reports a refusal with the receiver's explanation") {
    TestHttpServer server([](const ReceivedRequest&) { return CannedResponse{422, {}, "signature mismatch"}; });
    mw::alerts::WebhookSink sink("ops-webhook", {server.url() + "/", "s", 5000, {}});
    const auto result = sink.deliver(mw::testing::sample_alert());
    CHECK_FALSE(result.delivered);
    CHECK_FALSE(result.retryable);
    CHECK_THAT(result.error, Catch::Contains("webhook ops-webhook") && Catch::Contains("HTTP 422") &&
                                 Catch::Contains("signature mismatch"));
}
