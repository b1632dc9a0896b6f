// The root-cause ranking off the monitor pass (daemon/performance_causes.h)
// against a real PostgreSQL, with the real monitors: a model's performance
// drop is marked pending when its window is judged and ranked by the
// root-cause worker on its own thread; while that ranking is slow (its
// clock, injected, blocks until the test lets it go) another model's window
// closes, and so does the slow model's next one. Once let go, the ranking
// meets its time budget on that clock, says which column it did not
// compare, and is attached to the finding once.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>
#include <pqxx/nontransaction>
#include <pqxx/transaction>
#include <prometheus/registry.h>

#include "config/loader.h"
#include "core/time.h"
#include "daemon/metrics.h"
#include "daemon/model_monitor.h"
#include "daemon/performance_causes.h"
#include "daemon/periodic_worker.h"
#include "store/leases.h"
#include "store/migrations.h"
#include "store/monitor_store.h"
#include "tests/support/test_database.h"

using namespace mw;
using namespace std::chrono_literals;

namespace {

constexpr const char* causes_test_models = R"(store: {dsn: x}
models:
  - name: slow
    prediction: {type: binary, classes: ["1", "0"]}
    features:
      - {name: x, type: numeric}
      - {name: g, type: categorical}
    reference: {rows: 300}
    window: {rows: 300}
    performance:
      min_label_coverage: 0.9
      min_segment_rows: 30
      thresholds: [{metric: accuracy, min: 0.8, band_sd: 0}]
    concept_drift: {detector: ""}
  - name: fast
    prediction: {type: score}
    features:
      - {name: x, type: numeric}
    reference: {rows: 100}
    window: {rows: 100}
)";

// Polls `condition` every 10 ms for at most `limit` (a bounded loop).
// One model of causes_test_models, as the daemon's loader reads it.
config::ModelOptions causes_test_model(std::string_view name) {
    auto loaded = config::load_config_text(causes_test_models, "causes.yaml", [](const std::string&) { return std::nullopt; });
    REQUIRE(loaded.ok());
    const auto* model = loaded.config->find_model(name);
    REQUIRE(model != nullptr);
    return *model;
}

template <typename Condition>
bool causes_test_within(std::chrono::milliseconds limit, Condition condition) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (condition()) return true;
        std::this_thread::sleep_for(10ms);
    }
    return condition();
}

// `count` predictions of `model` from row `first` on, two hours old, each
// with its outcome. Model "slow": right on 90% of the reference's rows; in
// its first window (rows 300-599) rows with g = b are right half the time.
void store_causes_rows(pqxx::connection_base& connection, const std::string& model, int first, int count) {
    pqxx::work transaction(connection);
    const std::int64_t start_us = now_us() - 2LL * 3600 * 1'000'000;
    for (int i = first; i < first + count; ++i) {
        const std::string id = model + "-" + std::to_string(100000 + i);
        const std::int64_t ts_us = start_us + static_cast<std::int64_t>(i) * 1'000'000;
        const bool in_b = i % 3 == 0;
        const bool label = i % 2 == 0;
        bool right = i % 10 != 0;
        if (model == "slow" && i >= 300 && i < 600 && in_b) right = i % 4 < 2;
        const bool predicted = right ? label : !label;
        const nlohmann::json features =
            model == "slow" ? nlohmann::json{{"x", (i * 37) % 100}, {"g", in_b ? "b" : "a"}} : nlohmann::json{{"x", i % 17}};
        transaction.exec_params0(
            "INSERT INTO predictions (model, id, ts, model_version, features, prediction_label, prediction_value, "
            "score, attributes, received_at) VALUES ($1, $2, 'epoch'::timestamptz + $3::bigint * interval "
            "'1 microsecond', 'v1', $4::jsonb, $5, $6, $7, '{}'::jsonb, now())",
            model, id, ts_us, features.dump(),
            model == "slow" ? std::optional<std::string>(predicted ? "1" : "0") : std::nullopt,
            model == "slow" ? std::nullopt : std::optional<double>(0.1 * (i % 10)), predicted ? 0.8 : 0.2);
        if (model == "slow")
            transaction.exec_params0("INSERT INTO outcomes (model, id, ts, label, received_at) VALUES ($1, $2, now(), "
                                     "$3, now())",
                                     model, id, label ? "1" : "0");
    }
    transaction.commit();
}

nlohmann::json drop_evidence(pqxx::connection_base& connection) {
    pqxx::read_transaction transaction(connection);
    const auto rows = transaction.exec(
        "SELECT evidence::text FROM findings WHERE model = 'slow' AND kind = 'performance' AND subject = 'accuracy' "
        "AND method = 'realised' AND triggered ORDER BY id");
    if (rows.empty()) return nullptr;
    return nlohmann::json::parse(rows[0][0].as<std::string>())["root_cause"];
}

}  // namespace

TEST_CASE("a slow root-cause ranking delays no window; it meets its budget on its clock and is attached once",
          "[performance_causes][pg]") {
    store::testing::TestDatabase database;
    store::migrate(database.connection());
    auto& connection = database.connection();
    prometheus::Registry registry;
    daemon::DaemonMetrics metrics(registry);
    daemon::RankingRequests rankings;

    // The ranking's clock: 3 s later at each reading, and its second
    // reading (the time budget's check before the second column) waits
    // until the test lets it go: a ranking as slow as the test wants.
    std::atomic<bool> ranking_blocked{false};
    std::atomic<bool> release{false};
    std::atomic<int> readings{0};
    auto fake_now = std::chrono::steady_clock::time_point{};
    std::mutex clock_mutex;
    const auto slow_clock = [&] {
        if (++readings == 2) {
            ranking_blocked = true;
            causes_test_within(60s, [&] { return release.load(); });
        }
        std::lock_guard lock(clock_mutex);
        return fake_now += 3s;
    };
    config::StoreOptions store;
    store.dsn = database.dsn();
    store.retry_initial_ms = 20;
    store.retry_max_ms = 100;
    // The root-cause worker, as daemon/monitoring.cpp runs it, on the injected clock.
    daemon::PeriodicWorker causes("causes", store, 20ms, 120s,
                                  [&](pqxx::connection& worker_connection, std::int64_t, daemon::PassControl& control) {
                                      for (const auto& [model, basis] : rankings.take()) {
                                          auto slowed = *basis;
                                          slowed.clock = slow_clock;
                                          daemon::rank_pending_drops(worker_connection, slowed, control);
                                      }
                                  });
    rankings.on_request([&] { causes.wake(); });
    causes.start();
    // Whatever fails below, the blocked ranking is let go before the worker is stopped.
    struct ReleaseOnExit {
        std::atomic<bool>& release;
        ~ReleaseOnExit() { release = true; }
    } release_on_exit{release};

    // The monitors' pass, run here: a worker that never starts lends its PassControl.
    daemon::PeriodicWorker monitor_worker("monitor", store, 1h, 1h, [](auto&, auto, auto&) {});
    daemon::PassControl control(monitor_worker);
    const auto beat = store::heartbeat(connection, "causes-test", {"slow", "fast"}, 1h);
    REQUIRE(beat.owned.size() == 2);
    const auto fence = [&](const std::string& model) {
        for (const auto& lease : beat.owned)
            if (lease.model == model) return store::Fence{"causes-test", lease.epoch};
        FAIL("no lease of " << model);
        return store::Fence{};
    };
    const auto started_us = now_us();  // the daemon's start
    daemon::ModelMonitor slow(causes_test_model("slow"), metrics, rankings, started_us);
    daemon::ModelMonitor fast(causes_test_model("fast"), metrics, rankings, started_us);
    // The first passes record each model's privacy policy; rows come after it.
    slow.step(connection, now_us(), std::nullopt, control, fence("slow"));
    fast.step(connection, now_us(), std::nullopt, control, fence("fast"));

    store_causes_rows(connection, "slow", 0, 600);
    slow.step(connection, now_us(), std::nullopt, control, fence("slow"));
    REQUIRE(store::last_window(connection, "slow"));
    const auto pending = drop_evidence(connection);
    REQUIRE(pending.is_object());
    CHECK(pending.value("pending", false));
    REQUIRE(causes_test_within(30s, [&] { return ranking_blocked.load(); }));

    // While the ranking is blocked: another model's reference and window,
    // and the slow model's next window, are closed by the monitors' pass.
    store_causes_rows(connection, "fast", 0, 200);
    fast.step(connection, now_us(), std::nullopt, control, fence("fast"));
    const auto fast_window = store::last_window(connection, "fast");
    REQUIRE(fast_window);
    CHECK(fast_window->sequence == 1);
    store_causes_rows(connection, "slow", 600, 300);
    slow.step(connection, now_us(), std::nullopt, control, fence("slow"));
    CHECK(store::last_window(connection, "slow")->sequence == 2);
    CHECK(ranking_blocked);
    CHECK(drop_evidence(connection).value("pending", false));

    // Let go: on its clock the ranking took 3 s by its second column, past
    // its 2 s budget, so that column is named as not compared.
    release = true;
    REQUIRE(causes_test_within(30s, [&] { return !drop_evidence(connection).value("pending", false); }));
    const auto ranking = drop_evidence(connection);
    INFO(ranking.dump());
    CHECK(ranking["time_budget_reached"] == true);
    CHECK(ranking["columns_not_compared"] == nlohmann::json::array({"g"}));
    CHECK(ranking["correlation_values"] == "realised");
    CHECK(ranking["summary"].get<std::string>().find("1 columns not compared (time budget of 2000 ms): g") !=
          std::string::npos);
    causes.stop();
}

TEST_CASE("ranking requests: one per model, the newest wins, and one handed back never replaces a newer one",
          "[performance_causes]") {
    daemon::RankingRequests rankings;
    int notified = 0;
    rankings.on_request([&] { ++notified; });
    auto older = std::make_shared<daemon::RankingBasis>();
    older->reference_id = 1;
    auto newer = std::make_shared<daemon::RankingBasis>();
    newer->reference_id = 2;
    rankings.request("a", older);
    rankings.request("a", newer);
    rankings.request("b", older);
    CHECK(notified == 3);
    auto taken = rankings.take();
    REQUIRE(taken.size() == 2);
    CHECK(taken.at("a")->reference_id == 2);
    CHECK(rankings.take().empty());
    // A turn cut short hands its request back; a request made meanwhile wins.
    rankings.request("a", newer);
    rankings.give_back("a", older);
    rankings.give_back("b", older);
    taken = rankings.take();
    CHECK(taken.at("a")->reference_id == 2);
    CHECK(taken.at("b")->reference_id == 1);
}

namespace {

// A model "slow" whose monitor has stored a drop pending its ranking and
// asked for it: the request, taken from `rankings` as the causes worker takes it.
struct CausesPendingDrop {
    store::testing::TestDatabase database;
    prometheus::Registry registry;
    daemon::DaemonMetrics metrics{registry};
    daemon::RankingRequests rankings;
    daemon::PeriodicWorker idle{"causes", config::StoreOptions{}, 1h, 1h, [](auto&, auto, auto&) {}};
    daemon::PassControl control{idle};
    std::shared_ptr<const daemon::RankingBasis> request;

    CausesPendingDrop() {
        auto& connection = database.connection();
        store::migrate(connection);
        const auto beat = store::heartbeat(connection, "causes-test", {"slow"}, 1h);
        REQUIRE(beat.owned.size() == 1);
        const store::Fence fence{"causes-test", beat.owned.front().epoch};
        daemon::ModelMonitor slow(causes_test_model("slow"), metrics, rankings, now_us());
        store_causes_rows(connection, "slow", 0, 600);
        slow.step(connection, now_us(), std::nullopt, control, fence);
        REQUIRE(drop_evidence(connection).value("pending", false));
        auto asked = rankings.take();
        REQUIRE(asked.count("slow") == 1);
        request = asked.at("slow");
    }
};

}  // namespace

TEST_CASE("a ranking that fails on its data is attached as an error, not left pending in front of later drops",
          "[performance_causes][pg]") {
    CausesPendingDrop pending;
    auto& connection = pending.database.connection();
    auto& control = pending.control;

    // The ranking's clock fails (as a ranking failing on its window's data would).
    auto broken = *pending.request;
    broken.clock = []() -> std::chrono::steady_clock::time_point {
        throw std::runtime_error("the ranking's clock failed");
    };
    const auto turn = daemon::rank_pending_drops(connection, broken, control);
    CHECK(turn.ranked == 1);
    CHECK_FALSE(turn.more);
    const auto ranking = drop_evidence(connection);
    INFO(ranking.dump());
    CHECK_FALSE(ranking.contains("pending"));
    CHECK(ranking.value("error", "") == "not ranked: the ranking's clock failed");
    CHECK(store::pending_root_causes(connection, "slow", 10).empty());
}

TEST_CASE("a pending drop whose window retention removed is answered once, not left pending for ever",
          "[performance_causes][pg]") {
    store::testing::TestDatabase database;
    store::migrate(database.connection());
    auto& connection = database.connection();
    daemon::RankingBasis basis;
    basis.options = causes_test_model("slow");

    Finding drop;
    drop.model = "slow";
    drop.kind = "performance";
    drop.subject = "accuracy";
    drop.method = "realised";
    drop.statistic = 0.6;
    drop.triggered = true;
    drop.evidence_json = R"({"root_cause": {"pending": true, "summary": "the causes are being ranked"}})";
    store::StoredWindow window;
    window.sequence = 1;
    window.first = {1'700'000'000'000'000, "a"};
    window.last = {1'700'000'000'999'000, "z"};
    window.rows = 300;
    const auto window_id = store::record_window(connection, "slow", std::nullopt, window, {drop}, {});
    {
        pqxx::work transaction(connection);
        transaction.exec_params0("DELETE FROM monitor_windows WHERE id = $1", window_id);
        transaction.commit();
    }

    config::StoreOptions store;
    store.dsn = database.dsn();
    daemon::PeriodicWorker idle("causes", store, 1h, 1h, [](auto&, auto, auto&) {});
    daemon::PassControl control(idle);
    const auto turn = daemon::rank_pending_drops(connection, basis, control);
    CHECK(turn.ranked == 1);
    CHECK_FALSE(turn.more);
    const auto evidence = drop_evidence(connection);
    REQUIRE(evidence.is_object());
    CHECK_FALSE(evidence.contains("pending"));
    CHECK(evidence.value("error", "") == "not ranked: retention removed the finding's window before its ranking ran");
    CHECK(daemon::rank_pending_drops(connection, basis, control).ranked == 0);
}

TEST_CASE("a ranking whose backend PostgreSQL terminates fails with its connection closed",
          "[performance_causes][pg]") {
    // What Monitoring::causes_pass relies on to hand the model's request
    // back (for its next connection) whatever the error's type: a stopping
    // PostgreSQL terminates the worker's backend under it.
    store::testing::TestDatabase database;
    store::migrate(database.connection());
    daemon::RankingBasis basis;
    basis.options = causes_test_model("slow");
    pqxx::connection worker_connection(database.dsn());
    const int backend = worker_connection.backendpid();
    {
        pqxx::work transaction(database.connection());
        transaction.exec_params("SELECT pg_terminate_backend($1)", backend);
        transaction.commit();
    }
    REQUIRE(causes_test_within(10s, [&] {
        pqxx::read_transaction transaction(database.connection());
        return transaction.exec_params1("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", backend)[0]
                   .as<int>() == 0;
    }));
    config::StoreOptions store;
    store.dsn = database.dsn();
    daemon::PeriodicWorker idle("causes", store, 1h, 1h, [](auto&, auto, auto&) {});
    daemon::PassControl control(idle);
    CHECK_THROWS(daemon::rank_pending_drops(worker_connection, basis, control));
    CHECK_FALSE(worker_connection.is_open());
}

TEST_CASE("a ranking turn whose statement fails is retried at the next pass, at most root_cause_store_attempts "
          "turns in a row",
          "[performance_causes][pg]") {
    CausesPendingDrop pending;
    auto& database = pending.database;
    auto& connection = database.connection();
    auto& rankings = pending.rankings;
    auto& control = pending.control;
    const auto basis = pending.request;
    rankings.request("slow", basis);

    // The worker's connection stays open while its statement fails: the
    // findings table is away (as a failing statement, a lock timeout or a
    // full disk would fail it).
    const auto worker_connection = database.connect();
    const auto owned = [](const std::string&) { return true; };
    const auto rename_findings = [&](const char* from, const char* to) {
        pqxx::nontransaction(connection).exec0(std::string("ALTER TABLE ") + from + " RENAME TO " + to);
    };
    rename_findings("findings", "findings_away");
    CHECK_FALSE(daemon::rank_requested_drops(*worker_connection, rankings, control, owned));
    CHECK(worker_connection->is_open());
    rename_findings("findings_away", "findings");
    // Handed back: the next pass ranks the drop.
    CHECK_FALSE(daemon::rank_requested_drops(*worker_connection, rankings, control, owned));
    const auto ranking = drop_evidence(connection);
    INFO(ranking.dump());
    CHECK_FALSE(ranking.contains("pending"));
    CHECK(ranking.contains("summary"));
    CHECK(rankings.take().empty());

    // A statement that keeps failing: retried, then dropped after the bound.
    rankings.request("slow", basis);
    rename_findings("findings", "findings_away");
    for (int turn = 1; turn < daemon::root_cause_store_attempts; ++turn)
        daemon::rank_requested_drops(*worker_connection, rankings, control, owned);
    auto still_asked = rankings.take();
    CHECK(still_asked.count("slow") == 1);
    rankings.give_back("slow", basis);  // as taken: the count of failed turns goes on
    daemon::rank_requested_drops(*worker_connection, rankings, control, owned);
    CHECK(rankings.take().empty());
    // A new request (the model's next drop) gets the whole bound again.
    rankings.request("slow", basis);
    daemon::rank_requested_drops(*worker_connection, rankings, control, owned);
    CHECK(rankings.take().count("slow") == 1);
    rename_findings("findings_away", "findings");
}
