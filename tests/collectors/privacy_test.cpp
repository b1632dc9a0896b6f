// The privacy policy as the parser applies it (collectors/privacy.h): each
// action, the HMAC against Python's hmac module, bucket edges, UTF-8
// truncation, and hostile values that must never come out raw.
#include <catch2/catch.hpp>

#include <algorithm>
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
const std::string privacy_test_key_bytes = "0123456789abcdef0123456789abcdef-test-key";
const auto privacy_test_key = mw::PrivacyKey::from_bytes(privacy_test_key_bytes);

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

// The hashes the policy stores, by domain (collectors/privacy.h).
std::string privacy_id_hash(const std::string& id) {
    return mw::privacy_hash(*privacy_test_key, "adult", mw::privacy_record_id_domain, id);
}
std::string privacy_field_hash(const std::string& field, const std::string& value) {
    return mw::privacy_hash(*privacy_test_key, "adult", mw::privacy_field_domain(field), value);
}

TEST_CASE("the hash is the key id and HMAC-SHA256 of model NUL domain NUL value, as Python's hmac computes them") {
    // /usr/bin/python3 -c 'import hmac,hashlib; k=b"0123456789abcdef0123456789abcdef-test-key";
    //   print(hmac.new(k, b"modelwatch key id", hashlib.sha256).hexdigest()[:8]);
    //   print(hmac.new(k, b"adult\0record-id\0alice", hashlib.sha256).hexdigest())'   (and likewise, with
    //   b"adult\0field:city\0Z\xc3\xbcrich", b"adult\0field:email\0canary@example.org", b"adult\0record-id\0")
    CHECK(privacy_test_key->id() == "c5fad5e8");
    CHECK(privacy_id_hash("alice") ==
          "hmac:c5fad5e8:1b734f6ac874b62e66d6e79d7e7ea156dd7f4dc326b48ace72e2aff649b5fb25");
    CHECK(privacy_field_hash("city", "Z\xc3\xbcrich") ==
          "hmac:c5fad5e8:59128c7a28af1ee098fa2661fede4ab69ea85c57986a8278ed3bdee5c2913095");
    CHECK(privacy_field_hash("email", "canary@example.org") ==
          "hmac:c5fad5e8:f963307362f1c9e4d5318e733a854fc33eb7c0fe74a4a4f5b8d39dd5b8227d93");
    CHECK(privacy_id_hash("") == "hmac:c5fad5e8:80ccf53cb81d93eb8072141ca900cd6fa56ad4aeff44fe6f3114452b25c61521");
    // Which key made a stored hash, after a rotation: its id, not the key.
    CHECK(mw::privacy_hash_key_id(privacy_id_hash("alice")) == "c5fad5e8");
    const auto rotated = mw::PrivacyKey::from_bytes(privacy_test_key_bytes + "-rotated");
    CHECK(rotated->id() == "473a000a");
    CHECK(mw::privacy_hash(*rotated, "adult", mw::privacy_record_id_domain, "alice").starts_with("hmac:473a000a:"));
    CHECK(mw::privacy_hash_key_id("hmac:1b734f6ac874b62e66d6e79d7e7ea156dd7f4dc326b48ace72e2aff649b5fb25").empty());
    // The domain separates an id from a feature value, even of a feature
    // called "id"; the model separates two models sharing a key file;
    // another key gives other hashes.
    CHECK(privacy_field_hash("city", "alice") != privacy_id_hash("alice"));
    CHECK(privacy_field_hash("id", "alice") != privacy_id_hash("alice"));
    CHECK(mw::privacy_hash(*privacy_test_key, "credit", mw::privacy_record_id_domain, "alice") !=
          privacy_id_hash("alice"));
    CHECK(mw::privacy_hash(*mw::PrivacyKey::from_bytes(privacy_test_key_bytes + "x"), "adult",
                           mw::privacy_record_id_domain, "alice") != privacy_id_hash("alice"));
    CHECK(mw::is_privacy_hash(privacy_id_hash("alice")));
    CHECK_FALSE(mw::is_privacy_hash("hmac:" + std::string(64, 'a')));  // before key ids
    CHECK_FALSE(mw::is_privacy_hash("hmac:c5fad5e8:" + std::string(63, 'a')));
    CHECK_FALSE(mw::is_privacy_hash("hmac:c5fad5e8:" + std::string(64, 'A')));
    CHECK_FALSE(mw::is_privacy_hash("hmac:c5fad5e8:" + std::string(63, 'a') + "g"));
    CHECK_FALSE(mw::is_privacy_hash("hmac:c5fad5e8-" + std::string(64, 'a')));
    CHECK_FALSE(mw::is_privacy_hash("hmac:C5FAD5E8:" + std::string(64, 'a')));
}

TEST_CASE("the fingerprint names the policy and the key's id, never the key") {
    const auto schema = privacy_schema();
    const auto fingerprint = mw::privacy_fingerprint(schema.privacy);
    CHECK(fingerprint.size() == 16);
    CHECK(fingerprint.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(mw::privacy_fingerprint(schema.privacy) == fingerprint);  // stable
    CHECK(mw::privacy_fingerprint(mw::PrivacyPolicy{}).empty());    // keeps everything
    auto other_key = schema.privacy;
    other_key.key = mw::PrivacyKey::from_bytes(privacy_test_key_bytes + "-rotated");
    CHECK(mw::privacy_fingerprint(other_key) != fingerprint);
    CHECK_FALSE(other_key == schema.privacy);  // a reload would be refused
    auto same_bytes = schema.privacy;
    same_bytes.key = mw::PrivacyKey::from_bytes(privacy_test_key_bytes);  // read again: equal
    CHECK(same_bytes == schema.privacy);
    auto declared = schema.privacy;
    declared.previous_key_id = "473a000a";  // read at start only
    CHECK(declared == schema.privacy);
    CHECK(mw::privacy_fingerprint(declared) == fingerprint);
    auto other_file = schema.privacy;
    other_file.key_file = "/elsewhere";  // the same key elsewhere is the same policy
    CHECK(mw::privacy_fingerprint(other_file) == fingerprint);
    auto reordered = schema.privacy;
    std::reverse(reordered.fields.begin(), reordered.fields.end());
    CHECK(mw::privacy_fingerprint(reordered) == fingerprint);
    auto other_width = schema.privacy;
    other_width.fields[0].width = 5.0;
    CHECK(mw::privacy_fingerprint(other_width) != fingerprint);
    auto kept_ids = schema.privacy;
    kept_ids.id = mw::PrivacyAction::keep;
    CHECK(mw::privacy_fingerprint(kept_ids) != fingerprint);
}

TEST_CASE("values the daemon stored itself are not hashed twice (reference uploads)") {
    const auto schema = privacy_schema();
    mw::Prediction row;
    row.id = privacy_id_hash("alice");
    row.features = {mw::Value{35.0}, mw::Value{privacy_field_hash("city", "Paris")}, mw::Value{std::string("750")},
                    mw::Value{}};
    row.attributes = {{"region", privacy_field_hash("region", "Nord")}};
    auto stored = row;
    mw::apply_privacy(schema, stored, true);
    CHECK(stored.id == row.id);
    CHECK(std::get<std::string>(stored.features[1]) == privacy_field_hash("city", "Paris"));
    CHECK(stored.attributes[0].second == privacy_field_hash("region", "Nord"));
    CHECK(std::get<double>(stored.features[0]) == 30.0);  // generalised twice: the same edge
    CHECK(std::get<std::string>(stored.features[2]) == "750");
    // A hash under another key (an export from before a rotation) is not this
    // key's: it is hashed like any text, so it never passes as a current value.
    const auto before_rotation = mw::PrivacyKey::from_bytes(privacy_test_key_bytes + "-before");
    auto exported = row;
    exported.features[1] = mw::Value{mw::privacy_hash(*before_rotation, "adult", mw::privacy_field_domain("city"), "Paris")};
    mw::apply_privacy(schema, exported, true);
    CHECK(mw::privacy_hash_key_id(std::get<std::string>(exported.features[1])) == privacy_test_key->id());
    CHECK(std::get<std::string>(exported.features[1]) != privacy_field_hash("city", "Paris"));
    // Raw values in a stored upload are still hashed; sent records are always hashed.
    mw::Prediction raw = row;
    raw.features[1] = mw::Value{std::string("Paris")};
    mw::apply_privacy(schema, raw, true);
    CHECK(std::get<std::string>(raw.features[1]) == privacy_field_hash("city", "Paris"));
    auto sent = row;
    mw::apply_privacy(schema, sent);
    CHECK(std::get<std::string>(sent.features[1]) != privacy_field_hash("city", "Paris"));
}

TEST_CASE("every action on a parsed prediction, and the outcome's id hashed alike") {
    const auto parsed = parse_with_policy(
        R"({"id":"alice","features":{"age":37.5,"city":"Paris","zip":"75011","member":true,"email":"a@b.c","note":"hi","secret":"s3"},"prediction":"yes","attributes":{"sex":"F","region":"Nord","religion":"x"}})"
        "\n");
    REQUIRE(parsed.rejections.empty());
    REQUIRE(parsed.batch.records.size() == 1);
    const auto& record = parsed.batch.records[0];
    CHECK(record.id == privacy_id_hash("alice"));
    CHECK(std::get<double>(record.features[0]) == 30.0);                                   // generalise width 10
    CHECK(privacy_text_of(record.features[1]) == privacy_field_hash("city", "Paris"));  // hash
    CHECK(privacy_text_of(record.features[2]) == "750");                                           // truncate to 3
    CHECK(std::get<bool>(record.features[3]) == true);                                     // no row: kept
    // Undeclared: email hashed, note kept by its row, secret's value dropped
    // by undeclared: drop (its name stays, with null, for the data-quality
    // check of undeclared fields).
    REQUIRE(record.undeclared_features.size() == 3);
    CHECK(record.undeclared_features[0].first == "email");
    CHECK(privacy_text_of(record.undeclared_features[0].second) == privacy_field_hash("email", "a@b.c"));
    CHECK(record.undeclared_features[1].first == "note");
    CHECK(privacy_text_of(record.undeclared_features[1].second) == "hi");
    CHECK(record.undeclared_features[2].first == "secret");
    CHECK(std::holds_alternative<std::monostate>(record.undeclared_features[2].second));
    // Attributes: sex kept, region hashed, the undeclared religion dropped.
    REQUIRE(record.attributes.size() == 2);
    CHECK(record.attributes[0] == std::pair<std::string, std::string>{"sex", "F"});
    CHECK(record.attributes[1].first == "region");
    CHECK(record.attributes[1].second == privacy_field_hash("region", "Nord"));

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
    CHECK(nulls.batch.records[0].id == privacy_id_hash("1"));
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

TEST_CASE("rejections under a policy quote no input anywhere, and count under the code they had") {
    // A canary in every place a reason or a field path can quote: a value
    // after ", got", a timestamp's text, a label, an unknown key, and an
    // undeclared feature's or attribute's name (one-hot names such as
    // "email_<address>").
    const std::string canary = "Zq9CANARY";
    const std::vector<std::string> records = {
        R"({"id":"a","features":{"age":"Zq9CANARY"},"prediction":"yes"})",
        R"({"id":"a","ts":"Zq9CANARY-01","features":{},"prediction":"yes"})",
        R"({"id":"a","features":{},"prediction":"yes","Zq9CANARY":1})",
        R"({"id":"a","features":{"email_Zq9CANARY@x.org":[1]},"prediction":"yes"})",
        R"({"id":"a","features":{},"prediction":"yes","attributes":{"Zq9CANARY":[1]}})",
        R"({"id":"a","features":{},"prediction":"yes","score":"Zq9CANARY"})",
        R"({"id":"a","features":{"email_Zq9CANARY@x.org":1,"email_Zq9CANARY@x.org":2},"prediction":"yes"})",
    };
    mw::ModelSchema plain_schema = privacy_schema();
    plain_schema.privacy = {};
    plain_schema.classes = {"yes", "no"};
    mw::ModelSchema schema = privacy_schema();
    schema.classes = {"yes", "no"};
    std::vector<std::string> bodies = records;
    bodies.push_back(R"({"id":"a","features":{},"prediction":"Zq9CANARY"})");  // not one of the classes
    for (const auto& body : bodies) {
        const auto plain = parse_with_policy(body, plain_schema);
        const auto parsed = parse_with_policy(body, schema);
        INFO(body);
        REQUIRE(parsed.rejections.size() == 1);
        REQUIRE(plain.rejections.size() == 1);
        const auto& rejection = parsed.rejections[0];
        INFO(rejection.field << ": " << rejection.reason);
        CHECK(rejection.reason.find(canary) == std::string::npos);
        CHECK(rejection.field.find(canary) == std::string::npos);
        // Without a policy the same record's reason quotes the canary: the
        // check above can fail.
        CHECK((plain.rejections[0].reason + plain.rejections[0].field).find(canary) != std::string::npos);
    }
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
        CHECK(mw::is_privacy_hash(record.id));  // "hmac:<key id>:<64 hex>", 78 bytes
        CHECK(std::get<double>(record.features[0]) == std::floor(age / 10) * 10);
        CHECK(privacy_text_of(record.features[1]).starts_with(mw::privacy_hash_prefix));
        CHECK(privacy_text_of(record.features[2]).find(canary) == std::string::npos);
        for (const auto& [name, value] : record.undeclared_features) {
            INFO(name);
            if (name == "email") {
                CHECK(privacy_text_of(value).starts_with(mw::privacy_hash_prefix));
            } else {
                CHECK((name == "secret" || name == "n"));
                CHECK(std::holds_alternative<std::monostate>(value));
            }
        }
        for (const auto& [name, value] : record.attributes) {
            CHECK(name == "region");
            CHECK(value.find(canary) == std::string::npos);
        }
    }
    CHECK(accepted > 400);  // the loop exercised the policy, not only the parser's refusals
}
