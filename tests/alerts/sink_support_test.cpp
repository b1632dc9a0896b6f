#include <catch2/catch.hpp>

#include "alerts/sink_support.h"

using mw::alerts::result_of;
using std::chrono::milliseconds;

namespace {
mw::http::Response response(int status, std::vector<std::pair<std::string, std::string>> headers = {},
                            std::string body = "") {
    mw::http::Response r;
    r.status = status;
    r.headers = std::move(headers);
    r.body = std::move(body);
    return r;
}
}  // namespace

TEST_CASE("2xx is delivered") {
    for (int status : {200, 201, 202, 204}) {
        const auto result = result_of(response(status), "am");
        CHECK(result.delivered);
        CHECK(result.error.empty());
    }
}

TEST_CASE("408, 429 and 5xx are retryable and honour Retry-After in seconds") {
    for (int status : {408, 429, 500, 502, 503, 504}) {
        const auto result = result_of(response(status, {{"retry-after", "30"}}, "busy"), "pagerduty main");
        CHECK_FALSE(result.delivered);
        CHECK(result.retryable);
        CHECK(result.retry_after == milliseconds(30000));
        CHECK_THAT(result.error, Catch::Contains("pagerduty main: HTTP " + std::to_string(status) + ": busy"));
    }
    CHECK(result_of(response(503), "x").retry_after == milliseconds(0));
}

TEST_CASE("other statuses are refused for good") {
    for (int status : {400, 401, 403, 404, 410, 413, 422, 301, 100}) {
        const auto result = result_of(response(status, {{"Retry-After", "30"}}, "invalid payload"), "slack ops");
        CHECK_FALSE(result.delivered);
        CHECK_FALSE(result.retryable);
        CHECK(result.retry_after == milliseconds(0));
        CHECK_THAT(result.error, Catch::Contains("not retried") && Catch::Contains("invalid payload"));
    }
}

TEST_CASE("a transport failure is retryable and says why") {
    mw::http::Response failed;
    failed.error = "connect to 127.0.0.1:9093: Connection refused";
    const auto result = result_of(failed, "alertmanager main (http://127.0.0.1:9093)");
    CHECK_FALSE(result.delivered);
    CHECK(result.retryable);
    CHECK(result.error == "alertmanager main (http://127.0.0.1:9093): connect to 127.0.0.1:9093: Connection refused");
}

TEST_CASE("the error quotes a bounded, printable excerpt of the body") {
    const auto result = result_of(response(400, {}, "line1\nline2\x01" + std::string(1000, 'x')), "r");
    CHECK_THAT(result.error, Catch::Contains("line1 line2 x") && Catch::EndsWith("..."));
    CHECK(result.error.size() < 300);
}

TEST_CASE("parse_retry_after reads delay-seconds and ignores the rest") {
    using mw::alerts::parse_retry_after;
    CHECK(parse_retry_after("120") == milliseconds(120000));
    CHECK(parse_retry_after(" 5 ") == milliseconds(5000));
    CHECK(parse_retry_after("0") == milliseconds(0));
    CHECK(parse_retry_after("") == milliseconds(0));
    CHECK(parse_retry_after("-1") == milliseconds(0));
    CHECK(parse_retry_after("1.5") == milliseconds(0));
    CHECK(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == milliseconds(0));
    CHECK(parse_retry_after("999999") == mw::alerts::max_retry_after);
    CHECK(parse_retry_after("99999999999999999999999") == mw::alerts::max_retry_after);
}

TEST_CASE("format_rfc3339_ms truncates to milliseconds") {
    CHECK(mw::alerts::format_rfc3339_ms(1714564800123456) == "2024-05-01T12:00:00.123Z");
    CHECK(mw::alerts::format_rfc3339_ms(0) == "1970-01-01T00:00:00.000Z");
    CHECK(mw::alerts::format_rfc3339_ms(999) == "1970-01-01T00:00:00.000Z");
    CHECK(mw::alerts::format_rfc3339_ms(-1) == "1969-12-31T23:59:59.999Z");
}

TEST_CASE("to_string names the alert states") {
    CHECK(std::string(mw::alerts::to_string(mw::alerts::AlertState::firing)) == "firing");
    CHECK(std::string(mw::alerts::to_string(mw::alerts::AlertState::resolved)) == "resolved");
}
