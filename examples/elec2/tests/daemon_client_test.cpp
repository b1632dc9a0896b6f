#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <catch2/catch.hpp>

#include "examples/elec2/daemon_client.h"

using namespace mw::elec2;
using tcp = boost::asio::ip::tcp;

TEST_CASE("the daemon URL must be plain http with a numeric port") {
    DaemonClientOptions options;
    options.base_url = "https://127.0.0.1:8470";
    CHECK_THAT(DaemonClient::create(options).error, Catch::Contains("only http:// URLs"));
    options.base_url = "http://127.0.0.1:84x0";
    CHECK_THAT(DaemonClient::create(options).error, Catch::Contains("expected http://host[:port]"));
    options.base_url = "http://127.0.0.1:8470/prefix/";
    CHECK(DaemonClient::create(options).ok());
}

TEST_CASE("a daemon that accepts the connection but never answers times out, and the client gives up") {
    // The kernel completes the connection from the listen backlog; nobody ever reads or answers.
    boost::asio::io_context context;
    tcp::acceptor silent(context, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    DaemonClientOptions options;
    options.base_url = "http://127.0.0.1:" + std::to_string(silent.local_endpoint().port());
    options.timeout = std::chrono::milliseconds(200);
    options.first_backoff = std::chrono::milliseconds(50);
    options.give_up_after = std::chrono::seconds(1);
    const auto client = DaemonClient::create(options);
    REQUIRE(client.ok());
    const auto posted = client.value.post("/v1/models/elec2/predictions", "[]");
    REQUIRE_FALSE(posted.ok());
    CHECK_THAT(posted.error, Catch::StartsWith("POST /v1/models/elec2/predictions: gave up after") &&
                                 Catch::Contains("read from 127.0.0.1"));
}
