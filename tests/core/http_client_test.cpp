#include <catch2/catch.hpp>

#include <utility>  // before Asio: Boost 1.74 under C++20 needs std::exchange declared

#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>

#include "core/http_client.h"
#include "tests/support/test_http_server.h"

using mw::testing::CannedResponse;
using mw::testing::ReceivedRequest;
using mw::testing::TestHttpServer;

namespace {
// A port on 127.0.0.1 that nothing listens on: bound, then released.
std::string closed_port_url() {
    return "http://127.0.0.1:" + std::to_string(mw::testing::unused_port()) + "/x";
}
}  // namespace

TEST_CASE("parse_url splits scheme, host, port and target") {
    auto url = mw::http::parse_url("http://example.com");
    CHECK(url.error.empty());
    CHECK_FALSE(url.tls);
    CHECK(url.host == "example.com");
    CHECK(url.port == "80");
    CHECK(url.target == "/");

    url = mw::http::parse_url("HTTPS://events.pagerduty.com/v2/enqueue?x=1#frag");
    CHECK(url.error.empty());
    CHECK(url.tls);
    CHECK(url.port == "443");
    CHECK(url.target == "/v2/enqueue?x=1");

    url = mw::http::parse_url("http://[::1]:9093/api/v2/alerts");
    CHECK(url.error.empty());
    CHECK(url.host == "::1");
    CHECK(url.port == "9093");

    url = mw::http::parse_url("http://h:8080?q");
    CHECK(url.target == "/?q");
}

TEST_CASE("parse_url says what is wrong with a bad URL") {
    CHECK_THAT(mw::http::parse_url("").error, Catch::Contains("empty"));
    CHECK_THAT(mw::http::parse_url("example.com/x").error, Catch::Contains("no scheme"));
    CHECK_THAT(mw::http::parse_url("ftp://example.com/").error, Catch::Contains("scheme \"ftp\""));
    CHECK_THAT(mw::http::parse_url("http:///x").error, Catch::Contains("no host"));
    CHECK_THAT(mw::http::parse_url("http://h:0/").error, Catch::Contains("port \"0\""));
    CHECK_THAT(mw::http::parse_url("http://h:65536/").error, Catch::Contains("port \"65536\""));
    CHECK_THAT(mw::http::parse_url("http://h:80x/").error, Catch::Contains("port \"80x\""));
    CHECK_THAT(mw::http::parse_url("http://h:/").error, Catch::Contains("empty port"));
    CHECK_THAT(mw::http::parse_url("http://user:pw@h/").error, Catch::Contains("credentials"));
    CHECK_THAT(mw::http::parse_url("http://[::1/").error, Catch::Contains("IPv6"));
    CHECK_THAT(mw::http::parse_url("http://h/a b").error, Catch::Contains("space"));
}

TEST_CASE("send delivers method, target, headers and body, and returns status, headers and body") {
    TestHttpServer server([](const ReceivedRequest&) {
        return CannedResponse{201, {{"X-Reply", "yes"}, {"Retry-After", "7"}}, "created"};
    });
    mw::http::Request request;
    request.url = server.url() + "/api/v2/alerts?dry=1";
    request.headers = {{"Authorization", "Bearer t0k"}};
    request.body = R"([{"labels":{}}])";
    const auto response = mw::http::send(request);
    REQUIRE(response.ok());
    CHECK(response.success());
    CHECK(response.status == 201);
    CHECK(response.body == "created");
    CHECK(response.header("x-reply") == "yes");
    CHECK(response.header("RETRY-AFTER") == "7");
    CHECK(response.header("absent").empty());

    const auto requests = server.requests();
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].method == "POST");
    CHECK(requests[0].target == "/api/v2/alerts?dry=1");
    CHECK(requests[0].body == R"([{"labels":{}}])");
    CHECK(requests[0].header("Authorization") == "Bearer t0k");
    CHECK(requests[0].header("Content-Type") == "application/json");
    CHECK(requests[0].header("Host") == "127.0.0.1:" + std::to_string(server.port()));
}

TEST_CASE("send reports error statuses as responses, not errors") {
    TestHttpServer server([](const ReceivedRequest& r) {
        return CannedResponse{r.target == "/missing" ? 404 : 503, {}, "nope"};
    });
    mw::http::Request request;
    request.method = "GET";
    request.url = server.url() + "/missing";
    auto response = mw::http::send(request);
    CHECK(response.ok());
    CHECK_FALSE(response.success());
    CHECK(response.status == 404);
    request.url = server.url() + "/other";
    response = mw::http::send(request);
    CHECK(response.status == 503);
    CHECK(response.body == "nope");
    CHECK(server.requests().at(0).method == "GET");
}

TEST_CASE("send gives up at the deadline on a server that never answers") {
    TestHttpServer server([](const ReceivedRequest&) {
        CannedResponse canned;
        canned.never_answer = true;
        return canned;
    });
    mw::http::Request request;
    request.url = server.url() + "/";
    request.timeout = std::chrono::milliseconds(300);
    const auto response = mw::http::send(request);
    CHECK(response.status == 0);
    CHECK_THAT(response.error, Catch::Contains("timeout after 300 ms") && Catch::Contains("read response from") &&
                                   Catch::Contains("127.0.0.1:" + std::to_string(server.port())));
}

TEST_CASE("send refuses a response body over the limit") {
    TestHttpServer server([](const ReceivedRequest&) { return CannedResponse{200, {}, std::string(5000, 'x')}; });
    mw::http::Request request;
    request.url = server.url() + "/";
    request.max_response_bytes = 4096;
    auto response = mw::http::send(request);
    CHECK_FALSE(response.ok());
    CHECK(response.status == 0);
    CHECK_THAT(response.error, Catch::Contains("longer than 4096 bytes"));

    request.max_response_bytes = 5000;
    response = mw::http::send(request);
    CHECK(response.success());
    CHECK(response.body.size() == 5000);
}

TEST_CASE("send refuses a body over the limit when its length is not announced") {
    // No Content-Length, no chunking: the body ends when the server closes.
    TestHttpServer server([](const ReceivedRequest&) {
        CannedResponse canned;
        canned.raw = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + std::string(5000, 'y');
        return canned;
    });
    mw::http::Request request;
    request.url = server.url() + "/";
    request.max_response_bytes = 4096;
    auto response = mw::http::send(request);
    CHECK_THAT(response.error, Catch::Contains("longer than 4096 bytes"));
    request.max_response_bytes = 8192;
    response = mw::http::send(request);
    CHECK(response.success());
    CHECK(response.body == std::string(5000, 'y'));
}

TEST_CASE("send refuses a chunked body over the limit") {
    TestHttpServer server([](const ReceivedRequest&) {
        CannedResponse canned;
        const std::string chunk(3000, 'z');
        canned.raw = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nbb8\r\n" + chunk + "\r\nbb8\r\n" + chunk +
                     "\r\n0\r\n\r\n";
        return canned;
    });
    mw::http::Request request;
    request.url = server.url() + "/";
    request.max_response_bytes = 4096;
    auto response = mw::http::send(request);
    CHECK_THAT(response.error, Catch::Contains("longer than 4096 bytes"));
    request.max_response_bytes = 6000;
    response = mw::http::send(request);
    CHECK(response.success());
    CHECK(response.body.size() == 6000);
}

TEST_CASE("send names host, port and step when the connection is refused") {
    mw::http::Request request;
    request.url = closed_port_url();
    const auto response = mw::http::send(request);
    CHECK(response.status == 0);
    CHECK_THAT(response.error, Catch::Contains("connect to 127.0.0.1:") && Catch::Contains("refused"));
}

TEST_CASE("send reports a malformed response, a bad URL, a bad method and an injected header as errors") {
    TestHttpServer server([](const ReceivedRequest&) {
        CannedResponse canned;
        canned.raw = "NOT HTTP AT ALL\r\n\r\n";
        return canned;
    });
    mw::http::Request request;
    request.url = server.url() + "/";
    auto response = mw::http::send(request);
    CHECK_THAT(response.error, Catch::Contains("read response from 127.0.0.1"));

    request.url = "gopher://x/";
    CHECK_THAT(mw::http::send(request).error, Catch::Contains("scheme"));

    request.url = server.url() + "/";
    request.method = "FROB";
    CHECK_THAT(mw::http::send(request).error, Catch::Contains("unknown HTTP method \"FROB\""));

    request.method = "POST";
    request.headers = {{"X-Evil", "a\r\nInjected: yes"}};
    CHECK_THAT(mw::http::send(request).error, Catch::Contains("control character"));
    CHECK(server.requests().size() == 1);  // only the first request reached the server
}

TEST_CASE("send names the host when it cannot be resolved") {
    mw::http::Request request;
    request.url = "http://no-such-host.invalid/";  // RFC 6761: .invalid never resolves
    request.timeout = std::chrono::milliseconds(5000);
    const auto response = mw::http::send(request);
    CHECK(response.status == 0);
    CHECK_THAT(response.error, Catch::Contains("no-such-host.invalid:80"));
}

TEST_CASE("send over https fails at the handshake with a server that does not speak TLS") {
    // The plain-HTTP test server cannot parse a ClientHello and hangs up: the
    // client must report the failed handshake, never fall back to plain text.
    TestHttpServer server([](const ReceivedRequest&) { return CannedResponse{}; });
    mw::http::Request request;
    request.url = "https://127.0.0.1:" + std::to_string(server.port()) + "/";
    request.timeout = std::chrono::milliseconds(3000);
    const auto response = mw::http::send(request);
    CHECK(response.status == 0);
    CHECK_THAT(response.error, Catch::Contains("TLS handshake with 127.0.0.1:"));
}

TEST_CASE("send over https refuses a certificate that the system's CA store does not vouch for") {
    // A TLS server presenting a self-signed certificate for 127.0.0.1 (made
    // once with `openssl req -x509 -newkey rsa:2048 -nodes -days 36500
    // -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1,DNS:localhost`):
    // everything about it is right except that nobody trusted signed it.
    const std::string data = std::string(MODELWATCH_SOURCE_DIR) + "/tests/core/data/";
    boost::asio::ssl::context server_context(boost::asio::ssl::context::tls_server);
    server_context.use_certificate_chain_file(data + "self_signed_localhost.crt");
    server_context.use_private_key_file(data + "self_signed_localhost.key", boost::asio::ssl::context::pem);
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    const auto port = acceptor.local_endpoint().port();
    std::thread server([&] {
        boost::asio::ssl::stream<boost::asio::ip::tcp::socket> stream(io, server_context);
        boost::system::error_code ec;
        acceptor.accept(stream.next_layer(), ec);
        if (!ec) stream.handshake(boost::asio::ssl::stream_base::server, ec);  // fails: the client aborts
    });
    mw::http::Request request;
    request.url = "https://127.0.0.1:" + std::to_string(port) + "/";
    request.timeout = std::chrono::milliseconds(5000);
    const auto response = mw::http::send(request);
    server.join();
    CHECK(response.status == 0);
    CHECK_THAT(response.error, Catch::Contains("TLS handshake with 127.0.0.1:" + std::to_string(port)) &&
                                   Catch::Contains("certificate verify failed"));
}
