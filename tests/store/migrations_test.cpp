// Schema migrations against a real PostgreSQL (see test_database.h).
#include <catch2/catch.hpp>

#include <thread>

#include <pqxx/nontransaction>
#include <pqxx/transaction>

#include "store/migrations.h"
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
    for (const char* relation : {"predictions", "predictions_default", "prediction_keys", "outcomes",
                                 "labelled_predictions", "findings"}) {
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
