// Profile-only models in the store (store/profile_writer.h,
// store/profile_store.h) against a real PostgreSQL: predictions stored
// without features, their features as profile chunks written with them per
// time bucket, read back and merged; a replayed write (whole, per frame, or
// inside a write with new rows) profiles nothing twice; a reference's
// profile round trip.
#include <catch2/catch.hpp>

#include <vector>

#include <pqxx/nontransaction>

#include "store/copy_encoding.h"
#include "store/migrations.h"
#include "store/monitor_store.h"
#include "store/profile_store.h"
#include "store/profile_writer.h"
#include "store/retention.h"
#include "store/store_writer.h"
#include "tests/support/test_clock.h"
#include "tests/support/test_database.h"

using namespace mw;
using mw::store::EncodedBatch;
using mw::store::testing::TestDatabase;
using mw::testing::second_us;

namespace {

constexpr std::int64_t profiled_bucket_us = 3600 * second_us;
// 2026-01-01T00:00:00Z, bucket-aligned (rows received then go to a day
// partition or, once it is over 400 days old, to the default one: either way
// the test reads the same).
constexpr std::int64_t profiled_hour_us = 1'767'225'600 * second_us;

ModelSchema profiled_schema() {
    ModelSchema model;
    model.name = "private";
    model.features = {{"age", FeatureType::numeric}, {"city", FeatureType::categorical}};
    return model;
}

Prediction profiled_prediction(std::string id, std::int64_t ts_us, double age, std::string city) {
    Prediction record;
    record.id = std::move(id);
    record.ts_us = ts_us;
    record.model_version = "v1";
    record.features = {Value{age}, Value{std::move(city)}};
    record.label = "yes";
    record.score = 0.5;
    return record;
}

EncodedBatch profiled_batch(std::vector<Prediction> records, std::int64_t received_us,
                            std::string model = "private") {
    PredictionBatch batch{std::move(model), std::move(records)};
    EncodedBatch encoded{RecordKind::prediction, static_cast<std::uint32_t>(batch.records.size()), {}};
    store::append_prediction_rows(batch, profiled_schema(), received_us, encoded.copy_rows);
    return encoded;
}

std::shared_ptr<const store::ProfilePlan> private_plan() {
    config::ModelOptions model;
    model.schema = profiled_schema();
    model.store_raw = false;
    model.window.duration_ms = 3'600'000;
    config::ModelOptions raw;
    raw.schema = profiled_schema();
    raw.schema.name = "open";
    return std::make_shared<const store::ProfilePlan>(store::profile_plan({model, raw}));
}

struct ProfileStoreFixture {
    TestDatabase database;
    std::unique_ptr<pqxx::connection> reader = database.connect();

    ProfileStoreFixture() { store::migrate(database.connection()); }

    long long count(const std::string& sql) {
        pqxx::nontransaction query(*reader);
        return query.exec1(sql)[0].as<long long>();
    }
    store::MergedProfiles hour(int index, const std::string& version = {}) {
        const std::int64_t start = profiled_hour_us + index * profiled_bucket_us;
        return store::merge_profile_chunks(*reader, "private", start, start + profiled_bucket_us, version);
    }
};

}  // namespace

TEST_CASE("a profile-only model's predictions are stored without features, profiled per bucket with them",
          "[profile_store]") {
    ProfileStoreFixture fixture;
    store::StoreWriter writer(fixture.database.connection(), config::StoreOptions{});
    writer.set_profile_plan(private_plan());
    REQUIRE(private_plan()->size() == 1);
    const auto received = profiled_hour_us + 5 * profiled_bucket_us;
    const std::vector<EncodedBatch> batches = {
        profiled_batch({profiled_prediction("a", profiled_hour_us + 10, 30, "canary-7f3e"),
                        profiled_prediction("b", profiled_hour_us + 20, 40, "Paris"),
                        profiled_prediction("c", profiled_hour_us + profiled_bucket_us + 5, 50, "Lyon")},
                       received),
        profiled_batch({profiled_prediction("z", profiled_hour_us, 99, "canary-7f3e")}, received, "open"),
    };
    const auto result = writer.write(batches);
    CHECK(result.predictions_inserted == 4);
    CHECK(fixture.count("SELECT count(*) FROM predictions WHERE model = 'private' AND features = '{}'::jsonb") == 3);
    // The canary is in no stored row of the profile-only model; the model that
    // stores its rows keeps it (the positive control of the search).
    CHECK(fixture.count("SELECT count(*) FROM predictions p WHERE model = 'private' AND p::text LIKE '%canary-7f3e%'") ==
          0);
    CHECK(fixture.count("SELECT count(*) FROM predictions p WHERE model = 'open' AND p::text LIKE '%canary-7f3e%'") == 1);
    // Every other column is kept: the outcome join and performance need them.
    CHECK(fixture.count("SELECT count(*) FROM predictions WHERE model = 'private' AND score = 0.5 AND "
                        "prediction_label = 'yes' AND model_version = 'v1'") == 3);
    CHECK(fixture.count("SELECT count(*) FROM profile_chunks") == 2);
    CHECK(fixture.count("SELECT count(*) FROM profile_chunks WHERE model = 'open'") == 0);

    const auto first = fixture.hour(0);
    REQUIRE(first.error.empty());
    CHECK(first.chunks == 1);
    CHECK(first.profiles.rows() == 2);
    REQUIRE(first.profiles.find_numeric("age") != nullptr);
    CHECK(first.profiles.find_numeric("age")->count() == 2);
    CHECK(first.profiles.find_numeric("age")->mean() == Approx(35.0));
    // A profile-only model's numeric profile keeps no reservoir of raw values.
    CHECK(first.profiles.find_numeric("age")->sample().values().empty());
    REQUIRE(first.profiles.find_categorical("city") != nullptr);
    CHECK(first.profiles.find_categorical("city")->items().count("Paris") == 1);
    const auto second = fixture.hour(1);
    CHECK(second.profiles.rows() == 1);
    CHECK(second.profiles.find_numeric("age")->max() == 50);
    CHECK(fixture.hour(0, "v2").profiles.rows() == 0);
    CHECK(fixture.hour(0, "v1").profiles.rows() == 2);
}

TEST_CASE("a replayed write profiles nothing twice, whole, per frame or beside new rows", "[profile_store]") {
    ProfileStoreFixture fixture;
    store::StoreWriter writer(fixture.database.connection(), config::StoreOptions{});
    writer.set_profile_plan(private_plan());
    const auto received = profiled_hour_us + 5 * profiled_bucket_us;
    const std::vector<EncodedBatch> batches = {
        profiled_batch({profiled_prediction("a", profiled_hour_us + 1, 30, "x"),
                        profiled_prediction("b", profiled_hour_us + 2, 40, "y")},
                       received),
        profiled_batch({profiled_prediction("c", profiled_hour_us + 3, 50, "x")}, received),
    };
    CHECK(writer.write(batches).predictions_inserted == 3);
    const auto chunks_after_first = fixture.count("SELECT count(*) FROM profile_chunks");
    for (int replay = 0; replay < 2; ++replay) CHECK(writer.write(batches).predictions_inserted == 0);
    for (const auto& batch : batches) CHECK(writer.write(std::span(&batch, 1)).predictions_inserted == 0);
    CHECK(fixture.count("SELECT count(*) FROM profile_chunks") == chunks_after_first);
    CHECK(fixture.hour(0).profiles.rows() == 3);

    // A replayed row beside new ones, and one id twice in a write (the
    // staging path): only the rows stored are profiled, once.
    const std::vector<EncodedBatch> mixed = {
        profiled_batch({profiled_prediction("a", profiled_hour_us + 1, 30, "x"),
                        profiled_prediction("d", profiled_hour_us + 4, 1000, "w"),
                        profiled_prediction("d", profiled_hour_us + 4, 1000, "w")},
                       received + second_us),
    };
    CHECK(writer.write(mixed).predictions_inserted == 1);
    const auto merged = fixture.hour(0);
    REQUIRE(merged.error.empty());
    CHECK(merged.profiles.rows() == 4);
    CHECK(merged.profiles.find_numeric("age")->count() == 4);
    CHECK(merged.profiles.find_numeric("age")->max() == 1000);
    CHECK(merged.profiles.find_categorical("city")->items().count("w") == 1);
    CHECK(merged.profiles.find_categorical("city")->items().count("x") == 2);
    CHECK(fixture.count("SELECT count(*) FROM predictions") == 4);
    CHECK(fixture.count("SELECT coalesce(sum(rows), 0) FROM profile_chunks") == 4);
}

TEST_CASE("a reference keeps its merged profile; a damaged chunk is named, not merged", "[profile_store]") {
    ProfileStoreFixture fixture;
    store::StoreWriter writer(fixture.database.connection(), config::StoreOptions{});
    writer.set_profile_plan(private_plan());
    const auto received = profiled_hour_us + 5 * profiled_bucket_us;
    const std::vector<EncodedBatch> batch = {
        profiled_batch({profiled_prediction("a", profiled_hour_us + 1, 30, "x")}, received)};
    writer.write(batch);
    const auto merged = fixture.hour(0);
    store::NewReference reference;
    reference.model = "private";
    reference.source = "first_n";
    reference.rows = static_cast<std::int64_t>(merged.profiles.rows());
    reference.sample_json = "{}";
    reference.profiles = merged.profiles.serialize();
    const auto id = store::insert_reference(fixture.database.connection(), reference);
    CHECK(store::reference_has_profile(*fixture.reader, id));
    const auto loaded = store::load_reference_profile(*fixture.reader, id);
    REQUIRE(loaded);
    REQUIRE(loaded->error.empty());
    CHECK(loaded->rows == 1);
    CHECK(loaded->profiles.find_numeric("age")->mean() == 30);

    reference.profiles.reset();
    const auto raw = store::insert_reference(fixture.database.connection(), reference);
    CHECK_FALSE(store::reference_has_profile(*fixture.reader, raw));
    CHECK_FALSE(store::load_reference_profile(*fixture.reader, raw));

    {
        pqxx::nontransaction damage(*fixture.reader);
        damage.exec0("UPDATE profile_chunks SET profiles = substring(profiles from 1 for 20)");
    }
    const auto damaged = fixture.hour(0);
    CHECK(damaged.error.starts_with("profile chunk "));
    CHECK(damaged.error.find("of model private") != std::string::npos);
}

TEST_CASE("retention deletes a bucket's chunks with the predictions' age, only once a window reached the bucket",
          "[profile_store]") {
    ProfileStoreFixture fixture;
    store::StoreWriter writer(fixture.database.connection(), config::StoreOptions{});
    writer.set_profile_plan(private_plan());
    const std::vector<EncodedBatch> batch = {
        profiled_batch({profiled_prediction("a", profiled_hour_us + 1, 30, "x"),
                        profiled_prediction("b", profiled_hour_us + profiled_bucket_us + 1, 31, "x")},
                       profiled_hour_us + 3 * profiled_bucket_us)};
    writer.write(batch);
    REQUIRE(fixture.count("SELECT count(*) FROM profile_chunks") == 2);
    config::RetentionOptions options;
    options.predictions_s = 86400;
    const std::int64_t later_us = profiled_hour_us + 30 * 86400 * second_us;
    CHECK(store::apply_retention(fixture.database.connection(), options, later_us).profile_chunks_deleted == 0);
    // The first bucket's window closed: its chunk may go, the second's stays until its window closes.
    store::StoredWindow window;
    window.sequence = 1;
    window.first = {profiled_hour_us + 1, "a"};
    window.last = {profiled_hour_us + 1, "a"};
    window.rows = 1;
    store::record_window(fixture.database.connection(), "private", std::nullopt, window, {}, {});
    CHECK(store::apply_retention(fixture.database.connection(), options, later_us).profile_chunks_deleted == 1);
    CHECK(fixture.hour(0).profiles.rows() == 0);
    CHECK(fixture.hour(1).profiles.rows() == 1);
    // Within the age, nothing goes whatever the windows.
    CHECK(store::apply_retention(fixture.database.connection(), options, profiled_hour_us).profile_chunks_deleted == 0);
}
