// Worker progress and stopping (daemon/periodic_worker.h) against a real
// PostgreSQL, the watchdog's verdicts (daemon/watchdog.h), and who may see
// /readyz's details (daemon/bearer_auth.h).
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include <pqxx/nontransaction>
#include <prometheus/registry.h>

#include "config/loader.h"
#include "daemon/bearer_auth.h"
#include "daemon/metrics.h"
#include "daemon/periodic_worker.h"
#include "daemon/sd_notify.h"
#include "daemon/watchdog.h"
#include "store/migrations.h"
#include "tests/support/test_database.h"

using namespace mw;
using namespace std::chrono_literals;

namespace {

config::StoreOptions store_options(const std::string& dsn) {
    config::StoreOptions options;
    options.dsn = dsn;
    options.retry_initial_ms = 20;
    options.retry_max_ms = 100;
    return options;
}

// Polls `condition` every 10 ms for at most `limit` (a bounded loop).
template <typename Condition>
bool within(std::chrono::milliseconds limit, Condition condition) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (condition()) return true;
        std::this_thread::sleep_for(10ms);
    }
    return condition();
}

config::Config load(const std::string& server_yaml, const std::string& model_yaml = "") {
    const auto loaded = config::load_config_text(
        server_yaml + "store: {dsn: x}\nmodels:\n  - name: m\n    prediction: {type: score}\n" + model_yaml, "t.yaml",
        [](const std::string&) { return std::nullopt; });
    REQUIRE(loaded.ok());
    return *loaded.config;
}

}  // namespace

TEST_CASE("a pass that keeps reaching checkpoints is slow, not stuck, and stops at the next one") {
    store::testing::TestDatabase database;
    store::migrate(database.connection());
    std::atomic<int> checkpoints{0};
    daemon::PeriodicWorker worker("slow", store_options(database.dsn()), 10ms, 300ms,
                                  [&](pqxx::connection&, std::int64_t, daemon::PassControl& control) {
                                      control.set_config_generation(7);
                                      for (;;) {  // a long pass: ends only when stopped
                                          std::this_thread::sleep_for(50ms);
                                          ++checkpoints;
                                          control.checkpoint();
                                      }
                                  });
    worker.start();
    REQUIRE(within(5s, [&] { return checkpoints > 20; }));  // over a second into the pass
    const auto status = worker.status();
    CHECK(status.state == daemon::WorkerState::running);
    CHECK(status.current_pass_ms > 1000);
    CHECK(status.since_progress_ms < 300);
    CHECK(status.config_generation == 7);
    // The same pass seen a minute later without a checkpoint: stuck.
    CHECK(worker.status(std::chrono::steady_clock::now() + 60s).state == daemon::WorkerState::stuck);

    const auto asked = std::chrono::steady_clock::now();
    CHECK(worker.stop(5s, 1s));
    CHECK(std::chrono::steady_clock::now() - asked < 500ms);  // the next checkpoint, not the cancel
    CHECK(worker.status().state == daemon::WorkerState::stopped);
}

TEST_CASE("a pass blocked in a statement is stuck, and stopping cancels the statement") {
    store::testing::TestDatabase database;
    store::migrate(database.connection());
    std::atomic<bool> in_statement{false};
    daemon::PeriodicWorker worker("blocked", store_options(database.dsn()), 10ms, 200ms,
                                  [&](pqxx::connection& connection, std::int64_t, daemon::PassControl& control) {
                                      control.checkpoint();
                                      in_statement = true;
                                      pqxx::nontransaction(connection).exec("SELECT pg_sleep(60)");
                                  });
    worker.start();
    REQUIRE(within(5s, [&] { return in_statement.load(); }));
    REQUIRE(within(2s, [&] { return worker.status().state == daemon::WorkerState::stuck; }));

    const auto asked = std::chrono::steady_clock::now();
    CHECK(worker.stop(5s, 200ms));
    const auto took = std::chrono::steady_clock::now() - asked;
    CHECK(took >= 200ms);
    CHECK(took < 3s);
    CHECK(worker.status().state == daemon::WorkerState::stopped);
}

TEST_CASE("passes begun and ended: a pass that begins after a reading is named by it and seen to end") {
    store::testing::TestDatabase database;
    store::migrate(database.connection());
    std::atomic<bool> release{false};
    std::atomic<int> entered{0};
    daemon::PeriodicWorker worker("counted", store_options(database.dsn()), 10ms, 60s,
                                  [&](pqxx::connection&, std::int64_t, daemon::PassControl& control) {
                                      ++entered;
                                      while (!release) {
                                          std::this_thread::sleep_for(5ms);
                                          control.checkpoint();
                                      }
                                  });
    worker.start();
    REQUIRE(within(5s, [&] { return entered.load() == 1; }));
    auto status = worker.status();
    CHECK(status.passes_begun == 1);
    CHECK(status.passes_ended == 0);  // the first pass is still running
    release = true;
    REQUIRE(within(5s, [&] { return worker.status().passes_ended >= 2; }));
    status = worker.status();
    // Read together: at most the one running pass has begun and not ended.
    CHECK(status.passes_begun - status.passes_ended <= 1);
    const auto next = status.passes_begun + 1;
    REQUIRE(within(5s, [&] { return worker.status().passes_ended >= next; }));
    CHECK(worker.stop(5s, 1s));
}

TEST_CASE("the watchdog is fed only while nothing is stuck") {
    prometheus::Registry registry;
    daemon::DaemonMetrics metrics(registry);
    SystemdNotifier notifier(std::nullopt, std::nullopt, std::nullopt, 1);
    daemon::Vitals vitals;
    daemon::WorkerStatus monitor;
    monitor.name = "monitor";
    monitor.state = daemon::WorkerState::running;
    vitals.workers = {monitor};
    daemon::Watchdog watchdog(notifier, metrics, [&] { return vitals; });

    CHECK(watchdog.check().empty());
    vitals.workers[0].state = daemon::WorkerState::stuck;
    vitals.workers[0].since_progress_ms = 400000;
    const auto problems = watchdog.check();
    REQUIRE(problems.size() == 1);
    CHECK(problems[0] == "worker monitor stuck: no progress for 400000 ms");
    CHECK(metrics.worker_stuck.Add({{"worker", "monitor"}}).Value() == 1);

    vitals.workers[0].state = daemon::WorkerState::idle;
    vitals.event_loop_silent = 20s;
    vitals.spool_healthy = false;
    CHECK(watchdog.check().size() == 2);
    vitals.event_loop_silent = 1s;
    vitals.spool_healthy = true;
    CHECK(watchdog.check().empty());
    CHECK(metrics.worker_stuck.Add({{"worker", "monitor"}}).Value() == 0);
}

TEST_CASE("readiness details: the admin token, or loopback when no token is configured") {
    const std::string admin = daemon::sha256_hex("admin");
    CHECK(daemon::readiness_details_allowed("", load("server: {listen: \"127.0.0.1:0\"}\n")));
    CHECK_FALSE(daemon::readiness_details_allowed("", load("server: {listen: \"0.0.0.0:8470\"}\n")));

    const auto tokens = load("server:\n  listen: \"127.0.0.1:0\"\n  tokens: [{sha256: " + admin + "}]\n",
                             "    tokens: [{sha256: " + daemon::sha256_hex("ingest") + "}]\n");
    CHECK_FALSE(daemon::readiness_details_allowed("", tokens));
    CHECK_FALSE(daemon::readiness_details_allowed("Bearer ingest", tokens));  // a model's token is for ingest
    CHECK_FALSE(daemon::readiness_details_allowed("Bearer wrong", tokens));
    CHECK(daemon::readiness_details_allowed("Bearer admin", tokens));
}

TEST_CASE("bearer tokens: a model's token elsewhere lacks the scope (403), an unknown one is invalid (401)") {
    const auto config = load("server:\n  tokens: [{sha256: " + daemon::sha256_hex("admin") + "}]\n",
                             "    tokens: [{sha256: " + daemon::sha256_hex("ingest-m") + "}]\n"
                             "  - name: n\n    prediction: {type: score}\n"
                             "    tokens: [{sha256: " + daemon::sha256_hex("ingest-n") + "}]\n");
    const auto* m = config.find_model("m");
    REQUIRE(m != nullptr);
    using daemon::AuthResult;
    CHECK(daemon::check_bearer("Bearer ingest-m", config, m) == AuthResult::allowed);
    CHECK(daemon::check_bearer("Bearer admin", config, m) == AuthResult::allowed);
    CHECK(daemon::check_bearer("Bearer admin", config, nullptr) == AuthResult::allowed);
    // The admin API and pages (no model) with a model's token; model m's ingest with n's.
    CHECK(daemon::check_bearer("Bearer ingest-m", config, nullptr) == AuthResult::insufficient_scope);
    CHECK(daemon::check_bearer("Bearer ingest-n", config, m) == AuthResult::insufficient_scope);
    CHECK(daemon::check_bearer("Bearer wrong", config, m) == AuthResult::invalid);
    CHECK(daemon::check_bearer("Bearer wrong", config, nullptr) == AuthResult::invalid);
    CHECK(daemon::check_bearer("", config, nullptr) == AuthResult::missing);
}
