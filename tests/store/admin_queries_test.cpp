// The admin API's lists (store/admin_queries.h) against a real PostgreSQL:
// each filter keeps exactly the rows it names, newest first, and a hostile
// filter value is a value to compare, never SQL.
#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/transaction>

#include "store/admin_queries.h"
#include "store/migrations.h"
#include "tests/support/test_database.h"

using mw::store::FindingFilter;
using mw::store::testing::TestDatabase;

namespace {

const std::string hostile = "churn' OR '1'='1'; DROP TABLE findings; --";

std::vector<std::int64_t> ids_of(const std::string& json_text) {
    std::vector<std::int64_t> ids;
    for (const auto& row : nlohmann::json::parse(json_text)) ids.push_back(row.at("id").get<std::int64_t>());
    return ids;
}

// Findings 1..6 (ids in insertion order):
//   1 churn drift   triggered   2 churn drift   clear   3 churn fairness triggered
//   4 fraud drift   triggered   5 fraud anomaly clear   6 churn drift   triggered
void insert_findings(pqxx::connection& connection) {
    pqxx::work transaction(connection);
    struct Row {
        const char* model;
        const char* kind;
        bool triggered;
    };
    const Row rows[] = {{"churn", "drift", true},  {"churn", "drift", false}, {"churn", "fairness", true},
                        {"fraud", "drift", true},  {"fraud", "anomaly", false}, {"churn", "drift", true}};
    for (const auto& row : rows)
        transaction.exec_params0(
            "INSERT INTO findings (model, kind, subject, method, statistic, threshold, p_value, triggered, severity, "
            "window_start, window_end, evidence) VALUES ($1, $2, 'age', 'ks', 0.25, 0.1, NULL, $3, $4, "
            "'2026-01-02T03:04:05.000006Z', '2026-01-02T04:00:00Z', '{\"n\": 3}')",
            std::string(row.model), std::string(row.kind), row.triggered,
            std::string(row.triggered ? "warning" : "info"));
    transaction.commit();
}

std::string findings(pqxx::connection& connection, const FindingFilter& filter) {
    pqxx::read_transaction transaction(connection);
    return mw::store::findings_json(transaction, filter);
}

}  // namespace

TEST_CASE("findings_json keeps exactly the findings the filters name, newest first", "[admin_queries]") {
    TestDatabase database;
    mw::store::migrate(database.connection());
    auto& connection = database.connection();

    FindingFilter all;
    CHECK(findings(connection, all) == "[]");
    insert_findings(connection);
    CHECK(ids_of(findings(connection, all)) == std::vector<std::int64_t>{6, 5, 4, 3, 2, 1});

    FindingFilter churn;
    churn.model = "churn";
    CHECK(ids_of(findings(connection, churn)) == std::vector<std::int64_t>{6, 3, 2, 1});

    FindingFilter drift;
    drift.kind = "drift";
    CHECK(ids_of(findings(connection, drift)) == std::vector<std::int64_t>{6, 4, 2, 1});

    FindingFilter triggered;
    triggered.triggered = true;
    CHECK(ids_of(findings(connection, triggered)) == std::vector<std::int64_t>{6, 4, 3, 1});
    FindingFilter clear;
    clear.triggered = false;
    CHECK(ids_of(findings(connection, clear)) == std::vector<std::int64_t>{5, 2});

    FindingFilter combined;
    combined.model = "churn";
    combined.kind = "drift";
    combined.triggered = true;
    CHECK(ids_of(findings(connection, combined)) == std::vector<std::int64_t>{6, 1});

    FindingFilter one;
    one.id = 4;
    CHECK(ids_of(findings(connection, one)) == std::vector<std::int64_t>{4});
    one.model = "churn";  // the id and the model must both match
    CHECK(findings(connection, one) == "[]");

    FindingFilter subject;
    subject.subject = "age";
    CHECK(ids_of(findings(connection, subject)).size() == 6);
    subject.subject = "";  // the whole model: none of these
    CHECK(findings(connection, subject) == "[]");

    FindingFilter limited;
    limited.limit = 2;
    CHECK(ids_of(findings(connection, limited)) == std::vector<std::int64_t>{6, 5});
    limited.model = "churn";
    limited.limit = 3;
    CHECK(ids_of(findings(connection, limited)) == std::vector<std::int64_t>{6, 3, 2});
}

TEST_CASE("findings_json writes every column, times as RFC 3339 UTC with microseconds", "[admin_queries]") {
    TestDatabase database;
    mw::store::migrate(database.connection());
    insert_findings(database.connection());
    FindingFilter filter;
    filter.id = 2;
    const auto rows = nlohmann::json::parse(findings(database.connection(), filter));
    REQUIRE(rows.size() == 1);
    const auto& row = rows[0];
    CHECK(row.at("model") == "churn");
    CHECK(row.at("kind") == "drift");
    CHECK(row.at("subject") == "age");
    CHECK(row.at("method") == "ks");
    CHECK(row.at("statistic") == 0.25);
    CHECK(row.at("threshold") == 0.1);
    CHECK(row.at("p_value").is_null());
    CHECK(row.at("triggered") == false);
    CHECK(row.at("severity") == "info");
    CHECK(row.at("window_start") == "2026-01-02T03:04:05.000006Z");
    CHECK(row.at("window_end") == "2026-01-02T04:00:00.000000Z");
    CHECK(row.at("evidence") == nlohmann::json{{"n", 3}});
    CHECK(row.at("window_id").is_null());
    CHECK(row.at("created_at").get<std::string>().size() == std::string("2026-01-02T03:04:05.000006Z").size());
}

TEST_CASE("a hostile filter value is compared as data, not run as SQL", "[admin_queries]") {
    TestDatabase database;
    mw::store::migrate(database.connection());
    auto& connection = database.connection();
    insert_findings(connection);

    FindingFilter filter;
    filter.model = hostile;
    CHECK(findings(connection, filter) == "[]");
    filter.model.clear();
    filter.kind = hostile;
    CHECK(findings(connection, filter) == "[]");
    {
        pqxx::read_transaction transaction(connection);
        CHECK(mw::store::windows_json(transaction, hostile, 100) == "[]");
        CHECK(mw::store::audits_json(transaction, hostile, 100) == "[]");
        CHECK(mw::store::decisions_json(transaction, hostile, 100) == "[]");
    }
    // Nothing was dropped or changed, and a model really named so is found.
    CHECK(ids_of(findings(connection, FindingFilter{})).size() == 6);
    {
        pqxx::work transaction(connection);
        transaction.exec_params0("INSERT INTO decisions (model, kind, reason) VALUES ($1, 'manual', 'x')", hostile);
        transaction.commit();
    }
    pqxx::read_transaction transaction(connection);
    const auto decisions = nlohmann::json::parse(mw::store::decisions_json(transaction, hostile, 100));
    REQUIRE(decisions.size() == 1);
    CHECK(decisions[0].at("model") == hostile);
}

TEST_CASE("windows_json lists a model's windows with their whole-window metrics", "[admin_queries]") {
    TestDatabase database;
    mw::store::migrate(database.connection());
    auto& connection = database.connection();
    {
        pqxx::work transaction(connection);
        // Windows 1..4: churn 1, churn 2, fraud 1, churn 3.
        const char* models[] = {"churn", "churn", "fraud", "churn"};
        const int sequences[] = {1, 2, 1, 3};
        for (int i = 0; i < 4; ++i)
            transaction.exec_params0(
                "INSERT INTO monitor_windows (model, sequence, first_ts, first_id, last_ts, last_id, rows, "
                "label_coverage) VALUES ($1, $2, '2026-01-02T03:00:00Z', 'a', '2026-01-02T03:59:59.5Z', 'z', 100, $3)",
                std::string(models[i]), sequences[i], i == 1 ? std::optional<double>(0.5) : std::nullopt);
        transaction.exec0(
            "INSERT INTO window_metrics (window_id, name, segment, value, estimated) VALUES "
            "(2, 'accuracy', '', 0.75, false), (2, 'accuracy', '', 0.7, true), (2, 'accuracy', 'eu', 0.1, false)");
        transaction.commit();
    }
    pqxx::read_transaction transaction(connection);
    // Highest sequence first; across models, equal sequences by highest id.
    CHECK(ids_of(mw::store::windows_json(transaction, "", 100)) == std::vector<std::int64_t>{4, 2, 3, 1});
    CHECK(ids_of(mw::store::windows_json(transaction, "churn", 100)) == std::vector<std::int64_t>{4, 2, 1});
    CHECK(ids_of(mw::store::windows_json(transaction, "churn", 2)) == std::vector<std::int64_t>{4, 2});
    CHECK(ids_of(mw::store::windows_json(transaction, "fraud", 100)) == std::vector<std::int64_t>{3});

    const auto windows = nlohmann::json::parse(mw::store::windows_json(transaction, "churn", 100));
    const auto& second = windows[1];
    CHECK(second.at("sequence") == 2);
    CHECK(second.at("rows") == 100);
    CHECK(second.at("first_ts") == "2026-01-02T03:00:00.000000Z");
    CHECK(second.at("last_ts") == "2026-01-02T03:59:59.500000Z");
    CHECK(second.at("label_coverage") == 0.5);
    // Segment metrics stay out; the estimate is named apart.
    CHECK(second.at("metrics") == nlohmann::json{{"accuracy", 0.75}, {"accuracy_estimated", 0.7}});
    CHECK(windows[0].at("metrics").is_null());
}

TEST_CASE("audits_json and decisions_json filter by model and keep the newest", "[admin_queries]") {
    TestDatabase database;
    mw::store::migrate(database.connection());
    auto& connection = database.connection();
    {
        pqxx::work transaction(connection);
        // Audits 1..3: churn, fraud, churn (the last still running).
        transaction.exec0(
            "INSERT INTO audits (model, audit, trigger, state, data_start, data_end, rows, reports, started_at, "
            "finished_at) VALUES "
            "('churn', 'parity', 'schedule', 'passed', now(), now(), 10, '[\"r.json\"]', "
            "'2026-01-02T03:04:05Z', '2026-01-02T03:04:06.25Z'), "
            "('fraud', 'parity', 'manual', 'failed', now(), now(), 5, NULL, now(), now()), "
            "('churn', 'parity', 'manual', 'running', now(), now(), NULL, NULL, now(), NULL)");
        // Decisions 1..4: churn, churn, fraud, churn.
        transaction.exec0(
            "INSERT INTO decisions (model, kind, reason, finding_id, job_id, at) VALUES "
            "('churn', 'retrain', 'a', 7, NULL, '2026-01-02T03:04:05.5Z'), ('churn', 'skip', 'b', NULL, NULL, now()), "
            "('fraud', 'retrain', 'c', NULL, 3, now()), ('churn', 'reference_reset', 'd', NULL, 9, now())");
        transaction.commit();
    }
    pqxx::read_transaction transaction(connection);
    CHECK(ids_of(mw::store::audits_json(transaction, "", 100)) == std::vector<std::int64_t>{3, 2, 1});
    CHECK(ids_of(mw::store::audits_json(transaction, "churn", 100)) == std::vector<std::int64_t>{3, 1});
    CHECK(ids_of(mw::store::audits_json(transaction, "churn", 1)) == std::vector<std::int64_t>{3});
    const auto audits = nlohmann::json::parse(mw::store::audits_json(transaction, "churn", 100));
    CHECK(audits[0].at("state") == "running");
    CHECK(audits[0].at("finished_at").is_null());
    CHECK(audits[1].at("trigger") == "schedule");
    CHECK(audits[1].at("rows") == 10);
    CHECK(audits[1].at("reports") == nlohmann::json::array({"r.json"}));
    CHECK(audits[1].at("started_at") == "2026-01-02T03:04:05.000000Z");
    CHECK(audits[1].at("finished_at") == "2026-01-02T03:04:06.250000Z");

    CHECK(ids_of(mw::store::decisions_json(transaction, "", 100)) == std::vector<std::int64_t>{4, 3, 2, 1});
    CHECK(ids_of(mw::store::decisions_json(transaction, "churn", 100)) == std::vector<std::int64_t>{4, 2, 1});
    CHECK(ids_of(mw::store::decisions_json(transaction, "", 2)) == std::vector<std::int64_t>{4, 3});
    const auto decisions = nlohmann::json::parse(mw::store::decisions_json(transaction, "churn", 100));
    CHECK(decisions[2].at("kind") == "retrain");
    CHECK(decisions[2].at("reason") == "a");
    CHECK(decisions[2].at("finding_id") == 7);
    CHECK(decisions[2].at("job_id").is_null());
    CHECK(decisions[2].at("at") == "2026-01-02T03:04:05.500000Z");
    CHECK(decisions[0].at("job_id") == 9);
}
