// The exact COPY text of records (no database): escaping, NULLs, numbers,
// timestamps and column order.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/time.h"
#include "store/copy_encoding.h"

using namespace mw;
using mw::store::append_outcome_rows;
using mw::store::append_prediction_rows;
using mw::store::append_timestamptz_us;
using mw::format_rfc3339_us;
using mw::parse_rfc3339_us;

namespace {

std::string rfc3339(std::int64_t ts_us) {
    std::string out;
    append_timestamptz_us(ts_us, out);
    return out;
}

ModelSchema two_feature_schema() {
    ModelSchema schema;
    schema.name = "churn";
    schema.features = {{"age", FeatureType::numeric}, {"plan", FeatureType::categorical}};
    return schema;
}

}  // namespace

TEST_CASE("timestamps are RFC 3339 UTC with microseconds", "[copy_encoding]") {
    CHECK(rfc3339(0) == "1970-01-01T00:00:00.000000Z");
    CHECK(rfc3339(-1) == "1969-12-31T23:59:59.999999Z");
    // 2024-02-29T23:59:59.123456Z, a leap day: 1709251199 s since the epoch.
    CHECK(rfc3339(1709251199123456) == "2024-02-29T23:59:59.123456Z");
    CHECK(rfc3339(253402300799999999) == "9999-12-31T23:59:59.999999Z");
    CHECK(rfc3339(-62135596800000000) == "0001-01-01T00:00:00.000000Z");
    CHECK(rfc3339(253402300800000000) == "10000-01-01T00:00:00.000000Z");
}

TEST_CASE("timestamps match core/time.h's format_rfc3339_us", "[copy_encoding]") {
    // Every 7,777,777,777,777 us (about 90 days) from year 0001 to 9999,
    // plus the edges: the two must never disagree, or the store would hold
    // another instant than the one the API showed.
    for (std::int64_t ts = -62135596800000000; ts < 253402300800000000; ts += 7'777'777'777'777) {
        INFO("ts_us = " << ts);
        REQUIRE(rfc3339(ts) == format_rfc3339_us(ts));
    }
    for (std::int64_t ts : {std::int64_t{0}, std::int64_t{-1}, std::int64_t{1}, std::int64_t{951782400000000}}) {
        INFO("ts_us = " << ts);
        CHECK(rfc3339(ts) == format_rfc3339_us(ts));
    }
}

TEST_CASE("year 0 and earlier are written the way PostgreSQL reads them (BC)", "[copy_encoding]") {
    // RFC 3339 "0000-06-01T00:00:00Z" is 1 BC, which PostgreSQL rejects as
    // year 0000 and accepts as "0001-06-01 ... BC".
    const auto year_zero = parse_rfc3339_us("0000-06-01T00:00:00Z");
    REQUIRE(year_zero);
    CHECK(rfc3339(*year_zero) == "0001-06-01T00:00:00.000000Z BC");
    // Year 0 is a leap year (divisible by 400): 366 days back is 2 BC, same day.
    CHECK(rfc3339(*year_zero - 366LL * 86'400'000'000) == "0002-06-01T00:00:00.000000Z BC");
    // The era changes between 1 BC and AD 1; far back, RFC 3339's negative years.
    const std::int64_t first_ad_us = -62'135'596'800'000'000;  // date -u -d 0001-01-01 +%s
    CHECK(rfc3339(first_ad_us) == "0001-01-01T00:00:00.000000Z");
    CHECK(rfc3339(first_ad_us - 1) == "0001-12-31T23:59:59.999999Z BC");
    CHECK(format_rfc3339_us(first_ad_us - 366LL * 86'400'000'000 * 10) == "-0010-12-25T00:00:00.000000Z");
    CHECK(rfc3339(first_ad_us - 366LL * 86'400'000'000 * 10) == "0011-12-25T00:00:00.000000Z BC");
}

TEST_CASE("a prediction row has the documented columns, NULLs and JSON objects", "[copy_encoding]") {
    PredictionBatch batch;
    batch.model = "churn";
    Prediction record;
    record.id = "r1";
    record.ts_us = 1'000'000;
    record.model_version = "v2";
    record.features = {Value{41.5}, Value{}};
    record.undeclared_features = {{"extra", Value{true}}};
    record.label = "yes";
    record.score = 0.1;
    record.attributes = {{"sex", "f"}, {"region", "eu"}};
    batch.records.push_back(record);

    std::string out;
    append_prediction_rows(batch, two_feature_schema(), 2'000'000, out);
    CHECK(out ==
          "churn\tr1\t1970-01-01T00:00:01.000000Z\tv2\t{\"age\":41.5,\"plan\":null,\"extra\":true}\tyes\t\\N\t0.1\t"
          "{\"sex\":\"f\",\"region\":\"eu\"}\t1970-01-01T00:00:02.000000Z\n");
}

TEST_CASE("missing optional fields are NULL and empty objects stay objects", "[copy_encoding]") {
    PredictionBatch batch;
    batch.model = "m";
    batch.records.push_back(Prediction{.id = "x", .ts_us = 0});
    std::string out;
    append_prediction_rows(batch, ModelSchema{}, 0, out);
    CHECK(out == "m\tx\t1970-01-01T00:00:00.000000Z\t\\N\t{}\t\\N\t\\N\t\\N\t{}\t1970-01-01T00:00:00.000000Z\n");
}

TEST_CASE("COPY escapes backslash, tab, newline and carriage return in text fields", "[copy_encoding]") {
    OutcomeBatch batch;
    batch.model = "a\tb";
    batch.records.push_back(Outcome{.id = "x\\y\nz\r.", .ts_us = 0, .label = "\\.", .value = std::nullopt});
    std::string out;
    append_outcome_rows(batch, 0, out);
    CHECK(out ==
          "a\\tb\tx\\\\y\\nz\\r.\t1970-01-01T00:00:00.000000Z\t\\\\.\t\\N\t1970-01-01T00:00:00.000000Z\n");
}

TEST_CASE("JSON strings are escaped per RFC 8259, then COPY-escaped", "[copy_encoding]") {
    PredictionBatch batch;
    batch.model = "m";
    Prediction record;
    record.id = "x";
    record.undeclared_features = {{"say \"hi\"", Value{std::string("back\\slash\ttab\x01")}}};
    batch.records.push_back(record);
    std::string out;
    append_prediction_rows(batch, ModelSchema{}, 0, out);
    // JSON: {"say \"hi\"":"back\\slash\ttab\u0001"}; COPY doubles each backslash.
    CHECK(out.find("\t{\"say \\\\\"hi\\\\\"\":\"back\\\\\\\\slash\\\\ttab\\\\u0001\"}\t") != std::string::npos);
}

TEST_CASE("NUL bytes become U+FFFD, which PostgreSQL can store", "[copy_encoding]") {
    OutcomeBatch batch;
    batch.model = "m";
    batch.records.push_back(Outcome{.id = std::string("a\0b", 3), .ts_us = 0});
    std::string out;
    append_outcome_rows(batch, 0, out);
    CHECK(out.starts_with("m\ta\xEF\xBF\xBD" "b\t"));
}

TEST_CASE("numbers are shortest round-trip; non-finite values are JSON null or SQL NaN/Infinity", "[copy_encoding]") {
    const double inf = std::numeric_limits<double>::infinity();
    PredictionBatch batch;
    batch.model = "m";
    Prediction record;
    record.id = "x";
    record.features = {Value{0.1}, Value{1e21}, Value{std::nan("")}, Value{-inf}, Value{false}};
    record.value = -inf;
    record.score = std::nan("");
    batch.records.push_back(record);
    ModelSchema schema;
    for (const char* name : {"a", "b", "c", "d", "e"}) schema.features.push_back({name, FeatureType::numeric});
    std::string out;
    append_prediction_rows(batch, schema, 0, out);
    CHECK(out.find("\t{\"a\":0.1,\"b\":1e+21,\"c\":null,\"d\":null,\"e\":false}\t\\N\t-Infinity\tNaN\t{}\t") !=
          std::string::npos);
}

TEST_CASE("a batch appends one row per record after what out holds", "[copy_encoding]") {
    OutcomeBatch batch;
    batch.model = "m";
    for (int i = 0; i < 3; ++i)
        batch.records.push_back(Outcome{.id = std::to_string(i), .ts_us = 0, .label = std::nullopt, .value = i * 0.5});
    std::string out = "kept\n";
    append_outcome_rows(batch, 0, out);
    CHECK(out.starts_with("kept\nm\t0\t"));
    CHECK(std::count(out.begin(), out.end(), '\n') == 4);
    CHECK(out.find("\nm\t2\t1970-01-01T00:00:00.000000Z\t\\N\t1\t1970-01-01T00:00:00.000000Z\n") != std::string::npos);
}
