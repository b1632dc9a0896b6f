// Profile-only models in the store (store/profile_writer.h,
// store/profile_store.h) against a real PostgreSQL: predictions stored
// without features, their features as profile chunks written with them per
// time bucket, read back and merged; a replayed write (whole, per frame, or
// inside a write with new rows) profiles nothing twice; a reference's
// profile round trip; two writers' (two daemons') chunks merge into what one
// writer's give, per segment too; segment values past the cap.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
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
    REQUIRE(first.skipped.empty());
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
    REQUIRE(merged.skipped.empty());
    CHECK(merged.profiles.rows() == 4);
    CHECK(merged.profiles.find_numeric("age")->count() == 4);
    CHECK(merged.profiles.find_numeric("age")->max() == 1000);
    CHECK(merged.profiles.find_categorical("city")->items().count("w") == 1);
    CHECK(merged.profiles.find_categorical("city")->items().count("x") == 2);
    CHECK(fixture.count("SELECT count(*) FROM predictions") == 4);
    CHECK(fixture.count("SELECT coalesce(sum(rows), 0) FROM profile_chunks") == 4);
}

TEST_CASE("a reference keeps its merged profile; a damaged chunk is named and left out, the others merged",
          "[profile_store]") {
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

    // A second chunk of the hour, then the first one damaged: it is left
    // out and named (its id, the rows its row records, why), the other
    // merged; a row count that disagrees with the blob's is damage too.
    const std::vector<EncodedBatch> later = {
        profiled_batch({profiled_prediction("b", profiled_hour_us + 2, 50, "y")}, received + 1)};
    writer.write(later);
    const auto first_chunk = fixture.count("SELECT min(id) FROM profile_chunks");
    {
        pqxx::nontransaction damage(*fixture.reader);
        damage.exec0(fmt::format("UPDATE profile_chunks SET profiles = substring(profiles from 1 for 20) WHERE id = {}",
                                 first_chunk));
    }
    const auto damaged = fixture.hour(0);
    CHECK(damaged.chunks == 1);
    REQUIRE(damaged.skipped.size() == 1);
    CHECK(damaged.skipped[0].id == first_chunk);
    CHECK(damaged.skipped[0].rows == 1);
    CHECK(damaged.skipped[0].error.starts_with("profile set: "));
    CHECK(damaged.profiles.rows() == 1);
    CHECK(damaged.profiles.find_numeric("age")->mean() == 50);
    {
        pqxx::nontransaction damage(*fixture.reader);
        damage.exec0(fmt::format("UPDATE profile_chunks SET rows = 2 WHERE id <> {}", first_chunk));
    }
    const auto lying = fixture.hour(0);
    CHECK(lying.chunks == 0);
    REQUIRE(lying.skipped.size() == 2);
    CHECK(lying.skipped[1].error == "1 rows in the profiles, 2 recorded");
    CHECK(lying.profiles.rows() == 0);
    // A reference's profile whose recorded rows disagree is an error too.
    {
        pqxx::nontransaction damage(*fixture.reader);
        damage.exec0(fmt::format("UPDATE reference_profiles SET rows = 7 WHERE reference_id = {}", id));
    }
    const auto lying_reference = store::load_reference_profile(*fixture.reader, id);
    REQUIRE(lying_reference);
    CHECK(lying_reference->error == fmt::format("the profile of reference {}: 1 rows in the profiles, 7 recorded", id));
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

namespace {

// Two profile-only models of one schema with segments by "sex": "split" is
// written by two writers (two daemons), "single" by one.
std::shared_ptr<const store::ProfilePlan> two_daemons_plan(std::uint32_t max_segment_values = 32) {
    std::vector<config::ModelOptions> models;
    for (const char* name : {"split", "single"}) {
        config::ModelOptions model;
        model.schema = profiled_schema();
        model.schema.name = name;
        model.schema.attributes = {"sex"};
        model.store_raw = false;
        model.window.duration_ms = 3'600'000;
        model.drift.segments = {"sex"};
        model.drift.max_segment_values = max_segment_values;
        models.push_back(std::move(model));
    }
    return std::make_shared<const store::ProfilePlan>(store::profile_plan(models));
}

// The first hour's merge of `model`'s chunks.
store::MergedProfiles first_hour(pqxx::connection_base& connection, const std::string& model,
                                 std::size_t max_segment_values = 32) {
    return store::merge_profile_chunks(connection, model, profiled_hour_us, profiled_hour_us + profiled_bucket_us, {},
                                       std::nullopt, max_segment_values);
}

// `split` (merged from two writers' chunks) against `single` (one writer's):
// counts, missing counts, extremes, HyperLogLog and frequent items identical,
// moments equal up to rounding, and both KLL sketches within their published
// rank error of the true ranks of `ages` (the rows' ages, sorted).
void check_same_profiles(const stats::ProfileSet& split, const stats::ProfileSet& single,
                         const std::vector<double>& ages) {
    CHECK(split.rows() == single.rows());
    const auto* split_age = split.find_numeric("age");
    const auto* single_age = single.find_numeric("age");
    REQUIRE(split_age != nullptr);
    REQUIRE(single_age != nullptr);
    CHECK(split_age->count() == single_age->count());
    CHECK(split_age->count() == ages.size());
    CHECK(split_age->missing_count() == single_age->missing_count());
    CHECK(split_age->min() == single_age->min());
    CHECK(split_age->max() == single_age->max());
    CHECK(split_age->mean() == Approx(single_age->mean()).epsilon(1e-12));
    CHECK(split_age->population_variance() == Approx(single_age->population_variance()).epsilon(1e-9));
    CHECK(split_age->distinct_estimate() == single_age->distinct_estimate());
    CHECK(split_age->quantiles().n() == single_age->quantiles().n());
    const double eps = stats::KllSketch::normalized_rank_error(stats::KllSketch::default_k);
    for (std::size_t i = 0; i < ages.size(); i += std::max<std::size_t>(1, ages.size() / 50)) {
        const double value = ages[i];
        const double true_rank = static_cast<double>(std::upper_bound(ages.begin(), ages.end(), value) - ages.begin()) /
                                 static_cast<double>(ages.size());
        CHECK(std::abs(split_age->quantiles().rank(value) - true_rank) <= eps);
        CHECK(std::abs(single_age->quantiles().rank(value) - true_rank) <= eps);
    }
    const auto* split_city = split.find_categorical("city");
    const auto* single_city = single.find_categorical("city");
    REQUIRE(split_city != nullptr);
    REQUIRE(single_city != nullptr);
    CHECK(split_city->count() == single_city->count());
    CHECK(split_city->missing_count() == single_city->missing_count());
    CHECK(split_city->distinct_estimate() == single_city->distinct_estimate());
    CHECK(split_city->items().is_exact());
    const auto split_items = split_city->items().items();
    const auto single_items = single_city->items().items();
    REQUIRE(split_items.size() == single_items.size());
    for (const auto& item : split_items) CHECK(single_city->items().count(item.item) == item.count);
}

}  // namespace

TEST_CASE("two writers' profiles merge into the one writer's profile; replays after a restart profile nothing twice",
          "[profile_store]") {
    ProfileStoreFixture fixture;
    // Two daemons: two writers on their own connections, each with its own
    // spool's batches; a third model's rows, the same, all through one writer.
    auto first_connection = fixture.database.connect();
    auto second_connection = fixture.database.connect();
    store::StoreWriter first(*first_connection, config::StoreOptions{});
    store::StoreWriter second(*second_connection, config::StoreOptions{});
    store::StoreWriter single(fixture.database.connection(), config::StoreOptions{});
    const auto plan = two_daemons_plan();
    for (auto* writer : {&first, &second, &single}) writer->set_profile_plan(plan);

    // 3,000 rows of one hour, in writes of 250: KLL sketches compact (k = 200),
    // so the merged sketch is not the one-pass one, only within the bound.
    std::vector<double> ages;
    std::map<std::string, std::vector<double>> ages_by_sex;
    std::vector<EncodedBatch> by_daemon[2];
    std::vector<EncodedBatch> all;
    const auto received = profiled_hour_us + 5 * profiled_bucket_us;
    for (int write = 0; write < 12; ++write) {
        std::vector<Prediction> records;
        for (int i = write * 250; i < (write + 1) * 250; ++i) {
            // A deterministic spread with repeats, a missing age every 37th row.
            const double age = i % 37 == 0 ? std::numeric_limits<double>::quiet_NaN()
                                           : 18 + static_cast<double>((i * 7919) % 6007) / 100.0;
            auto record = profiled_prediction("r" + std::to_string(i), profiled_hour_us + i * second_us, age,
                                              "city-" + std::to_string(i % 11));
            const std::string sex = i % 5 == 0 ? "" : i % 3 == 0 ? "F" : "M";
            if (!sex.empty()) record.attributes = {{"sex", sex}};
            if (!std::isnan(age)) {
                ages.push_back(age);
                ages_by_sex[sex].push_back(age);
            }
            records.push_back(std::move(record));
        }
        by_daemon[write % 2].push_back(profiled_batch(records, received + write, "split"));
        all.push_back(profiled_batch(std::move(records), received + write, "single"));
    }
    std::sort(ages.begin(), ages.end());
    for (auto& [sex, values] : ages_by_sex) std::sort(values.begin(), values.end());
    // The two daemons write in turn, as they would at once.
    for (std::size_t w = 0; w < by_daemon[0].size(); ++w) {
        CHECK(first.write(std::span(&by_daemon[0][w], 1)).predictions_inserted == 250);
        CHECK(second.write(std::span(&by_daemon[1][w], 1)).predictions_inserted == 250);
    }
    for (const auto& batch : all) CHECK(single.write(std::span(&batch, 1)).predictions_inserted == 250);
    CHECK(fixture.count("SELECT count(*) FROM profile_chunks WHERE model = 'split'") == 12);

    const auto check_merged = [&] {
        const auto split = first_hour(*fixture.reader, "split");
        const auto one = first_hour(*fixture.reader, "single");
        REQUIRE(split.skipped.empty());
        REQUIRE(one.skipped.empty());
        check_same_profiles(split.profiles, one.profiles, ages);
        const auto* split_sex = split.profiles.find_segments("sex");
        const auto* single_sex = one.profiles.find_segments("sex");
        REQUIRE(split_sex != nullptr);
        REQUIRE(single_sex != nullptr);
        CHECK(split_sex->state == stats::SegmentProfiles::State::complete);
        REQUIRE(split_sex->by_value.size() == 3);  // F, M and "" (no sex attribute)
        REQUIRE(single_sex->by_value.size() == 3);
        for (const auto& [sex, part] : split_sex->by_value) {
            INFO("sex=" << sex);
            check_same_profiles(part, single_sex->by_value.at(sex), ages_by_sex[sex]);
        }
    };
    check_merged();

    // Each daemon restarts and replays its whole spool (no range was marked
    // drained): a new writer stores no row and so profiles none again.
    for (int daemon = 0; daemon < 2; ++daemon) {
        auto connection = fixture.database.connect();
        store::StoreWriter restarted(*connection, config::StoreOptions{});
        restarted.set_profile_plan(plan);
        CHECK(restarted.write(by_daemon[daemon]).predictions_inserted == 0);
        for (const auto& batch : by_daemon[daemon]) CHECK(restarted.write(std::span(&batch, 1)).predictions_inserted == 0);
    }
    // And a row one daemon already stored, sent again to the other with a new one.
    std::vector<Prediction> again = {profiled_prediction("r1", profiled_hour_us + second_us, 1000, "late")};
    CHECK(second.write(std::vector<EncodedBatch>{profiled_batch(again, received + 99, "split")}).predictions_inserted ==
          0);
    CHECK(fixture.count("SELECT count(*) FROM profile_chunks WHERE model = 'split'") == 12);
    CHECK(fixture.count("SELECT sum(rows) FROM profile_chunks WHERE model = 'split'") == 3000);
    check_merged();
}

TEST_CASE("segment profiles past drift.max_segment_values are not kept, in a chunk or a merge",
          "[profile_store]") {
    ProfileStoreFixture fixture;
    store::StoreWriter writer(fixture.database.connection(), config::StoreOptions{});
    writer.set_profile_plan(two_daemons_plan(3));
    const auto received = profiled_hour_us + 5 * profiled_bucket_us;
    std::vector<Prediction> three;
    for (int i = 0; i < 3; ++i) {
        three.push_back(profiled_prediction("a" + std::to_string(i), profiled_hour_us + i, 30 + i, "x"));
        three.back().attributes = {{"sex", "v" + std::to_string(i)}};
    }
    writer.write(std::vector<EncodedBatch>{profiled_batch(three, received, "split")});
    const auto within = first_hour(*fixture.reader, "split", 3);
    REQUIRE(within.skipped.empty());
    CHECK(within.profiles.find_segments("sex")->by_value.size() == 3);
    // A fourth value in another write: each chunk is within the cap, their merge is not.
    auto fourth = profiled_prediction("a3", profiled_hour_us + 3, 33, "x");
    fourth.attributes = {{"sex", "v3"}};
    writer.write(std::vector<EncodedBatch>{profiled_batch({fourth}, received, "split")});
    const auto merged = first_hour(*fixture.reader, "split", 3);
    REQUIRE(merged.skipped.empty());
    CHECK(merged.profiles.rows() == 4);
    CHECK(merged.profiles.find_segments("sex")->state == stats::SegmentProfiles::State::overflowed);
    CHECK(merged.profiles.find_segments("sex")->by_value.empty());
    CHECK(first_hour(*fixture.reader, "split", 4).profiles.find_segments("sex")->by_value.size() == 4);
    // Four values in one write: the chunk itself keeps none for the attribute.
    for (auto& record : three) record.id += "-b";
    three.push_back(fourth);
    three.back().id = "a3-b";
    writer.write(std::vector<EncodedBatch>{profiled_batch(three, received, "single")});
    const auto chunk = first_hour(*fixture.reader, "single", 1000);
    REQUIRE(chunk.skipped.empty());
    CHECK(chunk.profiles.find_segments("sex")->state == stats::SegmentProfiles::State::overflowed);
    CHECK(chunk.profiles.find_numeric("age")->count() == 4);
}
