// The privacy policy as the parser applies it (collectors/privacy.h): each
// action, the HMAC against Python's hmac module, bucket edges, UTF-8
// truncation, and hostile values that must never come out raw.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <variant>

#include <fmt/format.h>

#include "collectors/ingest_parser.h"
#include "collectors/privacy.h"

namespace {

constexpr std::int64_t privacy_now_us = 1714564800LL * 1'000'000;
const std::string privacy_test_key = "0123456789abcdef0123456789abcdef-test-key";

mw::ModelSchema privacy_schema() {
    mw::ModelSchema schema;
    schema.name = "adult";
    schema.features = {{"age", mw::FeatureType::numeric},
                       {"city", mw::FeatureType::categorical},
                       {"zip", mw::FeatureType::categorical},
                       {"member", mw::FeatureType::boolean}};
    schema.prediction_type = mw::PredictionType::binary;
    schema.attributes = {"sex", "region"};
    auto& policy = schema.privacy;
    policy.key = privacy_test_key;
    policy.key_file = "/unused";
    policy.id = mw::PrivacyAction::hash;
    policy.undeclared = mw::PrivacyAction::drop;
    policy.fields = {{"age", mw::PrivacyAction::generalise, 10.0, 0},
                     {"city", mw::PrivacyAction::hash, std::nullopt, 0},
                     {"zip", mw::PrivacyAction::generalise, std::nullopt, 3},
                     {"region", mw::PrivacyAction::hash, std::nullopt, 0},
                     {"sex", mw::PrivacyAction::keep, std::nullopt, 0},
                     {"note", mw::PrivacyAction::keep, std::nullopt, 0},
                     {"email", mw::PrivacyAction::hash, std::nullopt, 0}};
    return schema;
}

mw::ParsedPredictions parse_with_policy(std::string_view body, const mw::ModelSchema& schema = privacy_schema()) {
    return mw::parse_predictions(body, std::make_shared<const mw::ModelSchema>(schema), {}, privacy_now_us);
}

const std::string& privacy_text_of(const mw::Value& value) { return std::get<std::string>(value); }

}  // namespace

TEST_CASE("the hash is HMAC-SHA256 of field NUL value, as Python's hmac computes it") {
    // /usr/bin/python3 -c 'import hmac,hashlib; k=b"0123456789abcdef0123456789abcdef-test-key";
    //   print(hmac.new(k, b"id\0alice", hashlib.sha256).hexdigest())'   (and likewise for the others)
    CHECK(mw::privacy_hash(privacy_test_key, "id", "alice") ==
          "hmac:9432094a6f290b8f055d6843014e327a36a597ba7478be7b6d59084924f1f2e0");
    CHECK(mw::privacy_hash(privacy_test_key, "city", "Z\xc3\xbcrich") ==
          "hmac:7f04a28b009726c5f0446d3479c82fc8d5da42d2647a1e9ad4f6e614836aaf38");
    CHECK(mw::privacy_hash(privacy_test_key, "email", "canary@example.org") ==
          "hmac:8597c4f68888c929f2fa055c42ca22a4bc12386a93a0cd582e0a30f793c2dfb6");
    CHECK(mw::privacy_hash(privacy_test_key, "id", "") ==
          "hmac:bcaa021042ccc673b4cbd2dfe7af17b70f5aba6d5303b82960a81af51038219b");
    // The field separates domains; another key gives other hashes.
    CHECK(mw::privacy_hash(privacy_test_key, "city", "alice") != mw::privacy_hash(privacy_test_key, "id", "alice"));
    CHECK(mw::privacy_hash(privacy_test_key + "x", "id", "alice") != mw::privacy_hash(privacy_test_key, "id", "alice"));
}

TEST_CASE("every action on a parsed prediction, and the outcome's id hashed alike") {
    const auto parsed = parse_with_policy(
        R"({"id":"alice","features":{"age":37.5,"city":"Paris","zip":"75011","member":true,"email":"a@b.c","note":"hi","secret":"s3"},"prediction":"yes","attributes":{"sex":"F","region":"Nord","religion":"x"}})"
        "\n");
    REQUIRE(parsed.rejections.empty());
    REQUIRE(parsed.batch.records.size() == 1);
    const auto& record = parsed.batch.records[0];
    CHECK(record.id == mw::privacy_hash(privacy_test_key, "id", "alice"));
    CHECK(std::get<double>(record.features[0]) == 30.0);                                   // generalise width 10
    CHECK(privacy_text_of(record.features[1]) == mw::privacy_hash(privacy_test_key, "city", "Paris"));  // hash
    CHECK(privacy_text_of(record.features[2]) == "750");                                           // truncate to 3
    CHECK(std::get<bool>(record.features[3]) == true);                                     // no row: kept
    // Undeclared: email hashed, note kept by its row, secret dropped by undeclared: drop.
    REQUIRE(record.undeclared_features.size() == 2);
    CHECK(record.undeclared_features[0].first == "email");
    CHECK(privacy_text_of(record.undeclared_features[0].second) == mw::privacy_hash(privacy_test_key, "email", "a@b.c"));
    CHECK(record.undeclared_features[1].first == "note");
    CHECK(privacy_text_of(record.undeclared_features[1].second) == "hi");
    // Attributes: sex kept, region hashed, the undeclared religion dropped.
    REQUIRE(record.attributes.size() == 2);
    CHECK(record.attributes[0] == std::pair<std::string, std::string>{"sex", "F"});
    CHECK(record.attributes[1].first == "region");
    CHECK(record.attributes[1].second == mw::privacy_hash(privacy_test_key, "region", "Nord"));

    const auto outcomes = mw::parse_outcomes(R"([{"id":"alice","label":"yes"}])", privacy_schema(), {}, privacy_now_us);
    REQUIRE(outcomes.batch.records.size() == 1);
    CHECK(outcomes.batch.records[0].id == record.id);  // the outcome joins its prediction
}

TEST_CASE("a policy that keeps everything changes nothing, and null stays null") {
    mw::ModelSchema schema = privacy_schema();
    schema.privacy = {};
    const auto plain = parse_with_policy(R"([{"id":"alice","features":{"age":37.5,"city":"Paris","x":"y"},"prediction":"yes"}])", schema);
    REQUIRE(plain.batch.records.size() == 1);
    CHECK(plain.batch.records[0].id == "alice");
    CHECK(std::get<double>(plain.batch.records[0].features[0]) == 37.5);
    CHECK(plain.batch.records[0].undeclared_features.size() == 1);

    const auto nulls = parse_with_policy(R"([{"id":1,"features":{"age":null,"city":null},"prediction":"no"}])");
    REQUIRE(nulls.batch.records.size() == 1);
    CHECK(std::holds_alternative<std::monostate>(nulls.batch.records[0].features[0]));
    CHECK(std::holds_alternative<std::monostate>(nulls.batch.records[0].features[1]));
    CHECK(nulls.batch.records[0].id == mw::privacy_hash(privacy_test_key, "id", "1"));
}

TEST_CASE("buckets: lower edges, negatives, zero's sign, and values whose edge is not finite") {
    CHECK(mw::generalise_number(0, 10) == 0.0);
    CHECK(mw::generalise_number(9.999, 10) == 0.0);
    CHECK(mw::generalise_number(10, 10) == 10.0);
    CHECK(mw::generalise_number(-0.5, 10) == -10.0);
    CHECK(mw::generalise_number(-10, 10) == -10.0);
    CHECK(mw::generalise_number(-10.0001, 10) == -20.0);
    const auto zero = mw::generalise_number(-0.0, 10);
    REQUIRE(zero);
    CHECK_FALSE(std::signbit(*zero));  // one bucket, one text: "0", never "-0"
    CHECK(mw::generalise_number(1e308, 1e-3) == std::nullopt);  // x / width overflows
    // Too large to bucket: the edge would be the value itself (found by the fuzzer).
    CHECK(mw::generalise_number(10e99, 10) == std::nullopt);
    CHECK(mw::generalise_number(0x1p53 * 10, 10) == std::nullopt);
    CHECK(mw::generalise_number(123456789012345678.0, 1000) == std::nullopt);
    CHECK(mw::generalise_number(900719925474090.0 * 10 + 3, 10) == 9007199254740900.0);
    CHECK(mw::generalise_number(std::numeric_limits<double>::quiet_NaN(), 1) == std::nullopt);
    CHECK(mw::generalise_number(std::numeric_limits<double>::infinity(), 1) == std::nullopt);
    CHECK(mw::generalise_number(5, 0) == std::nullopt);
    CHECK(mw::generalise_number(5, -1) == std::nullopt);
    // The parser refuses NaN and infinities before the policy sees them (not JSON, or overflowing).
    CHECK_FALSE(parse_with_policy(R"([{"id":"a","features":{"age":1e999},"prediction":"yes"}])").body_error.empty());
    // A huge finite value with a tiny width is left out, never stored raw.
    mw::ModelSchema schema = privacy_schema();
    schema.privacy.fields[0].width = 1e-300;
    const auto huge = parse_with_policy(R"([{"id":"a","features":{"age":1e300},"prediction":"yes"}])", schema);
    REQUIRE(huge.batch.records.size() == 1);
    CHECK(std::holds_alternative<std::monostate>(huge.batch.records[0].features[0]));
}

TEST_CASE("truncation counts characters and never cuts one in half") {
    CHECK(mw::truncate_utf8("75011", 3) == "750");
    CHECK(mw::truncate_utf8("ab", 3) == "ab");
    CHECK(mw::truncate_utf8("", 3).empty());
    CHECK(mw::truncate_utf8("Z\xc3\xbcrich", 2) == "Z\xc3\xbc");                 // ü is two bytes, one character
    CHECK(mw::truncate_utf8("\xe6\x9d\xb1\xe4\xba\xac\xe9\x83\xbd", 2) == "\xe6\x9d\xb1\xe4\xba\xac");  // 東京都
    CHECK(mw::truncate_utf8("\xf0\x9f\x98\x80x", 1) == "\xf0\x9f\x98\x80");     // a 4-byte emoji kept whole
    CHECK(mw::truncate_utf8("abc", 0).empty());
}

TEST_CASE("rejections under a policy do not quote the value sent") {
    const auto parsed = parse_with_policy(
        R"([{"id":"a","features":{"age":"canary-4711"},"prediction":"yes"},{"id":{"x":1},"features":{},"prediction":"yes"}])");
    REQUIRE(parsed.rejections.size() == 2);
    for (const auto& rejection : parsed.rejections) {
        INFO(rejection.reason);
        CHECK(rejection.reason.find("canary") == std::string::npos);
        CHECK(rejection.reason.find("privacy policy") != std::string::npos);
    }
    CHECK(parsed.rejections[0].field == "features.age");
    CHECK(parsed.rejections[0].reason.starts_with("numeric feature: expected a finite number or null"));
}

TEST_CASE("hostile values never come out raw from a field the policy does not keep") {
    // Random strings (any UTF-8, quotes, backslashes, long), numbers and
    // booleans in hashed, generalised and undeclared fields: what is stored
    // must be the hash, a bucket edge, a prefix of at most 3 characters, or nothing.
    std::mt19937 random(20261206);
    const std::string alphabet[] = {"a", "Z", "0", "\\\\", "\\\"", " ", "\xc3\xbc", "\xe6\x9d\xb1", "\xf0\x9f\x98\x80",
                                    "\\u0001", "\\n", "-", "."};
    const auto random_text = [&](std::size_t max_length) {
        std::string text;
        const std::size_t length = std::uniform_int_distribution<std::size_t>(0, max_length)(random);
        for (std::size_t i = 0; i < length; ++i)
            text += alphabet[std::uniform_int_distribution<std::size_t>(0, std::size(alphabet) - 1)(random)];
        return text;
    };
    std::size_t accepted = 0;
    for (int round = 0; round < 500; ++round) {
        const std::string canary = "C4N4RY" + std::to_string(round);
        const double age = std::uniform_real_distribution<double>(-1e6, 1e6)(random);
        const std::string body = fmt::format(
            R"([{{"id":"{0}","features":{{"age":{2},"city":"{0}{1}","zip":"{1}{0}","email":"{0}","secret":"{0}{1}","n":{3}}},"prediction":"yes","attributes":{{"region":"{0}","religion":"{0}{1}"}}}}])",
            canary, random_text(40), age, round);
        const auto parsed = parse_with_policy(body);
        for (const auto& rejection : parsed.rejections) CHECK(rejection.reason.find(canary) == std::string::npos);
        if (parsed.batch.records.empty()) continue;
        ++accepted;
        const auto& record = parsed.batch.records[0];
        CHECK(record.id.starts_with(mw::privacy_hash_prefix));
        CHECK(record.id.size() == 69);
        CHECK(std::get<double>(record.features[0]) == std::floor(age / 10) * 10);
        CHECK(privacy_text_of(record.features[1]).starts_with(mw::privacy_hash_prefix));
        CHECK(privacy_text_of(record.features[2]).find(canary) == std::string::npos);
        for (const auto& [name, value] : record.undeclared_features) {
            INFO(name);
            CHECK(name == "email");
            CHECK(privacy_text_of(value).starts_with(mw::privacy_hash_prefix));
        }
        for (const auto& [name, value] : record.attributes) {
            CHECK(name == "region");
            CHECK(value.find(canary) == std::string::npos);
        }
    }
    CHECK(accepted > 400);  // the loop exercised the policy, not only the parser's refusals
}
