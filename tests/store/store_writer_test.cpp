// StoreWriter against a real PostgreSQL (see test_database.h): idempotent
// replay, duplicate ids, first outcome wins, the labelled_predictions join,
// partitions on demand, and the COPY encoding read back through SELECT.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>
#include <vector>

#include <pqxx/except>
#include <pqxx/nontransaction>
#include <pqxx/result>

#include <fmt/format.h>

#include "store/copy_encoding.h"
#include "store/migrations.h"
#include "store/monitor_store.h"
#include "store/store_writer.h"
#include "tests/support/test_clock.h"
#include "tests/support/test_database.h"

using namespace mw;
using mw::store::EncodedBatch;
using mw::store::StoreWriter;
using mw::store::testing::TestDatabase;
using mw::testing::day_us;
using mw::testing::second_us;

namespace {

// Whole seconds, so that expected delays are exact.
std::int64_t whole_second_now_us() {
    using namespace std::chrono;
    return duration_cast<seconds>(system_clock::now().time_since_epoch()).count() * second_us;
}

ModelSchema churn_schema() {
    ModelSchema model;
    model.name = "churn";
    model.features = {{"age", FeatureType::numeric}, {"plan", FeatureType::categorical}};
    return model;
}

Prediction prediction(std::string id, std::int64_t ts_us, std::string label = "yes") {
    Prediction record;
    record.id = std::move(id);
    record.ts_us = ts_us;
    record.model_version = "v1";
    record.features = {Value{40.0}, Value{std::string("basic")}};
    record.label = std::move(label);
    record.score = 0.75;
    return record;
}

EncodedBatch predictions(std::vector<Prediction> records, std::int64_t received_us, std::string model = "churn") {
    PredictionBatch batch{std::move(model), std::move(records)};
    EncodedBatch encoded{RecordKind::prediction, static_cast<std::uint32_t>(batch.records.size()), {}};
    store::append_prediction_rows(batch, churn_schema(), received_us, encoded.copy_rows);
    return encoded;
}

EncodedBatch outcomes(std::vector<Outcome> records, std::int64_t received_us, std::string model = "churn") {
    OutcomeBatch batch{std::move(model), std::move(records)};
    EncodedBatch encoded{RecordKind::outcome, static_cast<std::uint32_t>(batch.records.size()), {}};
    store::append_outcome_rows(batch, received_us, encoded.copy_rows);
    return encoded;
}

Outcome outcome(std::string id, std::int64_t ts_us, std::string label) {
    return Outcome{.id = std::move(id), .ts_us = ts_us, .label = std::move(label), .value = std::nullopt};
}

struct Fixture {
    TestDatabase database;
    std::unique_ptr<pqxx::connection> reader = database.connect();

    Fixture() { store::migrate(database.connection()); }

    long long count(const std::string& sql) {
        pqxx::nontransaction query(*reader);
        return query.exec1(sql)[0].as<long long>();
    }
    std::string text(const std::string& sql) {
        pqxx::nontransaction query(*reader);
        return query.exec1(sql)[0].as<std::string>();
    }
};

}  // namespace

TEST_CASE("replaying the same batches leaves each record stored once", "[store_writer]") {
    Fixture fixture;
    StoreWriter writer(fixture.database.connection(), config::StoreOptions{});
    const auto now = whole_second_now_us();
    const std::vector<EncodedBatch> batches = {
        predictions({prediction("a", now), prediction("b", now), prediction("c", now - day_us)}, now),
        outcomes({outcome("a", now, "yes"), outcome("z", now, "no")}, now),
        predictions({prediction("d", now)}, now, "fraud"),
    };

    const auto first = writer.write(batches);
    CHECK(first.predictions_received == 4);
    CHECK(first.predictions_inserted == 4);
    CHECK(first.outcomes_received == 2);
    CHECK(first.outcomes_inserted == 2);
    for (int replay = 0; replay < 2; ++replay) {
        const auto again = writer.write(batches);
        CHECK(again.predictions_received == 4);
        CHECK(again.predictions_inserted == 0);
        CHECK(again.outcomes_received == 2);
        CHECK(again.outcomes_inserted == 0);
    }
    // A replay grouped differently (one frame per write) changes nothing either.
    for (const auto& batch : batches) {
        const auto single = writer.write(std::span(&batch, 1));
        CHECK(single.predictions_inserted + single.outcomes_inserted == 0);
    }
    CHECK(fixture.count("SELECT count(*) FROM predictions") == 4);
    CHECK(fixture.count("SELECT count(*) FROM outcomes") == 2);
    CHECK(fixture.count("SELECT count(*) FROM predictions WHERE model = 'fraud' AND id = 'd'") == 1);
}

TEST_CASE("a duplicate id with a different ts is not stored twice", "[store_writer]") {
    Fixture fixture;
    StoreWriter writer(fixture.database.connection(), config::StoreOptions{});
    const auto now = whole_second_now_us();

    SECTION("across writes, the stored prediction wins") {
        writer.write(std::vector{predictions({prediction("a", now, "first")}, now)});
        const auto later = writer.write(std::vector{predictions({prediction("a", now - 3 * day_us, "second")}, now)});
        CHECK(later.predictions_received == 1);
        CHECK(later.predictions_inserted == 0);
        CHECK(fixture.text("SELECT prediction_label FROM predictions WHERE id = 'a'") == "first");
    }
    SECTION("within one write, the one received first wins") {
        const auto result = writer.write(std::vector{
            predictions({prediction("a", now - 2 * day_us, "later")}, now + second_us),
            predictions({prediction("a", now, "earlier")}, now),
        });
        CHECK(result.predictions_received == 2);
        CHECK(result.predictions_inserted == 1);
        CHECK(fixture.text("SELECT prediction_label FROM predictions WHERE id = 'a'") == "earlier");
    }
    SECTION("the same id under another model is another record") {
        const auto result = writer.write(
            std::vector{predictions({prediction("a", now)}, now), predictions({prediction("a", now)}, now, "other")});
        CHECK(result.predictions_inserted == 2);
    }
    CHECK(fixture.count("SELECT count(*) FROM predictions WHERE model = 'churn' AND id = 'a'") == 1);
}

TEST_CASE("the first outcome for an id wins", "[store_writer]") {
    Fixture fixture;
    StoreWriter writer(fixture.database.connection(), config::StoreOptions{});
    const auto now = whole_second_now_us();
    writer.write(std::vector{outcomes({outcome("a", now, "yes")}, now)});
    const auto second = writer.write(std::vector{outcomes({outcome("a", now, "no")}, now + second_us)});
    CHECK(second.outcomes_inserted == 0);
    CHECK(fixture.text("SELECT label FROM outcomes WHERE id = 'a'") == "yes");

    const auto same_write = writer.write(std::vector{
        outcomes({outcome("b", now, "late")}, now + 5 * second_us),
        outcomes({outcome("b", now, "early")}, now + 2 * second_us),
    });
    CHECK(same_write.outcomes_received == 2);
    CHECK(same_write.outcomes_inserted == 1);
    CHECK(fixture.text("SELECT label FROM outcomes WHERE id = 'b'") == "early");
}

TEST_CASE("outcomes join their predictions whichever arrived first, with the label delay", "[store_writer]") {
    Fixture fixture;
    StoreWriter writer(fixture.database.connection(), config::StoreOptions{});
    const auto predicted = whole_second_now_us() - 3600 * second_us;

    // "after": the prediction is stored, its outcome reaches us 90 s after the prediction's ts.
    writer.write(std::vector{predictions({prediction("after", predicted)}, predicted + second_us)});
    writer.write(std::vector{outcomes({outcome("after", predicted + 60 * second_us, "no")}, predicted + 90 * second_us)});
    // "before": the outcome is stored first (received 30 s after the prediction's
    // ts), the prediction record itself arrives 10 minutes later.
    writer.write(std::vector{outcomes({outcome("before", predicted, "yes")}, predicted + 30 * second_us)});
    writer.write(std::vector{predictions({prediction("before", predicted)}, predicted + 600 * second_us)});
    // An outcome without a prediction is not in the view.
    writer.write(std::vector{outcomes({outcome("orphan", predicted, "yes")}, predicted)});

    CHECK(fixture.count("SELECT count(*) FROM labelled_predictions") == 2);
    CHECK(fixture.text("SELECT label FROM labelled_predictions WHERE id = 'after'") == "no");
    CHECK(fixture.text("SELECT label_delay_seconds::text FROM labelled_predictions WHERE id = 'after'") ==
          "90.000000");
    CHECK(fixture.text("SELECT label FROM labelled_predictions WHERE id = 'before'") == "yes");
    CHECK(fixture.text("SELECT label_delay_seconds::text FROM labelled_predictions WHERE id = 'before'") ==
          "30.000000");
}

TEST_CASE("partitions are created for the days records were received; outside the window they go to the default",
          "[store_writer]") {
    Fixture fixture;
    StoreWriter writer(fixture.database.connection(), config::StoreOptions{});
    const auto now = whole_second_now_us();
    const std::string partitions =
        "SELECT count(*) FROM pg_inherits WHERE inhparent = 'predictions'::regclass";
    // Each row in the partition named after the UTC day it was received, or
    // in the default; its ts does not matter.
    const auto misplaced = [](const std::string& table) {
        return fmt::format(R"sql(
        SELECT count(*) FROM {0}
        WHERE tableoid::regclass::text <> CASE WHEN id LIKE 'out%' THEN '{0}_default'
              ELSE '{0}_p' || to_char(received_at AT TIME ZONE 'UTC', 'YYYYMMDD') END)sql",
                           table);
    };
    CHECK(fixture.count(partitions) == 1);

    const auto result = writer.write(std::vector{
        predictions({prediction("d0", now), prediction("d0-old-ts", now - 300 * day_us)}, now),
        predictions({prediction("d5", now)}, now - 5 * day_us),
        predictions({prediction("d10", now), prediction("d10b", now + day_us)}, now - 10 * day_us),
        predictions({prediction("out_old", now)}, now - 500 * day_us),
        predictions({prediction("out_future", now)}, now + 3 * day_us),
        outcomes({outcome("d0", now, "yes")}, now),
        outcomes({outcome("d5", now, "no")}, now - 5 * day_us),
        outcomes({outcome("out_old", now, "no")}, now - 500 * day_us),
    });
    CHECK(result.predictions_inserted == 7);
    CHECK(result.outcomes_inserted == 3);
    CHECK(fixture.count(partitions) == 4);
    CHECK(fixture.count("SELECT count(*) FROM pg_inherits WHERE inhparent = 'outcomes'::regclass") == 3);
    CHECK(fixture.count(misplaced("predictions")) == 0);
    CHECK(fixture.count(misplaced("outcomes")) == 0);
    CHECK(fixture.count("SELECT count(*) FROM predictions_default") == 2);
    CHECK(fixture.count("SELECT count(*) FROM outcomes_default") == 1);

    // A later write with known and new days creates only the new one.
    writer.write(std::vector{predictions({prediction("d1", now)}, now - day_us), predictions({prediction("d0b", now)}, now)});
    CHECK(fixture.count(partitions) == 5);
    CHECK(fixture.count(misplaced("predictions")) == 0);

    // Ranges are whole UTC days, and each partition has its own primary key
    // (model, id): the uniqueness of an id within its day.
    pqxx::nontransaction query(*fixture.reader);
    query.exec0("SET TimeZone = 'UTC'");
    std::string day;
    store::append_timestamptz_us(now - 5 * day_us, day);
    const auto name = "predictions_p" + day.substr(0, 4) + day.substr(5, 2) + day.substr(8, 2);
    const auto bound = query.exec_params1(
        "SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = $1", name)[0].as<std::string>();
    CHECK(bound.starts_with("FOR VALUES FROM ('" + day.substr(0, 10) + " 00:00:00+00') TO ('"));
    CHECK(bound.ends_with(" 00:00:00+00')"));
    CHECK(query.exec_params1("SELECT pg_get_indexdef(conindid) FROM pg_constraint WHERE conrelid = $1::regclass "
                             "AND contype = 'p'",
                             name)[0]
              .as<std::string>()
              .ends_with("USING btree (model, id)"));
}

TEST_CASE("tabs, newlines, backslashes, quotes and unicode read back equal", "[store_writer]") {
    Fixture fixture;
    StoreWriter writer(fixture.database.connection(), config::StoreOptions{});
    const auto now = whole_second_now_us();
    const std::vector<std::string> tricky = {
        "tab\there", "new\nline", "carriage\rreturn", "back\\slash", "\\.", "\\N", "quote \"q\" 'single'",
        "température ☃ 😀", "control\x01\x1f", "{\"json\": [1]}", "",
    };
    ModelSchema model;
    model.name = "m\t\"x\"";
    for (const auto& name : tricky) model.features.push_back({"f " + name, FeatureType::categorical});

    PredictionBatch batch;
    batch.model = model.name;
    Prediction record;
    record.id = "id\t\n\\ \"☃\"";
    record.ts_us = now;
    record.model_version = "v\\1\n";
    for (const auto& value : tricky) record.features.push_back(Value{value});
    record.undeclared_features = {{"undeclared \"\\\t", Value{std::string("u\n\\v")}}};
    record.label = "label\twith\\tab";
    record.attributes = {{"région\n", "eu\t\"west\"\\"}};
    batch.records.push_back(record);
    EncodedBatch encoded{RecordKind::prediction, 1, {}};
    store::append_prediction_rows(batch, model, now, encoded.copy_rows);

    OutcomeBatch outcome_batch{model.name, {Outcome{.id = record.id, .ts_us = now, .label = "out\r\n\\", .value = 1.5}}};
    EncodedBatch encoded_outcome{RecordKind::outcome, 1, {}};
    store::append_outcome_rows(outcome_batch, now, encoded_outcome.copy_rows);

    // An outcome dated in year 0 (1 BC), which the ingest parser accepts.
    OutcomeBatch ancient{model.name, {Outcome{.id = "ancient", .ts_us = -62154086400000000, .label = "x"}}};
    EncodedBatch encoded_ancient{RecordKind::outcome, 1, {}};
    store::append_outcome_rows(ancient, now, encoded_ancient.copy_rows);

    const auto result = writer.write(std::vector{encoded, encoded_outcome, encoded_ancient});
    REQUIRE(result.predictions_inserted == 1);
    REQUIRE(result.outcomes_inserted == 2);

    pqxx::nontransaction query(*fixture.reader);
    const auto row = query.exec_params1(
        "SELECT model, id, model_version, prediction_label, features, attributes ->> $2, features ->> $3 "
        "FROM predictions WHERE id = $1",
        record.id, std::string("région\n"), std::string("undeclared \"\\\t"));
    CHECK(row[0].as<std::string>() == model.name);
    CHECK(row[1].as<std::string>() == record.id);
    CHECK(row[2].as<std::string>() == record.model_version);
    CHECK(row[3].as<std::string>() == *record.label);
    CHECK(row[5].as<std::string>() == "eu\t\"west\"\\");
    CHECK(row[6].as<std::string>() == "u\n\\v");
    for (const auto& value : tricky) {
        INFO("feature value: " << value);
        const auto read = query.exec_params1("SELECT features ->> $2 FROM predictions WHERE id = $1", record.id,
                                             "f " + value);
        CHECK(read[0].as<std::string>() == value);
    }
    CHECK(query.exec_params1("SELECT count(*) FROM predictions, jsonb_object_keys(features) WHERE id = $1", record.id)[0]
              .as<int>() == static_cast<int>(tricky.size()) + 1);
    const auto labelled = query.exec_params1("SELECT label, value FROM labelled_predictions WHERE id = $1", record.id);
    CHECK(labelled[0].as<std::string>() == "out\r\n\\");
    CHECK(labelled[1].as<double>() == 1.5);
    CHECK(query.exec1("SELECT extract(epoch FROM ts)::bigint FROM outcomes WHERE id = 'ancient'")[0].as<long long>() ==
          -62154086400);
    CHECK(query.exec1("SELECT extract(epoch FROM ts) * 1000000 FROM predictions")[0].as<double>() ==
          static_cast<double>(now));
}

TEST_CASE("a batch PostgreSQL rejects fails the whole write, and the writer keeps working", "[store_writer]") {
    Fixture fixture;
    StoreWriter writer(fixture.database.connection(), config::StoreOptions{});
    const auto now = whole_second_now_us();
    const auto good = predictions({prediction("good", now)}, now);
    const EncodedBatch bad{RecordKind::prediction, 1, "not\ta\tprediction\trow\n"};
    CHECK_THROWS_AS(writer.write(std::vector{good, bad}), pqxx::sql_error);
    CHECK(fixture.count("SELECT count(*) FROM predictions") == 0);

    const auto retried = writer.write(std::vector{good});
    CHECK(retried.predictions_inserted == 1);
    CHECK(fixture.count("SELECT count(*) FROM predictions") == 1);
}

TEST_CASE("a lost connection surfaces as pqxx::broken_connection and commits nothing", "[store_writer]") {
    // The drain tells "PostgreSQL is gone, reconnect and retry" from "this
    // batch is refused" by this exception type.
    Fixture fixture;
    auto connection = fixture.database.connect();
    auto writer = std::make_unique<StoreWriter>(*connection, config::StoreOptions{});
    const auto now = whole_second_now_us();
    writer->write(std::vector{predictions({prediction("before", now)}, now)});
    {
        pqxx::nontransaction admin(*fixture.reader);
        admin.exec_params("SELECT pg_terminate_backend($1)", connection->backendpid());
    }
    const auto batch = predictions({prediction("after", now)}, now);
    CHECK_THROWS_AS(writer->write(std::vector{batch}), pqxx::broken_connection);
    CHECK(fixture.count("SELECT count(*) FROM predictions") == 1);

    // What the drain does next: a new connection and writer, the same batch.
    writer.reset();
    connection = fixture.database.connect();
    writer = std::make_unique<StoreWriter>(*connection, config::StoreOptions{});
    CHECK(writer->write(std::vector{batch}).predictions_inserted == 1);
    CHECK(fixture.count("SELECT count(*) FROM predictions") == 2);
}

TEST_CASE("two writers creating the same partitions at once both succeed", "[store_writer]") {
    Fixture fixture;
    auto first_connection = fixture.database.connect();
    auto second_connection = fixture.database.connect();
    StoreWriter first(*first_connection, config::StoreOptions{});
    StoreWriter second(*second_connection, config::StoreOptions{});
    const auto now = whole_second_now_us();
    // Five days of records each, received on five days.
    std::vector<EncodedBatch> first_batches, second_batches;
    for (int day = 0; day < 5; ++day) {
        first_batches.push_back(predictions({prediction("first" + std::to_string(day), now)}, now - day * day_us));
        second_batches.push_back(predictions({prediction("second" + std::to_string(day), now)}, now - day * day_us));
    }

    // Catch2 assertions are not thread-safe: the thread only records.
    std::uint64_t second_inserted = 0;
    std::string second_error;
    std::thread other([&] {
        try {
            second_inserted = second.write(second_batches).predictions_inserted;
        } catch (const std::exception& error) {
            second_error = error.what();
        }
    });
    const auto first_inserted = first.write(first_batches).predictions_inserted;
    other.join();
    CHECK(second_error.empty());
    CHECK(first_inserted == 5);
    CHECK(second_inserted == 5);
    CHECK(fixture.count("SELECT count(*) FROM predictions_default") == 0);
    CHECK(fixture.count("SELECT count(*) FROM pg_inherits WHERE inhparent = 'predictions'::regclass") == 6);
}

namespace {

// The last UTC midnight before `now_us`, and one received time each side of
// it within boundary_window_seconds.
struct Midnight {
    std::int64_t at_us;
    std::int64_t before_us;  // 30 minutes before
    std::int64_t after_us;   // 20 minutes after
};

Midnight last_midnight(std::int64_t now) {
    const std::int64_t at = now / day_us * day_us;
    return {at, at - 1800 * second_us, at + 1200 * second_us};
}

}  // namespace

TEST_CASE("a retry that crosses midnight is stored once; an id received again a day later is another record",
          "[store_writer]") {
    static_assert(store::boundary_window_seconds == 3600, "the times below assume a one-hour boundary window");
    Fixture fixture;
    StoreWriter writer(fixture.database.connection(), config::StoreOptions{});
    const auto midnight = last_midnight(whole_second_now_us());

    SECTION("in two writes") {
        CHECK(writer.write(std::vector{predictions({prediction("a", midnight.before_us, "first")}, midnight.before_us),
                                       outcomes({outcome("a", midnight.before_us, "yes")}, midnight.before_us)})
                  .predictions_inserted == 1);
        const auto retry =
            writer.write(std::vector{predictions({prediction("a", midnight.after_us, "retry")}, midnight.after_us),
                                     outcomes({outcome("a", midnight.after_us, "no")}, midnight.after_us)});
        CHECK(retry.predictions_received == 1);
        CHECK(retry.predictions_inserted == 0);
        CHECK(retry.outcomes_inserted == 0);
        CHECK(fixture.text("SELECT prediction_label FROM predictions WHERE id = 'a'") == "first");
        CHECK(fixture.text("SELECT label FROM outcomes WHERE id = 'a'") == "yes");
        CHECK(fixture.count("SELECT count(*) FROM predictions WHERE id = 'a'") == 1);
        CHECK(fixture.count("SELECT count(*) FROM outcomes WHERE id = 'a'") == 1);
    }
    SECTION("in one write, the one received first wins") {
        const auto result =
            writer.write(std::vector{predictions({prediction("a", midnight.after_us, "retry")}, midnight.after_us),
                                     predictions({prediction("a", midnight.before_us, "first")}, midnight.before_us)});
        CHECK(result.predictions_inserted == 1);
        CHECK(fixture.text("SELECT prediction_label FROM predictions WHERE id = 'a'") == "first");
        CHECK(fixture.count("SELECT count(*) FROM predictions WHERE id = 'a'") == 1);
    }
    SECTION("the first arrival stored without a claim (more than an hour before midnight) still wins the day") {
        const auto early = midnight.at_us - 5 * 3600 * second_us;
        writer.write(std::vector{predictions({prediction("a", early, "first")}, early)});
        // Same day, within the hour before midnight: the day's key refuses it
        // (and its claim on the boundary is made anyway).
        CHECK(writer.write(std::vector{predictions({prediction("a", early, "second")}, midnight.before_us)})
                  .predictions_inserted == 0);
        // After midnight, within the hour of the second arrival: that claim refuses it.
        CHECK(writer.write(std::vector{predictions({prediction("a", early, "third")}, midnight.after_us)})
                  .predictions_inserted == 0);
        CHECK(fixture.text("SELECT prediction_label FROM predictions WHERE id = 'a'") == "first");
        CHECK(fixture.count("SELECT count(*) FROM predictions WHERE id = 'a'") == 1);
    }
    SECTION("arrivals on different days more than an hour apart are two records (beyond the horizon)") {
        const auto day_before = midnight.at_us - 2 * 3600 * second_us;
        const auto day_after = midnight.at_us + 2 * 3600 * second_us;
        writer.write(std::vector{predictions({prediction("b", day_before)}, day_before)});
        CHECK(writer.write(std::vector{predictions({prediction("b", day_after)}, day_after)}).predictions_inserted == 1);
        CHECK(fixture.count("SELECT count(*) FROM predictions WHERE id = 'b'") == 2);
    }
}

TEST_CASE("writes many times the COPY chunk, with a row longer than a chunk, are stored whole on both paths",
          "[store_writer]") {
    // The writer sends COPY data in chunks (store/store_writer.cpp,
    // writer_copy_chunk_bytes, 256 KiB): rows span chunk ends, one row is
    // longer than a chunk, and the boundary claims (received half an hour
    // before midnight) go in pieces cut inside rows.
    Fixture fixture;
    StoreWriter writer(fixture.database.connection(), config::StoreOptions{});
    const auto received = last_midnight(whole_second_now_us()).before_us;
    std::vector<Prediction> records;
    for (int i = 0; i < 20000; ++i) records.push_back(prediction(fmt::format("id-{:05}", i), received));
    Prediction& wide = records[12345];
    for (int i = 0; i < 400; ++i)
        wide.undeclared_features.emplace_back(fmt::format("extra{}", i), Value{std::string(1000, 'a' + i % 26)});
    const auto batch = predictions(records, received);
    REQUIRE(batch.copy_rows.size() > 8 * 256 * 1024);

    const auto first = writer.write(std::vector{batch});
    CHECK(first.predictions_inserted == 20000);
    CHECK(fixture.count("SELECT count(*) FROM predictions") == 20000);
    CHECK(fixture.count("SELECT count(*) FROM prediction_boundary_keys") == 20000);
    CHECK(fixture.count("SELECT count(*) FROM predictions WHERE id = 'id-12345' AND features->>'extra399' = "
                        "repeat('j', 1000) AND features->>'age' = '40'") == 1);
    CHECK(fixture.count("SELECT sum(octet_length(features::text)) FROM predictions") > 400 * 1000);

    // The staging path (a duplicate in the write): the same rows again and
    // 5,000 new ones, in one write.
    std::vector<Prediction> more(records.begin() + 15000, records.end());
    for (int i = 20000; i < 25000; ++i) more.push_back(prediction(fmt::format("id-{:05}", i), received));
    const auto again = writer.write(std::vector{predictions(more, received)});
    CHECK(again.predictions_received == 10000);
    CHECK(again.predictions_inserted == 5000);
    CHECK(fixture.count("SELECT count(*) FROM predictions") == 25000);
    CHECK(fixture.count("SELECT count(*) FROM prediction_boundary_keys") == 25000);
    CHECK(fixture.count("SELECT count(*) FROM predictions WHERE features ? 'extra0'") == 1);
}

TEST_CASE("two writers storing the same ids at once, each side of midnight, store each id once",
          "[store_writer]") {
    // What two drain connections or two daemons do with a client's retry
    // around midnight: both commit at the same time, and only the boundary
    // claims' unique index orders them. Many ids, so the two transactions
    // overlap whatever the scheduling.
    Fixture fixture;
    auto first_connection = fixture.database.connect();
    auto second_connection = fixture.database.connect();
    StoreWriter first(*first_connection, config::StoreOptions{});
    StoreWriter second(*second_connection, config::StoreOptions{});
    const auto midnight = last_midnight(whole_second_now_us());
    constexpr int ids = 20'000;
    std::vector<Prediction> before, after;
    for (int n = 0; n < ids; ++n) {
        before.push_back(prediction("id" + std::to_string(n), midnight.before_us, "before"));
        after.push_back(prediction("id" + std::to_string(n), midnight.after_us, "after"));
    }
    // The first write of each day creates its partitions, so that the two
    // writes below do not serialise on the partition lock.
    first.write(std::vector{predictions({prediction("warm", midnight.before_us)}, midnight.before_us)});
    second.write(std::vector{predictions({prediction("warm", midnight.after_us)}, midnight.after_us)});
    const auto before_batch = predictions(before, midnight.before_us);
    const auto after_batch = predictions(after, midnight.after_us);

    // A deadlock between the two (40P01) is retried, as the drain does;
    // Catch2 assertions are not thread-safe, so the thread only records.
    const auto write_retrying = [](StoreWriter& writer, const EncodedBatch& batch, std::uint64_t& inserted,
                                   std::string& error) {
        for (int attempt = 0; attempt < 10; ++attempt) {
            try {
                inserted = writer.write(std::vector{batch}).predictions_inserted;
                return;
            } catch (const pqxx::sql_error& failure) {
                error = failure.what();
                if (failure.sqlstate() != "40P01") return;
            }
        }
    };
    std::uint64_t first_inserted = 0, second_inserted = 0;
    std::string first_error, second_error;
    std::thread other([&] { write_retrying(second, after_batch, second_inserted, second_error); });
    write_retrying(first, before_batch, first_inserted, first_error);
    other.join();
    INFO(first_error << " / " << second_error);
    CHECK(first_inserted + second_inserted == ids);
    CHECK(fixture.count("SELECT count(*) FROM predictions WHERE id LIKE 'id%'") == ids);
    CHECK(fixture.count("SELECT count(DISTINCT id) FROM predictions WHERE id LIKE 'id%'") == ids);
}

TEST_CASE("window reads by ts and the outcome join are served by indexes on every partition", "[store_writer]") {
    // Partitions hold what arrived on their day, whatever its ts, so a query
    // by ts reads every partition: each must have the (model, ts, id) index,
    // and each outcomes partition its (model, id) key for the join. With
    // sequential scans disabled, a plan without them would still show a
    // "Seq Scan".
    Fixture fixture;
    StoreWriter writer(fixture.database.connection(), config::StoreOptions{});
    const auto now = whole_second_now_us();
    writer.write(std::vector{predictions({prediction("a", now)}, now), predictions({prediction("b", now)}, now - day_us),
                             outcomes({outcome("a", now, "yes")}, now), outcomes({outcome("b", now, "no")}, now - day_us)});
    pqxx::nontransaction query(*fixture.reader);
    query.exec0("SET enable_seqscan = off");
    std::string plan;
    for (const auto& row :
         query.exec("EXPLAIN (COSTS OFF) SELECT p.id, o.label FROM predictions p LEFT JOIN outcomes o "
                    "ON o.model = p.model AND o.id = p.id WHERE p.model = 'churn' AND p.ts >= now() - interval '1 day' "
                    "ORDER BY p.ts, p.id LIMIT 100"))
        plan += row[0].as<std::string>() + "\n";
    INFO(plan);
    CHECK(plan.find("Seq Scan") == std::string::npos);
    CHECK(plan.find("model_ts_id_idx") != std::string::npos);  // the partitions' copies of predictions_model_ts_id
    CHECK(plan.find("pkey") != std::string::npos);             // the outcomes partitions' primary keys
}

TEST_CASE("a window read looks for outcomes only from a day before its predictions' ts, not in every partition",
          "[store_writer]") {
    // One primary-key lookup per outcomes partition and window row was the
    // cost of the join (bench/window_read_bench.py); the bound on received_at
    // lets PostgreSQL skip the partitions of earlier days at run time. The
    // index counters show which partitions the read touched.
    Fixture fixture;
    StoreWriter writer(fixture.database.connection(), config::StoreOptions{});
    const auto now = whole_second_now_us();
    const auto old = now - 5 * day_us;
    writer.write(std::vector{predictions({prediction("a", old)}, old), outcomes({outcome("a", old, "yes")}, old)});
    // "d"'s outcome was received three days before its prediction was made:
    // not a label of it (a clock or an id gone wrong), so it is not joined.
    writer.write(std::vector{outcomes({outcome("d", now - 3 * day_us, "no")}, now - 3 * day_us)});
    writer.write(std::vector{predictions({prediction("c", now), prediction("d", now + second_us)}, now),
                             outcomes({outcome("c", now, "yes")}, now)});
    const std::string old_day = fixture.text(
        fmt::format("SELECT to_char(to_timestamp({}) AT TIME ZONE 'UTC', 'YYYYMMDD')", old / second_us));
    const std::string today = fixture.text(
        fmt::format("SELECT to_char(to_timestamp({}) AT TIME ZONE 'UTC', 'YYYYMMDD')", now / second_us));
    auto lookups = [&](const std::string& day) {
        // Statistics reach shared memory when a backend goes idle; read them
        // afresh, not from this session's snapshot.
        pqxx::nontransaction query(*fixture.reader);
        query.exec("SELECT pg_stat_force_next_flush()");
        query.exec("SELECT pg_stat_clear_snapshot()");
        return query.exec1("SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 'outcomes_p" + day +
                           "_pkey'")[0]
            .as<long long>();
    };
    const auto old_before = lookups(old_day);
    const auto today_before = lookups(today);

    store::StoredWindow window;
    window.first = store::RowKey{now, "c"};
    window.last = store::RowKey{now + second_us, "d"};
    const auto rows = store::read_window_rows(*fixture.reader, "churn", window);
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].label == "yes");
    CHECK_FALSE(rows[1].label.has_value());

    long long today_after = today_before;
    for (int attempt = 0; attempt < 50 && today_after == today_before; ++attempt) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        today_after = lookups(today);
    }
    CHECK(today_after > today_before);  // the counters moved: the read is seen
    CHECK(lookups(old_day) == old_before);
    // The labelled_predictions view (audits, retraining data) follows the same rule.
    CHECK(fixture.count("SELECT count(*) FROM labelled_predictions WHERE id IN ('a', 'c', 'd')") == 2);
}

TEST_CASE("a boundary partition dropped under a running writer costs one failed write, not the batch",
          "[store_writer]") {
    // Retention drops old partitions while the writer remembers them; a
    // replay received on that old boundary then finds no partition for its
    // claim. The drain retries a failed write (store/spool_drain.h), and the
    // retry looks the partitions up again.
    Fixture fixture;
    StoreWriter writer(fixture.database.connection(), config::StoreOptions{});
    const auto midnight = last_midnight(whole_second_now_us());
    writer.write(std::vector{predictions({prediction("a", midnight.before_us)}, midnight.before_us)});
    std::string day;
    store::append_timestamptz_us(midnight.at_us, day);
    pqxx::nontransaction(*fixture.reader)
        .exec0("DROP TABLE prediction_boundary_p" + day.substr(0, 4) + day.substr(5, 2) + day.substr(8, 2));
    const auto replay = predictions({prediction("b", midnight.after_us)}, midnight.after_us);
    CHECK_THROWS_AS(writer.write(std::vector{replay}), pqxx::sql_error);
    CHECK(writer.write(std::vector{replay}).predictions_inserted == 1);
}

TEST_CASE("an id stored on two days and labelled on two days is read once, with its first received outcome",
          "[store_writer]") {
    Fixture fixture;
    StoreWriter writer(fixture.database.connection(), config::StoreOptions{});
    const auto now = whole_second_now_us();
    const auto ts = now - 3 * day_us;
    // Days apart, beyond the horizon: a client replaying from its own queue,
    // and a label job re-sending its last days with a corrected label.
    writer.write(std::vector{predictions({prediction("a", ts, "first"), prediction("b", ts + second_us)},
                                         now - 2 * day_us)});
    writer.write(std::vector{outcomes({outcome("a", ts, "yes")}, now - 2 * day_us + second_us)});
    CHECK(writer.write(std::vector{predictions({prediction("a", ts, "replayed")}, now)}).predictions_inserted == 1);
    CHECK(writer.write(std::vector{outcomes({outcome("a", ts, "no")}, now)}).outcomes_inserted == 1);
    REQUIRE(fixture.count("SELECT count(*) FROM predictions WHERE id = 'a'") == 2);
    REQUIRE(fixture.count("SELECT count(*) FROM outcomes WHERE id = 'a'") == 2);

    const auto check_rows = [&](const std::vector<store::WindowRow>& rows) {
        REQUIRE(rows.size() == 2);
        CHECK(rows[0].id == "a");
        CHECK(rows[0].prediction_label == "first");
        CHECK(rows[0].label == "yes");
        CHECK(rows[1].id == "b");
        CHECK_FALSE(rows[1].label.has_value());
    };
    auto& connection = *fixture.reader;
    check_rows(store::read_predictions_after(connection, "churn", std::nullopt, 10, ""));
    check_rows(store::read_predictions_between(connection, "churn", ts - day_us, now, 10));
    store::StoredWindow window;
    window.first = store::RowKey{ts, "a"};
    window.last = store::RowKey{ts + second_us, "b"};
    check_rows(store::read_window_rows(connection, "churn", window));
    // A count window of 2 rows holds both predictions, not "a" twice.
    const auto limited = store::read_predictions_after(connection, "churn", std::nullopt, 2, "");
    REQUIRE(limited.size() == 2);
    CHECK(limited[1].id == "b");

    CHECK(fixture.count("SELECT count(*) FROM labelled_predictions") == 1);
    CHECK(fixture.text("SELECT prediction_label || '/' || label FROM labelled_predictions WHERE id = 'a'") ==
          "first/yes");

    // Only rows received since a moment (a privacy policy's start, when a
    // reference is taken): of "a" only the copy received now, "b" not at all.
    const store::ReceivedRange since_then{now - day_us, std::nullopt};
    for (const auto& since : {store::read_predictions_after(connection, "churn", std::nullopt, 10, "", since_then),
                              store::read_predictions_between(connection, "churn", ts - day_us, now, 10, since_then)}) {
        REQUIRE(since.size() == 1);
        CHECK(since[0].id == "a");
        CHECK(since[0].prediction_label == "replayed");
    }
}

TEST_CASE("a count window's predictions are counted without reading them, every stored copy included",
          "[store_writer]") {
    // The monitor counts before it reads a count window (daemon/window_selection.cpp):
    // the count may exceed the rows read (copies), never fall short of them.
    Fixture fixture;
    StoreWriter writer(fixture.database.connection(), config::StoreOptions{});
    const auto now = whole_second_now_us();
    const auto ts = now - 3 * day_us;
    writer.write(std::vector{predictions({prediction("a", ts), prediction("b", ts + second_us),
                                          prediction("c", ts + 2 * second_us)},
                                         now - 2 * day_us)});
    writer.write(std::vector{predictions({prediction("a", ts)}, now)});  // a copy, days later
    writer.write(std::vector{predictions({prediction("z", ts)}, now, "other")});
    auto& connection = *fixture.reader;
    CHECK(store::count_predictions_after(connection, "churn", std::nullopt, 10) == 4);
    CHECK(store::count_predictions_after(connection, "churn", std::nullopt, 2) == 2);
    CHECK(store::count_predictions_after(connection, "churn", store::RowKey{ts, "a"}, 10) == 2);
    CHECK(store::count_predictions_after(connection, "churn", store::RowKey{ts + 2 * second_us, "c"}, 10) == 0);
    CHECK(store::read_predictions_after(connection, "churn", std::nullopt, 10).size() == 3);
}

TEST_CASE("the privacy fingerprint a model runs under, and since when", "[store_writer]") {
    Fixture fixture;
    auto& connection = *fixture.reader;
    const auto now = whole_second_now_us();
    // A first record by the monitor (its pass came before the daemon's own
    // claim) counts from the daemon's start, as the claim does
    // (claim_privacy_keys, privacy_keys_test): not from the pass, which would
    // leave out the rows received since the start, nor from the epoch, which
    // would vouch for rows received before it under no known policy.
    const auto started = now - day_us;
    auto epoch = store::record_privacy_fingerprint(connection, "churn", "aaaa", started);
    CHECK(epoch.since_us == started);
    CHECK_FALSE(epoch.previous.has_value());
    // A restart under the same policy keeps `since`.
    epoch = store::record_privacy_fingerprint(connection, "churn", "aaaa", now - 1'000'000);
    CHECK(epoch.since_us == started);
    CHECK_FALSE(epoch.previous.has_value());
    // Another policy counts from the start of the daemon that applied it, not
    // from the monitor pass that records it (a minute or more later on a busy
    // daemon): the rows that daemon received in between were accepted under
    // it and belong in a new reference; those of the run before, under the
    // old policy, do not.
    const auto restarted = now - 60'000'000;
    epoch = store::record_privacy_fingerprint(connection, "churn", "bbbb", restarted);
    CHECK(epoch.since_us == restarted);
    CHECK(epoch.previous == "aaaa");
    // A daemon started before another recorded a policy does not vouch for
    // the rows that one received: `since` never goes back.
    epoch = store::record_privacy_fingerprint(connection, "churn", "aaaa", restarted - 3'600'000'000);
    CHECK(epoch.since_us == restarted);
    CHECK(epoch.previous == "bbbb");
    // A reference records the fingerprint it was taken under.
    store::NewReference reference;
    reference.model = "churn";
    reference.source = "upload";
    reference.rows = 2;
    reference.sample_json = "{}";
    reference.privacy_fingerprint = "bbbb";
    const auto id = store::insert_reference(connection, reference);
    const auto active = store::active_reference(connection, "churn");
    REQUIRE(active);
    CHECK(active->privacy_fingerprint == "bbbb");
    store::retire_reference(connection, id);
    CHECK_FALSE(store::active_reference(connection, "churn").has_value());
}

TEST_CASE("a day partition dropped by retention under a running writer is created again, not bypassed to the default",
          "[store_writer]") {
    Fixture fixture;
    StoreWriter writer(fixture.database.connection(), config::StoreOptions{});
    const auto now = whole_second_now_us();
    const auto received = now - 3 * day_us;
    writer.write(std::vector{predictions({prediction("a", received)}, received),
                             outcomes({outcome("a", received, "yes")}, received)});
    const std::string day = fixture.text(
        fmt::format("SELECT to_char(to_timestamp({}) AT TIME ZONE 'UTC', 'YYYYMMDD')", received / second_us));
    REQUIRE(fixture.count("SELECT count(*) FROM predictions_p" + day) == 1);
    {
        // Retention, from another connection: the writer still remembers them.
        pqxx::nontransaction drop(*fixture.reader);
        drop.exec0("DROP TABLE predictions_p" + day + ", outcomes_p" + day);
    }
    const auto later = writer.write(std::vector{predictions({prediction("b", received)}, received + second_us),
                                                outcomes({outcome("b", received, "no")}, received + second_us)});
    CHECK(later.predictions_inserted == 1);
    CHECK(later.outcomes_inserted == 1);
    CHECK(fixture.count("SELECT count(*) FROM predictions_default") == 0);
    CHECK(fixture.count("SELECT count(*) FROM outcomes_default") == 0);
    CHECK(fixture.count("SELECT count(*) FROM predictions_p" + day + " WHERE id = 'b'") == 1);
    CHECK(fixture.count("SELECT count(*) FROM outcomes_p" + day + " WHERE id = 'b'") == 1);
}
