#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include "detectors/anomaly_series.h"

using mw::anomaly::parse_timestamp;
using mw::anomaly::read_series;

TEST_CASE("anomaly series: timestamps in NAB, RFC 3339 and epoch forms", "[anomaly]") {
    // 2014-04-10 07:15:00 UTC = 1397114100 (python: calendar.timegm).
    CHECK(parse_timestamp("2014-04-10 07:15:00") == 1397114100.0);
    CHECK(parse_timestamp("2014-04-10 07:15:00.000000") == 1397114100.0);
    CHECK(parse_timestamp("2014-04-10T07:15:00Z") == 1397114100.0);
    CHECK(parse_timestamp("2014-04-10t07:15:00z") == 1397114100.0);
    CHECK(parse_timestamp("2014-04-10T09:15:00+02:00") == 1397114100.0);
    CHECK(parse_timestamp("2014-04-10T01:45:00-05:30") == 1397114100.0);
    CHECK(parse_timestamp("2014-04-10T07:15:00.25Z") == 1397114100.25);
    CHECK(parse_timestamp("1397114100") == 1397114100.0);
    CHECK(parse_timestamp("1397114100.5") == 1397114100.5);
    CHECK(parse_timestamp("1970-01-01 00:00:00") == 0.0);
    CHECK(parse_timestamp("2016-02-29 00:00:00") == 1456704000.0);

    for (const char* bad : {"", "yesterday", "2014-04-10", "2014-02-30 00:00:00", "2014-04-10 24:00:00",
                            "2014-04-10 07:15", "2014-04-10T07:15:00+0200", "2014-04-10 07:15:00 UTC",
                            "2014-04-10 07:15:00.", "12:00", "1e400"}) {
        INFO(bad);
        CHECK_FALSE(parse_timestamp(bad).has_value());
    }
}

TEST_CASE("anomaly series: reads points and keeps the timestamp text", "[anomaly]") {
    std::istringstream in("timestamp,value\r\n2014-04-10 07:15:00,1.5\r\n\n2014-04-10 07:20:00,-2\n");
    const auto series = read_series(in, "s.csv");
    REQUIRE(series.ok());
    REQUIRE(series.points.size() == 2);
    CHECK(series.points[0].timestamp == "2014-04-10 07:15:00");
    CHECK(series.points[0].timestamp_s == 1397114100.0);
    CHECK(series.points[0].value == 1.5);
    CHECK(series.points[1].timestamp_s == 1397114400.0);
    CHECK(series.points[1].value == -2.0);
    CHECK(series.out_of_order_lines == 0);
}

TEST_CASE("anomaly series: a bad line is an error naming the line", "[anomaly]") {
    struct Case {
        std::string input;
        std::string expected;
    };
    const Case cases[] = {
        {"", "s.csv: empty input, expected the header 'timestamp,value'"},
        {"time,value\n1,2\n", "s.csv line 1: expected the header 'timestamp,value', got 'time,value'"},
        {"timestamp,value\n1,2\n3\n", "s.csv line 3: expected 'timestamp,value', got '3'"},
        {"timestamp,value\n1,2\nnoon,3\n", "s.csv line 3: timestamp 'noon' is not"},
        {"timestamp,value\n\n1,2\n2,abc\n", "s.csv line 4: value 'abc' is not a finite number"},
        {"timestamp,value\n1,inf\n", "s.csv line 2: value 'inf' is not a finite number"},
        {"timestamp,value\n1,\n", "s.csv line 2: value '' is not a finite number"},
    };
    for (const auto& c : cases) {
        std::istringstream in(c.input);
        const auto series = read_series(in, "s.csv");
        INFO(series.error);
        CHECK_FALSE(series.ok());
        CHECK(series.error.rfind(c.expected, 0) == 0);
    }
}

TEST_CASE("anomaly series: lines out of time order are kept and counted", "[anomaly]") {
    std::istringstream in("timestamp,value\n100,1\n200,2\n150,3\n300,4\n250,5\n");
    const auto series = read_series(in, "s.csv");
    REQUIRE(series.ok());
    CHECK(series.points.size() == 5);
    CHECK(series.out_of_order_lines == 2);
    CHECK(series.first_out_of_order_line == 4);
}

TEST_CASE("anomaly series: CSV quoting is read, extra columns ignored, bad quoting named", "[anomaly]") {
    std::istringstream in("\"timestamp\",\"value\",note\n\"2014-04-10 07:15:00\",\"1.5\",\"a, b\"\n100,2,\"x\ny\"\n");
    const auto series = read_series(in, "s.csv");
    REQUIRE(series.ok());
    REQUIRE(series.points.size() == 2);
    CHECK(series.points[0].timestamp == "2014-04-10 07:15:00");
    CHECK(series.points[0].value == 1.5);
    CHECK(series.points[1].timestamp_s == 100.0);

    std::istringstream open("timestamp,value\n1,2\n\"3,4\n5,6\n");
    CHECK(read_series(open, "s.csv").error == "s.csv line 3: field 1: quoted field is never closed");
    std::istringstream one_field("timestamp,value\n1,2\n\"3,4\"\n");
    CHECK(read_series(one_field, "s.csv").error == "s.csv line 3: expected 'timestamp,value', got '3,4' (1 field)");
}
