#include "tests/support/test_database.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>
#include <pqxx/nontransaction>
#include <pqxx/transaction>

namespace mw::store::testing {
namespace {

std::string cluster_dsn(const std::string& dbname) {
    const char* dir = std::getenv("MODELWATCH_TEST_PGDIR");
    if (dir == nullptr || *dir == '\0')
        throw std::runtime_error(
            "MODELWATCH_TEST_PGDIR is not set: run under ctest, or start a cluster with "
            "scripts/pg-throwaway.sh start DIR and set MODELWATCH_TEST_PGDIR=DIR");
    std::ifstream port_file(std::string(dir) + "/port");
    std::string port;
    if (!(port_file >> port))
        throw std::runtime_error(fmt::format("no port in {}/port: is the throwaway cluster started?", dir));
    return fmt::format("host={} port={} dbname={} user=postgres", dir, port, dbname);
}

std::atomic<int> next_database{0};

}  // namespace

TestDatabase::TestDatabase()
    : admin_dsn_(cluster_dsn("modelwatch")),
      name_(fmt::format("mw_test_{}_{}", ::getpid(), next_database++)),
      dsn_(cluster_dsn(name_)) {
    pqxx::connection admin(admin_dsn_);
    pqxx::nontransaction command(admin);
    command.exec0(fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", name_));
    command.exec0(fmt::format("CREATE DATABASE {}", name_));
    connection_ = std::make_unique<pqxx::connection>(dsn_);
}

TestDatabase::~TestDatabase() {
    connection_.reset();
    try {
        pqxx::connection admin(admin_dsn_);
        pqxx::nontransaction command(admin);
        command.exec0(fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", name_));
    } catch (const std::exception&) {
        // A database left behind only costs disk in a throwaway cluster; a
        // destructor must not throw.
    }
}

std::unique_ptr<pqxx::connection> TestDatabase::connect() const { return std::make_unique<pqxx::connection>(dsn_); }

void expire_leases_of(pqxx::connection& connection, const std::string& owner) {
    pqxx::work transaction(connection);
    transaction.exec_params0("UPDATE model_leases SET expires_at = clock_timestamp() - interval '1 second' "
                             "WHERE owner = $1",
                             owner);
    transaction.exec_params0("UPDATE daemons SET heartbeat_at = clock_timestamp() - interval '1 hour' WHERE id = $1",
                             owner);
    transaction.commit();
}

}  // namespace mw::store::testing
