// Retention against a real PostgreSQL with a fixed clock: rows and files past
// their age go, what is young or still needed stays (docs/retention.md).
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>

#include "store/migrations.h"
#include "store/retention.h"
#include "store/store_writer.h"
#include "store/watermarks.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_clock.h"
#include "tests/support/test_database.h"

using mw::store::apply_retention;
using mw::store::remove_retained_files;
using mw::store::testing::TestDatabase;
using namespace mw::testing;

namespace {

// The test's now: 30 days after t0 (2026-01-31T00:00:00Z).
constexpr std::int64_t test_now_us = t0_us + 30 * day_us;

// 2026-01-01 + d days, as SQL.
std::string day(int d, int hour = 0) {
    return fmt::format("(timestamptz '2026-01-01T00:00:00Z' + interval '{} days' + interval '{} hours')", d, hour);
}

void exec(TestDatabase& database, const std::string& sql) {
    pqxx::nontransaction query(database.connection());
    query.exec0(sql);
}

std::int64_t count(TestDatabase& database, const std::string& sql) {
    pqxx::nontransaction query(database.connection());
    return query.exec1(sql)[0].as<std::int64_t>();
}

bool exists(TestDatabase& database, const std::string& relation) {
    pqxx::nontransaction query(database.connection());
    return query.exec_params1("SELECT to_regclass($1) IS NOT NULL", relation)[0].as<bool>();
}

// A day partition of `table` (received_at from day d to d + 1), with its
// primary key as the writer creates it (store/store_writer.cpp).
void day_partition(TestDatabase& database, const std::string& table, int d) {
    exec(database, fmt::format("CREATE TABLE {0}_d{1} PARTITION OF {0} (PRIMARY KEY (model, id)) "
                               "FOR VALUES FROM ({2}) TO ({3})",
                               table, d, day(d), day(d + 1)));
}

// A prediction of `model` received on day d at noon (ts too), in its day's
// partition, and its outcome received at 13:00 in the outcomes' partition
// of that day.
void day_with_prediction(TestDatabase& database, int d, const std::string& model, const std::string& id) {
    day_partition(database, "predictions", d);
    day_partition(database, "outcomes", d);
    exec(database, fmt::format("INSERT INTO predictions (model, id, ts, features, attributes, received_at) "
                               "VALUES ('{0}', '{1}', {2}, '{{}}', '{{}}', {2})",
                               model, id, day(d, 12)));
    exec(database, fmt::format("INSERT INTO outcomes (model, id, ts, label, received_at) "
                               "VALUES ('{0}', '{1}', {2}, 'UP', {2})",
                               model, id, day(d, 13)));
}

// The boundary-key partition of the midnight starting day d.
void boundary_partition(TestDatabase& database, int d) {
    exec(database, fmt::format("CREATE TABLE prediction_boundary_d{0} PARTITION OF prediction_boundary_keys "
                               "(PRIMARY KEY (model, id)) FOR VALUES FROM ({1} - interval '1 hour') "
                               "TO ({1} + interval '1 hour')",
                               d, day(d)));
}

mw::config::RetentionOptions forever() {
    mw::config::RetentionOptions options;
    options.predictions_s = options.findings_s = options.windows_s = options.alert_deliveries_s = options.jobs_s =
        options.audits_s = 0;
    return options;
}

}  // namespace

TEST_CASE("predictions go a whole day partition at a time, unless a reference or a window still reads it",
          "[retention]") {
    TestDatabase database;
    mw::store::migrate(database.connection());
    // Model a: a live reference taken from day 3, last window closed on day 8
    // (so its open window reads from day 8 on). Model b: a window of days
    // 5-6 still waiting for labels, and a later one.
    day_with_prediction(database, 0, "a", "old");        // past its age, read by nobody: dropped
    day_with_prediction(database, 3, "a", "ref");        // the live reference's rows: kept
    day_with_prediction(database, 5, "b", "unlabelled");  // a window waiting for labels: kept
    day_with_prediction(database, 10, "a", "open");      // the open window of a: kept
    day_with_prediction(database, 20, "a", "young");     // younger than 14 days: kept
    exec(database, fmt::format("INSERT INTO model_references (model, source, rows, sample, data_start, data_end, "
                               "data_end_id) VALUES ('a', 'first_n', 1, '{{}}', {}, {}, 'ref')",
                               day(3, 12), day(3, 12)));
    // A retired reference holds nothing back.
    exec(database, fmt::format("INSERT INTO model_references (model, source, rows, sample, data_start, data_end, "
                               "retired_at) VALUES ('a', 'first_n', 1, '{{}}', {}, {}, {})",
                               day(0, 12), day(0, 12), day(1)));
    exec(database, fmt::format("INSERT INTO monitor_windows (model, sequence, first_ts, first_id, last_ts, last_id, "
                               "rows, closed_at, performance_at) VALUES "
                               "('a', 1, {0}, 'x', {1}, 'y', 10, {1}, {1}), ('a', 2, {2}, 'x', {2}, 'y', 10, {2}, {2}),"
                               "('b', 1, {3}, 'x', {4}, 'y', 10, {4}, NULL), ('b', 2, {5}, 'x', {5}, 'y', 10, {5}, {5})",
                               day(4), day(5), day(10, 1), day(5, 1), day(6), day(25)));
    // An outcome whose prediction never came, old and young: it goes with its day.
    day_partition(database, "outcomes", 2);
    day_partition(database, "outcomes", 25);
    exec(database, fmt::format("INSERT INTO outcomes (model, id, ts, label, received_at) VALUES "
                               "('a', 'orphan-old', {0}, 'UP', {0}), ('a', 'orphan-young', {1}, 'UP', {1})",
                               day(2), day(25)));
    // Boundary claims: of the midnight after day 0 (both neighbours dropped
    // below), of the midnight after day 3 (day 3 is kept), and a young one.
    for (const int d : {1, 4, 21}) boundary_partition(database, d);
    exec(database, fmt::format("INSERT INTO rejection_counts VALUES ('a', {}, 'prediction', 'schema', 3), "
                               "('a', {}, 'prediction', 'schema', 4)",
                               day(1), day(25)));

    mw::config::RetentionOptions options;  // the defaults: predictions 14 days
    REQUIRE(options.predictions_s == 14 * 86400);
    const auto result = apply_retention(database.connection(), options, test_now_us);

    // Predictions by what still reads them; outcomes while a window of their
    // model waits for labels received in their day (b's window from day 5, a's
    // open window from day 10); the boundary of day 1 once both its days are gone.
    CHECK(result.partitions_dropped ==
          std::vector<std::string>{"predictions_d0", "outcomes_d0", "outcomes_d2", "outcomes_d3",
                                   "prediction_boundary_d1"});
    CHECK(result.partitions_kept ==
          std::vector<std::string>{"predictions_d3", "predictions_d5", "predictions_d10", "outcomes_d5",
                                   "outcomes_d10"});
    CHECK_FALSE(exists(database, "predictions_d0"));
    for (const char* kept : {"predictions_d3", "predictions_d5", "predictions_d10", "predictions_d20",
                             "outcomes_d5", "outcomes_d10", "outcomes_d20", "outcomes_d25",
                             "prediction_boundary_d4", "prediction_boundary_d21"})
        CHECK(exists(database, kept));
    CHECK(count(database, "SELECT count(*) FROM predictions") == 4);
    CHECK(count(database, "SELECT count(*) FROM outcomes WHERE id IN ('old', 'ref', 'orphan-old')") == 0);
    CHECK(count(database, "SELECT count(*) FROM outcomes") == 4);
    CHECK(count(database, "SELECT count(*) FROM rejection_counts") == 1);
    // The default partitions are never dropped.
    CHECK(exists(database, "predictions_default"));
    CHECK(exists(database, "outcomes_default"));

    SECTION("once the window has its labels and the reference is retired, the partitions go") {
        exec(database, fmt::format("UPDATE monitor_windows SET performance_at = {}", day(7)));
        exec(database, fmt::format("UPDATE model_references SET retired_at = {} WHERE retired_at IS NULL", day(9)));
        const auto later = apply_retention(database.connection(), options, test_now_us);
        CHECK(later.partitions_dropped == std::vector<std::string>{"predictions_d3", "predictions_d5",
                                                                   "outcomes_d5", "prediction_boundary_d4"});
        CHECK(later.partitions_kept == std::vector<std::string>{"predictions_d10", "outcomes_d10"});
    }
    SECTION("a row of a needed range received on a later day keeps that day's partition") {
        // Model a's reference reads ts of day 3; a late copy of such a row
        // (another id) was received on day 12.
        day_partition(database, "predictions", 12);
        exec(database, fmt::format("INSERT INTO predictions (model, id, ts, features, attributes, received_at) "
                                   "VALUES ('a', 'late', {}, '{{}}', '{{}}', {})",
                                   day(3, 12), day(12, 12)));
        const auto later = apply_retention(database.connection(), options, test_now_us);
        CHECK(later.partitions_dropped.empty());
        CHECK(std::find(later.partitions_kept.begin(), later.partitions_kept.end(), "predictions_d12") !=
              later.partitions_kept.end());
    }
    SECTION("0 keeps predictions forever") {
        const auto none = apply_retention(database.connection(), forever(), test_now_us + 1000 * day_us);
        CHECK(none.partitions_dropped.empty());
        CHECK(count(database, "SELECT count(*) FROM predictions") == 4);
        CHECK(count(database, "SELECT count(*) FROM outcomes") == 4);
    }
}

TEST_CASE("findings, decisions, windows and alert deliveries past their age go, unless still needed",
          "[retention]") {
    TestDatabase database;
    mw::store::migrate(database.connection());
    const auto finding = [&](int id, int d, bool routed = true) {
        exec(database, fmt::format("INSERT INTO findings (id, model, kind, method, statistic, threshold, triggered, "
                                   "severity, window_start, window_end, created_at, alert_routed) VALUES ({0}, 'a', "
                                   "'dataset_drift', 'share', 0.6, 0.5, true, 'warning', {1}, {1}, {1}, {2})",
                                   id, day(d), routed));
    };
    finding(1, -100);  // old, handled: goes
    finding(2, -100);  // old, but a firing alert points at it
    finding(3, -100);  // old, but the slowest consumer has not read it yet
    finding(4, 29);    // young
    finding(0, -100, false);  // old, read by the policy, but its model's alert router has not routed it
    exec(database, "INSERT INTO finding_cursors VALUES ('alerts', 10), ('retrain', 2)");
    exec(database, fmt::format("INSERT INTO alerts (fingerprint, model, kind, severity, state, finding_id, started_at) "
                               "VALUES ('f1', 'a', 'dataset_drift', 'warning', 'firing', 2, {})",
                               day(-100)));
    exec(database, fmt::format("INSERT INTO decisions (model, kind, reason, at) VALUES "
                               "('a', 'breaker_opened', 'r', {0}), ('a', 'job_skipped', 'r', {0}), "
                               "('a', 'job_skipped', 'r', {0}), ('a', 'job_skipped', 'r', {1})",
                               day(-100), day(29)));
    // Windows: an old judged one (goes), an old one waiting for labels, the latest.
    exec(database, fmt::format("INSERT INTO monitor_windows (model, sequence, first_ts, first_id, last_ts, last_id, "
                               "rows, closed_at, performance_at) VALUES "
                               "('a', 1, {0}, 'x', {0}, 'y', 10, {0}, {0}), ('a', 2, {0}, 'x', {0}, 'y', 10, {0}, NULL),"
                               "('a', 3, {0}, 'x', {0}, 'y', 10, {0}, {0})",
                               day(-100)));
    exec(database, "INSERT INTO window_metrics (window_id, name, value) SELECT id, 'accuracy', 0.9 FROM monitor_windows");
    exec(database, fmt::format("INSERT INTO alert_deliveries (fingerprint, receiver, state, payload, created_at, "
                               "delivered_at, abandoned_at) VALUES "
                               "('f1', 'oncall', 'firing', '{{}}', {0}, {0}, NULL),"   // delivered: goes
                               "('f1', 'oncall', 'firing', '{{}}', {0}, NULL, {0}),"   // abandoned: goes
                               "('f1', 'oncall', 'firing', '{{}}', {0}, NULL, NULL),"  // still owed: stays
                               "('f1', 'oncall', 'firing', '{{}}', {1}, {1}, NULL)",   // young: stays
                               day(-100), day(29)));

    // 25 days after them nothing is 30 (deliveries) or 90 days old yet: ages
    // count from the clock passed in, not the database's.
    const auto early = apply_retention(database.connection(), mw::config::RetentionOptions{}, t0_us - 75 * day_us);
    CHECK(early.findings_deleted == 0);
    CHECK(early.windows_deleted == 0);
    CHECK(early.alert_deliveries_deleted == 0);
    CHECK(early.decisions_deleted == 0);

    const auto result = apply_retention(database.connection(), mw::config::RetentionOptions{}, test_now_us);
    CHECK(result.findings_deleted == 1);
    CHECK(count(database, "SELECT count(*) FROM findings WHERE id IN (0, 2, 3, 4)") == 4);
    // The old skips go; the latest of each kind stays however old (the breaker's state).
    CHECK(result.decisions_deleted == 2);
    CHECK(count(database, "SELECT count(*) FROM decisions WHERE kind = 'breaker_opened'") == 1);
    CHECK(count(database, "SELECT count(*) FROM decisions WHERE kind = 'job_skipped'") == 1);
    CHECK(result.windows_deleted == 1);
    CHECK(count(database, "SELECT count(*) FROM monitor_windows WHERE sequence IN (2, 3)") == 2);
    CHECK(count(database, "SELECT count(*) FROM window_metrics") == 2);
    CHECK(result.alert_deliveries_deleted == 2);
    CHECK(count(database, "SELECT count(*) FROM alert_deliveries") == 2);
}

TEST_CASE("finished jobs and audits past their age go with their directories and report files", "[retention]") {
    TestDatabase database;
    mw::store::migrate(database.connection());
    TempDir state("mw-retention");
    const std::string jobs_dir = state.path().string() + "/jobs";
    const std::string reports_dir = state.path().string() + "/reports";
    const auto job = [&](int id, const std::string& job_state, int d) {
        exec(database, fmt::format("INSERT INTO retrain_jobs (id, model, dedup_key, trigger, reason, state, created_at, "
                                   "started_at, finished_at) VALUES ({0}, 'a', 'k{0}', 'manual', 'r', '{1}', {2}, {2}, "
                                   "{3})",
                                   id, job_state, day(d), job_state == "running" ? std::string("NULL") : day(d, 1)));
        exec(database, fmt::format("INSERT INTO retrain_transitions (job_id, to_state, reason) VALUES ({}, '{}', 'r')",
                                   id, job_state));
        std::filesystem::create_directories(jobs_dir + "/" + std::to_string(id));
        std::ofstream(jobs_dir + "/" + std::to_string(id) + "/data.csv") << "x\n1\n";
    };
    job(1, "failed", -10);    // old and finished: goes
    job(2, "promoted", -9);   // the latest promotion (probation, rollback): stays
    job(3, "running", -8);    // running: stays
    job(4, "rejected", -7);   // the latest finished job (the policy's cooldown): stays

    std::filesystem::create_directories(reports_dir + "/a/weekly");
    const auto audit = [&](int id, int d, const std::string& report) {
        if (!report.empty()) std::ofstream(report) << "<html></html>";
        exec(database, fmt::format("INSERT INTO audits (id, model, audit, trigger, state, data_start, data_end, reports, "
                                   "started_at, finished_at) VALUES ({0}, 'a', 'weekly', 'schedule', 'passed', {1}, {1}, "
                                   "'{{\"html\": \"{2}\"}}', {1}, {1})",
                                   id, day(d), report));
    };
    const std::string outside = state.path().string() + "/elsewhere.html";
    audit(1, -400, reports_dir + "/a/weekly/one.html");  // old: goes, with its file
    audit(2, -390, outside);                              // old, its path is outside reports_dir: row goes, file stays
    audit(3, -380, reports_dir + "/a/weekly/three.html");  // the latest of its audit: stays

    mw::config::RetentionOptions options;  // jobs 30 days, audits 365 days
    const auto result = apply_retention(database.connection(), options, test_now_us);
    CHECK(result.jobs_deleted == std::vector<std::int64_t>{1});
    CHECK(count(database, "SELECT count(*) FROM retrain_jobs") == 3);
    CHECK(count(database, "SELECT count(*) FROM retrain_transitions WHERE job_id = 1") == 0);
    CHECK(result.audits_deleted == 2);
    CHECK(count(database, "SELECT count(*) FROM audits") == 1);

    const auto errors = remove_retained_files(result, jobs_dir, reports_dir);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].find("outside reports_dir") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(jobs_dir + "/1"));
    for (int kept : {2, 3, 4}) CHECK(std::filesystem::exists(jobs_dir + "/" + std::to_string(kept) + "/data.csv"));
    CHECK_FALSE(std::filesystem::exists(reports_dir + "/a/weekly/one.html"));
    CHECK(std::filesystem::exists(outside));
    CHECK(std::filesystem::exists(reports_dir + "/a/weekly/three.html"));

    SECTION("0 keeps jobs and audits forever") {
        job(6, "failed", -1000);
        const auto none = apply_retention(database.connection(), forever(), test_now_us);
        CHECK(none.jobs_deleted.empty());
        CHECK(none.audits_deleted == 0);
    }
}

TEST_CASE("two retention passes at once (two daemons) each finish; a partition the other dropped is skipped",
          "[retention]") {
    TestDatabase database;
    mw::store::migrate(database.connection());
    for (const int d : {0, 1, 2}) day_with_prediction(database, d, "a", fmt::format("old{}", d));
    const auto options = mw::config::RetentionOptions{};

    // Both passes list the same expired partitions, then queue on the
    // partition lock held here, so they race for every partition.
    auto holder = database.connect();
    pqxx::work hold(*holder);
    hold.exec(fmt::format("SELECT pg_advisory_xact_lock({})", mw::store::partition_lock_key));
    struct Pass {
        std::unique_ptr<pqxx::connection> connection;
        mw::store::RetentionResult result;
        std::string error;
    };
    Pass passes[2] = {{database.connect(), {}, {}}, {database.connect(), {}, {}}};
    std::vector<std::thread> threads;
    for (auto& pass : passes)
        threads.emplace_back([&pass, &options] {
            try {
                pass.result = apply_retention(*pass.connection, options, test_now_us);
            } catch (const std::exception& error) {
                pass.error = error.what();
            }
        });
    auto observer = database.connect();
    bool both_waiting = false;
    for (int attempt = 0; attempt < 600 && !both_waiting; ++attempt) {
        pqxx::nontransaction look(*observer);
        both_waiting = look.exec1("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")[0]
                           .as<int>() == 2;
        if (!both_waiting) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    CHECK(both_waiting);
    hold.commit();
    for (auto& thread : threads) thread.join();

    CHECK(passes[0].error.empty());
    CHECK(passes[1].error.empty());
    auto dropped = passes[0].result.partitions_dropped;
    dropped.insert(dropped.end(), passes[1].result.partitions_dropped.begin(),
                   passes[1].result.partitions_dropped.end());
    std::sort(dropped.begin(), dropped.end());
    // Each partition dropped once, by one of them.
    CHECK(dropped == std::vector<std::string>{"outcomes_d0", "outcomes_d1", "outcomes_d2", "predictions_d0",
                                              "predictions_d1", "predictions_d2"});
    CHECK(count(database, "SELECT count(*) FROM predictions") == 0);
}

TEST_CASE("a partition whose table stays locked is skipped as busy; the rest of the pass goes on", "[retention]") {
    TestDatabase database;
    mw::store::migrate(database.connection());
    day_with_prediction(database, 0, "a", "old");
    exec(database, fmt::format("INSERT INTO rejection_counts VALUES ('a', {}, 'prediction', 'schema', 3)", day(1)));
    // A long reader of outcomes (an audit cursor, an idle analyst session).
    auto reader = database.connect();
    pqxx::work reading(*reader);
    reading.exec0("LOCK TABLE outcomes IN ACCESS SHARE MODE");

    // Waits out the lock timeout (10 s) once.
    const auto result = apply_retention(database.connection(), mw::config::RetentionOptions{}, test_now_us);
    CHECK(result.partitions_dropped == std::vector<std::string>{"predictions_d0"});
    CHECK(result.partitions_busy == std::vector<std::string>{"outcomes_d0"});
    CHECK(result.partitions_kept.empty());
    CHECK(result.rejection_counts_deleted == 1);
    reading.commit();

    const auto next = apply_retention(database.connection(), mw::config::RetentionOptions{}, test_now_us);
    CHECK(next.partitions_dropped == std::vector<std::string>{"outcomes_d0"});
    CHECK(next.partitions_busy.empty());
}

TEST_CASE("a writer's watermark not published for a day goes with the retention pass, not with a publish",
          "[retention]") {
    TestDatabase database;
    mw::store::migrate(database.connection());
    // A daemon killed a month ago, and one that published 12 hours ago
    // (both by the test's clock, 2026-01-31).
    exec(database, fmt::format("INSERT INTO store_watermarks (writer, stored_before, published_at) VALUES "
                               "('gone', {0}, {0}), ('recent', {1}, {1})",
                               day(0), day(29, 12)));
    // Another daemon's drain publishes (every 250 ms): it writes its own row only.
    mw::store::publish_watermark(database.connection(), "live", test_now_us);
    CHECK(count(database, "SELECT count(*) FROM store_watermarks") == 3);

    // Retention does, whatever the ages (none kept forever is a watermark).
    const auto result = apply_retention(database.connection(), forever(), test_now_us);
    CHECK(result.watermarks_deleted == 1);
    pqxx::nontransaction query(database.connection());
    std::vector<std::string> writers;
    for (const auto& row : query.exec("SELECT writer FROM store_watermarks ORDER BY writer"))
        writers.push_back(row[0].as<std::string>());
    CHECK(writers == std::vector<std::string>{"live", "recent"});
}
