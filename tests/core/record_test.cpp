#include <catch2/catch.hpp>

#include "core/record.h"

TEST_CASE("feature_index finds declared features and only those") {
    mw::ModelSchema schema;
    schema.features = {{"age", mw::FeatureType::numeric}, {"city", mw::FeatureType::categorical}};
    CHECK(schema.feature_index("age") == 0);
    CHECK(schema.feature_index("city") == 1);
    CHECK(schema.feature_index("ag") == -1);
    CHECK(schema.feature_index("") == -1);
}
