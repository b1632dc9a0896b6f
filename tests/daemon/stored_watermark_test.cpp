// The writers' watermark (store/watermarks.h) through the real spool, drain
// and model monitor against a real PostgreSQL. With two drain connections a
// later spool range can commit before an earlier one; the monitor must then
// neither take its first-N reference nor close a window past the gap until
// the earlier range lands, so that every row ends in exactly one window or
// the reference. The earlier range is held back by PostgreSQL itself: a
// transaction of the test inserts one of its ids first and keeps it
// uncommitted, so the drain's insert of that id waits for it (the store's
// exactly-once, store/store_writer.h). Also: an idle writer does not stall
// windows, and a writer holds them while its daemon lives but not after its
// lease.
//
// A profile-only model (store_raw: false) waits for the watermark in the
// same way: its reference (whole time buckets, their profile chunks merged)
// is not taken before the gap lands nor ends before it, and no time window
// past the gap closes; every row is profiled once, in its window's or the
// reference's chunks. Its chunks are read back as an input that can be
// damaged: one that is cut short, of a future format version or whose
// sizes lie is left out and named in the window's evidence, the window
// judged from the others (or, with none left, nothing drifts), and a
// damaged reference profile is retired and taken again from the chunks.
#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <future>
#include <thread>

#include <fmt/format.h>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>
#include <prometheus/registry.h>

#include <nlohmann/json.hpp>

#include "config/loader.h"
#include "core/time.h"
#include "daemon/metrics.h"
#include "daemon/model_monitor.h"
#include "daemon/performance_causes.h"
#include "daemon/periodic_worker.h"
#include "registry/catalog.h"
#include "store/copy_encoding.h"
#include "store/leases.h"
#include "store/migrations.h"
#include "store/monitor_store.h"
#include "store/profile_store.h"
#include "store/profile_writer.h"
#include "store/spool.h"
#include "store/spool_drain.h"
#include "store/watermarks.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_database.h"

using namespace mw;
using namespace std::chrono_literals;

namespace {

constexpr auto watermark_lease = 5s;  // cluster.lease's default

// Model `m`: a reference of its first 100 predictions, then count windows of 100.
constexpr const char* watermark_raw_yaml = "    reference: {rows: 100}\n    window: {rows: 100}\n";
// Model `m` profile-only: a reference of the time buckets of its first 100
// predictions, then time windows of one second closed as soon as the clock
// and the watermark pass their end (no lateness).
constexpr const char* watermark_profile_yaml =
    "    store_raw: false\n    reference: {rows: 100}\n    window: {duration: 1s, lateness: 0s}\n";
constexpr std::int64_t watermark_bucket_us = 1'000'000;

config::ModelOptions watermark_model(const char* yaml = watermark_raw_yaml) {
    const auto loaded = config::load_config_text(
        std::string("store: {dsn: x}\nmodels:\n  - name: m\n    prediction: {type: binary, classes: [UP, DOWN]}\n"
                    "    features: [{name: x, type: numeric}]\n") +
            yaml,
        "t.yaml", [](const std::string&) { return std::nullopt; }, &registry::catalog());
    std::string errors;
    for (const auto& error : loaded.errors) errors += config::to_string(error) + "\n";
    INFO(errors);
    REQUIRE(loaded.ok());
    return loaded.config->models.front();
}

// Predictions <prefix>000.. of `model`, `step_us` apart from `ts_us` (a
// millisecond by default), encoded with `received_us` as the ingest pipeline
// does.
store::EncodedBatch watermark_batch(const std::string& model, const std::string& prefix, int count,
                                    std::int64_t ts_us, std::int64_t received_us, std::int64_t step_us = 1000) {
    auto schema = std::make_shared<ModelSchema>();
    schema->name = model;
    schema->features = {{"x", FeatureType::numeric}};
    PredictionBatch batch{model, {}, schema};
    for (int i = 0; i < count; ++i) {
        Prediction record;
        record.id = fmt::format("{}{:03d}", prefix, i);
        record.ts_us = ts_us + i * step_us;
        record.features = {Value{static_cast<double>(i % 7)}};
        record.label = i % 2 == 0 ? "UP" : "DOWN";
        batch.records.push_back(std::move(record));
    }
    store::EncodedBatch encoded{RecordKind::prediction, static_cast<std::uint32_t>(count), {}};
    store::append_prediction_rows(batch, *schema, received_us, encoded.copy_rows);
    return encoded;
}

// Appends a batch as the ingest pipeline does (a receipt, then the rows
// encoded with it); returns its receipt's time once it is durable.
std::int64_t watermark_append(store::Spool& spool, const std::string& model, const std::string& prefix, int count,
                              std::int64_t ts_us, std::int64_t step_us = 1000) {
    auto receipt = spool.receive();
    const std::int64_t received_us = receipt.received_us();
    std::promise<IngestResult> promise;
    auto future = promise.get_future();
    spool.append(watermark_batch(model, prefix, count, ts_us, received_us, step_us), std::move(receipt),
                 [&](IngestResult result) { promise.set_value(result); });
    REQUIRE(future.get().status == IngestStatus::durable);
    return received_us;
}

bool watermark_within(std::chrono::milliseconds limit, const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (done()) return true;
        std::this_thread::sleep_for(20ms);
    }
    return done();
}

struct WatermarkSetup {
    store::testing::TestDatabase database;
    testing::TempDir dir{"mw-watermark"};
    store::Spool spool{[this] {
        config::SpoolOptions options;
        options.dir = dir.path().string();
        return options;
    }()};
    prometheus::Registry registry;
    daemon::DaemonMetrics metrics{registry};
    daemon::RankingRequests rankings;  // nobody ranks them here
    // A worker that never starts: its PassControl only records progress.
    daemon::PeriodicWorker idle{"test", config::StoreOptions{}, std::chrono::seconds(1), std::chrono::seconds(60),
                                [](pqxx::connection&, std::int64_t, daemon::PassControl&) {}};
    daemon::PassControl control{idle};
    store::Fence fence;
    std::optional<store::SpoolDrain> drain;
    config::ModelOptions model;
    // Started at the epoch: every row the test writes is under the policy.
    daemon::ModelMonitor monitor{model, metrics, rankings, 0};

    explicit WatermarkSetup(config::ModelOptions model_options = watermark_model())
        : model(std::move(model_options)) {
        store::migrate(database.connection());
        const auto beat = store::heartbeat(database.connection(), "test-daemon", {"m"}, 5min, true);
        REQUIRE(beat.owned.size() == 1);
        fence = {"test-daemon", beat.owned.front().epoch};
        spool.start();
        // Two connections, one range per batch of 100: consecutive batches
        // are written at the same time, as store.drain_connections' default.
        config::StoreOptions options;
        options.dsn = database.dsn();
        options.drain_connections = 2;
        options.batch_max_records = 100;
        options.retry_initial_ms = 20;
        options.retry_max_ms = 200;
        drain.emplace(spool, options, dir.path().string(), store::DrainPrivacy{}, "test-daemon");
        drain->set_profile_plan(store::profile_plan({model}));
        drain->start();
        // The monitor's first pass records the model's privacy policy; its rows come after it.
        step();
    }
    ~WatermarkSetup() { drain->stop(); }

    // One record of another model, stored: today's partition is then
    // created by a write of the drain (a test's own uncommitted insert,
    // block(), must not create it in the default partition instead).
    void warm_up() {
        watermark_append(spool, "warmup", "w", 1, now_us());
        REQUIRE(drain->wait_drained(30'000));
    }

    // One monitor pass as the daemon's (daemon/monitoring.cpp): rows up to
    // the lower of this daemon's watermark and the other live writers'.
    void step() {
        auto& connection = database.connection();
        const auto stored_before =
            store::stored_before(connection, spool.stored_before_us(), "test-daemon", watermark_lease);
        monitor.step(connection, now_us(), stored_before, control, fence);
    }
    std::int64_t count(const std::string& query) {
        return pqxx::nontransaction(database.connection()).exec1(query)[0].as<std::int64_t>();
    }
    std::int64_t stored(const std::string& prefix) {
        return count(fmt::format("SELECT count(*) FROM predictions WHERE model = 'm' AND id LIKE '{}%'", prefix));
    }
    // Opens a transaction that inserts id `id` of model m and keeps it
    // uncommitted: the drain's range holding that id waits for it.
    std::unique_ptr<pqxx::connection> blocker_connection;
    std::unique_ptr<pqxx::work> blocker;
    void block(const std::string& id) {
        blocker_connection = database.connect();
        blocker = std::make_unique<pqxx::work>(*blocker_connection, "blocker");
        blocker->exec_params0(
            "INSERT INTO predictions (model, id, ts, features, attributes, received_at) "
            "VALUES ('m', $1, now(), '{}', '{}', now())",
            id);
    }
    void unblock() {
        blocker->abort();
        blocker.reset();
        blocker_connection.reset();
    }
    // Holds back `held`: 100 predictions from `held_ts_us`, one of whose ids
    // a transaction of the test inserts first; then appends `after_count`
    // predictions `after` from `after_ts_us`, `after_step_us` apart, and
    // waits until the other connection has stored them. Returns the held
    // batch's receipt time.
    std::int64_t hold(const std::string& held, std::int64_t held_ts_us, const std::string& after, int after_count,
                      std::int64_t after_ts_us, std::int64_t after_step_us = 1000) {
        block(held + "050");
        const std::int64_t held_received = watermark_append(spool, "m", held, 100, held_ts_us);
        watermark_append(spool, "m", after, after_count, after_ts_us, after_step_us);
        REQUIRE(watermark_within(30s, [&] { return stored(after) == after_count; }));
        CHECK(stored(held) == 0);
        return held_received;
    }
    // Lets the held batch land, then takes a monitor pass.
    void land() {
        unblock();
        REQUIRE(drain->wait_drained(30'000));
        step();
    }
    std::vector<store::StoredWindow> windows() {
        return store::windows_after(database.connection(), "m", 0, 100);
    }
    void exec(const std::string& sql) { pqxx::nontransaction(database.connection()).exec0(sql); }
    // Model m's profile chunks as (bucket start, id), in that order.
    std::vector<std::pair<std::int64_t, std::int64_t>> chunks() {
        std::vector<std::pair<std::int64_t, std::int64_t>> out;
        for (const auto& row : pqxx::nontransaction(database.connection())
                                   .exec("SELECT (extract(epoch FROM bucket_start) * 1000000)::bigint, id "
                                         "FROM profile_chunks WHERE model = 'm' ORDER BY bucket_start, id"))
            out.emplace_back(row[0].as<std::int64_t>(), row[1].as<std::int64_t>());
        return out;
    }
    std::vector<std::int64_t> chunk_ids(std::int64_t bucket_start_us) {
        std::vector<std::int64_t> ids;
        for (const auto& [bucket, id] : chunks())
            if (bucket == bucket_start_us) ids.push_back(id);
        return ids;
    }
    // The evidence of each window's dataset_drift finding (a profile-only
    // model's, from profiles), in window order.
    std::vector<nlohmann::json> dataset_drift_evidence() {
        std::vector<nlohmann::json> out;
        for (const auto& row : pqxx::nontransaction(database.connection())
                                   .exec("SELECT evidence::text FROM findings WHERE model = 'm' AND "
                                         "kind = 'dataset_drift' ORDER BY window_start"))
            out.push_back(nlohmann::json::parse(row[0].c_str()));
        return out;
    }
};

// Sleeps until the wall clock is past `until_us` (a time bucket's end).
void watermark_sleep_past(std::int64_t until_us) {
    while (now_us() <= until_us) std::this_thread::sleep_for(20ms);
}

}  // namespace

TEST_CASE("a range committed before an earlier one: no reference and no window past the gap until it lands") {
    WatermarkSetup setup;
    setup.warm_up();

    // A: the model's first 100 predictions, held back; B: 200 later ones,
    // written by the other connection meanwhile.
    const std::int64_t ts = now_us();
    const std::int64_t a_received = setup.hold("a", ts, "b", 200, ts + 1'000'000);
    // The gap is real: PostgreSQL's first 100 rows by (ts, id) are B's.
    const auto visible = store::read_predictions_after(setup.database.connection(), "m", std::nullopt, 100);
    REQUIRE(visible.size() == 100);
    CHECK(visible.front().id == "b000");
    // The watermark stays at A's receipt, here and as published.
    CHECK(setup.spool.stored_before_us() <= a_received);
    const auto published = store::others_stored_before(setup.database.connection(), "nobody", watermark_lease);
    REQUIRE(published.has_value());
    CHECK(*published <= a_received);

    setup.step();
    CHECK_FALSE(store::active_reference(setup.database.connection(), "m").has_value());
    CHECK(setup.windows().empty());

    // A lands: the reference is A, the windows B's two hundreds.
    setup.land();
    CHECK(setup.stored("a") == 100);
    const auto reference = store::active_reference(setup.database.connection(), "m");
    REQUIRE(reference.has_value());
    CHECK(reference->rows == 100);
    REQUIRE(reference->data_end.has_value());
    CHECK(reference->data_end->id == "a099");
    auto closed = setup.windows();
    REQUIRE(closed.size() == 2);
    CHECK(closed[0].first.id == "b000");
    CHECK(closed[0].last.id == "b099");
    CHECK(closed[1].first.id == "b100");
    CHECK(closed[1].last.id == "b199");

    // Again with the reference in place: C held back, D after it stored.
    const std::int64_t later = now_us() + 2'000'000;
    setup.hold("c", later, "d", 100, later + 1'000'000);
    setup.step();
    CHECK(setup.windows().size() == 2);
    setup.land();
    closed = setup.windows();
    REQUIRE(closed.size() == 4);
    CHECK(closed[2].first.id == "c000");
    CHECK(closed[2].last.id == "c099");
    CHECK(closed[3].first.id == "d000");
    CHECK(closed[3].last.id == "d099");

    // Every row of the model in exactly one of the reference and the
    // windows: consecutive (ts, id) ranges whose sizes add up.
    std::int64_t in_windows = 0;
    for (const auto& window : closed) in_windows += window.rows;
    CHECK(reference->rows + in_windows == setup.count("SELECT count(*) FROM predictions WHERE model = 'm'"));
}

TEST_CASE("an idle writer does not stall windows; a writer holds them while its daemon lives, not after its lease") {
    WatermarkSetup setup;
    // Another daemon whose spool stays empty: its watermark follows its clock.
    testing::TempDir idle_dir("mw-watermark-idle");
    config::SpoolOptions idle_options;
    idle_options.dir = idle_dir.path().string();
    store::Spool idle_spool(idle_options);
    idle_spool.start();
    config::StoreOptions store_options;
    store_options.dsn = setup.database.dsn();
    store::SpoolDrain idle_drain(idle_spool, store_options, idle_dir.path().string(), store::DrainPrivacy{},
                                 "idle-daemon");
    idle_drain.start();
    REQUIRE(watermark_within(10s, [&] {
        return store::others_stored_before(setup.database.connection(), "test-daemon", watermark_lease).has_value();
    }));

    const std::int64_t ts = now_us();
    const std::int64_t received = watermark_append(setup.spool, "m", "r", 200, ts);
    REQUIRE(setup.drain->wait_drained(30'000));
    // Closed once the idle daemon has published a watermark past the rows.
    REQUIRE(watermark_within(10s, [&] {
        setup.step();
        return setup.windows().size() == 1;
    }));
    const auto idle_published =
        store::others_stored_before(setup.database.connection(), "test-daemon", watermark_lease);
    REQUIRE(idle_published.has_value());
    CHECK(*idle_published > received);

    // Another daemon whose drain last published an hour's watermark: it
    // holds the windows while it heartbeats (a drain slow to write publishes
    // only between writes) ...
    store::heartbeat(setup.database.connection(), "dead-daemon", {}, watermark_lease);
    store::publish_watermark(setup.database.connection(), "dead-daemon", ts - 3'600'000'000);
    pqxx::nontransaction(setup.database.connection())
        .exec0("UPDATE store_watermarks SET published_at = clock_timestamp() - interval '6 s' "
               "WHERE writer = 'dead-daemon'");
    const std::int64_t s_received = watermark_append(setup.spool, "m", "s", 100, ts + 1'000'000);
    REQUIRE(setup.drain->wait_drained(30'000));
    // (The idle daemon's own watermark is past these rows: only the other one holds them.)
    REQUIRE(watermark_within(10s, [&] {
        return setup.count(fmt::format("SELECT count(*) FROM store_watermarks WHERE writer = 'idle-daemon' AND "
                                       "stored_before > 'epoch'::timestamptz + {} * interval '1 microsecond'",
                                       s_received)) == 1;
    }));
    setup.step();
    CHECK(setup.windows().size() == 1);
    // ... and no longer once it neither heartbeat nor published for a lease
    // (killed -9; aged in the database, as a lease is, rather than waited for).
    store::testing::expire_leases_of(setup.database.connection(), "dead-daemon");
    REQUIRE(watermark_within(10s, [&] {
        setup.step();
        return setup.windows().size() == 2;
    }));
    const auto closed = setup.windows();
    REQUIRE(closed.size() == 2);
    CHECK(closed[1].first.id == "s000");

    // A clean stop with nothing left withdraws the idle daemon's row.
    idle_drain.stop();
    CHECK(setup.count("SELECT count(*) FROM store_watermarks WHERE writer = 'idle-daemon'") == 0);
}

TEST_CASE("a profile-only model: no reference and no time window past the gap until it lands, every row profiled once") {
    WatermarkSetup setup(watermark_model(watermark_profile_yaml));
    REQUIRE_FALSE(setup.model.store_raw);
    setup.warm_up();

    // Buckets of one second starting two seconds ahead, so that every row is
    // received before its bucket ends (none is late): A, the model's first
    // 100 predictions in bucket t0, held back; B, 200 in buckets t0 + 1 s and
    // t0 + 2 s, stored meanwhile by the other connection.
    const std::int64_t t0 = floor_to(now_us(), watermark_bucket_us) + 2 * watermark_bucket_us;
    const std::int64_t a_received = setup.hold("a", t0, "b", 200, t0 + watermark_bucket_us, 10'000);
    // B is profiled (its two buckets), A not yet; the features are not stored.
    CHECK(setup.chunk_ids(t0).empty());
    CHECK_FALSE(setup.chunk_ids(t0 + watermark_bucket_us).empty());
    CHECK_FALSE(setup.chunk_ids(t0 + 2 * watermark_bucket_us).empty());
    CHECK(setup.count("SELECT count(*) FROM predictions WHERE model = 'm' AND features <> '{}'::jsonb") == 0);
    CHECK(setup.spool.stored_before_us() <= a_received);

    // Every bucket's end has passed on the clock; the watermark holds them.
    watermark_sleep_past(t0 + 3 * watermark_bucket_us);
    setup.step();
    CHECK_FALSE(store::active_reference(setup.database.connection(), "m").has_value());
    CHECK(setup.windows().empty());

    // A lands: the reference is A's bucket, its profile A's 100 rows; the
    // windows are B's two buckets, each judged from its own 100 rows' profile.
    setup.land();
    CHECK(setup.stored("a") == 100);
    const auto reference = store::active_reference(setup.database.connection(), "m");
    REQUIRE(reference.has_value());
    CHECK(reference->rows == 100);
    REQUIRE(reference->data_end.has_value());
    CHECK(reference->data_end->ts_us == t0 + watermark_bucket_us);
    const auto reference_profile = store::load_reference_profile(setup.database.connection(), reference->id);
    REQUIRE(reference_profile.has_value());
    REQUIRE(reference_profile->error.empty());
    CHECK(reference_profile->profiles.rows() == 100);
    REQUIRE(reference_profile->profiles.find_numeric("x") != nullptr);
    CHECK(reference_profile->profiles.find_numeric("x")->count() == 100);
    auto closed = setup.windows();
    REQUIRE(closed.size() == 2);
    CHECK(closed[0].first.id == "b000");
    CHECK(closed[0].last.id == "b099");
    CHECK(closed[1].first.id == "b100");
    CHECK(closed[1].last.id == "b199");

    // Again with the reference in place: C held back in bucket t1, D stored
    // in t1 + 1 s; D's window does not close past C's gap.
    const std::int64_t t1 = floor_to(now_us(), watermark_bucket_us) + 2 * watermark_bucket_us;
    setup.hold("c", t1, "d", 100, t1 + watermark_bucket_us);
    watermark_sleep_past(t1 + 2 * watermark_bucket_us);
    setup.step();
    CHECK(setup.windows().size() == 2);
    setup.land();
    closed = setup.windows();
    REQUIRE(closed.size() == 4);
    CHECK(closed[2].first.id == "c000");
    CHECK(closed[2].last.id == "c099");
    CHECK(closed[3].first.id == "d000");
    CHECK(closed[3].last.id == "d099");

    // Each window's profile holds exactly its rows, nothing skipped; every
    // row is in one of the reference and the windows, and profiled once.
    const auto evidence = setup.dataset_drift_evidence();
    REQUIRE(evidence.size() == 4);
    for (const auto& window : evidence) {
        INFO(window.dump());
        CHECK(window["from_profiles"] == true);
        CHECK(window["profile_rows"] == 100);
        CHECK(window["window_rows"] == 100);
        CHECK_FALSE(window.contains("skipped_chunks"));
    }
    std::int64_t in_windows = 0;
    for (const auto& window : closed) in_windows += window.rows;
    const auto rows = setup.count("SELECT count(*) FROM predictions WHERE model = 'm'");
    CHECK(reference->rows + in_windows == rows);
    CHECK(setup.count("SELECT sum(rows) FROM profile_chunks WHERE model = 'm'") == rows);
}

TEST_CASE("a profile-only model's damaged chunks are left out and named; a damaged reference profile is taken again") {
    WatermarkSetup setup(watermark_model(watermark_profile_yaml));
    setup.warm_up();
    // Buckets an hour back, closed as soon as stored: the reference's r, the
    // first window's three ranges (three chunks), the second's and third's one.
    const std::int64_t p = floor_to(now_us() - 3'600'000'000, watermark_bucket_us);
    watermark_append(setup.spool, "m", "r", 100, p);
    for (int part = 0; part < 3; ++part)
        watermark_append(setup.spool, "m", std::string("w") + static_cast<char>('a' + part), 100,
                         p + watermark_bucket_us + part * 100'000);
    watermark_append(setup.spool, "m", "y", 100, p + 2 * watermark_bucket_us);
    watermark_append(setup.spool, "m", "z", 100, p + 3 * watermark_bucket_us);
    REQUIRE(setup.drain->wait_drained(30'000));
    const auto first_window = setup.chunk_ids(p + watermark_bucket_us);
    REQUIRE(first_window.size() == 3);
    const auto second_window = setup.chunk_ids(p + 2 * watermark_bucket_us);
    REQUIRE(second_window.size() == 1);

    // Damage as PostgreSQL might hand it back: a blob cut short, one of a
    // future format version, and a KLL sketch whose first level claims far
    // more items than its blob holds (the byte after the level count).
    setup.exec(fmt::format("UPDATE profile_chunks SET profiles = substring(profiles from 1 for 40) WHERE id = {}",
                           first_window[0]));
    setup.exec(fmt::format("UPDATE profile_chunks SET profiles = set_byte(profiles, 4, 3) WHERE id = {}",
                           first_window[1]));
    setup.exec(fmt::format("UPDATE profile_chunks SET profiles = set_byte(profiles, "
                           "position('\\x4d574b4c'::bytea IN profiles) - 1 + 43, 127) WHERE id = {}",
                           second_window[0]));
    setup.step();
    const auto closed = setup.windows();
    REQUIRE(closed.size() == 3);
    CHECK(closed[0].rows == 300);
    CHECK(closed[1].rows == 100);
    CHECK(closed[2].rows == 100);
    const auto evidence = setup.dataset_drift_evidence();
    REQUIRE(evidence.size() == 3);

    // The first window is judged from its intact chunk, the two others named.
    INFO(evidence[0].dump());
    CHECK(evidence[0]["profile_rows"] == 100);
    CHECK(evidence[0]["window_rows"] == 300);
    const auto& skipped = evidence[0]["skipped_chunks"];
    REQUIRE(skipped.size() == 2);
    CHECK(skipped[0]["id"] == first_window[0]);
    CHECK(skipped[0]["rows"] == 100);
    CHECK(skipped[0]["error"].get<std::string>().find("profile set: ") == 0);
    CHECK(skipped[1]["id"] == first_window[1]);
    CHECK(skipped[1]["error"].get<std::string>().find("unsupported format version 3") != std::string::npos);
    CHECK(setup.count(fmt::format("SELECT count(*) FROM findings WHERE model = 'm' AND kind = 'feature_drift' AND "
                                  "subject = 'x' AND window_start = 'epoch'::timestamptz + {} * interval '1 "
                                  "microsecond'",
                                  closed[0].first.ts_us)) == 1);

    // The second window has no usable chunk: nothing drifts, x is not computed.
    INFO(evidence[1].dump());
    CHECK(evidence[1]["profile_rows"] == 0);
    REQUIRE(evidence[1]["skipped_chunks"].size() == 1);
    CHECK(evidence[1]["skipped_chunks"][0]["error"].get<std::string>().find("more than the blob holds") !=
          std::string::npos);
    bool x_not_computed = false;
    for (const auto& entry : evidence[1]["not_computed"]) x_not_computed |= entry["subject"] == "x";
    CHECK(x_not_computed);
    CHECK(setup.count("SELECT count(*) FROM findings WHERE model = 'm' AND kind = 'dataset_drift' AND triggered") ==
          0);
    CHECK(setup.count(fmt::format("SELECT count(*) FROM findings WHERE model = 'm' AND kind = 'feature_drift' AND "
                                  "window_start = 'epoch'::timestamptz + {} * interval '1 microsecond'",
                                  closed[1].first.ts_us)) == 0);
    // The third window, after them, as if nothing happened.
    CHECK(evidence[2]["profile_rows"] == 100);
    CHECK_FALSE(evidence[2].contains("skipped_chunks"));

    // The reference's stored profile damaged, read by a monitor fitting it
    // again (a restart, a reload): retired, then taken again from its
    // bucket's chunk, which is intact.
    const auto reference = store::active_reference(setup.database.connection(), "m");
    REQUIRE(reference.has_value());
    setup.exec(fmt::format("UPDATE reference_profiles SET profiles = substring(profiles from 1 for 30) "
                           "WHERE reference_id = {}",
                           reference->id));
    setup.monitor.reconfigure(setup.model);
    setup.step();
    CHECK_FALSE(store::active_reference(setup.database.connection(), "m").has_value());
    setup.step();
    const auto retaken = store::active_reference(setup.database.connection(), "m");
    REQUIRE(retaken.has_value());
    CHECK(retaken->id != reference->id);
    CHECK(retaken->rows == 100);
    const auto retaken_profile = store::load_reference_profile(setup.database.connection(), retaken->id);
    REQUIRE(retaken_profile.has_value());
    CHECK(retaken_profile->error.empty());
    CHECK(setup.windows().size() == 3);
}

TEST_CASE("a profile-only reference whose every chunk is damaged waits visibly, until given other buckets") {
    WatermarkSetup setup(watermark_model(watermark_profile_yaml));
    setup.warm_up();
    // Buckets an hour back: the reference's first 100 rows and 100 more in
    // bucket p (two chunks), then 100 rows in bucket p + 1 s.
    const std::int64_t p = floor_to(now_us() - 3'600'000'000, watermark_bucket_us);
    watermark_append(setup.spool, "m", "ra", 100, p);
    watermark_append(setup.spool, "m", "rb", 100, p + 200'000);
    watermark_append(setup.spool, "m", "s", 100, p + watermark_bucket_us);
    REQUIRE(setup.drain->wait_drained(30'000));
    const auto reference_chunks = setup.chunk_ids(p);
    REQUIRE(reference_chunks.size() == 2);
    for (const auto id : reference_chunks)
        setup.exec(fmt::format("UPDATE profile_chunks SET profiles = substring(profiles from 1 for 40) WHERE id = {}",
                               id));
    auto& unusable = setup.metrics.reference_unusable_profile_chunks.Add({{"model", "m"}});

    // No reference, no window, and the gauge an operator is alerted on
    // counts the chunks, pass after pass: the wait does not end by itself.
    for (int pass = 0; pass < 2; ++pass) {
        setup.step();
        CHECK_FALSE(store::active_reference(setup.database.connection(), "m").has_value());
        CHECK(setup.windows().empty());
        CHECK(unusable.Value() == 2);
    }

    // The operator's action (docs/monitoring.md): a time range of intact
    // buckets, as a reload hands it to the monitor. The reference is taken
    // from them and the gauge falls to 0.
    config::ModelOptions moved = setup.model;
    moved.reference.source = config::ReferenceSource::time_range;
    moved.reference.start = format_rfc3339_us(p + watermark_bucket_us);
    moved.reference.end = format_rfc3339_us(p + 2 * watermark_bucket_us);
    setup.monitor.reconfigure(moved);
    setup.step();
    const auto reference = store::active_reference(setup.database.connection(), "m");
    REQUIRE(reference.has_value());
    CHECK(reference->rows == 100);
    CHECK(unusable.Value() == 0);
}
