#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <variant>

#include <fmt/format.h>

#include "collectors/ingest_parser.h"

namespace {

constexpr std::int64_t now_us = 1714564800LL * 1'000'000;  // 2024-05-01T12:00:00Z

mw::ModelSchema churn_schema() {
    mw::ModelSchema schema;
    schema.name = "churn";
    schema.features = {{"age", mw::FeatureType::numeric},
                       {"city", mw::FeatureType::categorical},
                       {"member", mw::FeatureType::boolean}};
    schema.prediction_type = mw::PredictionType::binary;
    schema.attributes = {"sex"};
    return schema;
}

std::shared_ptr<const mw::ModelSchema> shared(const mw::ModelSchema& schema) {
    return std::make_shared<const mw::ModelSchema>(schema);
}

mw::ModelSchema regression_schema() {
    mw::ModelSchema schema = churn_schema();
    schema.name = "price";
    schema.prediction_type = mw::PredictionType::regression;
    return schema;
}

mw::ParsedPredictions parse(std::string_view body, const mw::ParseLimits& limits = {}) {
    return mw::parse_predictions(body, shared(churn_schema()), limits, now_us);
}

mw::ParsedOutcomes parse_outcomes(std::string_view body, const mw::ModelSchema& schema = churn_schema()) {
    return mw::parse_outcomes(body, schema, mw::ParseLimits{}, now_us);
}

// A valid prediction with `fields` (a JSON fragment, may be empty) appended.
std::string record(std::string_view id, std::string_view fields = "") {
    return fmt::format(R"({{"id":"{}","features":{{"age":41,"city":"Lyon","member":true}},"prediction":"churn"{}{}}})",
                       id, fields.empty() ? "" : ",", fields);
}

// Parses `body_record` both as a one-record JSON array and as one NDJSON
// line, checks both forms reject it the same way, and returns the rejection.
mw::Rejection rejection_of(const std::string& body_record, const mw::ModelSchema& schema = churn_schema(),
                           const mw::ParseLimits& limits = {}) {
    const auto as_array = mw::parse_predictions("[" + body_record + "]", shared(schema), limits, now_us);
    const auto as_ndjson = mw::parse_predictions(body_record + "\n", shared(schema), limits, now_us);
    INFO(body_record);
    REQUIRE(as_array.body_error.empty());
    REQUIRE(as_ndjson.body_error.empty());
    REQUIRE(as_array.batch.records.empty());
    REQUIRE(as_array.rejections.size() == 1);
    REQUIRE(as_ndjson.rejections.size() == 1);
    CHECK(as_array.rejections[0].index == 0);
    CHECK(as_array.rejections[0].field == as_ndjson.rejections[0].field);
    CHECK(as_array.rejections[0].reason == as_ndjson.rejections[0].reason);
    return as_array.rejections[0];
}

mw::Prediction accepted_one(const std::string& body_record, const mw::ModelSchema& schema = churn_schema()) {
    const auto parsed = mw::parse_predictions("[" + body_record + "]", shared(schema), mw::ParseLimits{}, now_us);
    INFO(body_record);
    REQUIRE(parsed.body_error.empty());
    if (!parsed.rejections.empty()) FAIL(parsed.rejections[0].field << ": " << parsed.rejections[0].reason);
    REQUIRE(parsed.batch.records.size() == 1);
    return parsed.batch.records[0];
}

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("a JSON array and NDJSON of the same records parse to the same batch") {
    const std::string a =
        R"({"id":"r1","ts":"2024-05-01T11:00:00.25Z","model_version":"v3","features":{"age":41.5,"city":"Lyon","member":false},)"
        R"("prediction":"churn","score":0.75,"attributes":{"sex":"f","region":"west"}})";
    const std::string b = R"({"id":"r2","features":{"age":null,"city":"Paris"},"prediction":"stay"})";
    const auto as_array = parse("[" + a + ",\n " + b + "]");
    const auto as_ndjson = parse(a + "\r\n\n   \n" + b);
    for (const auto* parsed : {&as_array, &as_ndjson}) {
        REQUIRE(parsed->body_error.empty());
        REQUIRE(parsed->rejections.empty());
        REQUIRE(parsed->batch.records.size() == 2);
        CHECK(parsed->batch.model == "churn");
        const mw::Prediction& first = parsed->batch.records[0];
        CHECK(first.id == "r1");
        CHECK(first.ts_us == now_us - 3600LL * 1'000'000 + 250000);
        CHECK(first.model_version == "v3");
        REQUIRE(first.features.size() == 3);
        CHECK(std::get<double>(first.features[0]) == 41.5);
        CHECK(std::get<std::string>(first.features[1]) == "Lyon");
        CHECK(std::get<bool>(first.features[2]) == false);
        CHECK(first.undeclared_features.empty());
        CHECK(first.label == "churn");
        CHECK_FALSE(first.value.has_value());
        CHECK(first.score == 0.75);
        using Attribute = std::pair<std::string, std::string>;
        CHECK(first.attributes == std::vector<Attribute>{{"sex", "f"}, {"region", "west"}});
        const mw::Prediction& second = parsed->batch.records[1];
        CHECK(second.id == "r2");
        CHECK(second.ts_us == now_us);  // no ts: the arrival time
        CHECK(second.model_version.empty());
        CHECK(std::holds_alternative<std::monostate>(second.features[0]));  // null
        CHECK(std::get<std::string>(second.features[1]) == "Paris");
        CHECK(std::holds_alternative<std::monostate>(second.features[2]));  // absent
        CHECK_FALSE(second.score.has_value());
        CHECK(second.attributes.empty());
    }
}

TEST_CASE("the body as a whole") {
    SECTION("empty or blank is a body error") {
        for (std::string_view body : {"", "  \n\t\r\n "}) {
            const auto parsed = parse(body);
            CHECK(contains(parsed.body_error, "empty"));
            CHECK(parsed.batch.records.empty());
            CHECK(parsed.rejections.empty());
        }
    }
    SECTION("an empty array is zero records") {
        const auto parsed = parse(" [ ] ");
        CHECK(parsed.body_error.empty());
        CHECK(parsed.batch.records.empty());
        CHECK(parsed.rejections.empty());
    }
    SECTION("neither an array nor objects is a body error") {
        for (std::string_view body : {"\"r1\"", "42", "null", "true", "nul", "<xml/>", "\xff\xfe"}) {
            INFO(body);
            CHECK(contains(parse(body).body_error, "must start with '[' or '{'"));
        }
    }
    SECTION("malformed JSON in an array is a body error, nothing accepted") {
        for (const std::string& body : {"[" + record("a") + ",", "[" + record("a") + "] x",
                                        "[" + record("a") + "," + record("b").substr(1) + "]", std::string("[\"\xff\"]")}) {
            INFO(body);
            const auto parsed = parse(body);
            CHECK(contains(parsed.body_error, "not valid JSON"));
            CHECK(parsed.batch.records.empty());
            CHECK(parsed.rejections.empty());
        }
    }
    SECTION("records that are not objects are rejected one by one") {
        const auto parsed = parse("[1, \"r\", null, [], true, " + record("ok") + "]");
        REQUIRE(parsed.body_error.empty());
        REQUIRE(parsed.batch.records.size() == 1);
        CHECK(parsed.batch.records[0].id == "ok");
        REQUIRE(parsed.rejections.size() == 5);
        for (std::size_t i = 0; i < 5; ++i) {
            CHECK(parsed.rejections[i].index == i);
            CHECK(parsed.rejections[i].field.empty());
            CHECK(contains(parsed.rejections[i].reason, "must be a JSON object"));
        }
        CHECK(contains(parsed.rejections[3].reason, "an array"));
    }
    SECTION("an NDJSON line that is not an object is rejected alone") {
        const auto parsed = parse(record("a") + "\n[1]\n" + record("b"));
        REQUIRE(parsed.batch.records.size() == 2);
        REQUIRE(parsed.rejections.size() == 1);
        CHECK(parsed.rejections[0].index == 1);
        CHECK(contains(parsed.rejections[0].reason, "must be a JSON object"));
    }
}

TEST_CASE("a malformed NDJSON line rejects only that record, naming its line") {
    const std::string body = record("a") + "\n\n" + R"({"id":"b", "features": )" + "\n" + record("c") + "\n" +
                             record("d") + " " + record("e") + "\n";
    const auto parsed = parse(body);
    REQUIRE(parsed.body_error.empty());
    REQUIRE(parsed.batch.records.size() == 2);
    CHECK(parsed.batch.records[0].id == "a");
    CHECK(parsed.batch.records[1].id == "c");
    REQUIRE(parsed.rejections.size() == 2);
    // Indexes count records, not lines: the blank line 2 is not a record.
    CHECK(parsed.rejections[0].index == 1);
    CHECK(parsed.rejections[0].field.empty());
    CHECK(contains(parsed.rejections[0].reason, "line 3: malformed JSON"));
    CHECK(parsed.rejections[1].index == 3);
    CHECK(contains(parsed.rejections[1].reason, "line 5: malformed JSON"));
}

TEST_CASE("NaN, Infinity and numbers that overflow a double are refused") {
    for (std::string_view number : {"NaN", "Infinity", "-Infinity", "1e999", "-1e999", "100000000000000000000000"}) {
        INFO(number);
        const std::string bad = fmt::format(R"({{"id":"x","features":{{"age":{}}},"prediction":"churn"}})", number);
        // In an array there is no trustworthy record boundary after a bad token.
        const auto as_array = parse("[" + record("a") + "," + bad + "]");
        CHECK(contains(as_array.body_error, "not valid JSON"));
        CHECK(as_array.batch.records.empty());
        // In NDJSON only that line goes.
        const auto as_ndjson = parse(record("a") + "\n" + bad + "\n" + record("b"));
        REQUIRE(as_ndjson.body_error.empty());
        CHECK(as_ndjson.batch.records.size() == 2);
        REQUIRE(as_ndjson.rejections.size() == 1);
        CHECK(as_ndjson.rejections[0].index == 1);
        CHECK(contains(as_ndjson.rejections[0].reason, "line 2: malformed JSON"));
    }
    CHECK(contains(parse("[1e999]").body_error, "1e999 does not"));
}

TEST_CASE("nesting is bounded") {
    SECTION("10000 '[' is a body error, not a crash") {
        const auto parsed = parse(std::string(10000, '['));
        CHECK_FALSE(parsed.body_error.empty());
        CHECK(parsed.batch.records.empty());
        const auto closed = parse(std::string(10000, '[') + std::string(10000, ']'));
        CHECK(contains(closed.body_error, "deeper than 32 levels"));
    }
    SECTION("a too deep NDJSON line is rejected alone") {
        std::string deep;
        for (int i = 0; i < 5000; ++i) deep += R"({"a":)";
        deep += "1" + std::string(5000, '}');
        const auto parsed = parse(record("a") + "\n" + deep + "\n" + record("b"));
        REQUIRE(parsed.body_error.empty());
        CHECK(parsed.batch.records.size() == 2);
        REQUIRE(parsed.rejections.size() == 1);
        CHECK(parsed.rejections[0].index == 1);
        CHECK(contains(parsed.rejections[0].reason, "line 2: nests deeper than 32 levels"));
    }
    SECTION("max_depth counts the outer array; the parser follows changes between calls") {
        const std::string body = R"([{"id":"a","features":{"x":[1]},"prediction":"p"}])";  // 4 levels
        mw::ParseLimits shallow;
        shallow.max_depth = 3;
        CHECK(contains(parse(body, shallow).body_error, "deeper than 3 levels"));
        const auto deeper = parse(body);  // default 32: the record is read and its feature refused
        REQUIRE(deeper.body_error.empty());
        REQUIRE(deeper.rejections.size() == 1);
        CHECK(deeper.rejections[0].field == "features.x");
        CHECK(parse("[" + record("a") + "]", shallow).batch.records.size() == 1);
    }
}

TEST_CASE("max_records exceeded is a body error") {
    mw::ParseLimits limits;
    limits.max_records = 2;
    const std::string two = record("a") + "\n" + record("b") + "\n\n";
    CHECK(parse(two, limits).batch.records.size() == 2);  // exactly at the limit
    CHECK(parse("[" + record("a") + "," + record("b") + "]", limits).batch.records.size() == 2);
    const auto ndjson = parse(two + "[]\n", limits);  // the third record is not even valid
    CHECK(contains(ndjson.body_error, "more than 2 records"));
    CHECK(ndjson.batch.records.empty());
    CHECK(ndjson.rejections.empty());
    const auto array = parse("[" + record("a") + "," + record("b") + ",1]", limits);
    CHECK(contains(array.body_error, "more than 2 records"));
    CHECK(array.batch.records.empty());
    CHECK(array.rejections.empty());
}

TEST_CASE("unicode escapes in strings are decoded") {
    const auto p = accepted_one(
        R"({"id":"caf\u00e9-\u4e2d","features":{"city":"\u0041ix \ud83d\ude00","note":"tab\there"},"prediction":"\u0063hurn"})");
    CHECK(p.id == "caf\xc3\xa9-\xe4\xb8\xad");
    CHECK(std::get<std::string>(p.features[1]) == "Aix \xf0\x9f\x98\x80");
    REQUIRE(p.undeclared_features.size() == 1);
    CHECK(std::get<std::string>(p.undeclared_features[0].second) == "tab\there");
    CHECK(p.label == "churn");
    // A lone surrogate is not a character: malformed JSON.
    CHECK(contains(parse(R"([{"id":"\ud800"}])").body_error, "not valid JSON"));
}

TEST_CASE("id rules") {
    CHECK(accepted_one(R"({"id":42,"features":{},"prediction":"p"})").id == "42");
    CHECK(accepted_one(R"({"id":-7,"features":{},"prediction":"p"})").id == "-7");
    CHECK(accepted_one(R"({"id":18446744073709551615,"features":{},"prediction":"p"})").id == "18446744073709551615");
    CHECK(accepted_one(record(std::string(256, 'x'))).id.size() == 256);

    auto r = rejection_of(R"({"features":{},"prediction":"p"})");
    CHECK(r.field == "id");
    CHECK(contains(r.reason, "required"));
    r = rejection_of(record(""));
    CHECK(r.field == "id");
    CHECK(contains(r.reason, "empty"));
    r = rejection_of(record(std::string(257, 'x')));
    CHECK(r.field == "id");
    CHECK(contains(r.reason, "257 bytes, more than the limit of 256"));
    for (std::string_view id : {"a\\u0000b", "a\\nb", "\\u007f", "\\u0085"}) {
        r = rejection_of(record(id));
        CHECK(r.field == "id");
        CHECK(contains(r.reason, "control characters"));
    }
    for (std::string_view id : {"1.5", "1e3", "true", "null", "{}", "[\"a\"]"}) {
        INFO(id);
        r = rejection_of(fmt::format(R"({{"id":{},"features":{{}},"prediction":"p"}})", id));
        CHECK(r.field == "id");
        CHECK(contains(r.reason, "expected a string or an integer"));
    }
}

TEST_CASE("a NUL inside a feature string, label or attribute value is refused, other controls are kept") {
    const std::string nul_feature =
        R"({"id":"a","features":{"age":41,"city":"Ly\u0000on","member":true},"prediction":"churn"})";
    auto r = rejection_of(nul_feature);
    CHECK(r.field == "features.city");
    CHECK(r.reason == "the string contains a NUL character (U+0000), which the store cannot hold");
    r = rejection_of(R"({"id":"a","features":{"note":"\u0000"},"prediction":"churn"})");
    CHECK(r.field == "features.note");  // undeclared features too
    r = rejection_of(R"({"id":"a","features":{},"prediction":"ch\u0000urn"})");
    CHECK(r.field == "prediction");
    CHECK(contains(r.reason, "NUL character"));
    r = rejection_of(record("a", R"("attributes":{"sex":"f\u0000"})"));
    CHECK(r.field == "attributes.sex");
    CHECK(contains(r.reason, "NUL character"));
    const auto outcomes = parse_outcomes(R"([{"id":"a","label":"x\u0000"}])");
    REQUIRE(outcomes.rejections.size() == 1);
    CHECK(outcomes.rejections[0].field == "label");

    const auto kept = accepted_one(R"({"id":"a","features":{"city":"a\tb\u0001c\ufffd"},"prediction":"churn"})");
    CHECK(std::get<std::string>(kept.features[1]) == "a\tb\x01" "c\xEF\xBF\xBD");
}

TEST_CASE("the batch carries the schema its records were validated under") {
    const auto schema = shared(churn_schema());
    const auto parsed = mw::parse_predictions("[" + record("a") + "]", schema, {}, now_us);
    CHECK(parsed.batch.schema == schema);
    CHECK(parsed.batch.model == "churn");
    // Also when nothing was accepted, so that halves of a file-tail chunk merge.
    CHECK(mw::parse_predictions("nonsense", schema, {}, now_us).batch.schema == schema);
}

TEST_CASE("duplicate ids within a request: the later one is rejected") {
    for (const bool ndjson : {false, true}) {
        const std::string bad = R"({"id":"a","features":{"age":"x"},"prediction":"p"})";
        const std::string records[] = {bad, record("a"), record("b"), record("a"), R"({"id":"a"})"};
        std::string body = ndjson ? "" : "[";
        for (const auto& r : records) body += r + (ndjson ? "\n" : ",");
        if (!ndjson) body.back() = ']';
        const auto parsed = parse(body);
        REQUIRE(parsed.body_error.empty());
        REQUIRE(parsed.batch.records.size() == 2);
        CHECK(parsed.batch.records[0].id == "a");
        CHECK(parsed.batch.records[1].id == "b");
        REQUIRE(parsed.rejections.size() == 3);
        CHECK(parsed.rejections[0].index == 0);  // a rejected record does not claim its id
        CHECK(parsed.rejections[0].field == "features.age");
        CHECK(parsed.rejections[1].index == 3);
        CHECK(parsed.rejections[1].field == "id");
        CHECK(parsed.rejections[1].reason == "duplicate id within request, first at index 1");
        CHECK(parsed.rejections[2].index == 4);
        CHECK(parsed.rejections[2].field == "features");  // invalid for its own reason first
    }
    // Duplicates interleaved with other rejections: rejections stay in body order.
    const std::string bad = R"({"id":"z","features":[],"prediction":"p"})";
    const auto interleaved = parse(record("a") + "\n" + bad + "\n" + record("a") + "\n" + record("b") + "\n" + bad +
                                   "\n" + record("b") + "\n" + record("a") + "\n" + record("c"));
    REQUIRE(interleaved.batch.records.size() == 3);
    CHECK(interleaved.batch.records[0].id == "a");
    CHECK(interleaved.batch.records[1].id == "b");
    CHECK(interleaved.batch.records[2].id == "c");
    REQUIRE(interleaved.rejections.size() == 5);
    const std::size_t expected_index[] = {1, 2, 4, 5, 6};
    const char* expected_reason[] = {"expected an object of feature values, got an array",
                                     "duplicate id within request, first at index 0",
                                     "expected an object of feature values, got an array",
                                     "duplicate id within request, first at index 3",
                                     "duplicate id within request, first at index 0"};
    for (std::size_t i = 0; i < 5; ++i) {
        CHECK(interleaved.rejections[i].index == expected_index[i]);
        CHECK(interleaved.rejections[i].reason == expected_reason[i]);
    }
    // 42 and "42" are the same stored id.
    const auto parsed = parse(R"([{"id":42,"features":{},"prediction":"p"},{"id":"42","features":{},"prediction":"p"}])");
    REQUIRE(parsed.rejections.size() == 1);
    CHECK(parsed.rejections[0].index == 1);
}

TEST_CASE("ts rules") {
    CHECK(accepted_one(record("a", R"("ts":null)")).ts_us == now_us);
    CHECK(accepted_one(record("a", R"("ts":"2024-05-01T14:00:00+02:00")")).ts_us == now_us);
    CHECK(accepted_one(record("a", R"("ts":"1970-01-01T00:00:00Z")")).ts_us == 0);
    // Exactly the allowed skew ahead is still fine.
    CHECK(accepted_one(record("a", R"("ts":"2024-05-01T13:00:00Z")")).ts_us == now_us + 3600LL * 1'000'000);

    auto r = rejection_of(record("a", R"("ts":"2024-05-01T14:00:00Z")"));
    CHECK(r.field == "ts");
    CHECK(r.reason == "ts is 7200 s ahead of the server clock (at most 3600 s allowed)");
    r = rejection_of(record("a", R"("ts":"2024-05-01T13:00:00.000001Z")"));
    CHECK(contains(r.reason, "ahead of the server clock"));
    r = rejection_of(record("a", R"("ts":"2024-02-30T00:00:00Z")"));
    CHECK(r.field == "ts");
    CHECK(contains(r.reason, "is not an RFC 3339 timestamp"));
    r = rejection_of(record("a", R"("ts":"1969-12-31T23:59:59Z")"));
    CHECK(r.field == "ts");
    CHECK(contains(r.reason, "outside the accepted range"));
    r = rejection_of(record("a", R"("ts":"1970-01-01T00:30:00+01:00")"));
    CHECK(contains(r.reason, "outside the accepted range"));
    r = rejection_of(record("a", R"("ts":1714564800)"));
    CHECK(r.field == "ts");
    CHECK(contains(r.reason, "expected an RFC 3339 string"));

    mw::ParseLimits strict;
    strict.max_future_skew_us = 0;
    r = rejection_of(record("a", R"("ts":"2024-05-01T12:00:01Z")"), churn_schema(), strict);
    CHECK(r.reason == "ts is 1 s ahead of the server clock (at most 0 s allowed)");
    // Dates beyond 2262 are refused by the range even with an unlimited skew.
    strict.max_future_skew_us = INT64_MAX;
    r = rejection_of(record("a", R"("ts":"2263-01-01T00:00:00Z")"), churn_schema(), strict);
    CHECK(contains(r.reason, "outside the accepted range"));
}

TEST_CASE("feature values must match their declared type") {
    struct Case {
        const char* features;
        const char* field;
        const char* reason_part;
    };
    const Case cases[] = {
        {R"({"age":"41"})", "features.age", "numeric feature: expected a finite number or null, got the string \"41\""},
        {R"({"age":true})", "features.age", "numeric feature: expected a finite number or null, got true"},
        {R"({"age":[41]})", "features.age", "got an array"},
        {R"({"age":{"v":1}})", "features.age", "got an object"},
        {R"({"member":1})", "features.member", "boolean feature: expected true, false or null, got the number 1"},
        {R"({"member":"true"})", "features.member", "boolean feature"},
        {R"({"city":true})", "features.city", "categorical feature: expected a string, an integer or null, got true"},
        {R"({"city":1.5})", "features.city", "got the number 1.5"},
        {R"({"city":{}})", "features.city", "categorical feature"},
        {R"({"city":"ok","other":{"a":1}})", "features.other", "expected a number, string, bool or null, got an object"},
        {R"({"other":[]})", "features.other", "got an array"},
    };
    for (const auto& c : cases) {
        const auto r = rejection_of(fmt::format(R"({{"id":"a","features":{},"prediction":"p"}})", c.features));
        CHECK(r.field == c.field);
        CHECK(contains(r.reason, c.reason_part));
    }
}

TEST_CASE("accepted feature values, nulls and undeclared features") {
    const auto p = accepted_one(
        R"({"id":"a","features":{"zip":"94110","age":-3,"city":94110,"member":null,"extra_n":2.5,"extra_b":false,)"
        R"("extra_null":null},"prediction":"p"})");
    CHECK(std::get<double>(p.features[0]) == -3.0);
    CHECK(std::get<std::string>(p.features[1]) == "94110");  // an integer category as its text
    CHECK(std::holds_alternative<std::monostate>(p.features[2]));
    REQUIRE(p.undeclared_features.size() == 4);
    CHECK(p.undeclared_features[0].first == "zip");
    CHECK(std::get<std::string>(p.undeclared_features[0].second) == "94110");
    CHECK(p.undeclared_features[1].first == "extra_n");
    CHECK(std::get<double>(p.undeclared_features[1].second) == 2.5);
    CHECK(std::get<bool>(p.undeclared_features[2].second) == false);
    CHECK(std::holds_alternative<std::monostate>(p.undeclared_features[3].second));

    // Whole doubles are categories too (pandas writes int columns with NaN as floats).
    CHECK(std::get<std::string>(accepted_one(R"({"id":"a","features":{"city":3.0},"prediction":"p"})").features[1]) ==
          "3");
    CHECK(std::get<double>(accepted_one(R"({"id":"a","features":{"age":1e308},"prediction":"p"})").features[0]) ==
          1e308);
    CHECK(std::get<bool>(accepted_one(R"({"id":"a","features":{"member":true},"prediction":"p"})").features[2]));
    // Features may be empty but not absent.
    CHECK(accepted_one(R"({"id":"a","features":{},"prediction":"p"})").features.size() == 3);
    auto r = rejection_of(R"({"id":"a","prediction":"p"})");
    CHECK(r.field == "features");
    CHECK(contains(r.reason, "required"));
    r = rejection_of(R"({"id":"a","features":null,"prediction":"p"})");
    CHECK(r.field == "features");
    CHECK(contains(r.reason, "expected an object of feature values, got null"));
}

TEST_CASE("feature names, counts and lengths are bounded") {
    auto r = rejection_of(R"({"id":"a","features":{"age":1,"age":2},"prediction":"p"})");
    CHECK(r.field == "features.age");
    CHECK(contains(r.reason, "occurs twice"));
    r = rejection_of(R"({"id":"a","features":{"x":1,"y":2,"x":3},"prediction":"p"})");
    CHECK(r.field == "features.x");
    CHECK(contains(r.reason, "occurs twice"));
    r = rejection_of(R"({"id":"a","features":{"":1},"prediction":"p"})");
    CHECK(r.field == "features");
    CHECK(contains(r.reason, "name is empty"));
    r = rejection_of(R"({"id":"a","features":{"a\u0001":1},"prediction":"p"})");
    CHECK(contains(r.reason, "control characters"));
    r = rejection_of(fmt::format(R"({{"id":"a","features":{{"{}":1}},"prediction":"p"}})", std::string(257, 'n')));
    CHECK(r.field == "features." + std::string(64, 'n') + "...");  // long names are cut in messages
    CHECK(contains(r.reason, "257 bytes"));

    const std::string long_city(1025, 'c');
    r = rejection_of(fmt::format(R"({{"id":"a","features":{{"city":"{}"}},"prediction":"p"}})", long_city));
    CHECK(r.field == "features.city");
    CHECK(contains(r.reason, "1025 bytes, more than the limit of 1024"));
    CHECK(std::get<std::string>(
              accepted_one(fmt::format(R"({{"id":"a","features":{{"city":"{}"}},"prediction":"p"}})",
                                       long_city.substr(1)))
                  .features[1])
              .size() == 1024);
    r = rejection_of(fmt::format(R"({{"id":"a","features":{{"free":"{}"}},"prediction":"p"}})", long_city));
    CHECK(r.field == "features.free");

    mw::ParseLimits limits;
    limits.max_features = 3;
    r = rejection_of(R"({"id":"a","features":{"a":1,"b":2,"c":3,"d":4},"prediction":"p"})", churn_schema(), limits);
    CHECK(r.field == "features");
    CHECK(contains(r.reason, "more than the limit of 3 features"));
    // The default allows 4096.
    std::string many = R"({"id":"a","features":{)";
    for (int i = 0; i < 4096; ++i) many += fmt::format(R"({}"f{}":{})", i ? "," : "", i, i);
    CHECK(accepted_one(many + R"(},"prediction":"p"})").undeclared_features.size() == 4096);
    r = rejection_of(many + R"(,"f4096":1},"prediction":"p"})");
    CHECK(contains(r.reason, "more than the limit of 4096 features"));
}

TEST_CASE("prediction follows the schema's prediction type") {
    CHECK(accepted_one(R"({"id":"a","features":{},"prediction":true})").label == "true");
    CHECK(accepted_one(R"({"id":"a","features":{},"prediction":1})").label == "1");
    CHECK(accepted_one(R"({"id":"a","features":{},"prediction":2.0})").label == "2");
    auto r = rejection_of(R"({"id":"a","features":{},"prediction":0.7})");
    CHECK(r.field == "prediction");
    CHECK(contains(r.reason, "a binary model's label is a class (a string, bool or integer), got the number 0.7"));
    r = rejection_of(R"({"id":"a","features":{},"prediction":""})");
    CHECK(r.field == "prediction");
    CHECK(contains(r.reason, "empty"));
    r = rejection_of(R"({"id":"a","features":{}})");
    CHECK(r.field == "prediction");
    CHECK(contains(r.reason, "required"));
    r = rejection_of(R"({"id":"a","features":{},"prediction":null})");
    CHECK(r.field == "prediction");

    const auto regression = regression_schema();
    const auto p = accepted_one(R"({"id":"a","features":{},"prediction":12.5})", regression);
    CHECK(p.value == 12.5);
    CHECK_FALSE(p.label.has_value());
    CHECK(accepted_one(R"({"id":"a","features":{},"prediction":-3})", regression).value == -3.0);
    for (std::string_view bad : {R"("12.5")", "true", "null", "[1]"}) {
        r = rejection_of(fmt::format(R"({{"id":"a","features":{{}},"prediction":{}}})", bad), regression);
        CHECK(r.field == "prediction");
        CHECK(contains(r.reason, "a regression model's value is a finite number"));
    }
}

TEST_CASE("score is an optional probability") {
    CHECK(accepted_one(record("a", R"("score":0)")).score == 0.0);
    CHECK(accepted_one(record("a", R"("score":1)")).score == 1.0);
    CHECK_FALSE(accepted_one(record("a", R"("score":null)")).score.has_value());
    for (std::string_view bad : {"1.5", "-0.1", "1.0000001", R"("0.5")", "true", "[0.5]"}) {
        INFO(bad);
        const auto r = rejection_of(record("a", fmt::format(R"("score":{})", bad)));
        CHECK(r.field == "score");
        CHECK(contains(r.reason, "expected a probability in [0, 1]"));
    }
}

TEST_CASE("attributes are stored as strings") {
    const auto p = accepted_one(
        record("a", R"("attributes":{"sex":"f","age_band":3,"vip":true,"ratio":0.1,"big":1e20,"gone":null})"));
    using Attribute = std::pair<std::string, std::string>;
    CHECK(p.attributes ==
          std::vector<Attribute>{{"sex", "f"}, {"age_band", "3"}, {"vip", "true"}, {"ratio", "0.1"}, {"big", "1e+20"}});

    auto r = rejection_of(record("a", R"("attributes":{"sex":{"v":"f"}})"));
    CHECK(r.field == "attributes.sex");
    CHECK(contains(r.reason, "expected a string, number or bool, got an object"));
    r = rejection_of(record("a", R"("attributes":{"sex":["f"]})"));
    CHECK(r.field == "attributes.sex");
    r = rejection_of(record("a", R"("attributes":["sex"])"));
    CHECK(r.field == "attributes");
    r = rejection_of(record("a", R"("attributes":{"sex":"f","sex":"m"})"));
    CHECK(r.field == "attributes.sex");
    CHECK(contains(r.reason, "occurs twice"));
    r = rejection_of(record("a", fmt::format(R"("attributes":{{"sex":"{}"}})", std::string(257, 'f'))));
    CHECK(r.field == "attributes.sex");
    CHECK(contains(r.reason, "257 bytes, more than the limit of 256"));
    r = rejection_of(record("a", fmt::format(R"("attributes":{{"{}":"f"}})", std::string(257, 'k'))));
    CHECK(contains(r.reason, "attribute name is 257 bytes"));
    r = rejection_of(record("a", R"("attributes":{"":"f"})"));
    CHECK(r.field == "attributes");
    CHECK(contains(r.reason, "empty"));
}

TEST_CASE("model_version") {
    CHECK(accepted_one(record("a", R"("model_version":"2024.05-rc1")")).model_version == "2024.05-rc1");
    CHECK(accepted_one(record("a", R"("model_version":7)")).model_version == "7");
    CHECK(accepted_one(record("a", R"("model_version":null)")).model_version.empty());
    auto r = rejection_of(record("a", R"("model_version":{"major":1})"));
    CHECK(r.field == "model_version");
    r = rejection_of(record("a", R"("model_version":"v1\n")"));
    CHECK(r.field == "model_version");
    CHECK(contains(r.reason, "control characters"));
}

TEST_CASE("unknown and repeated top-level keys are rejected by name") {
    auto r = rejection_of(R"({"id":"a","featurs":{"age":1},"prediction":"p"})");
    CHECK(r.field == "featurs");
    CHECK(contains(r.reason, "unknown field \"featurs\""));
    r = rejection_of(record("a", R"("model":"churn")"));
    CHECK(r.field == "model");
    CHECK(contains(r.reason, "from the URL"));
    r = rejection_of(record("a", R"("id":"b")"));
    CHECK(r.field == "id");
    CHECK(contains(r.reason, "occurs twice"));
    r = rejection_of(R"({"id":"a","features":{},"prediction":"p","label":"q"})");
    CHECK(r.field == "label");
}

TEST_CASE("outcomes") {
    SECTION("classification models take a label") {
        const auto parsed = parse_outcomes(
            R"([{"id":"a","label":"churn","ts":"2024-05-01T10:00:00Z"},{"id":"b","label":true},{"id":7,"label":1},)"
            R"({"id":"c","label":null},{"id":"d","value":1},{"id":"e"},{"id":"f","label":"x","value":1},)"
            R"({"id":"g","label":0.5},{"id":"h","label":"x","extra":1},{"label":"x"},{"id":"a","label":"stay"}])");
        REQUIRE(parsed.body_error.empty());
        CHECK(parsed.batch.model == "churn");
        REQUIRE(parsed.batch.records.size() == 3);
        CHECK(parsed.batch.records[0].id == "a");
        CHECK(parsed.batch.records[0].label == "churn");
        CHECK(parsed.batch.records[0].ts_us == now_us - 2 * 3600LL * 1'000'000);
        CHECK_FALSE(parsed.batch.records[0].value.has_value());
        CHECK(parsed.batch.records[1].label == "true");
        CHECK(parsed.batch.records[1].ts_us == now_us);
        CHECK(parsed.batch.records[2].id == "7");
        CHECK(parsed.batch.records[2].label == "1");
        struct Expected {
            std::size_t index;
            const char* field;
            const char* reason_part;
        };
        const Expected expected[] = {
            {3, "label", "required"},
            {4, "value", "a binary model's outcome is a class: send it as label"},
            {5, "label", "required"},
            {6, "value", "give label or value, not both"},
            {7, "label", "got the number 0.5"},
            {8, "extra", "unknown field \"extra\"; an outcome has id, ts, and label or value"},
            {9, "id", "required"},
            {10, "id", "duplicate id within request, first at index 0"},
        };
        REQUIRE(parsed.rejections.size() == std::size(expected));
        for (std::size_t i = 0; i < std::size(expected); ++i) {
            INFO(i);
            CHECK(parsed.rejections[i].index == expected[i].index);
            CHECK(parsed.rejections[i].field == expected[i].field);
            CHECK(contains(parsed.rejections[i].reason, expected[i].reason_part));
        }
    }
    SECTION("regression models take a value, or a numeric label") {
        const auto parsed = parse_outcomes(
            "{\"id\":\"a\",\"value\":12.5}\n{\"id\":\"b\",\"label\":3}\n{\"id\":\"c\",\"value\":\"12\"}\n"
            "{\"id\":\"d\",\"label\":\"big\"}\n{\"id\":\"e\"}\n",
            regression_schema());
        REQUIRE(parsed.body_error.empty());
        CHECK(parsed.batch.model == "price");
        REQUIRE(parsed.batch.records.size() == 2);
        CHECK(parsed.batch.records[0].value == 12.5);
        CHECK(parsed.batch.records[1].value == 3.0);
        CHECK_FALSE(parsed.batch.records[1].label.has_value());
        REQUIRE(parsed.rejections.size() == 3);
        CHECK(parsed.rejections[0].field == "value");
        CHECK(contains(parsed.rejections[0].reason, "a regression model's value is a finite number"));
        CHECK(parsed.rejections[1].field == "label");
        CHECK(parsed.rejections[2].field == "value");
        CHECK(contains(parsed.rejections[2].reason, "required"));
    }
    SECTION("outcome bodies follow the same body rules") {
        CHECK(contains(parse_outcomes("").body_error, "empty"));
        CHECK(contains(parse_outcomes(std::string(10000, '[') + std::string(10000, ']')).body_error, "deeper"));
        CHECK(contains(parse_outcomes(R"([{"id":"a","label":1e999}])").body_error, "not valid JSON"));
    }
}

TEST_CASE("a large body then a small one: the thread's parser stays usable") {
    std::string big;
    for (int i = 0; big.size() < (9u << 20); ++i) big += record(fmt::format("r{}", i)) + "\n";
    mw::ParseLimits limits;
    limits.max_records = 1'000'000;
    const auto parsed_big = parse(big, limits);
    REQUIRE(parsed_big.body_error.empty());
    CHECK(parsed_big.rejections.empty());
    const auto parsed_big_array = parse("[" + big.substr(0, big.size() - 1) + "]", limits);
    CHECK(contains(parsed_big_array.body_error, "not valid JSON"));  // newlines between records, no commas
    const auto small = parse("[" + record("a") + "]");
    REQUIRE(small.batch.records.size() == 1);
    CHECK(small.batch.records[0].id == "a");
}

TEST_CASE("labels outside the model's declared classes are rejected, naming the classes") {
    auto schema = churn_schema();
    schema.classes = {"churn", "stay"};
    CHECK(mw::parse_predictions("[" + record("c1") + "]", shared(schema), {}, now_us).batch.records.size() == 1);
    const auto rejected = rejection_of(R"({"id":"c2","features":{},"prediction":"maybe"})", schema);
    CHECK(rejected.field == "prediction");
    CHECK_THAT(rejected.reason, Catch::Contains("\"maybe\"") && Catch::Contains("churn, stay"));

    const auto outcomes = parse_outcomes(R"([{"id":"c1","label":"stay"},{"id":"c2","label":1}])", schema);
    REQUIRE(outcomes.batch.records.size() == 1);
    REQUIRE(outcomes.rejections.size() == 1);
    CHECK(outcomes.rejections[0].index == 1);
    CHECK(outcomes.rejections[0].field == "label");
    // Without declared classes any label is a class.
    CHECK(parse_outcomes(R"([{"id":"c3","label":"anything"}])").batch.records.size() == 1);
}
