// Hostile reference uploads (POST /v1/models/{model}/reference): each
// NDJSON row's features and attributes are copied and written back out,
// and nlohmann::json's copies and dump() recurse once per level of nesting.
#include <catch2/catch.hpp>

#include <string>

#include "daemon/reference_upload.h"

namespace {

mw::ModelSchema reference_schema() {
    mw::ModelSchema schema;
    schema.name = "churn";
    schema.features = {{"age", mw::FeatureType::numeric}, {"city", mw::FeatureType::categorical}};
    schema.classes = {"yes", "no"};
    return schema;
}

}  // namespace

TEST_CASE("an NDJSON reference row nested deeper than server.max_json_depth is refused, not copied") {
    const auto schema = reference_schema();
    const std::string rows = "{\"features\": {\"age\": 31, \"city\": \"Oslo\"}, \"prediction\": \"yes\"}\n"
                             "{\"features\": {\"age\": 45, \"city\": \"Rome\"}, \"prediction\": \"no\"}\n";
    const auto fine = mw::daemon::parse_reference_upload(rows, "application/x-ndjson", schema, 1000, 32);
    INFO(fine.error);
    CHECK(fine.ok());
    CHECK(fine.rows_read == 2);

    // A million levels: about 2 MB, well inside max_body_bytes (32 MiB).
    const std::size_t levels = 1'000'000;
    const std::string deep = rows + "{\"features\": {\"age\": 1, \"city\": " + std::string(levels, '[') +
                             std::string(levels, ']') + "}, \"prediction\": \"yes\"}\n";
    const auto refused = mw::daemon::parse_reference_upload(deep, "application/x-ndjson", schema, 1000, 32);
    CHECK(refused.error == "line 3: nested deeper than 32 levels (server.max_json_depth)");
}
