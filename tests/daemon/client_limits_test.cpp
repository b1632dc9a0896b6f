#include <catch2/catch.hpp>

#include <utility>  // before asio: Boost 1.74 + g++ 12 C++20 needs std::exchange declared

#include <boost/asio/ip/address.hpp>

#include "daemon/client_limits.h"

using mw::daemon::ClientKey;
using mw::daemon::ClientLimits;

namespace {
ClientKey key(const char* address) { return ClientKey::of(boost::asio::ip::make_address(address)); }
}  // namespace

TEST_CASE("client keys: IPv4 by address, IPv4-mapped as IPv4, IPv6 by /64") {
    CHECK(key("192.0.2.7") == key("::ffff:192.0.2.7"));
    CHECK(key("192.0.2.7").to_string() == "192.0.2.7");
    CHECK_FALSE(key("192.0.2.7") == key("192.0.2.8"));
    CHECK(key("2001:db8:1:2::1") == key("2001:db8:1:2:ffff:ffff:ffff:ffff"));
    CHECK_FALSE(key("2001:db8:1:2::1") == key("2001:db8:1:3::1"));
    CHECK(key("2001:db8:1:2::1").to_string() == "2001:db8:1:2::/64");
    CHECK(key("127.0.0.1").to_string() == "127.0.0.1");
    // IPv4 and IPv6 never share a key.
    CHECK_FALSE(key("0.0.0.1") == key("::1"));
}

TEST_CASE("client limits: connections per client are capped, others unaffected, and freed on close") {
    ClientLimits limits(2, 1);
    const auto a = key("10.0.0.1");
    const auto b = key("10.0.0.2");
    CHECK(limits.try_open(a));
    CHECK(limits.try_open(a));
    CHECK_FALSE(limits.try_open(a));
    CHECK(limits.try_open(b));
    limits.close(a);
    CHECK(limits.try_open(a));
    CHECK(limits.clients() == 2);
    limits.close(a);
    limits.close(a);
    limits.close(b);
    CHECK(limits.clients() == 0);  // the table holds only clients with something open
}

TEST_CASE("client limits: bodies in flight per client are capped separately") {
    ClientLimits limits(8, 2);
    const auto a = key("10.0.0.1");
    REQUIRE(limits.try_open(a));
    CHECK(limits.try_start_body(a));
    CHECK(limits.try_start_body(a));
    CHECK_FALSE(limits.try_start_body(a));
    CHECK(limits.try_start_body(key("10.0.0.9")));
    limits.end_body(a);
    CHECK(limits.try_start_body(a));
    // Closing the connection keeps the client while its bodies are in flight.
    limits.close(a);
    CHECK(limits.clients() == 2);
    limits.end_body(a);
    limits.end_body(a);
    limits.end_body(key("10.0.0.9"));
    CHECK(limits.clients() == 0);
}
