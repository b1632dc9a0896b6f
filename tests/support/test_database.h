// A fresh, uniquely named database per test case in the throwaway cluster the
// ctest fixture started (env MODELWATCH_TEST_PGDIR, see scripts/pg-throwaway.sh),
// dropped when the test case ends, so that store tests are isolated.
#pragma once

#include <memory>
#include <string>

#include <pqxx/connection>

namespace mw::store::testing {

class TestDatabase {
public:
    TestDatabase();  // throws std::runtime_error naming what is missing when there is no cluster
    ~TestDatabase();
    TestDatabase(const TestDatabase&) = delete;
    TestDatabase& operator=(const TestDatabase&) = delete;

    const std::string& dsn() const { return dsn_; }
    pqxx::connection& connection() { return *connection_; }
    // Another connection to the same database.
    std::unique_ptr<pqxx::connection> connect() const;

private:
    std::string admin_dsn_;
    std::string name_;
    std::string dsn_;
    std::unique_ptr<pqxx::connection> connection_;
};

// Ends every lease `owner` holds and ages its heartbeat, in the database, as
// if it had stopped heartbeating long ago (store/leases.h), so a test need
// not sleep past a lease.
void expire_leases_of(pqxx::connection& connection, const std::string& owner);

}  // namespace mw::store::testing
