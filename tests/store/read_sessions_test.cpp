// The admin reads' sessions (store/read_sessions.h) against a real
// PostgreSQL: many reads on one backend, read-only, bounded by their
// statement_timeout, and a session PostgreSQL terminated while it was idle
// replaced without failing the read that found it; what happened to the
// sessions is counted (stats(): the daemon's modelwatch_read_session* metrics).
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <thread>

#include <pqxx/except>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>

#include "store/read_sessions.h"
#include "tests/support/test_database.h"

using mw::store::ReadSessions;
using mw::store::testing::TestDatabase;
using namespace std::chrono_literals;

namespace {

mw::config::StoreOptions read_sessions_store(const TestDatabase& database) {
    mw::config::StoreOptions options;
    options.dsn = database.dsn();
    return options;
}

int read_sessions_backend(ReadSessions& sessions, const mw::config::StoreOptions& options) {
    int pid = 0;
    sessions.read(options, [&](pqxx::connection& connection) {
        pqxx::read_transaction transaction(connection);
        pid = transaction.exec1("SELECT pg_backend_pid()")[0].as<int>();
    });
    return pid;
}

// The backends connected to the test's database other than the test's own.
int read_sessions_backends(TestDatabase& database) {
    pqxx::nontransaction query(database.connection());
    return query
        .exec1("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")[0]
        .as<int>();
}

}  // namespace

TEST_CASE("admin reads share one read-only session with a statement timeout", "[read_sessions]") {
    TestDatabase database;
    const auto options = read_sessions_store(database);
    ReadSessions sessions(2, 300ms);

    // A poller's 1,000 reads: one backend, opened once.
    const int pid = read_sessions_backend(sessions, options);
    for (int i = 0; i < 1000; ++i) REQUIRE(read_sessions_backend(sessions, options) == pid);
    CHECK(sessions.stats().opened == 1);
    CHECK(sessions.stats().open == 1);
    CHECK(read_sessions_backends(database) == 1);

    sessions.read(options, [](pqxx::connection& connection) {
        pqxx::read_transaction transaction(connection);
        CHECK(transaction.exec1("SHOW default_transaction_read_only")[0].as<std::string>() == "on");
        CHECK(transaction.exec1("SHOW statement_timeout")[0].as<std::string>() == "300ms");
    });
    // A write is refused (25006, read_only_sql_transaction) even in a
    // read-write transaction; the session stays.
    try {
        sessions.read(options, [](pqxx::connection& connection) {
            pqxx::work transaction(connection);
            transaction.exec0("CREATE TABLE read_sessions_written (x int)");
            transaction.commit();
        });
        FAIL("a write went through an admin read session");
    } catch (const pqxx::sql_error& refused) {
        CHECK(refused.sqlstate() == "25006");
    }
    // A statement past the timeout is cancelled (57014), and the session stays.
    const auto started = std::chrono::steady_clock::now();
    try {
        sessions.read(options, [](pqxx::connection& connection) {
            pqxx::read_transaction transaction(connection);
            transaction.exec("SELECT pg_sleep(30)");
        });
        FAIL("pg_sleep(30) was not cancelled");
    } catch (const pqxx::sql_error& cancelled) {
        CHECK(cancelled.sqlstate() == "57014");
    }
    CHECK(std::chrono::steady_clock::now() - started < 20s);
    CHECK(read_sessions_backend(sessions, options) == pid);
    CHECK(sessions.stats().opened == 1);
    CHECK(sessions.stats().statement_timeouts == 1);  // the refused write was no timeout

    // Two reads at once (the two admin threads): two sessions, both kept.
    int inner_pid = 0;
    sessions.read(options, [&](pqxx::connection&) { inner_pid = read_sessions_backend(sessions, options); });
    CHECK(inner_pid != pid);
    CHECK(sessions.stats().opened == 2);
    for (int i = 0; i < 10; ++i) read_sessions_backend(sessions, options);
    CHECK(sessions.stats().opened == 2);
    CHECK(sessions.stats().open == 2);
    // Past the idle limit a session is closed, not kept.
    ReadSessions one(1, 300ms);
    one.read(options, [&](pqxx::connection&) { read_sessions_backend(one, options); });
    CHECK(one.stats().opened == 2);
    read_sessions_backend(one, options);
    read_sessions_backend(one, options);
    CHECK(one.stats().opened == 2);
    CHECK(one.stats().open == 1);

    // Another DSN (a reload): the idle sessions to the old one are closed.
    auto moved = options;
    moved.dsn += " application_name=read_sessions_moved";
    read_sessions_backend(sessions, moved);
    CHECK(sessions.stats().opened == 3);
    const auto to_old_dsn = [&] {
        pqxx::nontransaction query(database.connection());
        return query.exec1("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND application_name = 'modelwatch'")[0]
            .as<int>();
    };
    // (Closed at once; their backends exit on their own: a bounded wait.)
    for (int i = 0; i < 500 && to_old_dsn() > 1; ++i) std::this_thread::sleep_for(10ms);
    CHECK(to_old_dsn() == 1);  // `one`'s, still open
}

TEST_CASE("a session PostgreSQL terminated while idle is replaced; the read that found it is answered",
          "[read_sessions]") {
    TestDatabase database;
    const auto options = read_sessions_store(database);
    ReadSessions sessions(2, mw::store::admin_read_timeout);
    // Both admin threads' sessions idle, as a restart finds them.
    int pid = 0;
    int other_pid = 0;
    sessions.read(options, [&](pqxx::connection&) { other_pid = read_sessions_backend(sessions, options); });
    pid = read_sessions_backend(sessions, options);
    REQUIRE(sessions.stats().opened == 2);
    {
        pqxx::nontransaction query(database.connection());
        query.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()");
    }
    // Gone (a bounded wait: the backends exit on their own).
    for (int i = 0; i < 500 && read_sessions_backends(database) > 0; ++i) std::this_thread::sleep_for(10ms);
    REQUIRE(read_sessions_backends(database) == 0);

    const int replaced = read_sessions_backend(sessions, options);
    CHECK(replaced != pid);
    CHECK(replaced != other_pid);
    CHECK(sessions.stats().opened == 3);  // the dead idle one was dropped with the one found dead, not tried
    CHECK(sessions.stats().closed_under_read == 1);
    CHECK(sessions.stats().open == 1);
    CHECK(sessions.stats().connect_failures == 0);
    CHECK(read_sessions_backend(sessions, options) == replaced);

    // A fresh session that fails is not retried: the caller is told.
    ReadSessions unreachable(2, mw::store::admin_read_timeout);
    auto nowhere = options;
    nowhere.dsn = options.dsn + " port=1";
    nowhere.connect_timeout_ms = 1000;
    CHECK_THROWS_AS(read_sessions_backend(unreachable, nowhere), pqxx::broken_connection);
    CHECK(unreachable.stats().opened == 0);
    CHECK(unreachable.stats().connect_failures == 1);
    CHECK(unreachable.stats().open == 0);
}
