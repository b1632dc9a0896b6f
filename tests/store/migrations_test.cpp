// Schema migrations against a real PostgreSQL (see test_database.h).
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/nontransaction>
#include <pqxx/transaction>

#include "store/migrations.h"
#include "store/store_writer.h"
#include "tests/support/test_database.h"

using mw::store::migrate;
using mw::store::migrations;
using mw::store::schema_version;
using mw::store::SchemaMismatchError;
using mw::store::testing::TestDatabase;

TEST_CASE("migrate applies every migration once; running it again is a no-op", "[migrations]") {
    TestDatabase database;
    const int known = static_cast<int>(migrations().size());
    REQUIRE(known >= 1);
    CHECK(schema_version(database.connection()) == 0);
    CHECK(migrate(database.connection()) == known);
    CHECK(schema_version(database.connection()) == migrations().back().version);
    CHECK(migrate(database.connection()) == 0);
    CHECK(migrate(database.connection()) == 0);

    pqxx::nontransaction query(database.connection());
    CHECK(query.exec1("SELECT count(*) FROM schema_migrations")[0].as<int>() == known);
    CHECK(query.exec1("SELECT name FROM schema_migrations WHERE version = 1")[0].as<std::string>() ==
          "initial_schema");
    CHECK(query.exec1("SELECT to_regclass('prediction_keys') IS NULL")[0].as<bool>());
    for (const char* relation : {"predictions", "predictions_default", "outcomes", "outcomes_default",
                                 "prediction_boundary_keys", "outcome_boundary_keys", "labelled_predictions",
                                 "findings"}) {
        INFO(relation);
        CHECK(query.exec_params1("SELECT to_regclass($1) IS NOT NULL", std::string(relation))[0].as<bool>());
    }
}

TEST_CASE("two daemons migrating at once apply each migration exactly once", "[migrations]") {
    TestDatabase database;
    auto first = database.connect();
    auto second = database.connect();
    int applied_first = -1;
    int applied_second = -1;
    // Catch2 assertions are not thread-safe: the thread only records.
    std::thread other([&] {
        try {
            applied_second = migrate(*second);
        } catch (const std::exception&) {
            applied_second = -100;
        }
    });
    applied_first = migrate(*first);
    other.join();
    CHECK(applied_first + applied_second == static_cast<int>(migrations().size()));
    pqxx::nontransaction query(database.connection());
    CHECK(query.exec1("SELECT count(*) FROM schema_migrations")[0].as<int>() ==
          static_cast<int>(migrations().size()));
}

TEST_CASE("a database migrated by a newer modelwatch is refused with a clear message", "[migrations]") {
    TestDatabase database;
    migrate(database.connection());
    {
        pqxx::work transaction(database.connection());
        transaction.exec_params0("INSERT INTO schema_migrations (version, name) VALUES ($1, 'from_the_future')",
                                 migrations().back().version + 1);
        transaction.commit();
    }
    CHECK_THROWS_AS(migrate(database.connection()), SchemaMismatchError);
    CHECK_THROWS_WITH(migrate(database.connection()),
                      Catch::Matchers::Contains("newer than this modelwatch knows") &&
                             Catch::Matchers::Contains("from_the_future"));
}

TEST_CASE("a known version recorded under another name is refused", "[migrations]") {
    TestDatabase database;
    migrate(database.connection());
    {
        pqxx::work transaction(database.connection());
        transaction.exec0("UPDATE schema_migrations SET name = 'other_branch' WHERE version = 1");
        transaction.commit();
    }
    CHECK_THROWS_AS(migrate(database.connection()), SchemaMismatchError);
    CHECK_THROWS_WITH(migrate(database.connection()),
                      Catch::Matchers::Contains("'other_branch'") && Catch::Matchers::Contains("'initial_schema'"));
}

namespace {

// Version 3 as a modelwatch of that time left it: the same SQL, the same
// bookkeeping (migrate()'s own table).
void apply_migrations_up_to_version_3(pqxx::work& transaction) {
    transaction.exec0("CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, "
                      "applied_at timestamptz NOT NULL DEFAULT now())");
    for (const auto& migration : migrations()) {
        if (migration.version > 3) break;
        transaction.exec0(std::string(migration.sql));
        transaction.exec_params0("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                                 migration.version, std::string(migration.name));
    }
}

}  // namespace

TEST_CASE("a database at version 3 with data upgrades to partitions by arrival day, keeping every row",
          "[migrations]") {
    TestDatabase database;
    {
        pqxx::work transaction(database.connection());
        apply_migrations_up_to_version_3(transaction);
        // Its writer's layout: day partitions by ts, every key in
        // prediction_keys, outcomes unpartitioned. Received today, yesterday
        // and 3 days ago; one ts in a day with no partition (the default).
        transaction.exec0(R"sql(
            CREATE TABLE predictions_p_old PARTITION OF predictions
                FOR VALUES FROM (date_trunc('day', now() - interval '3 days')) TO (date_trunc('day', now() + interval '1 day'));
            INSERT INTO predictions (model, id, ts, model_version, features, prediction_label, score, attributes, received_at)
            SELECT 'churn', 'p' || n, now() - n * interval '1 hour', 'v1', jsonb_build_object('age', n),
                   'yes', n / 100.0, '{"sex": "f"}', now() - n * interval '1 hour'
            FROM generate_series(0, 71) n;
            INSERT INTO predictions (model, id, ts, features, attributes, received_at)
            VALUES ('churn', 'ancient-ts', now() - interval '30 days', '{}', '{}', now());
            INSERT INTO prediction_keys SELECT model, id, ts FROM predictions;
            INSERT INTO outcomes (model, id, ts, label, received_at)
            SELECT 'churn', 'p' || n, now() - n * interval '1 hour', 'no', now() - n * interval '1 hour' + interval '1 minute'
            FROM generate_series(0, 71, 2) n;
        )sql");
        transaction.commit();
    }
    auto reader = database.connect();
    pqxx::nontransaction query(*reader);
    const auto snapshot = [&](const std::string& table) {
        return query.exec1("SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM " + table + " t")[0]
            .as<std::string>();
    };
    const auto predictions_before = snapshot("predictions");
    const auto outcomes_before = snapshot("outcomes");
    const auto labelled_before = snapshot("labelled_predictions");

    CHECK(migrate(database.connection()) == static_cast<int>(migrations().size()) - 3);
    CHECK(schema_version(database.connection()) == migrations().back().version);

    CHECK(snapshot("predictions") == predictions_before);
    CHECK(snapshot("outcomes") == outcomes_before);
    CHECK(snapshot("labelled_predictions") == labelled_before);
    CHECK(query.exec1("SELECT to_regclass('prediction_keys') IS NULL")[0].as<bool>());
    // Every row is in the partition of the UTC day it was received.
    for (const char* table : {"predictions", "outcomes"}) {
        INFO(table);
        CHECK(query.exec1(std::string("SELECT count(*) FROM ") + table +
                          " WHERE tableoid::regclass::text <> '" + table +
                          "_p' || to_char(received_at AT TIME ZONE 'UTC', 'YYYYMMDD')")[0]
                  .as<int>() == 0);
    }
    // The rows received in the hour before the last midnight are claimed on
    // its boundary, so a retry just after the upgrade is still recognised.
    CHECK(query.exec1("SELECT count(*) FROM prediction_boundary_keys")[0].as<int>() ==
          query.exec1("SELECT count(*) FROM predictions p, (SELECT date_bin(interval '1 day', now(), "
                      "timestamptz '1970-01-01 00:00:00+00') AS midnight) m "
                      "WHERE p.received_at >= m.midnight - interval '1 day 1 hour' "
                      "AND p.received_at < m.midnight - interval '23 hours' "
                      "OR p.received_at >= m.midnight - interval '1 hour' "
                      "AND p.received_at < m.midnight + interval '1 hour'")[0]
              .as<int>());
    CHECK(query.exec1("SELECT count(*) FROM prediction_boundary_keys")[0].as<int>() >= 2);

    // A replay of a stored record (its spooled row, with the received_at of
    // its first acknowledgement) is a duplicate after the upgrade too; a new
    // record is stored.
    const auto stored_row = [&](const std::string& id) {
        return query
            .exec_params1("SELECT concat_ws(E'\\t', model, id, to_char(ts AT TIME ZONE 'UTC', "
                          "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), model_version, features::text, prediction_label, "
                          "'\\N', score::text, attributes::text, to_char(received_at AT TIME ZONE 'UTC', "
                          "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')) || E'\\n' FROM predictions WHERE id = $1",
                          id)[0]
            .as<std::string>();
    };
    mw::store::StoreWriter writer(database.connection(), mw::config::StoreOptions{});
    std::string replay = stored_row("p5") + stored_row("p40");
    std::string fresh = stored_row("p6");
    fresh.replace(fresh.find("\tp6\t"), 4, "\tnew\t");
    const auto result = writer.write(std::vector<mw::store::EncodedBatch>{
        {mw::RecordKind::prediction, 2, replay}, {mw::RecordKind::prediction, 1, fresh}});
    CHECK(result.predictions_received == 3);
    CHECK(result.predictions_inserted == 1);
    CHECK(query.exec1("SELECT count(*) FROM predictions")[0].as<int>() == 74);
}

TEST_CASE("migration 4 keeps the rows an old-build writer commits while it waits for the tables", "[migrations]") {
    TestDatabase database;
    {
        pqxx::work transaction(database.connection());
        apply_migrations_up_to_version_3(transaction);
        transaction.exec0("CREATE TABLE predictions_p_now PARTITION OF predictions FOR VALUES FROM "
                          "(now() - interval '1 day') TO (now() + interval '1 day')");
        transaction.commit();
    }
    // The old build's drain: a write in progress, committed only once the
    // migration is already waiting on a lock.
    auto old_writer = database.connect();
    pqxx::work write(*old_writer);
    write.exec0("INSERT INTO predictions (model, id, ts, features, attributes, received_at) "
                "VALUES ('churn', 'late', now(), '{}', '{}', now())");
    write.exec0("INSERT INTO prediction_keys (model, id, ts) SELECT model, id, ts FROM predictions");
    write.exec0("INSERT INTO outcomes (model, id, ts, label, received_at) VALUES ('churn', 'late', now(), 'no', now())");

    std::string migrate_error;
    std::thread upgrade([&] {
        try {
            migrate(database.connection());
        } catch (const std::exception& error) {
            migrate_error = error.what();
        }
    });
    auto observer = database.connect();
    bool waiting = false;
    for (int attempt = 0; attempt < 600 && !waiting; ++attempt) {
        pqxx::nontransaction look(*observer);
        waiting = look.exec1("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                             "AND wait_event_type = 'Lock'")[0]
                      .as<int>() > 0;
        if (!waiting) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    CHECK(waiting);
    write.commit();
    upgrade.join();
    REQUIRE(migrate_error.empty());

    pqxx::nontransaction query(*observer);
    CHECK(query.exec1("SELECT count(*) FROM predictions WHERE id = 'late'")[0].as<int>() == 1);
    CHECK(query.exec1("SELECT count(*) FROM outcomes WHERE id = 'late'")[0].as<int>() == 1);
}
