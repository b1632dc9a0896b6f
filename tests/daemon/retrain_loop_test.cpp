// The retrain pass of one daemon among several (daemon/retrain_loop.cpp):
// a daemon frozen mid-transaction (SIGSTOP, a stalled VM) keeps every lock
// it took until it wakes; neither end of such a lock may wait for that.
#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <string>

#include <fmt/format.h>
#include <pqxx/transaction>
#include <prometheus/registry.h>

#include "config/loader.h"
#include "core/time.h"
#include "daemon/retrain_loop.h"
#include "registry/catalog.h"
#include "retrain/job_queue.h"
#include "retrain/policy_store.h"
#include "store/leases.h"
#include "store/migrations.h"
#include "tests/support/test_database.h"

using namespace mw;

namespace {

// Model m retrained by a child of the daemon that claims its job, in a
// cluster whose leases last `lease_ms`.
config::Config frozen_peer_config(const std::string& dsn, int lease_ms) {
    const std::string text = fmt::format(
        "store: {{dsn: \"{}\"}}\n"
        "cluster: {{daemon_id: live, lease: {}ms, heartbeat: {}ms}}\n"
        "models:\n  - name: m\n    prediction: {{type: binary, classes: [a, b]}}\n"
        "    features: [{{name: x, type: numeric}}]\n"
        "    retrain: {{command: [/bin/true], triggers: [{{kind: manual}}]}}\n",
        dsn, lease_ms, lease_ms / 4);
    auto loaded = config::load_config_text(text, "test.yaml", [](const std::string&) { return std::nullopt; },
                                           &registry::catalog());
    INFO((loaded.errors.empty() ? std::string() : config::to_string(loaded.errors.front())));
    REQUIRE(loaded.ok());
    return std::move(*loaded.config);
}

std::string job_state(pqxx::connection& connection, std::int64_t job) {
    pqxx::read_transaction transaction(connection);
    return transaction.exec_params1("SELECT state FROM retrain_jobs WHERE id = $1", job)[0].as<std::string>();
}

}  // namespace

TEST_CASE("a daemon frozen inside the retraining policy's transaction holds up no other daemon's retrain pass, "
          "and its job is failed once it stops heartbeating") {
    store::testing::TestDatabase database;
    auto& connection = database.connection();
    store::migrate(connection);
    const int lease_ms = 1000;
    const auto config = frozen_peer_config(database.dsn(), lease_ms);
    prometheus::Registry registry;
    daemon::DaemonMetrics metrics(registry);
    daemon::RetrainLoop loop(config, metrics, "live");

    // "frozen" claimed m's job a minute ago and heartbeats; now it is stopped
    // between two statements of its policy transaction, holding the policy's lock.
    const std::int64_t now = mw::now_us();
    store::heartbeat(connection, "frozen", {}, std::chrono::milliseconds(lease_ms));
    retrain::JobRequest request;
    request.model = "m";
    request.dedup_key = "m:manual";
    request.trigger = "manual";
    request.reason = "the test";
    const auto job = retrain::enqueue(connection, request, now - 60'000'000).job_id;
    REQUIRE(retrain::claim_next(connection, "frozen", 1, now - 60'000'000)->id == job);
    auto frozen = database.connect();
    pqxx::work frozen_policy(*frozen);
    frozen_policy.exec(fmt::format("SELECT pg_advisory_xact_lock({})", retrain::policy_lock_key));

    // The live daemon's passes, each on a thread: without a bound on its
    // lock waits a pass would wait for the frozen daemon for ever. `hang`
    // tells a hung pass from a slow one; it times nothing.
    auto live = database.connect();
    const auto pass = [&](std::int64_t at_us) {
        return std::async(std::launch::async, [&loop, &live, at_us] {
            try {
                loop.pass(*live, at_us);
            } catch (const std::exception& error) {
                return std::string(error.what());
            }
            return std::string();
        });
    };
    const auto hang = std::chrono::milliseconds(lease_ms) * 30;
    const auto ended = [&](std::future<std::string>& passing) {
        if (passing.wait_for(hang) == std::future_status::ready) return true;
        frozen_policy.abort();  // lets the hung pass end, so the test can
        passing.wait();
        return false;
    };

    // While "frozen" heartbeats its job is its own; the pass gives up waiting for the policy.
    auto first = pass(now);
    REQUIRE(ended(first));
    CHECK_THAT(first.get(), Catch::Contains("lock timeout"));
    CHECK(job_state(connection, job) == "running");

    // "frozen" no longer heartbeats (paused past its lease): the next pass fails its job, its lock still held.
    store::testing::expire_leases_of(connection, "frozen");
    auto second = pass(now + 1'000'000);
    REQUIRE(ended(second));
    CHECK(job_state(connection, job) == "failed");
    const auto detail = retrain::get_job(connection, job);
    CHECK(detail->transitions.back().reason == "its daemon frozen stopped heartbeating while it ran");
    frozen_policy.abort();

    // The live daemon frozen in turn, inside a transaction of its pass's
    // session: PostgreSQL ends that session once it has been idle a lease,
    // and its lock goes with it; another daemon waiting for the lock gets it.
    pqxx::work stalled(*live);
    stalled.exec(fmt::format("SELECT pg_advisory_xact_lock({})", retrain::policy_lock_key));
    auto other = database.connect();
    other->set_variable("statement_timeout", std::to_string(hang.count()));
    pqxx::work waiting(*other);
    CHECK_NOTHROW(waiting.exec(fmt::format("SELECT pg_advisory_xact_lock({})", retrain::policy_lock_key)));
    CHECK_THROWS(stalled.exec("SELECT 1"));  // its session is gone
}
