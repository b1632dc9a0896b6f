// Model leases and fenced writes (store/leases.h) against a real PostgreSQL.
// Expiry is the database's: a test that needs a lease expired ends it in the
// database (as an expired heartbeat would) instead of sleeping.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>

#include "store/leases.h"
#include "store/migrations.h"
#include "store/monitor_store.h"
#include "tests/support/test_database.h"

namespace {

using mw::store::testing::expire_leases_of;
using mw::store::testing::TestDatabase;
using namespace std::chrono_literals;

std::vector<std::string> lease_test_models(int count) {
    std::vector<std::string> models;
    for (int i = 0; i < count; ++i) models.push_back("model-" + std::to_string(100 + i));
    return models;
}

// Every lease still held, as (model, owner).
std::vector<std::pair<std::string, std::string>> held_leases(pqxx::connection& connection) {
    pqxx::nontransaction query(connection);
    std::vector<std::pair<std::string, std::string>> held;
    for (const auto& row : query.exec("SELECT model, owner FROM model_leases WHERE expires_at > clock_timestamp() "
                                      "ORDER BY model"))
        held.emplace_back(row[0].as<std::string>(), row[1].as<std::string>());
    return held;
}


mw::store::StoredWindow lease_test_window(std::int64_t sequence) {
    mw::store::StoredWindow window;
    window.sequence = sequence;
    window.first = {1'700'000'000'000'000 + sequence * 1000, "a" + std::to_string(sequence)};
    window.last = {1'700'000'000'000'000 + sequence * 1000 + 999, "z" + std::to_string(sequence)};
    window.rows = 10;
    return window;
}

}  // namespace

TEST_CASE("one daemon owns every model; a second takes half at its heartbeat and the first gives them up",
          "[leases]") {
    TestDatabase database;
    mw::store::migrate(database.connection());
    auto other = database.connect();
    const auto models = lease_test_models(7);

    const auto first = mw::store::heartbeat(database.connection(), "first", models, 5s);
    CHECK(first.live_daemons == 1);
    CHECK(first.owned.size() == 7);
    CHECK(first.claimed.size() == 7);
    for (const auto& lease : first.owned) CHECK(lease.epoch == 1);

    // The second sees two live daemons: its share is ceil(7 / 2) = 4, but
    // every model is held, so it gets nothing until the first lets go.
    const auto second = mw::store::heartbeat(*other, "second", models, 5s);
    CHECK(second.live_daemons == 2);
    CHECK(second.fair_share == 4);
    CHECK(second.owned.empty());
    const auto first_again = mw::store::heartbeat(database.connection(), "first", models, 5s);
    CHECK(first_again.renewed == 7);
    CHECK(first_again.released.size() == 3);
    CHECK(first_again.owned.size() == 4);
    const auto second_again = mw::store::heartbeat(*other, "second", models, 5s);
    CHECK(second_again.claimed.size() == 3);
    for (const auto& lease : second_again.claimed) CHECK(lease.epoch == 2);  // a takeover is a new epoch

    const auto held = held_leases(database.connection());
    REQUIRE(held.size() == 7);
    CHECK(std::count_if(held.begin(), held.end(), [](const auto& h) { return h.second == "first"; }) == 4);
    CHECK(std::count_if(held.begin(), held.end(), [](const auto& h) { return h.second == "second"; }) == 3);
}

TEST_CASE("a dead daemon's models are claimed once its leases expired, and a clean stop hands them over at once",
          "[leases]") {
    TestDatabase database;
    mw::store::migrate(database.connection());
    auto other = database.connect();
    const auto models = lease_test_models(4);
    mw::store::heartbeat(database.connection(), "first", models, 5s);
    mw::store::heartbeat(*other, "second", models, 5s);
    mw::store::heartbeat(database.connection(), "first", models, 5s);
    mw::store::heartbeat(*other, "second", models, 5s);
    REQUIRE(held_leases(database.connection()).size() == 4);

    // Unexpired leases are never taken, whatever the share says.
    auto beat = mw::store::heartbeat(database.connection(), "first", models, 5s);
    CHECK(beat.owned.size() == 2);

    expire_leases_of(*other, "second");  // as if "second" had stopped heartbeating long ago
    beat = mw::store::heartbeat(database.connection(), "first", models, 5s);
    CHECK(beat.live_daemons == 1);
    CHECK(beat.owned.size() == 4);
    CHECK(beat.claimed.size() == 2);

    mw::store::release_all(database.connection(), "first");
    CHECK(held_leases(database.connection()).empty());
    beat = mw::store::heartbeat(*other, "third", models, 5s);
    CHECK(beat.owned.size() == 4);
}

TEST_CASE("a write under a lost lease is refused and writes nothing; the current one goes through", "[leases]") {
    TestDatabase database;
    mw::store::migrate(database.connection());
    auto other = database.connect();
    const std::vector<std::string> models{"credit"};
    const auto first = mw::store::heartbeat(database.connection(), "first", models, 5s);
    REQUIRE(first.owned.size() == 1);
    const mw::store::Fence old_fence{"first", first.owned[0].epoch};

    mw::store::MonitorWrite write{old_fence, mw::store::MonitorCheckpoint{0, R"({"format": 1})"}};
    CHECK(mw::store::record_window(database.connection(), "credit", std::nullopt, lease_test_window(1), {}, {},
                                   write) > 0);

    // "first" is paused past its lease; "second" takes the model over.
    expire_leases_of(*other, "first");
    const auto second = mw::store::heartbeat(*other, "second", models, 5s);
    REQUIRE(second.claimed.size() == 1);
    CHECK(second.claimed[0].epoch == old_fence.epoch + 1);

    // "first" wakes up and tries to write the next window under its old lease.
    CHECK_THROWS_AS(mw::store::record_window(database.connection(), "credit", std::nullopt, lease_test_window(2), {},
                                             {}, write),
                    mw::store::LeaseLost);
    CHECK_THROWS_AS(mw::store::record_window_performance(database.connection(), "credit", 1, 1.0, true, {}, {}, write),
                    mw::store::LeaseLost);
    // Even a heartbeat of its own does not bring the old epoch back.
    const auto first_again = mw::store::heartbeat(database.connection(), "first", models, 5s);
    CHECK(first_again.owned.empty());

    const mw::store::MonitorWrite current{mw::store::Fence{"second", second.claimed[0].epoch},
                                          mw::store::MonitorCheckpoint{0, R"({"format": 1, "by": "second"})"}};
    mw::store::record_window(*other, "credit", std::nullopt, lease_test_window(2), {}, {}, current);

    pqxx::nontransaction query(database.connection());
    const auto rows = query.exec("SELECT sequence, lease_owner, lease_epoch FROM monitor_windows ORDER BY sequence");
    REQUIRE(rows.size() == 2);
    CHECK(rows[0][1].as<std::string>() == "first");
    CHECK(rows[1][1].as<std::string>() == "second");
    CHECK(rows[1][2].as<std::int64_t>() == old_fence.epoch + 1);
    CHECK(query.exec1("SELECT performance_at IS NULL FROM monitor_windows WHERE sequence = 1")[0].as<bool>());
    const auto checkpoint = mw::store::load_checkpoint(*other, "credit");
    REQUIRE(checkpoint);
    CHECK(checkpoint->state_json.find("second") != std::string::npos);
}

TEST_CASE("a takeover waits for a fenced write in flight, then that write's lease is over", "[leases]") {
    TestDatabase database;
    mw::store::migrate(database.connection());
    auto other = database.connect();
    const std::vector<std::string> models{"credit"};
    const auto first = mw::store::heartbeat(database.connection(), "first", models, 1s);
    const mw::store::Fence fence{"first", first.owned[0].epoch};
    {
        // The owner's write transaction holds the lease row FOR SHARE ...
        pqxx::work writing(database.connection());
        mw::store::check_fence(writing, "credit", fence);
        // ... so a claim skips the row (SKIP LOCKED) even though it is about
        // to expire: the write commits under a lease nobody else holds.
        {
            pqxx::work expire(*other);
            expire.exec0("SET LOCAL lock_timeout = '100ms'");
            CHECK_THROWS(expire.exec0("UPDATE model_leases SET expires_at = clock_timestamp() WHERE model = 'credit'"));
        }
        writing.commit();
    }
    expire_leases_of(*other, "first");
    const auto second = mw::store::heartbeat(*other, "second", models, 1s);
    CHECK(second.claimed.size() == 1);
    pqxx::work late(database.connection());
    CHECK_THROWS_AS(mw::store::check_fence(late, "credit", fence), mw::store::LeaseLost);
}

TEST_CASE("a restarted daemon of the same name takes its unexpired leases with a new epoch", "[leases]") {
    TestDatabase database;
    mw::store::migrate(database.connection());
    const std::vector<std::string> models{"credit", "fraud"};
    const auto before = mw::store::heartbeat(database.connection(), "same", models, 5s, true);
    REQUIRE(before.owned.size() == 2);
    const auto renewed = mw::store::heartbeat(database.connection(), "same", models, 5s);
    CHECK(renewed.owned == before.owned);  // a renewal keeps the epoch
    const auto restarted = mw::store::heartbeat(database.connection(), "same", models, 5s, true);
    REQUIRE(restarted.owned.size() == 2);
    for (std::size_t i = 0; i < 2; ++i) CHECK(restarted.owned[i].epoch == before.owned[i].epoch + 1);
    pqxx::work late(database.connection());
    CHECK_THROWS_AS(mw::store::check_fence(late, "credit", {"same", before.owned[0].epoch}), mw::store::LeaseLost);
}
