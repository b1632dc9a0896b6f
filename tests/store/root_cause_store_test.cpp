// What the root-cause worker reads and writes (store/monitor_store.h)
// against a real PostgreSQL: the recent windows' metric series of one kind
// (realised or estimated, never the one where the other is missing),
// pending rankings found and attached exactly once, and answered once no
// live daemon configures their model.
#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <pqxx/nontransaction>
#include <pqxx/transaction>

#include "store/leases.h"
#include "store/migrations.h"
#include "store/monitor_store.h"
#include "tests/support/test_database.h"

using namespace mw;

namespace {

store::StoredWindow root_cause_store_window(std::int64_t sequence) {
    store::StoredWindow window;
    window.sequence = sequence;
    window.first = {1'700'000'000'000'000 + sequence * 1000, "a" + std::to_string(sequence)};
    window.last = {1'700'000'000'000'000 + sequence * 1000 + 999, "z" + std::to_string(sequence)};
    window.rows = 10;
    return window;
}

Finding root_cause_store_finding(const std::string& kind, const std::string& subject, const std::string& method,
                                 const std::string& evidence = "{}") {
    Finding finding;
    finding.model = "m";
    finding.kind = kind;
    finding.subject = subject;
    finding.method = method;
    finding.statistic = 0.2;
    finding.p_value = 0.01;
    finding.triggered = true;
    finding.evidence_json = evidence;
    return finding;
}

std::int64_t root_cause_store_count(pqxx::connection_base& connection, const std::string& query) {
    pqxx::read_transaction transaction(connection);
    return transaction.exec1(query)[0].as<std::int64_t>();
}

}  // namespace

TEST_CASE("the root-cause history reads one kind of metric; pending rankings are attached once", "[root_cause_store]") {
    store::testing::TestDatabase database;
    store::migrate(database.connection());
    auto& connection = database.connection();
    const auto drift = root_cause_store_finding("feature_drift", "x", "ks");
    const auto pending = root_cause_store_finding(
        "performance", "accuracy", "realised", R"({"n": 10, "root_cause": {"pending": true, "summary": "ranking"}})");

    // Window 1: estimated 0.8 at close, realised 0.7 once its labels came
    // (with a drop to rank); window 2: an estimate only, 0.6.
    const auto first = store::record_window(connection, "m", std::nullopt, root_cause_store_window(1), {drift},
                                            {{"accuracy", "", 0.8, true}});
    store::record_window_performance(connection, "m", first, 1.0, true, {pending}, {{"accuracy", "", 0.7, false}});
    store::record_window(connection, "m", std::nullopt, root_cause_store_window(2), {drift},
                         {{"accuracy", "", 0.6, true}});

    const auto realised = store::recent_drift_verdicts(connection, "m", "accuracy", false, 2, 20);
    REQUIRE(realised.size() == 2);
    REQUIRE(realised[0].metric);
    CHECK(*realised[0].metric == 0.7);
    // No realised value yet: none, rather than the estimate in its place.
    CHECK_FALSE(realised[1].metric);
    CHECK(realised[1].drift.size() == 1);
    const auto estimated = store::recent_drift_verdicts(connection, "m", "accuracy", true, 2, 20);
    REQUIRE(estimated.size() == 2);
    CHECK(estimated[0].metric == 0.8);
    CHECK(estimated[1].metric == 0.6);

    const auto waiting = store::pending_root_causes(connection, "m", 10);
    REQUIRE(waiting.size() == 1);
    CHECK(waiting[0].metric == "accuracy");
    CHECK(waiting[0].method == "realised");
    CHECK(waiting[0].window.sequence == 1);
    CHECK(waiting[0].window.id == first);
    CHECK(store::pending_root_causes(connection, "other", 10).empty());

    CHECK(store::attach_root_cause(connection, waiting[0].finding_id, R"({"summary": "ranked"})"));
    // Attached once: a second ranking of the same finding (a worker that lost
    // and regained the model meanwhile) changes nothing.
    CHECK_FALSE(store::attach_root_cause(connection, waiting[0].finding_id, R"({"summary": "again"})"));
    CHECK(store::pending_root_causes(connection, "m", 10).empty());
    CHECK(root_cause_store_count(connection, "SELECT count(*) FROM findings WHERE evidence->'root_cause'->>'summary' = "
                                             "'ranked' AND (evidence->>'n')::int = 10") == 1);

    // Retention removed a pending drop's window (findings.window_id is set
    // NULL): still found, so that it stops waiting, and marked gone; the
    // model's later drop is found beside it.
    const auto third = store::record_window(connection, "m", std::nullopt, root_cause_store_window(3), {pending}, {});
    store::record_window(connection, "m", std::nullopt, root_cause_store_window(4), {pending}, {});
    {
        pqxx::work transaction(connection);
        transaction.exec_params0("DELETE FROM monitor_windows WHERE id = $1", third);
        transaction.commit();
    }
    const auto after_retention = store::pending_root_causes(connection, "m", 10);
    REQUIRE(after_retention.size() == 2);
    CHECK(after_retention[0].window_gone);
    CHECK_FALSE(after_retention[1].window_gone);
    CHECK(after_retention[1].window.sequence == 4);
}

TEST_CASE("pending rankings are found through their own partial index, not by reading the model's findings",
          "[root_cause_store]") {
    store::testing::TestDatabase database;
    store::migrate(database.connection());
    auto& connection = database.connection();
    const auto settled = root_cause_store_finding("performance", "accuracy", "realised",
                                                  R"({"root_cause": {"summary": "ranked"}})");
    const auto pending = root_cause_store_finding("performance", "accuracy", "realised",
                                                  R"({"root_cause": {"pending": true}})");
    for (int sequence = 1; sequence <= 3; ++sequence)
        store::record_window(connection, "m", std::nullopt, root_cause_store_window(sequence),
                             {settled, settled, sequence == 3 ? pending : settled}, {});
    // A table this small is read whole whichever indexes exist; without
    // sequential scans the planner shows which index answers the query.
    pqxx::nontransaction(connection).exec0("SET enable_seqscan = off");
    REQUIRE(store::pending_root_causes(connection, "m", 10).size() == 1);
    pqxx::nontransaction(connection).exec("SELECT pg_stat_force_next_flush()");  // flushed when idle, below

    // The scan counts reach the statistics views when the backend is idle;
    // read from another connection, at most for 10 s.
    auto observer = database.connect();
    std::int64_t scans = 0;
    for (int attempt = 0; attempt < 100 && scans == 0; ++attempt) {
        pqxx::read_transaction transaction(*observer);
        const auto rows = transaction.exec(
            "SELECT coalesce(idx_scan, 0) FROM pg_stat_user_indexes WHERE indexrelname = 'findings_root_cause_pending'");
        REQUIRE(rows.size() == 1);  // the index exists (migration 12)
        scans = rows[0][0].as<std::int64_t>();
        if (scans == 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    CHECK(scans > 0);
}

TEST_CASE("the pending condition of the queries is migration 12's index predicate, as PostgreSQL parses them",
          "[root_cause_store]") {
    store::testing::TestDatabase database;
    store::migrate(database.connection());
    // The migration's text is frozen; the queries' condition is code. An
    // index built on the condition, in a transaction never committed, is
    // parsed and printed back by PostgreSQL as the migration's was.
    pqxx::work transaction(database.connection());
    const auto predicate_of = [&](const std::string& index) {
        return transaction
            .exec_params1("SELECT pg_get_expr(indpred, indrelid) FROM pg_index WHERE indexrelid = $1::regclass", index)[0]
            .as<std::string>();
    };
    const auto frozen = predicate_of("findings_root_cause_pending");
    transaction.exec0(fmt::format("CREATE INDEX root_cause_condition_probe ON findings (model, id) WHERE {}",
                                  store::pending_root_cause_condition));
    CHECK(predicate_of("root_cause_condition_probe") == frozen);
    CHECK(frozen.find("'pending'") != std::string::npos);
}

TEST_CASE("pending rankings of a model no live daemon configures are answered, once; a live daemon's model keeps them",
          "[root_cause_store]") {
    using namespace std::chrono_literals;
    store::testing::TestDatabase database;
    store::migrate(database.connection());
    auto& connection = database.connection();
    const auto pending_of = [](const std::string& model) {
        auto finding = root_cause_store_finding("performance", "accuracy", "realised",
                                                R"({"n": 10, "root_cause": {"pending": true, "summary": "ranking"}})");
        finding.model = model;
        return finding;
    };
    for (const std::string model : {"removed", "configured", "leased"})
        store::record_window(connection, model, std::nullopt, root_cause_store_window(1), {pending_of(model)}, {});
    store::record_window(connection, "removed", std::nullopt, root_cause_store_window(2), {pending_of("removed")}, {});
    const auto waiting = [&](const std::string& model) { return store::pending_root_causes(connection, model, 10).size(); };
    const std::string answer = R"({"error": "not ranked: the model was removed from the configuration"})";
    const auto sweep = [&] { return store::answer_unconfigured_root_causes(connection, 5s, answer); };

    // Daemon a configures "configured"; b configured "leased" and was
    // killed: its heartbeat is old, its lease not yet expired.
    store::heartbeat(connection, "a", {"configured"}, 5s, true);
    store::heartbeat(connection, "b", {"leased"}, 5s, true);
    {
        pqxx::work transaction(connection);
        transaction.exec0("UPDATE daemons SET heartbeat_at = clock_timestamp() - interval '1 hour' WHERE id = 'b'");
        // A live daemon of a build before migration 16 records no models: it may configure any.
        transaction.exec0("INSERT INTO daemons (id, heartbeat_at) VALUES ('old-build', clock_timestamp())");
        transaction.commit();
    }
    CHECK(sweep().empty());
    CHECK(waiting("removed") == 2);
    {
        pqxx::work transaction(connection);
        transaction.exec0("UPDATE daemons SET heartbeat_at = clock_timestamp() - interval '1 hour' "
                          "WHERE id = 'old-build'");
        transaction.commit();
    }
    CHECK(sweep() == std::map<std::string, std::int64_t>{{"removed", 2}});
    CHECK(waiting("removed") == 0);
    CHECK(waiting("configured") == 1);
    CHECK(waiting("leased") == 1);  // b's lease is held until it expires
    CHECK(root_cause_store_count(connection, "SELECT count(*) FROM findings WHERE model = 'removed' AND "
                                             "evidence->'root_cause'->>'error' LIKE 'not ranked: the model was removed%' "
                                             "AND (evidence->>'n')::int = 10") == 2);

    // a stops and starts again without "configured" (removed from the
    // configuration while it was stopped); b's lease has expired.
    store::release_all(connection, "a");
    store::testing::expire_leases_of(connection, "b");
    // Within the grace after their leases ended, models whose last owner is
    // not live (a stopped, b was killed) wait: their daemon may be restarting.
    CHECK(sweep().empty());
    // a starts again without "configured": its own lease's last owner is
    // live and names it no more, so it is answered at once; b's waits on.
    store::heartbeat(connection, "a", {}, 5s, true);
    CHECK(sweep() == std::map<std::string, std::int64_t>{{"configured", 1}});
    CHECK(waiting("leased") == 1);
    {
        pqxx::work transaction(connection);
        transaction.exec_params0("UPDATE model_leases SET expires_at = clock_timestamp() - $1 * interval '1 millisecond' "
                                 "- interval '1 second' WHERE owner = 'b'",
                                 5000 * store::removed_model_grace_leases);
        transaction.commit();
    }
    CHECK(sweep() == std::map<std::string, std::int64_t>{{"leased", 1}});
    CHECK(waiting("configured") == 0);
    CHECK(waiting("leased") == 0);
    // Nothing left to answer; a ranking that comes late attaches nothing.
    CHECK(sweep().empty());
}
