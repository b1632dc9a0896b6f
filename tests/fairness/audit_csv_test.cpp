// The audit's CSV reader on well-formed and hostile input.
#include <catch2/catch.hpp>

#include <sstream>

#include "fairness/audit_csv.h"

using namespace mw::fairness;

namespace {

CsvAuditSpec spec() {
    CsvAuditSpec s;
    s.sensitive_columns = {"sex"};
    s.y_true_column = "y";
    s.y_pred_column = "p";
    s.score_column = "s";
    return s;
}

CsvAuditRead read(const std::string& text, const CsvAuditSpec& s = spec()) {
    std::istringstream in(text);
    return read_audit_csv(in, s);
}

}  // namespace

TEST_CASE("quoted fields, doubled quotes, newlines in quotes, CRLF and a BOM") {
    const auto r = read("\xEF\xBB\xBFid,sex,y,p,s\r\n"
                        "1,\"Fe\"\"male\",1,0,0.25\r\n"
                        "2,\"Male, of a kind\",0,0,0.5\n"
                        "3,\"two\nlines\",1,1,1\n"
                        "4, Male ,yes,1,0\n");
    REQUIRE(r.ok());
    CHECK(r.rows_rejected == 0);
    REQUIRE(r.data.rows() == 4);
    const auto& sex = r.data.attributes[0];
    CHECK(sex.values == std::vector<std::string>{"Fe\"male", "Male, of a kind", "two\nlines", "Male"});
    CHECK(r.data.y_true == std::vector<std::uint8_t>{1, 0, 1, 0});  // "yes" is not the positive label "1"
    CHECK(r.data.y_pred == std::vector<std::uint8_t>{0, 0, 1, 1});
    CHECK(r.data.score == std::vector<double>{0.25, 0.5, 1.0, 0.0});
}

TEST_CASE("bad rows are skipped and named by their line number") {
    const auto r = read("id,sex,y,p,s\n"
                        "1,F,1,0,0.2\n"
                        "2,F,1,0\n"
                        "3,\"M\n\",1,0,1.5\n"
                        "4,M,,0,0.1\n"
                        "5,M,1,0,abc\n"
                        "\n"
                        "6,,0,1,0.9\n");
    REQUIRE(r.ok());
    CHECK(r.data.rows() == 2);
    CHECK(r.rows_rejected == 4);
    REQUIRE(r.problems.size() == 4);
    CHECK(r.problems[0] == "line 3: expected 5 fields as in the header, got 4");
    CHECK(r.problems[1] == "line 4: column 's' is '1.5', not a number in [0, 1]");
    CHECK(r.problems[2] == "line 6: column 'y' is empty");
    CHECK(r.problems[3] == "line 7: column 's' is 'abc', not a number in [0, 1]");
    CHECK(r.data.attributes[0].values == std::vector<std::string>{"F", "(missing)"});
}

TEST_CASE("a malformed or oversized file is refused with a reason") {
    CHECK(read("").error == "the input is empty (no header row)");
    CHECK(read("id,sex,y,p\n1,F,1,0\n").error == "line 1: the header has no column 's' (--score)");
    CHECK(read("id,sex,y,p,s\n").error == "the input has a header but no rows");
    CHECK(read("id,sex,y,p,s\n1,\"F,1,0,0.5\n2,M,1,0,0.5\n").error == "line 2: field 2: quoted field is never closed");

    CsvAuditSpec small = spec();
    small.limits.max_field_bytes = 8;
    CHECK(read("id,sex,y,p,s\n1,ABCDEFGHIJKLMNOP,1,0,0.5\n", small).error == "line 2: field 2 longer than 8 bytes");
    small = spec();
    small.limits.max_bytes = 20;
    CHECK(read("id,sex,y,p,s\n1,F,1,0,0.5\n2,M,1,0,0.5\n", small).error == "line 2: input larger than 20 bytes");
    small = spec();
    small.limits.max_distinct_values = 2;
    CHECK(read("id,sex,y,p,s\n1,a,1,0,0.5\n2,b,1,0,0.5\n3,c,1,0,0.5\n", small).error ==
          "line 4: column 'sex' has more than 2 distinct values; is it really a group attribute?");
    small = spec();
    small.limits.max_rejected_rows = 1;
    CHECK(read("id,sex,y,p,s\n1,a\n2,b\n3,a,1,0,0.5\n", small).error ==
          "more than 1 rows rejected, the last at line 3; first: line 2: expected 5 fields as in the header, got 2");
    small = spec();
    small.limits.max_columns = 3;
    CHECK(read("id,sex,y,p,s\n", small).error == "line 1: more than 3 fields");
    CHECK(read("id,sex,y,p,s\n1,a\n").error ==
          "every row was rejected; first: line 2: expected 5 fields as in the header, got 2");
}

TEST_CASE("text after a closing quote and a quote inside a field are kept, as Python's csv reads them") {
    const auto r = read("id,sex,y,p,s\n1,\"Fe\"male,1,0,0.5\n2,M\"x,0,0,0.5\n");
    REQUIRE(r.ok());
    CHECK(r.rows_rejected == 0);
    CHECK(r.data.attributes[0].values == std::vector<std::string>{"Female", "M\"x"});
}
