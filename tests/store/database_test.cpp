// Connection helpers: DSN redaction for messages, and what connect() adds.
#include <catch2/catch.hpp>

#include <pqxx/except>
#include <pqxx/nontransaction>

#include "store/database.h"
#include "tests/support/test_database.h"

using mw::store::redact_dsn;

TEST_CASE("redact_dsn masks passwords in key=value and URI DSNs", "[database]") {
    CHECK(redact_dsn("host=db password=s3cret dbname=mw") == "host=db password=*** dbname=mw");
    CHECK(redact_dsn("password = 's3 cr\\'et' host=db") == "password = *** host=db");
    CHECK(redact_dsn("host=db dbname=mw") == "host=db dbname=mw");
    CHECK(redact_dsn("host=db mypassword=x") == "host=db mypassword=x");
    CHECK(redact_dsn("postgresql://mw:s3cret@db:5432/mw?sslmode=require") ==
          "postgresql://mw:***@db:5432/mw?sslmode=require");
    CHECK(redact_dsn("postgres://db/mw?password=s3cret&sslmode=require") ==
          "postgres://db/mw?password=***&sslmode=require");
}

TEST_CASE("connect names the application and fails with broken_connection when unreachable", "[database]") {
    mw::store::testing::TestDatabase database;
    mw::config::StoreOptions options;
    options.dsn = database.dsn();
    const auto connection = mw::store::connect(options);
    pqxx::nontransaction query(*connection);
    CHECK(query.exec1("SELECT current_setting('application_name')")[0].as<std::string>() == "modelwatch");

    options.dsn = "host=/nonexistent-modelwatch-socket-dir port=1 dbname=x user=postgres";
    CHECK_THROWS_AS(mw::store::connect(options), pqxx::broken_connection);
}
