// The CSV reader (core/csv.h) on RFC 4180 input, on the ways real files bend
// it (BOM, CRLF, blank lines, no final line end), on malformed and oversized
// input, and a property test: random tables written with quoting read back
// equal, from a string_view and from a stream read in tiny chunks.
#include <algorithm>
#include <cstdint>
#include <random>
#include <sstream>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include "core/csv.h"

using mw::csv::Options;
using mw::csv::Quotes;
using mw::csv::Reader;
using mw::csv::Record;
using mw::csv::Status;
using mw::csv::Table;

namespace {

using Rows = std::vector<std::vector<std::string>>;

// Reads `text` through an istream with the given chunk size.
Table read_stream(std::string_view text, Options csv_options, std::size_t chunk_bytes) {
    csv_options.read_chunk_bytes = chunk_bytes;
    std::istringstream in{std::string(text)};
    return mw::csv::read_table(in, csv_options);
}

// Reads `text` from a string_view and from streams in chunks of 1, 2, 3 and
// 64 KiB bytes, checks the four agree, and returns the first.
Table read_all_ways(std::string_view text, const Options& csv_options = {}) {
    Table table = mw::csv::read_table(text, csv_options);
    for (const std::size_t chunk : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{64} << 10}) {
        INFO("chunk " << chunk << " bytes");
        const Table streamed = read_stream(text, csv_options, chunk);
        CHECK(streamed.header == table.header);
        CHECK(streamed.rows == table.rows);
        CHECK(streamed.row_lines == table.row_lines);
        REQUIRE(streamed.ok() == table.ok());
        if (!table.ok()) {
            CHECK(streamed.error->to_string() == table.error->to_string());
            CHECK(streamed.error->column == table.error->column);
        }
    }
    return table;
}

std::string error_of(std::string_view text, const Options& csv_options = {}) {
    const Table table = read_all_ways(text, csv_options);
    return table.ok() ? "(no error)" : table.error->to_string();
}

// Writes one field as RFC 4180 says: quoted when it holds a separator, a
// quote or a line end, or when asked; quotes inside doubled.
std::string quote_field(const std::string& field, bool always) {
    if (!always && field.find_first_of(",\"\r\n") == std::string::npos) return field;
    std::string out = "\"";
    for (const char c : field) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}

// A streambuf that hands out `text` and then fails, as a disk read error does.
class FailingBuffer : public std::streambuf {
public:
    explicit FailingBuffer(std::string text) : text_(std::move(text)) {
        setg(text_.data(), text_.data(), text_.data() + text_.size());
    }

protected:
    int_type underflow() override { throw std::runtime_error("disk on fire"); }

private:
    std::string text_;
};

}  // namespace

TEST_CASE("csv: quoted fields keep separators, doubled quotes and line ends", "[csv]") {
    const Table table = read_all_ways("name,note\n\"a,b\",\"say \"\"hi\"\"\"\nc,\"two\nlines\"\n\"\",\"\"\"\"\n");
    REQUIRE(table.ok());
    CHECK(table.header == std::vector<std::string>{"name", "note"});
    CHECK(table.rows == Rows{{"a,b", "say \"hi\""}, {"c", "two\nlines"}, {"", "\""}});
    CHECK(table.row_lines == std::vector<std::uint64_t>{2, 3, 5});
    CHECK(table.column_index("note") == 1);
    CHECK(table.column_index("absent") == -1);
}

TEST_CASE("csv: CRLF, LF and lone CR end records; CRLF inside quotes is kept", "[csv]") {
    const Table table = read_all_ways("a,b\r\n1,\"x\r\ny\"\r\n2,3\n4,5\r6,7");
    REQUIRE(table.ok());
    CHECK(table.rows == Rows{{"1", "x\r\ny"}, {"2", "3"}, {"4", "5"}, {"6", "7"}});
    CHECK(table.row_lines == std::vector<std::uint64_t>{2, 4, 5, 6});
}

TEST_CASE("csv: a UTF-8 byte-order mark is skipped, only at the start", "[csv]") {
    const Table table = read_all_ways("\xEF\xBB\xBF" "a,b\n1,\xEF\xBB\xBF\n");
    REQUIRE(table.ok());
    CHECK(table.header == std::vector<std::string>{"a", "b"});
    CHECK(table.rows == Rows{{"1", "\xEF\xBB\xBF"}});
    CHECK(read_all_ways("\xEF\xBB\xBF").error->to_string() == "line 1: empty input: expected a header row");
}

TEST_CASE("csv: empty fields, and the same rows with or without a final line end", "[csv]") {
    const Rows expected{{"", "", ""}, {"1", "", ""}, {"", "", "3"}, {"", "", ""}};
    for (const std::string ending : {"", "\n", "\r\n"}) {
        const Table table = read_all_ways("a,b,c\n,,\n1,,\n,,3\n\"\",,\"\"" + ending);
        REQUIRE(table.ok());
        CHECK(table.rows == expected);
    }
    const Table last_empty = read_all_ways("a,b\n1,");
    REQUIRE(last_empty.ok());
    CHECK(last_empty.rows == Rows{{"1", ""}});
}

TEST_CASE("csv: blank lines are skipped but counted; \"\" is a record", "[csv]") {
    const Table table = read_all_ways("\n\na\n1\n\n\r\n\"\"\n2\n\n");
    REQUIRE(table.ok());
    CHECK(table.header == std::vector<std::string>{"a"});
    CHECK(table.rows == Rows{{"1"}, {""}, {"2"}});
    CHECK(table.row_lines == std::vector<std::uint64_t>{4, 7, 8});

    Options keep;
    keep.skip_blank_lines = false;
    keep.header = false;
    Reader reader(std::string_view("1\n\n\"\"\n"), keep);
    Record record;
    REQUIRE(reader.next(record) == Status::record);
    CHECK_FALSE(record.blank());
    REQUIRE(reader.next(record) == Status::record);
    CHECK(record.blank());
    CHECK(record.line() == 2);
    REQUIRE(reader.next(record) == Status::record);
    CHECK_FALSE(record.blank());
    CHECK(record[0].empty());
    CHECK(reader.next(record) == Status::end);
}

TEST_CASE("csv: the streaming reader reuses its record and reports the end once", "[csv]") {
    const std::string text = "x,y\n1,2\n3,4\n";
    std::istringstream in(text);
    Reader reader(in);
    REQUIRE(reader.read_header() == Status::record);
    CHECK(reader.header() == std::vector<std::string>{"x", "y"});
    Record record;
    REQUIRE(reader.next(record) == Status::record);
    CHECK(record.size() == 2);
    CHECK(record[0] == "1");
    CHECK(record[1] == "2");
    REQUIRE(reader.next(record) == Status::record);
    CHECK(record.to_strings() == std::vector<std::string>{"3", "4"});
    CHECK(record.line() == 3);
    CHECK(reader.next(record) == Status::end);
    CHECK(reader.next(record) == Status::end);
    CHECK(reader.rows_read() == 2);
}

TEST_CASE("csv: from a string_view, fields without quotes are viewed in the input, quoted ones copied", "[csv]") {
    const std::string text = "a,b,c\nplain,\"quo,ted\",\n\"x\"\"y\",,last";
    Reader reader{std::string_view(text)};
    Record record;
    auto in_input = [&](std::string_view field) {
        return field.data() >= text.data() && field.data() + field.size() <= text.data() + text.size();
    };
    REQUIRE(reader.next(record) == Status::record);
    REQUIRE(record.to_strings() == std::vector<std::string>{"plain", "quo,ted", ""});
    CHECK(record[0].data() == text.data() + 6);  // not copied
    CHECK_FALSE(in_input(record[1]));            // quoted: copied, its bytes differ from the input's
    CHECK(in_input(record[2]));
    REQUIRE(reader.next(record) == Status::record);
    CHECK(record.to_strings() == std::vector<std::string>{"x\"y", "", "last"});
    CHECK_FALSE(in_input(record[0]));
    CHECK(in_input(record[2]));
    CHECK(record.line() == 3);
    CHECK(reader.next(record) == Status::end);
}

TEST_CASE("csv: without a header every record is a row", "[csv]") {
    Options options;
    options.header = false;
    const Table table = read_all_ways("1,2\n3\n", options);
    REQUIRE(table.ok());
    CHECK(table.header.empty());
    CHECK(table.rows == Rows{{"1", "2"}, {"3"}});
    CHECK(read_all_ways("", options).ok());
}

TEST_CASE("csv: a ragged row is an error naming its line, unless the caller judges it", "[csv]") {
    const std::string text = "a,b\n1,2\n\"x\ny\",3\n4\n5,6,7\n";
    const Table refused = read_all_ways(text);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error->to_string() == "line 5: expected 2 fields (as the header), got 1");
    CHECK(refused.error->line == 5);
    CHECK(refused.error->column == 0);
    CHECK(refused.rows.empty());

    Options ragged;
    ragged.allow_ragged = true;
    const Table accepted = read_all_ways(text, ragged);
    REQUIRE(accepted.ok());
    CHECK(accepted.rows == Rows{{"1", "2"}, {"x\ny", "3"}, {"4"}, {"5", "6", "7"}});
}

TEST_CASE("csv: malformed quoting names the line and the field", "[csv]") {
    CHECK(error_of("a,b\n1,2\n3,\"open\n4,5\n") == "line 3: field 2: quoted field is never closed");
    CHECK(error_of("a\nab\"c\n") == "line 2: field 1: a quote inside an unquoted field");
    CHECK(error_of("a,b\n1,\"x\"y\n") == "line 2: field 2: text after the closing quote");
    CHECK(error_of("a,b\n1,\"x\" \n") == "line 2: field 2: text after the closing quote");
    CHECK(error_of("a,b\n1,\"x\ny\"\"z\"w\n") == "line 3: field 2: text after the closing quote");
    const Table table = read_all_ways("a,b,c\n1,2,\"3\n");
    REQUIRE_FALSE(table.ok());
    CHECK(table.error->line == 2);
    CHECK(table.error->column == 3);
}

TEST_CASE("csv: lenient quotes read as Python's csv module does", "[csv]") {
    // Python 3.11: list(csv.reader(['a,b', 'x"y,"ab"c', '"p"q"r,s'])) ==
    //   [['a', 'b'], ['x"y', 'abc'], ['pq"r', 's']]
    Options lenient;
    lenient.quotes = Quotes::lenient;
    const Table table = read_all_ways("a,b\nx\"y,\"ab\"c\n\"p\"q\"r,s\n", lenient);
    REQUIRE(table.ok());
    CHECK(table.rows == Rows{{"x\"y", "abc"}, {"pq\"r", "s"}});
    CHECK(error_of("a\n\"open\n", lenient) == "line 2: field 1: quoted field is never closed");
}

TEST_CASE("csv: every size is bounded, exactly at the limit is allowed", "[csv]") {
    Options options;
    options.limits.max_field_bytes = 8;
    CHECK(read_all_ways("a\n12345678\n", options).ok());
    CHECK(read_all_ways("a\n\"1234567\"\"\"\n", options).ok());  // 8 bytes once unquoted
    CHECK(error_of("a\n123456789\n", options) == "line 2: field 1 longer than 8 bytes");
    CHECK(error_of("a,b\n1,\"12\n3456789\"\n", options) == "line 2: field 2 longer than 8 bytes");  // where it starts

    options = {};
    options.limits.max_columns = 2;
    CHECK(read_all_ways("a,b\n1,2\n", options).ok());
    CHECK(error_of("a,b,c\n", options) == "line 1: more than 2 fields");
    CHECK(error_of("a,b\n1,2,\n", options) == "line 2: more than 2 fields");
    CHECK(read_all_ways("a,b\n1,2,\n", options).error->column == 3);

    options = {};
    options.limits.max_rows = 2;
    CHECK(read_all_ways("a\n1\n\n2\n", options).ok());
    CHECK(error_of("a\n1\n2\n3\n", options) == "line 4: more than 2 rows");

    options = {};
    options.limits.max_record_bytes = 5;
    CHECK(read_all_ways("a,b\n12,345\n", options).ok());
    CHECK(error_of("a,b\n12,3456\n", options) == "line 2: record longer than 5 bytes");
    // The limit the bytes cross first is the one reported, however the input is cut.
    options.limits.max_field_bytes = 8;
    options.limits.max_record_bytes = 10;
    CHECK(error_of("a,b\n123456,123456789\n", options) == "line 2: record longer than 10 bytes");
    options.limits.max_record_bytes = 20;
    CHECK(error_of("a,b\n123456,123456789\n", options) == "line 2: field 2 longer than 8 bytes");

    options = {};
    options.limits.max_input_bytes = 10;
    CHECK(read_all_ways("a\n1\n2\n3\n4\n", options).ok());  // exactly 10 bytes
    CHECK(error_of("a\n1\n2\n3\n4\n5", options) == "line 6: input larger than 10 bytes");
    CHECK(error_of("a\n\"1\n2\n3\n4\n5\"", options) == "line 5: input larger than 10 bytes");
    options.limits.max_input_bytes = 0;
    CHECK(error_of("a", options) == "line 1: input larger than 0 bytes");
}

TEST_CASE("csv: a read error is an error, not the end of the input", "[csv]") {
    FailingBuffer buffer("a,b\n1,2\n3,");
    std::istream in(&buffer);
    Options options;
    options.read_chunk_bytes = 4;
    Reader reader(in, options);
    Record record;
    REQUIRE(reader.next(record) == Status::record);
    REQUIRE(reader.next(record) == Status::error);
    CHECK(reader.error().to_string() == "line 3: read error");
    CHECK(reader.next(record) == Status::error);
}

TEST_CASE("csv: random tables written with quoting read back equal", "[csv][property]") {
    std::mt19937_64 random(20261125);
    const std::string alphabet = "ab,\"\r\n xé";  // separators, quotes, line ends, a UTF-8 byte pair
    auto pick = [&random](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(random); };
    for (int round = 0; round < 500; ++round) {
        const std::size_t columns = 1 + pick(4);
        const std::size_t row_count = pick(6);
        Rows table(row_count + 1);
        for (auto& row : table)
            for (std::size_t c = 0; c < columns; ++c) {
                std::string field;
                const std::size_t length = pick(3) == 0 ? 0 : pick(6);
                for (std::size_t i = 0; i < length; ++i) field += alphabet[pick(alphabet.size())];
                row.push_back(field);
            }
        const bool always_quote = pick(2) == 0;
        const std::string line_end = pick(2) == 0 ? "\n" : "\r\n";
        std::string text = pick(4) == 0 ? "\xEF\xBB\xBF" : "";
        std::vector<std::uint64_t> lines;
        for (std::size_t r = 0; r < table.size(); ++r) {
            if (r > 0) lines.push_back(1 + static_cast<std::uint64_t>(std::count(text.begin(), text.end(), '\n')));
            for (std::size_t c = 0; c < columns; ++c) {
                if (c > 0) text += ',';
                // A lone empty field would be a blank line: it must be quoted.
                text += quote_field(table[r][c], always_quote || (columns == 1 && table[r][c].empty()));
            }
            if (r + 1 < table.size() || pick(2) == 0) text += line_end;
        }
        INFO("round " << round << ": " << text);
        const Table read = read_all_ways(text);
        REQUIRE(read.ok());
        CHECK(read.header == table[0]);
        CHECK(read.rows == Rows(table.begin() + 1, table.end()));
        CHECK(read.row_lines == lines);
    }
}

TEST_CASE("csv: input_offset is the bytes moved past, from a string_view and from a stream", "[csv]") {
    const std::string text = "\xEF\xBB\xBFx,y\r\n1,\"a\nb\"\n\n22,3";
    Options options;
    options.read_chunk_bytes = 3;
    std::istringstream in(text);
    Reader from_text(std::string_view(text), options);
    Reader from_stream(in, options);
    for (Reader* reader : {&from_text, &from_stream}) {
        CHECK(reader->input_offset() == (reader == &from_text ? 3u : 0u));  // the BOM is skipped up front
        REQUIRE(reader->read_header() == Status::record);
        CHECK(reader->input_offset() == 8);  // BOM, "x,y", CRLF
        Record record;
        REQUIRE(reader->next(record) == Status::record);
        CHECK(reader->input_offset() == 16);  // 1,"a<LF>b"<LF>
        REQUIRE(reader->next(record) == Status::record);  // the blank line is skipped
        CHECK(reader->input_offset() == text.size());
        CHECK(reader->next(record) == Status::end);
        CHECK(reader->input_offset() == text.size());
    }
}
