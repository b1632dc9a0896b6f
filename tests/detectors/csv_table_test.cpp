#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "detectors/csv_table.h"
#include "tests/support/temp_dir.h"

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

namespace {

// read_csv_columns reads files: writes `text` to one in a fresh directory.
mw::drift::CsvColumns read_columns_of(const std::string& text, const std::vector<std::string>& text_columns = {}) {
    const mw::testing::TempDir dir("mw-csv-columns");
    const std::string path = (dir.path() / "t.csv").string();
    mw::testing::write_text(path, text);
    return mw::drift::read_csv_columns(path, text_columns);
}

}  // namespace

TEST_CASE("csv columns: numbers as doubles with NaN for missing cells, text columns as text", "[drift][csv]") {
    const auto table = read_columns_of("x,kind,y\n1.5,a,NA\n-2,b,3e2\n,c,null\n");
    REQUIRE(table.ok());
    REQUIRE(table.rows == 3);
    REQUIRE(table.columns.size() == 3);
    const auto& x = table.columns[0];
    CHECK(x.numeric);
    REQUIRE(x.numbers.size() == 3);
    CHECK(x.numbers[0] == 1.5);
    CHECK(x.numbers[1] == -2.0);
    CHECK(std::isnan(x.numbers[2]));
    CHECK(x.texts.empty());
    const auto& kind = table.columns[table.column_index("kind")];
    CHECK_FALSE(kind.numeric);
    CHECK(kind.texts == std::vector<std::string>{"a", "b", "c"});
    const auto& y = table.columns[2];
    CHECK(y.numeric);
    CHECK(std::isnan(y.numbers[0]));
    CHECK(y.numbers[1] == 300.0);
}

TEST_CASE("csv columns: a column that turns to text after numbers keeps every cell's own text", "[drift][csv]") {
    // "1.0" must stay "1.0" (not "1"): the second pass reads the file's text.
    const auto table = read_columns_of("code,n\n1.0,1\n,2\n007,3\nx9,4\ninf,5\n");
    REQUIRE(table.ok());
    const auto& code = table.columns[0];
    CHECK_FALSE(code.numeric);
    CHECK(code.numbers.empty());
    CHECK(code.texts == std::vector<std::string>{"1.0", "", "007", "x9", "inf"});
    CHECK(table.columns[1].numeric);
}

TEST_CASE("csv columns: a missing-only start before text, and columns asked for as text", "[drift][csv]") {
    const auto table = read_columns_of("a,b\n,1\nNA,2\nred,3\n", {"b"});
    REQUIRE(table.ok());
    CHECK(table.columns[0].texts == std::vector<std::string>{"", "", "red"});
    CHECK_FALSE(table.columns[1].numeric);
    CHECK(table.columns[1].texts == std::vector<std::string>{"1", "2", "3"});
}

TEST_CASE("csv columns: errors name the file and the line", "[drift][csv]") {
    const auto ragged = read_columns_of("a,b\n1,2\n3\n");
    CHECK_FALSE(ragged.ok());
    CHECK(ragged.error.find("t.csv: line 3") != std::string::npos);
    const auto twice = read_columns_of("a,a\n1,2\n");
    CHECK(twice.error.find("names column 'a' twice") != std::string::npos);
    const auto empty = read_columns_of("");
    CHECK(empty.error.find("empty input") != std::string::npos);
    const auto missing = mw::drift::read_csv_columns("/nonexistent/t.csv", {});
    CHECK(missing.error == "/nonexistent/t.csv: cannot open");
    const auto header_only = read_columns_of("a,b\n");
    REQUIRE(header_only.ok());
    CHECK(header_only.rows == 0);
    CHECK(header_only.columns.size() == 2);
}

TEST_CASE("number cells: the same double as std::from_chars, bit for bit, or refused as it refuses", "[drift][csv]") {
    // parse_number_cell reads plain decimals itself (Clinger's fast path) and
    // hands everything else to from_chars: both sides of that line, and
    // random decimals of every length around it.
    auto from_chars_value = [](std::string_view cell, double& value) {
        const auto [ptr, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), value);
        return ec == std::errc() && ptr == cell.data() + cell.size() && std::isfinite(value);
    };
    std::vector<std::string> cells = {"0", "-0", "-0.0000", "0.1", "1.5", "-2", "007", "00012.5000", "1.", ".5",
                                      "-.5", "-", "", ".", "+1", "1e3", "1E-2", "inf", "nan", "1.2.3", "1,5", " 1",
                                      "9007199254740992", "9007199254740993", "9007199254740993.0",
                                      "1234567890123456789", "12345678901234567890", "0.1234567890123456789",
                                      "1.0000000000000000000000", "0.0000000000000000000001", "179769313486231570e291",
                                      "-123456.7890", "4.35", "0.3", "2.675", "1e400"};
    std::mt19937_64 engine(17);
    for (int i = 0; i < 20000; ++i) {
        std::string cell = engine() % 2 ? "-" : "";
        const int before = static_cast<int>(engine() % 18) + 1;
        const int after = static_cast<int>(engine() % 24);
        for (int d = 0; d < before; ++d) cell += static_cast<char>('0' + engine() % 10);
        if (after > 0) cell += '.';
        for (int d = 0; d < after; ++d) cell += static_cast<char>('0' + engine() % 10);
        cells.push_back(cell);
    }
    for (const std::string& cell : cells) {
        INFO("cell '" << cell << "'");
        double expected = 0, actual = 0;
        const bool expected_ok = from_chars_value(cell, expected);
        REQUIRE(mw::drift::parse_number_cell(cell, actual) == expected_ok);
        if (expected_ok) CHECK(std::bit_cast<std::uint64_t>(actual) == std::bit_cast<std::uint64_t>(expected));
    }
}
