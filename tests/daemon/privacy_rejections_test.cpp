// Rejections under a privacy policy (collectors/privacy.cpp cuts what they
// quote) count under the same code as without one (detectors/rejection_reasons.cpp):
// the rejection metrics and rejection_counts must not turn wrong types into "other".
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "collectors/ingest_parser.h"
#include "detectors/rejection_reasons.h"

namespace {

mw::ModelSchema rejection_privacy_schema(bool with_policy, mw::PredictionType type) {
    mw::ModelSchema schema;
    schema.name = "adult";
    schema.features = {{"age", mw::FeatureType::numeric}, {"city", mw::FeatureType::categorical}};
    schema.prediction_type = type;
    if (type != mw::PredictionType::regression) schema.classes = {"yes", "no"};
    schema.attributes = {"sex"};
    if (with_policy) {
        schema.privacy.key = mw::PrivacyKey::from_bytes("0123456789abcdef0123456789abcdef-test-key");
        schema.privacy.id = mw::PrivacyAction::hash;
        schema.privacy.undeclared = mw::PrivacyAction::drop;
    }
    return schema;
}

}  // namespace

TEST_CASE("a rejection counts under the same code with and without a privacy policy") {
    constexpr std::int64_t now_us = 1714564800LL * 1'000'000;
    const std::vector<std::pair<std::string, mw::PredictionType>> bodies = {
        {R"({"id":"a","features":{"age":"x"},"prediction":"yes"})", mw::PredictionType::binary},
        {R"({"id":"a","features":{},"prediction":[1]})", mw::PredictionType::binary},
        {R"({"id":"a","features":{},"prediction":"x"})", mw::PredictionType::regression},
        {R"({"id":"a","ts":"yesterday","features":{},"prediction":"yes"})", mw::PredictionType::binary},
        {R"({"id":"a","ts":"9999-01-01T00:00:00Z","features":{},"prediction":"yes"})", mw::PredictionType::binary},
        {R"({"id":"a","features":{},"prediction":"maybe"})", mw::PredictionType::binary},
        {R"({"id":"a","features":{},"prediction":"yes","score":"x"})", mw::PredictionType::binary},
        {R"({"id":"a","features":{},"prediction":"yes","extra":1})", mw::PredictionType::binary},
        {R"({"id":1.5,"features":{},"prediction":"yes"})", mw::PredictionType::binary},
        {R"({"id":"a","features":{"x_secret":[1]},"prediction":"yes"})", mw::PredictionType::binary},
        {R"({"id":"a","features":{},"prediction":"yes","attributes":{"x_secret":{}}})", mw::PredictionType::binary},
    };
    std::size_t wrong_types = 0;
    for (const auto& [body, type] : bodies) {
        INFO(body);
        const auto plain = mw::parse_predictions(
            body, std::make_shared<const mw::ModelSchema>(rejection_privacy_schema(false, type)), {}, now_us);
        const auto redacted = mw::parse_predictions(
            body, std::make_shared<const mw::ModelSchema>(rejection_privacy_schema(true, type)), {}, now_us);
        REQUIRE(plain.rejections.size() == 1);
        REQUIRE(redacted.rejections.size() == 1);
        INFO(plain.rejections[0].reason << " | " << redacted.rejections[0].reason);
        const auto code = mw::quality::classify_rejection(plain.rejections[0]);
        CHECK(code != mw::quality::RejectionReason::other);
        CHECK(mw::quality::classify_rejection(redacted.rejections[0]) == code);
        wrong_types += code == mw::quality::RejectionReason::wrong_type;
    }
    CHECK(wrong_types >= 5);
}
