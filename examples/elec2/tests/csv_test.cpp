#include <catch2/catch.hpp>

#include "examples/elec2/csv.h"

using mw::elec2::column_index;
using mw::elec2::parse_csv;

TEST_CASE("csv: plain records with LF or CRLF ends and no final line break") {
    const auto table = parse_csv("a,b,c\r\n1,2,3\n4,,6");
    REQUIRE(table.ok());
    CHECK(table.value.header == std::vector<std::string>{"a", "b", "c"});
    REQUIRE(table.value.records.size() == 2);
    CHECK(table.value.records[0] == std::vector<std::string>{"1", "2", "3"});
    CHECK(table.value.records[1] == std::vector<std::string>{"4", "", "6"});
    CHECK(table.value.record_lines == std::vector<std::size_t>{2, 3});
    CHECK(column_index(table.value.header, "c") == 2);
    CHECK(column_index(table.value.header, "d") == -1);
}

TEST_CASE("csv: quoted fields hold commas, doubled quotes and line breaks (RFC 4180 section 2)") {
    const auto table = parse_csv("id,text\n\"x,1\",\"he said \"\"hi\"\"\"\n\"y\",\"two\nlines\"\n\"\",z\n");
    REQUIRE(table.ok());
    REQUIRE(table.value.records.size() == 3);
    CHECK(table.value.records[0] == std::vector<std::string>{"x,1", "he said \"hi\""});
    CHECK(table.value.records[1] == std::vector<std::string>{"y", "two\nlines"});
    CHECK(table.value.records[2] == std::vector<std::string>{"", "z"});
    // The record after a quoted line break starts two lines further down.
    CHECK(table.value.record_lines == std::vector<std::size_t>{2, 3, 5});
}

TEST_CASE("csv: malformed documents are errors naming the line") {
    SECTION("unterminated quote") {
        const auto table = parse_csv("a,b\n1,\"open\n");
        REQUIRE_FALSE(table.ok());
        CHECK(table.error == "line 2: unterminated quoted field");
    }
    SECTION("wrong field count") {
        const auto table = parse_csv("a,b\n1,2\n1,2,3\n");
        REQUIRE_FALSE(table.ok());
        CHECK(table.error == "line 3: 3 fields, the header has 2");
    }
    SECTION("quote inside an unquoted field") {
        const auto table = parse_csv("a,b\n1,x\"y\n");
        REQUIRE_FALSE(table.ok());
        CHECK(table.error.rfind("line 2:", 0) == 0);
    }
    SECTION("text after a closing quote") {
        const auto table = parse_csv("a,b\n1,\"x\"y\n");
        REQUIRE_FALSE(table.ok());
        CHECK(table.error.rfind("line 2:", 0) == 0);
    }
    SECTION("empty document") { CHECK_FALSE(parse_csv("").ok()); }
}
