// SpoolDrain with several connections against a real PostgreSQL: every
// acknowledged record is stored exactly once by (model, id) although the
// workers write consecutive spool ranges at the same time, the same ids
// recur across ranges, and two drains (two daemons) share one database.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <string>
#include <vector>

#include <pqxx/transaction>

#include "store/copy_encoding.h"
#include "store/migrations.h"
#include "store/spool.h"
#include "store/spool_drain.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_database.h"

using namespace mw;
using mw::store::EncodedBatch;
using mw::store::Spool;
using mw::store::SpoolDrain;
using mw::store::testing::TestDatabase;

namespace {

ModelSchema age_schema() {
    ModelSchema model;
    model.name = "churn";
    model.features = {{"age", FeatureType::numeric}};
    return model;
}

std::int64_t now_s() {
    using namespace std::chrono;
    return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

// Batch `n`: 50 predictions; ids n*40 .. n*40+49, so each batch repeats the
// last 10 ids of the one before it, which is usually in another range.
EncodedBatch predictions(int n, const std::string& model = "churn") {
    PredictionBatch batch{model, {}};
    for (int i = 0; i < 50; ++i) {
        Prediction record;
        record.id = "id-" + std::to_string(n * 40 + i);
        record.ts_us = now_s() * 1'000'000;
        record.model_version = "v1";
        record.features = {Value{static_cast<double>(n * 40 + i)}};
        record.label = "yes";
        batch.records.push_back(std::move(record));
    }
    EncodedBatch encoded{RecordKind::prediction, static_cast<std::uint32_t>(batch.records.size()), {}};
    store::append_prediction_rows(batch, age_schema(), now_s() * 1'000'000, encoded.copy_rows);
    return encoded;
}

EncodedBatch outcomes(int n) {
    OutcomeBatch batch{"churn", {}};
    for (int i = 0; i < 50; ++i)
        batch.records.push_back(Outcome{.id = "id-" + std::to_string(n * 40 + i), .ts_us = now_s() * 1'000'000,
                                        .label = "no", .value = std::nullopt});
    EncodedBatch encoded{RecordKind::outcome, static_cast<std::uint32_t>(batch.records.size()), {}};
    store::append_outcome_rows(batch, now_s() * 1'000'000, encoded.copy_rows);
    return encoded;
}

void append_durably(Spool& spool, EncodedBatch batch) {
    std::promise<IngestResult> promise;
    auto future = promise.get_future();
    spool.append(std::move(batch), spool.receive(), [&](IngestResult result) { promise.set_value(result); });
    REQUIRE(future.get().status == IngestStatus::durable);
}

config::SpoolOptions spool_options(const testing::TempDir& dir) {
    config::SpoolOptions options;
    options.dir = dir.path().string();
    options.segment_bytes = 64 << 10;  // several segments, deleted as the ranges commit
    return options;
}

config::StoreOptions store_options(const TestDatabase& database, std::uint32_t connections) {
    config::StoreOptions options;
    options.dsn = database.dsn();
    options.drain_connections = connections;
    options.batch_max_records = 200;  // many small ranges, so the workers overlap
    options.retry_initial_ms = 20;
    options.retry_max_ms = 200;
    return options;
}

std::int64_t count(pqxx::connection& connection, const std::string& sql) {
    pqxx::read_transaction transaction(connection);
    return transaction.exec1(sql)[0].as<std::int64_t>();
}

}  // namespace

TEST_CASE("four drain connections store every record once, ids repeated across ranges") {
    TestDatabase database;
    store::migrate(database.connection());
    testing::TempDir dir("mw-drain");
    Spool spool(spool_options(dir));
    spool.start();
    constexpr int batches = 120;
    for (int n = 0; n < batches; ++n) {
        append_durably(spool, predictions(n));
        if (n % 3 == 0) append_durably(spool, outcomes(n));
    }
    REQUIRE(spool.stats().undrained_bytes > 0);

    SpoolDrain drain(spool, store_options(database, 4), dir.path().string());
    drain.start();
    REQUIRE(drain.wait_drained(120'000));
    drain.stop();

    constexpr std::int64_t unique_ids = (batches - 1) * 40 + 50;
    CHECK(count(database.connection(), "SELECT count(*) FROM predictions") == unique_ids);
    CHECK(count(database.connection(), "SELECT count(DISTINCT (model, id)) FROM predictions") == unique_ids);
    CHECK(count(database.connection(), "SELECT count(*) FROM outcomes") ==
          count(database.connection(), "SELECT count(DISTINCT id) FROM outcomes"));
    const auto stats = drain.stats();
    CHECK(stats.predictions_written == static_cast<std::uint64_t>(unique_ids));
    CHECK(stats.batches_quarantined == 0);
    // Committed in order up to the end: nothing left, the old segments gone.
    CHECK(spool.stats().undrained_bytes == 0);
    CHECK(spool.stats().undrained_batches == 0);
    CHECK(spool.stats().segments == 1);
}

TEST_CASE("two drains with two connections each on one database (two daemons) store each id once") {
    TestDatabase database;
    store::migrate(database.connection());
    testing::TempDir first_dir("mw-drain-a");
    testing::TempDir second_dir("mw-drain-b");
    Spool first(spool_options(first_dir));
    Spool second(spool_options(second_dir));
    first.start();
    second.start();
    // The same 80 batches in both spools, in opposite orders: the same ids
    // race through four connections.
    constexpr int batches = 80;
    for (int n = 0; n < batches; ++n) {
        append_durably(first, predictions(n));
        append_durably(second, predictions(batches - 1 - n));
    }
    SpoolDrain first_drain(first, store_options(database, 2), first_dir.path().string());
    SpoolDrain second_drain(second, store_options(database, 2), second_dir.path().string());
    first_drain.start();
    second_drain.start();
    REQUIRE(first_drain.wait_drained(120'000));
    REQUIRE(second_drain.wait_drained(120'000));
    first_drain.stop();
    second_drain.stop();

    constexpr std::int64_t unique_ids = (batches - 1) * 40 + 50;
    CHECK(count(database.connection(), "SELECT count(*) FROM predictions") == unique_ids);
    CHECK(count(database.connection(), "SELECT count(DISTINCT (model, id)) FROM predictions") == unique_ids);
    CHECK(first_drain.stats().predictions_written + second_drain.stats().predictions_written ==
          static_cast<std::uint64_t>(unique_ids));
    CHECK(first_drain.stats().batches_quarantined + second_drain.stats().batches_quarantined == 0);
}

TEST_CASE("batches hashed under a key PostgreSQL does not record for their model are quarantined, the others stored") {
    TestDatabase database;
    store::migrate(database.connection());
    constexpr std::int64_t started_us = 1'700'000'000'000'000;
    // churn's key as the daemons that run it recorded it.
    store::claim_privacy_keys(database.connection(), {{"churn", "aaaaaaaa", "", "/etc/churn.key", "fp"}}, started_us);
    testing::TempDir dir("mw-drain-keys");
    Spool spool(spool_options(dir));
    spool.start();
    const auto keyed = [](EncodedBatch batch, const std::string& model, const std::string& key_id) {
        batch.model = model;
        batch.privacy_key_id = key_id;
        return batch;
    };
    append_durably(spool, keyed(predictions(0), "churn", "aaaaaaaa"));   // ids 0-49
    append_durably(spool, keyed(predictions(10), "churn", "bbbbbbbb"));  // ids 400-449: acknowledged under a stray key
    append_durably(spool, keyed(predictions(20), "churn", ""));          // ids 800-849: hashed nothing
    append_durably(spool, keyed(predictions(30, "fresh"), "fresh", "cccccccc"));  // first claimed by this drain

    // This daemon runs churn under the stray key (started while PostgreSQL
    // was down): its claim is refused for churn only, and fresh is recorded.
    SpoolDrain drain(spool, store_options(database, 1), dir.path().string(),
                     store::DrainPrivacy{{{"churn", "bbbbbbbb", "", "/srv/stray.key", "fp2"},
                                          {"fresh", "cccccccc", "", "/etc/fresh.key", "fp3"}},
                                         started_us});
    drain.start();
    REQUIRE(drain.wait_drained(60'000));
    drain.stop();

    CHECK(count(database.connection(), "SELECT count(*) FROM predictions WHERE model = 'churn'") == 100);
    CHECK(count(database.connection(), "SELECT count(*) FROM predictions WHERE model = 'churn' AND id = 'id-400'") ==
          0);
    CHECK(count(database.connection(), "SELECT count(*) FROM predictions WHERE model = 'fresh'") == 50);
    const auto stats = drain.stats();
    CHECK_FALSE(stats.writes_refused);
    CHECK(stats.batches_quarantined == 1);
    CHECK(stats.records_key_refused.size() == 1);
    CHECK(stats.records_key_refused.at({"churn", "bbbbbbbb"}) == 50);
    CHECK(stats.key_conflicts.size() == 1);
    CHECK(drain.key_conflict("churn").starts_with(
        "privacy_key_conflict model=churn key_id=bbbbbbbb recorded_key_id=aaaaaaaa key_file=/srv/stray.key: "));
    CHECK(drain.key_conflict("fresh").empty());

    // Nothing acknowledged is lost: the batch is in its quarantine file, which says why.
    std::vector<std::string> quarantined;
    for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
        if (entry.path().filename().string().starts_with("quarantine-")) {
            std::ifstream in(entry.path());
            std::stringstream content;
            content << in.rdbuf();
            quarantined.push_back(content.str());
        }
    REQUIRE(quarantined.size() == 1);
    CHECK(quarantined[0].starts_with(
        "-- not stored: privacy_key_mismatch model=churn key_id=bbbbbbbb recorded_key_id=aaaaaaaa: "));
    CHECK(quarantined[0].find("\tid-400\t") != std::string::npos);
    CHECK(quarantined[0].find("\tid-449\t") != std::string::npos);
}
