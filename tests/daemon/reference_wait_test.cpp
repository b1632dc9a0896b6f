// reference.wait_for_labels (daemon/reference_capture.cpp) through the
// model's monitor against a real PostgreSQL: the reference is stored only
// once min_label_coverage of its predictions have their labels (or
// performance.label_wait passed), and until then there is no reference, no
// window and no accuracy estimated from the scores (CBPE).
#include <catch2/catch.hpp>

#include <chrono>

#include <fmt/format.h>
#include <pqxx/nontransaction>
#include <prometheus/registry.h>

#include "config/loader.h"
#include "core/time.h"
#include "daemon/metrics.h"
#include "daemon/model_monitor.h"
#include "daemon/performance_causes.h"
#include "daemon/periodic_worker.h"
#include "registry/catalog.h"
#include "store/leases.h"
#include "store/migrations.h"
#include "store/monitor_store.h"
#include "tests/support/test_database.h"

using namespace mw;

namespace {

// Model `m`: a reference of 100 predictions, then windows of 100.
config::ModelOptions reference_wait_model(bool wait_for_labels, const std::string& label_wait) {
    const auto loaded = config::load_config_text(
        fmt::format("store: {{dsn: x}}\nmodels:\n  - name: m\n    prediction: {{type: binary, classes: [UP, DOWN]}}\n"
                    "    features: [{{name: x, type: numeric}}]\n"
                    "    reference: {{rows: 100, wait_for_labels: {}}}\n    window: {{rows: 100}}\n"
                    "    performance: {{min_label_coverage: 0.9, label_wait: {}, "
                    "thresholds: [{{metric: accuracy, min: 0.5, band_sd: 0}}]}}\n",
                    wait_for_labels ? "true" : "false", label_wait),
        "t.yaml", [](const std::string&) { return std::nullopt; }, &registry::catalog());
    REQUIRE(loaded.ok());
    return loaded.config->models.front();
}

// Predictions p0000..p0199 of version v1 made in the last ten seconds, with
// scores spread over [0, 1).
void insert_reference_wait_predictions(pqxx::connection& connection) {
    pqxx::nontransaction(connection).exec(
        "INSERT INTO predictions (model, id, ts, model_version, features, prediction_label, score, attributes, "
        "received_at) SELECT 'm', 'p' || lpad(i::text, 4, '0'), now() - interval '10 s' + i * interval '1 ms', 'v1', "
        "jsonb_build_object('x', i % 7), CASE WHEN (i * 37) % 100 >= 50 THEN 'UP' ELSE 'DOWN' END, "
        "((i * 37) % 100) / 100.0, '{}', now() FROM generate_series(0, 199) i");
}

// Labels for predictions first..last: mostly what was predicted, one in four not.
void insert_reference_wait_labels(pqxx::connection& connection, int first, int last) {
    pqxx::nontransaction(connection).exec(fmt::format(
        "INSERT INTO outcomes (model, id, ts, label, received_at) SELECT 'm', 'p' || lpad(i::text, 4, '0'), now(), "
        "CASE WHEN ((i * 37) % 100 >= 50) = (i % 4 <> 0) THEN 'UP' ELSE 'DOWN' END, now() "
        "FROM generate_series({}, {}) i",
        first, last));
}

std::int64_t reference_wait_count(pqxx::connection& connection, const std::string& query) {
    return pqxx::nontransaction(connection).exec1(query)[0].as<std::int64_t>();
}

struct ReferenceWaitSetup {
    // The daemon's start, before the predictions below are received.
    std::int64_t started_us = now_us();
    store::testing::TestDatabase database;
    prometheus::Registry registry;
    daemon::DaemonMetrics metrics{registry};
    // Where the monitor asks for root-cause rankings (nobody ranks them here).
    daemon::RankingRequests rankings;
    // A worker that never starts: its PassControl only records progress.
    daemon::PeriodicWorker idle{"test", config::StoreOptions{}, std::chrono::seconds(1), std::chrono::seconds(60),
                                [](pqxx::connection&, std::int64_t, daemon::PassControl&) {}};
    daemon::PassControl control{idle};
    store::Fence fence;

    ReferenceWaitSetup() {
        store::migrate(database.connection());
        const auto beat = store::heartbeat(database.connection(), "test-daemon", {"m"}, std::chrono::minutes(5), true);
        REQUIRE(beat.owned.size() == 1);
        fence = {"test-daemon", beat.owned.front().epoch};
        insert_reference_wait_predictions(database.connection());
    }
    void step(daemon::ModelMonitor& monitor, std::int64_t at_us = now_us()) {
        monitor.step(database.connection(), at_us, std::nullopt, control, fence);
    }
    std::int64_t windows() { return reference_wait_count(database.connection(), "SELECT count(*) FROM monitor_windows"); }
    std::int64_t estimates() {
        return reference_wait_count(database.connection(),
                                    "SELECT count(*) FROM window_metrics WHERE name = 'accuracy' AND estimated");
    }
};

}  // namespace

TEST_CASE("wait_for_labels: no reference, window or estimate until 90% of the reference's labels arrived") {
    ReferenceWaitSetup setup;
    daemon::ModelMonitor monitor(reference_wait_model(true, "1h"), setup.metrics, setup.rankings, setup.started_us);

    // The reference's 100 predictions and a whole window after them are
    // stored, with labels for 89 of the reference's: one short.
    insert_reference_wait_labels(setup.database.connection(), 0, 88);
    setup.step(monitor);
    CHECK_FALSE(store::active_reference(setup.database.connection(), "m").has_value());
    CHECK(setup.windows() == 0);
    CHECK(setup.estimates() == 0);

    // The 90th label: stored at the next pass, calibrated on those 90, and the
    // window after it closes with an estimated accuracy.
    insert_reference_wait_labels(setup.database.connection(), 89, 89);
    setup.step(monitor);
    const auto reference = store::active_reference(setup.database.connection(), "m");
    REQUIRE(reference.has_value());
    CHECK(reference->rows == 100);
    REQUIRE(reference->data_end.has_value());
    CHECK(reference->data_end->id == "p0099");
    CHECK(setup.windows() == 1);
    CHECK(setup.estimates() == 1);
}

TEST_CASE("wait_for_labels: once label_wait has passed since the last reference prediction, it is stored anyway") {
    ReferenceWaitSetup setup;
    daemon::ModelMonitor monitor(reference_wait_model(true, "30s"), setup.metrics, setup.rankings, setup.started_us);
    insert_reference_wait_labels(setup.database.connection(), 0, 49);
    setup.step(monitor);
    CHECK_FALSE(store::active_reference(setup.database.connection(), "m").has_value());
    // A minute later the labels have stopped coming: half of them calibrate it.
    setup.step(monitor, now_us() + 60'000'000);
    const auto reference = store::active_reference(setup.database.connection(), "m");
    REQUIRE(reference.has_value());
    CHECK(reference->rows == 100);
}

TEST_CASE("without wait_for_labels the reference is stored as soon as its predictions are there") {
    ReferenceWaitSetup setup;
    daemon::ModelMonitor monitor(reference_wait_model(false, "1h"), setup.metrics, setup.rankings, setup.started_us);
    setup.step(monitor);
    const auto reference = store::active_reference(setup.database.connection(), "m");
    REQUIRE(reference.has_value());
    CHECK(reference->rows == 100);
    CHECK(setup.windows() == 1);
    // No labels at all: CBPE has nothing to calibrate on, so no estimate.
    CHECK(setup.estimates() == 0);
}
