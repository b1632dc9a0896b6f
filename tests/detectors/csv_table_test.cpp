#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include "detectors/csv_table.h"

using mw::drift::CsvLimits;
using mw::drift::read_csv;

namespace {

mw::drift::CsvTable parse(const std::string& text, const CsvLimits& limits = {}) {
    std::istringstream in(text);
    return read_csv(in, "t.csv", limits);
}

}  // namespace

TEST_CASE("csv: quoted fields keep separators, doubled quotes and newlines", "[drift][csv]") {
    const auto table = parse("\xEF\xBB\xBFname,note\r\n\"a,b\",\"say \"\"hi\"\"\"\r\nc,\"two\nlines\"\nd,\n");
    REQUIRE(table.ok());
    REQUIRE(table.header == std::vector<std::string>{"name", "note"});
    REQUIRE(table.rows.size() == 3);
    CHECK(table.rows[0][0] == "a,b");
    CHECK(table.rows[0][1] == "say \"hi\"");
    CHECK(table.rows[1][1] == "two\nlines");
    CHECK(table.rows[2][1].empty());
    CHECK(table.row_lines == std::vector<std::uint64_t>{2, 3, 5});
    CHECK(table.column_index("note") == 1);
    CHECK(table.column_index("absent") == -1);
}

TEST_CASE("csv: a ragged row is an error naming its line", "[drift][csv]") {
    const auto table = parse("a,b\n1,2\n\"x\ny\",3\n4\n");
    REQUIRE_FALSE(table.ok());
    CHECK(table.error == "t.csv: line 5: expected 2 fields (as the header), got 1");
}

TEST_CASE("csv: an unclosed quote names the line where it opened", "[drift][csv]") {
    const auto table = parse("a,b\n1,2\n3,\"open\n4,5\n");
    REQUIRE_FALSE(table.ok());
    CHECK(table.error == "t.csv: line 3: field 2: quoted field is never closed");
}

TEST_CASE("csv: stray quotes and text after a closing quote are refused", "[drift][csv]") {
    CHECK(parse("a\nab\"c\n").error == "t.csv: line 2: field 1: a quote inside an unquoted field");
    CHECK(parse("a,b\n\"x\"y,1\n").error == "t.csv: line 2: field 1: text after the closing quote");
}

TEST_CASE("csv: sizes are bounded", "[drift][csv]") {
    CsvLimits limits;
    limits.max_field_bytes = 8;
    CHECK(parse("a\n123456789\n", limits).error == "t.csv: line 2: field 1 longer than 8 bytes");
    limits = {};
    limits.max_columns = 2;
    CHECK(parse("a,b,c\n", limits).error == "t.csv: line 1: more than 2 fields");
    limits = {};
    limits.max_rows = 1;
    CHECK(parse("a\n1\n2\n", limits).error == "t.csv: line 3: more than 1 rows");
    limits = {};
    limits.max_input_bytes = 10;
    CHECK(parse("a\n1\n2\n3\n4\n5\n6\n", limits).error == "t.csv: line 6: input larger than 10 bytes");
}

TEST_CASE("csv: header problems", "[drift][csv]") {
    CHECK(parse("").error == "t.csv: line 1: empty input: expected a header row");
    CHECK(parse("a,,b\n").error == "t.csv: line 1: header column 2 has no name");
    CHECK(parse("a,b,a\n").error == "t.csv: line 1: header names column 'a' twice");
    CHECK(parse("\n\na,,b\n").error == "t.csv: line 3: header column 2 has no name");
}

TEST_CASE("csv: a table read from memory is the table read from a stream", "[drift][csv]") {
    const std::string text = "x,y\n1,\"a\nb\"\n2,3\n";
    const auto from_text = read_csv(std::string_view(text), "t.csv");
    const auto from_stream = parse(text);
    REQUIRE(from_text.ok());
    CHECK(from_text.rows == from_stream.rows);
    CHECK(from_text.row_lines == std::vector<std::uint64_t>{2, 4});
    CHECK(read_csv(std::string_view("x\n1,2\n"), "t.csv").error ==
          "t.csv: line 2: expected 1 fields (as the header), got 2");
}
