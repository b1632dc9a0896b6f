#include <catch2/catch.hpp>

#include "config/values.h"

using namespace mw::config;

TEST_CASE("sizes accept bytes and decimal or binary units") {
    CHECK(*parse_size_bytes("1048576").value == 1048576);
    CHECK(*parse_size_bytes("500KB").value == 500'000);
    CHECK(*parse_size_bytes("64MiB").value == 64ull << 20);
    CHECK(*parse_size_bytes("1GiB").value == 1ull << 30);
    CHECK(*parse_size_bytes("2 TB").value == 2'000'000'000'000ull);
    CHECK(*parse_size_bytes("7B").value == 7);
}

TEST_CASE("sizes reject unknown units, fractions, signs and overflow") {
    for (const char* text : {"", "MiB", "64mib", "64XB", "1.5GiB", "-1", "+1", "64  MiB", "0x10", "64MiBs"}) {
        INFO(text);
        const auto parsed = parse_size_bytes(text);
        CHECK_FALSE(parsed.value);
        CHECK(parsed.error.find("expected a size") != std::string::npos);
    }
    const auto huge = parse_size_bytes("20000000TiB");
    CHECK_FALSE(huge.value);
    CHECK(huge.error == "size \"20000000TiB\" is too large");
    CHECK_FALSE(parse_unsigned("18446744073709551616").value);  // 2^64
    CHECK(*parse_unsigned("18446744073709551615").value == 18446744073709551615ull);
}

TEST_CASE("durations convert to the field's unit and must be whole") {
    CHECK(*parse_duration("250", "ms").value == 250);
    CHECK(*parse_duration("250ms", "ms").value == 250);
    CHECK(*parse_duration("10s", "ms").value == 10'000);
    CHECK(*parse_duration("5m", "ms").value == 300'000);
    CHECK(*parse_duration("2h", "s").value == 7200);
    CHECK(*parse_duration("3ms", "us").value == 3000);
    const auto fraction = parse_duration("1500us", "ms");
    CHECK_FALSE(fraction.value);
    CHECK(fraction.error == "duration \"1500us\" is not a whole number of ms");
    const auto bad = parse_duration("10 sec", "ms");
    CHECK_FALSE(bad.value);
    CHECK(bad.error == "expected a duration such as 250 (in ms), \"250ms\", \"10s\" or \"5m\", got \"10 sec\"");
    CHECK_FALSE(parse_duration("1.5s", "ms").value);
    CHECK_FALSE(parse_duration("s", "ms").value);
}

TEST_CASE("listen endpoints are host:port with an optional bracketed IPv6 host") {
    const auto v4 = parse_listen("127.0.0.1:8470");
    REQUIRE(v4.value);
    CHECK(v4.value->host == "127.0.0.1");
    CHECK(v4.value->port == 8470);
    const auto any_port = parse_listen("0.0.0.0:0");
    REQUIRE(any_port.value);
    CHECK(any_port.value->port == 0);
    const auto v6 = parse_listen("[::1]:9000");
    REQUIRE(v6.value);
    CHECK(v6.value->host == "::1");
    CHECK(v6.value->port == 9000);
    for (const char* text : {"8470", ":8470", "127.0.0.1:", "127.0.0.1:65536", "::1:80", "host:-1", "a b:1"}) {
        INFO(text);
        CHECK_FALSE(parse_listen(text).value);
    }
}

TEST_CASE("listen takes an IP address, never a name the daemon would fail to bind at start") {
    const auto name = parse_listen("localhost:8470");
    REQUIRE_FALSE(name.value);
    CHECK(name.error == "\"localhost\" is not an IP address: the daemon binds an address and does not resolve "
                        "names; write \"127.0.0.1:8470\" or \"[::1]:8470\" for loopback, \"0.0.0.0:8470\" for "
                        "every IPv4 interface");
    for (const char* text : {"example.com:80", "127.0.0.1.5:80", "[localhost]:80", "256.1.1.1:80", "[::1:80"}) {
        INFO(text);
        CHECK_FALSE(parse_listen(text).value);
    }
    for (const char* text : {"[::]:80", "[::ffff:10.0.0.1]:80", "10.1.2.3:80"}) {
        INFO(text);
        CHECK(parse_listen(text).value);
    }
}

TEST_CASE("names allow [A-Za-z0-9_.-] up to a length") {
    CHECK(is_valid_name("credit-default_v2.1", 64));
    CHECK(is_valid_name(std::string(64, 'a'), 64));
    CHECK_FALSE(is_valid_name(std::string(65, 'a'), 64));
    CHECK_FALSE(is_valid_name("", 64));
    CHECK_FALSE(is_valid_name("a b", 64));
    CHECK_FALSE(is_valid_name("a/b", 64));
    CHECK_FALSE(is_valid_name("caf\xc3\xa9", 64));
}

TEST_CASE("token hashes are 64 hex digits, stored lowercase") {
    const std::string upper(64, 'A');
    const auto parsed = parse_sha256_hex(upper);
    REQUIRE(parsed.value);
    CHECK(*parsed.value == std::string(64, 'a'));
    CHECK_FALSE(parse_sha256_hex(std::string(63, 'a')).value);
    CHECK_FALSE(parse_sha256_hex(std::string(63, 'a') + "g").value);
    // The reference file's placeholder is refused, saying so.
    const auto placeholder = parse_sha256_hex(std::string(64, '0'));
    CHECK_FALSE(placeholder.value);
    CHECK(placeholder.error.find("placeholder") != std::string::npos);
}

TEST_CASE("sizes and durations are formatted in the largest exact unit") {
    CHECK(format_size_bytes(64ull << 20) == "64MiB");
    CHECK(format_size_bytes(500'000) == "500KB");
    CHECK(format_size_bytes(1023) == "1023B");
    CHECK(format_size_bytes(0) == "0B");
    CHECK(format_duration(10'000, "ms") == "10s");
    CHECK(format_duration(300'000, "ms") == "5m");
    CHECK(format_duration(250, "ms") == "250ms");
    CHECK(format_duration(0, "us") == "0us");
    CHECK(format_duration(14 * 86400, "s") == "14d");
    CHECK(format_duration(36 * 3600, "s") == "36h");
    REQUIRE(parse_duration("14d", "s").value);
    CHECK(*parse_duration("14d", "s").value == 14 * 86400);
}

TEST_CASE("edit distance counts insertions, deletions and substitutions") {
    CHECK(edit_distance("listen", "listen") == 0);
    CHECK(edit_distance("lsiten", "listen") == 2);
    CHECK(edit_distance("max_bytes", "max_byte") == 1);
    CHECK(edit_distance("", "abc") == 3);
    CHECK(edit_distance("kitten", "sitting") == 3);
}
