// Audits in the real PostgreSQL of the ctest fixture: one running run per
// audit, the schedule slot recorded with begin, stale runs failed at start-up,
// finished runs listed and read back as history, and the audited rows read
// from predictions joined with outcomes.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include <pqxx/transaction>

#include "core/time.h"
#include "fairness/audit_store.h"
#include "store/leases.h"
#include "store/migrations.h"
#include "tests/support/test_database.h"

using namespace mw::fairness;
using mw::store::testing::TestDatabase;

namespace {

constexpr std::int64_t hour_us = 3600LL * 1'000'000;
const std::int64_t day0_us = *mw::parse_rfc3339_us("2026-11-18T00:00:00Z");

TestDatabase& migrated(TestDatabase& db) {
    mw::store::migrate(db.connection());
    return db;
}

std::int64_t count(pqxx::connection& connection, const std::string& sql) {
    pqxx::read_transaction t(connection);
    return t.exec1(sql)[0].as<std::int64_t>();
}

struct StoredRow {
    std::string id;
    std::int64_t ts_us;
    const char* prediction;  // nullptr: no prediction_label
    const char* label;       // nullptr: no outcome stored
    const char* score;       // nullptr: NULL score
    std::string attributes;
};

void insert(pqxx::connection& connection, const std::vector<StoredRow>& rows, const std::string& model = "credit") {
    pqxx::work t(connection);
    for (const StoredRow& r : rows) {
        t.exec_params0(
            "INSERT INTO predictions (model, id, ts, features, prediction_label, score, attributes, received_at) "
            "VALUES ($1, $2, $3::timestamptz, '{}', $4, $5::double precision, $6::jsonb, now())",
            model, r.id, mw::format_rfc3339_us(r.ts_us), r.prediction, r.score, r.attributes);
        if (r.label != nullptr)
            t.exec_params0(
                "INSERT INTO outcomes (model, id, ts, label, received_at) VALUES ($1, $2, $3::timestamptz, $4, now())",
                model, r.id, mw::format_rfc3339_us(r.ts_us + hour_us), r.label);
    }
    t.commit();
}

}  // namespace

TEST_CASE("a second begin of a running audit is refused until the first finishes") {
    TestDatabase db;
    auto& c = migrated(db).connection();
    const AuditBegin first = begin_audit(c, "credit", "weekly", AuditTrigger::manual, std::nullopt, day0_us,
                                         day0_us + 24 * hour_us);
    REQUIRE(first.ok());
    CHECK(first.id > 0);
    const AuditBegin second = begin_audit(c, "credit", "weekly", AuditTrigger::manual, std::nullopt, day0_us,
                                          day0_us + 24 * hour_us);
    CHECK(second.already_running);
    // Another audit of the same model, or the same audit of another model, is independent.
    CHECK(begin_audit(c, "credit", "monthly", AuditTrigger::manual, std::nullopt, day0_us, day0_us + 1).ok());
    CHECK(begin_audit(c, "loans", "weekly", AuditTrigger::manual, std::nullopt, day0_us, day0_us + 1).ok());

    AuditOutcome outcome;
    outcome.state = AuditState::passed;
    outcome.rows = 10;
    outcome.result_json = R"({"schema_version": 1})";
    outcome.reports_json = R"({"json": "/tmp/x.json"})";
    REQUIRE(finish_audit(c, first.id, outcome, {}));
    CHECK_FALSE(finish_audit(c, first.id, outcome, {}));  // finished runs are not rewritten

    const auto stored = get_audit(c, first.id);
    REQUIRE(stored.has_value());
    CHECK(stored->state == "passed");
    CHECK(stored->trigger == "manual");
    CHECK(stored->rows == 10u);
    CHECK(stored->data_start_us == day0_us);
    CHECK(stored->data_end_us == day0_us + 24 * hour_us);
    CHECK(stored->result_json == R"({"schema_version": 1})");
    CHECK(stored->reports_json == R"({"json": "/tmp/x.json"})");
    CHECK(stored->finished_at_us.has_value());
    CHECK_FALSE(stored->scheduled_for_us.has_value());
    CHECK_FALSE(get_audit(c, 999999).has_value());

    CHECK(begin_audit(c, "credit", "weekly", AuditTrigger::manual, std::nullopt, day0_us, day0_us + 1).ok());
}

TEST_CASE("a scheduled begin records its slot; a refused one records nothing") {
    TestDatabase db;
    auto& c = migrated(db).connection();
    CHECK_FALSE(last_slot(c, "credit", "weekly").has_value());
    const std::int64_t slot_us = day0_us + 3 * hour_us;
    const AuditBegin begin =
        begin_audit(c, "credit", "weekly", AuditTrigger::schedule, slot_us, slot_us - 24 * hour_us, slot_us);
    REQUIRE(begin.ok());
    CHECK(last_slot(c, "credit", "weekly") == slot_us);
    CHECK(get_audit(c, begin.id)->scheduled_for_us == slot_us);

    const AuditBegin refused =
        begin_audit(c, "credit", "weekly", AuditTrigger::schedule, slot_us + 24 * hour_us, slot_us, slot_us + 1);
    CHECK(refused.already_running);
    CHECK(last_slot(c, "credit", "weekly") == slot_us);

    // The slot only moves forward, e.g. when two daemons race on an old slot.
    {
        pqxx::work t(c);
        record_slot(t, "credit", "weekly", slot_us - 24 * hour_us);
        t.commit();
    }
    CHECK(last_slot(c, "credit", "weekly") == slot_us);
    {
        pqxx::work t(c);
        record_slot(t, "credit", "weekly", slot_us + 24 * hour_us);
        t.commit();
    }
    CHECK(last_slot(c, "credit", "weekly") == slot_us + 24 * hour_us);
}

TEST_CASE("a scheduled run is begun and finished only under its model's current lease") {
    using namespace std::chrono_literals;
    TestDatabase db;
    auto& c = migrated(db).connection();
    auto other = db.connect();
    const std::vector<std::string> models{"credit"};
    const auto first = mw::store::heartbeat(c, "first", models, 5s);
    const mw::store::Fence first_fence{"first", first.owned.at(0).epoch};
    const std::int64_t slot_us = day0_us + 3 * hour_us;
    const AuditBegin begin = begin_audit(c, "credit", "weekly", AuditTrigger::schedule, slot_us,
                                         slot_us - 24 * hour_us, slot_us, first_fence);
    REQUIRE(begin.ok());
    CHECK(count(c, "SELECT lease_epoch FROM audits WHERE lease_owner = 'first'") == first_fence.epoch);

    // "first" pauses past its lease; "second" takes the model.
    mw::store::testing::expire_leases_of(*other, "first");
    const auto second = mw::store::heartbeat(*other, "second", models, 5s);
    REQUIRE(second.claimed.size() == 1);
    const mw::store::Fence second_fence{"second", second.claimed[0].epoch};

    // The paused owner wakes up: its finish and its next begin are refused and write nothing.
    AuditOutcome outcome;
    outcome.state = AuditState::passed;
    mw::Finding finding;
    finding.model = "credit";
    finding.kind = "fairness";
    finding.subject = "tpr sex";
    CHECK_THROWS_AS(finish_audit(c, begin.id, outcome, {finding}), mw::store::LeaseLost);
    CHECK(get_audit(c, begin.id)->state == "running");
    CHECK(count(c, "SELECT count(*) FROM findings") == 0);
    CHECK_THROWS_AS(begin_audit(c, "credit", "daily", AuditTrigger::schedule, slot_us, slot_us - hour_us, slot_us,
                                first_fence),
                    mw::store::LeaseLost);
    CHECK(count(c, "SELECT count(*) FROM audits") == 1);
    CHECK(last_slot(c, "credit", "daily") == std::nullopt);

    // The stale fence cannot fail runs either; the new owner fails the orphaned
    // run, leaves manual runs alone, and runs the audit itself.
    CHECK_THROWS_AS(fail_superseded(c, "credit", first_fence), mw::store::LeaseLost);
    const AuditBegin manual = begin_audit(c, "credit", "monthly", AuditTrigger::manual, std::nullopt, day0_us, slot_us);
    REQUIRE(manual.ok());
    CHECK(fail_superseded(*other, "credit", second_fence) == 1);
    CHECK(get_audit(c, begin.id)->state == "error");
    CHECK(get_audit(c, manual.id)->state == "running");
    const AuditBegin again = begin_audit(*other, "credit", "weekly", AuditTrigger::schedule, slot_us,
                                         slot_us - 24 * hour_us, slot_us, second_fence);
    REQUIRE(again.ok());
    CHECK(finish_audit(*other, again.id, outcome, {finding}));
    CHECK(count(c, "SELECT count(*) FROM findings") == 1);
    // A start-up sweep fails only runs without a lease.
    CHECK(fail_stale_running(c, day0_us + 1000 * 24 * hour_us) == 1);
}

TEST_CASE("a run left 'running' by a stopped daemon is failed at start-up") {
    TestDatabase db;
    auto& c = migrated(db).connection();
    const AuditBegin begin =
        begin_audit(c, "credit", "weekly", AuditTrigger::manual, std::nullopt, day0_us, day0_us + 1);
    REQUIRE(begin.ok());
    // It started just now, not an hour ago: nothing is failed.
    CHECK(fail_stale_running(c, mw::now_us() - hour_us) == 0);
    CHECK(fail_stale_running(c, mw::now_us() + hour_us) == 1);
    const auto stored = get_audit(c, begin.id);
    REQUIRE(stored.has_value());
    CHECK(stored->state == "error");
    CHECK(stored->error == "daemon stopped during the audit");

    // The run that was failed cannot finish afterwards, nor insert its findings.
    AuditOutcome outcome;
    outcome.state = AuditState::failed;
    mw::Finding finding;
    finding.model = "credit";
    finding.kind = "fairness";
    CHECK_FALSE(finish_audit(c, begin.id, outcome, {finding}));
    CHECK(count(c, "SELECT count(*) FROM findings") == 0);
    CHECK(begin_audit(c, "credit", "weekly", AuditTrigger::manual, std::nullopt, day0_us, day0_us + 1).ok());
}

TEST_CASE("finish stores findings in its transaction; list and history read finished runs") {
    TestDatabase db;
    auto& c = migrated(db).connection();
    const std::string report = R"({"schema_version": 1, "generated_at": "{}", "groupings": [{"name": "sex",
        "disparities": {"between_groups": [{"metric": "demographic_parity", "judged_value": {}}]}}]})";
    const auto run = [&](const char* generated_at, double value, AuditState state) {
        const AuditBegin begin =
            begin_audit(c, "credit", "weekly", AuditTrigger::manual, std::nullopt, day0_us, day0_us + 1);
        REQUIRE(begin.ok());
        AuditOutcome outcome;
        outcome.state = state;
        if (state != AuditState::error) {
            std::string text = report;
            text.replace(text.find("{}"), 2, generated_at);
            text.replace(text.find("{}"), 2, std::to_string(value));
            outcome.result_json = text;
        } else {
            outcome.error = "no labelled predictions";
        }
        mw::Finding f;
        f.model = "credit";
        f.kind = "fairness";
        f.subject = "demographic_parity sex";
        f.method = "fairness_audit";
        f.statistic = value;
        f.threshold = 0.8;
        f.triggered = true;
        f.severity = mw::Severity::critical;
        f.window_start_us = day0_us;
        f.window_end_us = day0_us + 1;
        REQUIRE(finish_audit(c, begin.id, outcome, {f}));
        return begin.id;
    };
    const std::int64_t a = run("2026-11-01T03:00:00.000000Z", 0.7, AuditState::failed);
    run("2026-11-08T03:00:00.000000Z", 0.0, AuditState::error);
    const std::int64_t b = run("2026-11-15T03:00:00.000000Z", 0.9, AuditState::passed);

    CHECK(count(c, "SELECT count(*) FROM findings WHERE kind = 'fairness' AND window_id IS NULL") == 3);

    const auto listed = list_audits(c, "credit", "weekly", 10);
    REQUIRE(listed.size() == 3);
    CHECK(listed[0].id == b);  // newest first
    CHECK(listed[2].id == a);
    CHECK(listed[1].state == "error");
    CHECK(listed[1].error == "no labelled predictions");
    CHECK(listed[0].result_json.empty());  // lists leave the result out
    CHECK(list_audits(c, "credit", "weekly", 1).size() == 1);
    CHECK(list_audits(c, "credit", "other", 10).empty());

    // Errors have no result: history has the two finished runs, oldest first.
    const auto points = history(c, "credit", "weekly", 10);
    REQUIRE(points.size() == 2);
    CHECK(points[0].label == "2026-11-01T03:00:00.000000Z");
    CHECK(points[0].grouping == "sex");
    CHECK(points[0].metric == DisparityMetric::demographic_parity);
    CHECK(points[0].judged_value == Approx(0.7));
    CHECK(points[1].judged_value == Approx(0.9));
    const auto latest = history(c, "credit", "weekly", 1);
    REQUIRE(latest.size() == 1);
    CHECK(latest[0].judged_value == Approx(0.9));
}

TEST_CASE("load_audit_data reads the window's labelled predictions into columns") {
    TestDatabase db;
    auto& c = migrated(db).connection();
    insert(c, {
                  {"1", day0_us + 1 * hour_us, "yes", "yes", "0.9", R"({"sex": "F", "race": "A"})"},
                  {"2", day0_us + 2 * hour_us, "no", "yes", "0.2", R"({"sex": "M", "race": "B"})"},
                  {"3", day0_us + 3 * hour_us, "yes", "no", "0.6", R"({"sex": "M", "race": 7})"},
                  {"4", day0_us + 4 * hour_us, "no", "no", "0.1", R"({"sex": "F"})"},          // no race
                  {"5", day0_us + 5 * hour_us, "no", "no", "0.3", R"({"sex": null, "race": "A"})"},
                  {"6", day0_us + 6 * hour_us, nullptr, "no", "0.3", R"({"sex": "F", "race": "A"})"},  // rejected
                  {"7", day0_us + 7 * hour_us, "yes", nullptr, "0.3", R"({"sex": "F", "race": "A"})"},  // unlabelled
                  {"8", day0_us - 1, "yes", "yes", "0.3", R"({"sex": "F", "race": "A"})"},    // before the window
                  {"9", day0_us + 24 * hour_us, "yes", "yes", "0.3", R"({"sex": "F", "race": "A"})"},  // at its end
              });
    insert(c, {{"1", day0_us + 1 * hour_us, "yes", "yes", "0.9", R"({"sex": "X", "race": "A"})"}}, "other");

    AuditDataQuery query;
    query.model = "credit";
    query.data_start_us = day0_us;
    query.data_end_us = day0_us + 24 * hour_us;
    query.sensitive_attributes = {"sex", "race"};
    query.positive_label = "yes";
    query.fetch_rows = 2;  // several batches

    AuditDataLoad load = load_audit_data(c, query);
    REQUIRE(load.ok());
    REQUIRE(load.data.rows() == 5);
    CHECK(load.rows_rejected == 1);
    CHECK(load.rows_missing_attribute == 2);
    CHECK(load.rows_without_score == 0);
    CHECK_FALSE(load.truncated);
    // Newest first: ids 5, 4, 3, 2, 1.
    CHECK(load.data.y_pred == std::vector<std::uint8_t>{0, 0, 1, 0, 1});
    CHECK(load.data.y_true == std::vector<std::uint8_t>{0, 0, 0, 1, 1});
    CHECK(load.data.score == std::vector<double>{0.3, 0.1, 0.6, 0.2, 0.9});
    const AttributeColumn& sex = load.data.attributes[0];
    const AttributeColumn& race = load.data.attributes[1];
    CHECK(sex.name == "sex");
    CHECK(sex.values == std::vector<std::string>{"(missing)", "F", "M"});
    CHECK(sex.codes == std::vector<AttributeCode>{0, 1, 2, 2, 1});
    CHECK(race.values == std::vector<std::string>{"A", "(missing)", "7", "B"});  // a JSON number as its text
    CHECK(race.codes == std::vector<AttributeCode>{0, 1, 2, 3, 0});

    SECTION("max_rows keeps the latest rows and says so") {
        query.max_rows = 3;
        load = load_audit_data(c, query);
        REQUIRE(load.ok());
        CHECK(load.truncated);
        // Newest first: 6 (no prediction label), 5, 4; 7 has no outcome, so it is not a labelled prediction.
        CHECK(load.data.rows() + load.rows_rejected == 3);
        CHECK(load.data.rows() == 2);
    }
    SECTION("one row without a score leaves scores out of the audit") {
        insert(c, {{"10", day0_us + 8 * hour_us, "no", "no", nullptr, R"({"sex": "F", "race": "A"})"}});
        load = load_audit_data(c, query);
        REQUIRE(load.ok());
        CHECK(load.data.rows() == 6);
        CHECK(load.rows_without_score == 1);
        CHECK_FALSE(load.data.has_scores());
    }
    SECTION("an attribute with too many values is refused") {
        query.max_distinct_values = 3;  // sex has 3 values, race 4
        load = load_audit_data(c, query);
        CHECK(load.error ==
              "sensitive attribute 'race' has more than 3 distinct values in the window: it is not a grouping "
              "attribute (an identifier or a number?)");
    }
    SECTION("an attribute name is a value, not SQL") {
        query.sensitive_attributes = {"sex'); DROP TABLE audits; --"};
        load = load_audit_data(c, query);
        REQUIRE(load.ok());
        CHECK(load.data.attributes[0].values == std::vector<std::string>{"(missing)"});
        CHECK(count(c, "SELECT count(*) FROM audits") == 0);
    }
}
