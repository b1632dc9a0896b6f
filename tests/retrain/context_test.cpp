// The job context against a real PostgreSQL (the ctest fixture): data.csv
// rows, columns, quoting, ordering and limits, context.json, the directory.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "core/time.h"
#include "retrain/job_context.h"
#include "store/migrations.h"
#include "tests/support/finding_rows.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_database.h"

namespace {

using namespace mw::retrain;
using mw::testing::read_text;
using mw::testing::TempDir;
using nlohmann::json;

// Four labelled predictions of "churn" inserted out of time order (a1 and a3
// share a timestamp), one unlabelled, and one of another model.
void insert_predictions(pqxx::connection& connection) {
    pqxx::work work(connection);
    work.exec(R"sql(
INSERT INTO predictions (model, id, ts, model_version, features, prediction_label, prediction_value, score,
                         attributes, received_at) VALUES
 ('churn', 'a4', '2024-05-01T11:00:00Z', 'v2', '{"city": "Lyon"}', 'yes', NULL, 0.9, '{}', now()),
 ('churn', 'a1', '2024-05-01T10:00:00Z', 'v1', '{"age": 31, "city": "Paris, FR"}', 'yes', NULL, 0.75, '{}', now()),
 ('churn', 'a3', '2024-05-01T10:00:00Z', 'v2', '{"age": null}', NULL, 12.5, 0.1, '{}', now()),
 ('churn', 'a2', '2024-05-01T09:00:00.5Z', 'v1', '{"age": 40.5, "vip": true, "note": "say \"hi\"\nbye"}', 'no',
  NULL, NULL, '{}', now()),
 ('churn', 'a5', '2024-05-01T12:00:00Z', 'v2', '{"age": 50}', 'no', NULL, 0.2, '{}', now()),
 ('fraud', 'b1', '2024-05-01T10:30:00Z', 'v9', '{"amount": 3}', 'ok', NULL, 0.5, '{}', now());
INSERT INTO outcomes (model, id, ts, label, value, received_at) VALUES
 ('churn', 'a1', '2024-05-02T00:00:00Z', 'no', NULL, now()),
 ('churn', 'a2', '2024-05-02T00:00:00Z', 'no', NULL, now()),
 ('churn', 'a3', '2024-05-02T00:00:00Z', NULL, 13, now()),
 ('churn', 'a4', '2024-05-02T00:00:00Z', 'yes', NULL, now()),
 ('fraud', 'b1', '2024-05-02T00:00:00Z', 'ok', NULL, now());
)sql");
    work.commit();
}

Job churn_job(std::int64_t id) {
    Job job;
    job.id = id;
    job.model = "churn";
    job.trigger = "dataset_drift";
    job.reason = "psi 0.31 > 0.2";
    job.champion_version = "v2";
    return job;
}

const std::string header = "id,ts,model_version,age,city,note,vip,prediction,score,label\r\n";
const std::string row_a2 = "a2,2024-05-01T09:00:00.500000Z,v1,40.5,,\"say \"\"hi\"\"\nbye\",true,no,,no\r\n";
const std::string row_a1 = "a1,2024-05-01T10:00:00.000000Z,v1,31,\"Paris, FR\",,,yes,0.75,no\r\n";
const std::string row_a3 = "a3,2024-05-01T10:00:00.000000Z,v2,,,,,12.5,0.1,13\r\n";
const std::string row_a4 = "a4,2024-05-01T11:00:00.000000Z,v2,,Lyon,,,yes,0.9,yes\r\n";

const std::int64_t now_us = *mw::parse_rfc3339_us("2024-05-01T11:30:00Z");

}  // namespace

TEST_CASE("data.csv holds the model's labelled predictions in time order, quoted") {
    mw::store::testing::TestDatabase db;
    mw::store::migrate(db.connection());
    insert_predictions(db.connection());
    TempDir dir;
    JobContextOptions options;
    options.jobs_dir = dir.path() / "jobs";

    JobContextResult result = prepare_job_context(db.connection(), churn_job(12), options, now_us);
    REQUIRE(result.error == "");
    REQUIRE(result.context);
    const JobContext& context = *result.context;
    CHECK(context.job_dir == dir.path() / "jobs" / "12");
    CHECK(read_text(context.data_path) == header + row_a2 + row_a1 + row_a3 + row_a4);
    CHECK(context.data.rows == 4);
    CHECK(context.data.start == "2024-05-01T09:00:00.500000Z");
    CHECK(context.data.end == "2024-05-01T11:00:00.000000Z");

    struct stat status {};
    REQUIRE(::stat(context.job_dir.c_str(), &status) == 0);
    CHECK((status.st_mode & 0777) == 0700);

    json written = json::parse(read_text(context.context_path));
    CHECK(written == json::parse(context.context_json));
    CHECK(written["version"] == 1);
    CHECK(written["job_id"] == 12);
    CHECK(written["model"] == "churn");
    CHECK(written["champion_version"] == "v2");
    CHECK(written["trigger"] == "dataset_drift");
    CHECK(written["reason"] == "psi 0.31 > 0.2");
    CHECK(written["finding"].is_null());
    CHECK(written["data"] == json{{"path", context.data_path.string()},
                                  {"format", "csv"},
                                  {"rows", 4},
                                  {"start", "2024-05-01T09:00:00.500000Z"},
                                  {"end", "2024-05-01T11:00:00.000000Z"},
                                  {"columns", {"id", "ts", "model_version", "age", "city", "note", "vip", "prediction",
                                               "score", "label"}}});
}

TEST_CASE("the export keeps the most recent rows within data_rows and data_window") {
    mw::store::testing::TestDatabase db;
    mw::store::migrate(db.connection());
    insert_predictions(db.connection());
    TempDir dir;
    JobContextOptions options;
    options.jobs_dir = dir.path();

    SECTION("data_rows keeps the latest rows, still oldest first") {
        options.data_rows = 2;
        JobContextResult result = prepare_job_context(db.connection(), churn_job(1), options, now_us);
        REQUIRE(result.context);
        // a3 and a1 share a timestamp; the later id is the more recent in (ts, id) order.
        CHECK(read_text(result.context->data_path) ==
              "id,ts,model_version,age,city,prediction,score,label\r\n"
              "a3,2024-05-01T10:00:00.000000Z,v2,,,12.5,0.1,13\r\n"
              "a4,2024-05-01T11:00:00.000000Z,v2,,Lyon,yes,0.9,yes\r\n");
    }
    SECTION("data_window keeps rows at or after now - window") {
        options.data_window_seconds = 5400;  // since 10:00:00
        JobContextResult result = prepare_job_context(db.connection(), churn_job(1), options, now_us);
        REQUIRE(result.context);
        CHECK(result.context->data.rows == 3);
        CHECK(result.context->data.start == "2024-05-01T10:00:00.000000Z");
    }
    SECTION("feature_columns fixes the columns and their order") {
        options.feature_columns = {"vip", "age", "absent"};
        JobContextResult result = prepare_job_context(db.connection(), churn_job(1), options, now_us);
        REQUIRE(result.context);
        CHECK(read_text(result.context->data_path) ==
              "id,ts,model_version,vip,age,absent,prediction,score,label\r\n"
              "a2,2024-05-01T09:00:00.500000Z,v1,true,40.5,,no,,no\r\n"
              "a1,2024-05-01T10:00:00.000000Z,v1,,31,,yes,0.75,no\r\n"
              "a3,2024-05-01T10:00:00.000000Z,v2,,,,12.5,0.1,13\r\n"
              "a4,2024-05-01T11:00:00.000000Z,v2,,,,yes,0.9,yes\r\n");
    }
    SECTION("a model without labelled predictions gives a header and no rows") {
        Job job = churn_job(1);
        job.model = "unknown";
        JobContextResult result = prepare_job_context(db.connection(), job, options, now_us);
        REQUIRE(result.context);
        CHECK(read_text(result.context->data_path) == "id,ts,model_version,prediction,score,label\r\n");
        json written = json::parse(result.context->context_json);
        CHECK(written["data"]["rows"] == 0);
        CHECK(written["data"]["start"].is_null());
        CHECK(written["data"]["end"].is_null());
    }
}

TEST_CASE("context.json carries the triggering finding, and a rerun starts from a fresh directory") {
    mw::store::testing::TestDatabase db;
    mw::store::migrate(db.connection());
    mw::testing::FindingRow row;
    row.model = "churn";
    row.kind = "feature_drift";
    row.subject = "age";
    row.statistic = 0.31;
    row.threshold = 0.2;
    row.p_value.reset();
    row.window_start_us = *mw::parse_rfc3339_us("2024-05-01T00:00:00Z");
    row.window_end_us = *mw::parse_rfc3339_us("2024-05-01T06:00:00.25Z");
    const std::int64_t finding_id = mw::testing::insert_finding(db.connection(), row);
    TempDir dir;
    JobContextOptions options;
    options.jobs_dir = dir.path() / "state" / "jobs";
    Job job = churn_job(5);
    job.finding_id = finding_id;
    job.champion_version.reset();

    std::filesystem::create_directories(options.jobs_dir / "5");
    std::ofstream(options.jobs_dir / "5" / "report.json") << "{}";

    JobContextResult result = prepare_job_context(db.connection(), job, options, now_us);
    REQUIRE(result.context);
    CHECK_FALSE(std::filesystem::exists(result.context->report_path));
    json written = json::parse(read_text(result.context->context_path));
    CHECK(written["champion_version"].is_null());
    CHECK(written["finding"] == json{{"kind", "feature_drift"},
                                     {"subject", "age"},
                                     {"method", "ks"},
                                     {"statistic", 0.31},
                                     {"threshold", 0.2},
                                     {"p_value", nullptr},
                                     {"window_start", "2024-05-01T00:00:00.000000Z"},
                                     {"window_end", "2024-05-01T06:00:00.250000Z"}});
    CHECK(json::parse(context_json(job, result.context->finding, nullptr))["data"].is_null());
}

TEST_CASE("an unusable jobs directory is an error naming the path") {
    mw::store::testing::TestDatabase db;
    mw::store::migrate(db.connection());
    TempDir dir;
    std::ofstream(dir.path() / "file") << "x";
    JobContextOptions options;
    options.jobs_dir = dir.path() / "file" / "jobs";
    JobContextResult result = prepare_job_context(db.connection(), churn_job(1), options, now_us);
    CHECK_FALSE(result.context);
    CHECK(result.error == "create " + (dir.path() / "file" / "jobs").string() + ": Not a directory");
}

TEST_CASE("csv_field quotes what RFC 4180 requires") {
    CHECK(csv_field("plain") == "plain");
    CHECK(csv_field("") == "");
    CHECK(csv_field("a,b") == "\"a,b\"");
    CHECK(csv_field("say \"hi\"") == "\"say \"\"hi\"\"\"");
    CHECK(csv_field("line\nbreak") == "\"line\nbreak\"");
    CHECK(csv_field("cr\r") == "\"cr\r\"");
}

TEST_CASE("feature values keep PostgreSQL's text: exact numbers, JSON for nested values") {
    mw::store::testing::TestDatabase db;
    mw::store::migrate(db.connection());
    {
        pqxx::work work(db.connection());
        work.exec(R"sql(
INSERT INTO predictions (model, id, ts, model_version, features, prediction_label, prediction_value, score,
                         attributes, received_at) VALUES
 ('m', 'x1', '2024-05-01T10:00:00Z', NULL,
  '{"tiny": 1e-7, "big": 123456789012345678901234567890, "nested": {"a": [1, "x"]}, "flag": false}',
  'yes', NULL, NULL, '{}', now());
INSERT INTO outcomes (model, id, ts, label, value, received_at) VALUES ('m', 'x1', now(), 'no', NULL, now());
)sql");
        work.commit();
    }
    TempDir dir;
    JobContextOptions options;
    options.jobs_dir = dir.path();
    Job job = churn_job(3);
    job.model = "m";
    JobContextResult result = prepare_job_context(db.connection(), job, options, now_us);
    REQUIRE(result.context);
    CHECK(read_text(result.context->data_path) ==
          "id,ts,model_version,big,flag,nested,tiny,prediction,score,label\r\n"
          "x1,2024-05-01T10:00:00.000000Z,,123456789012345678901234567890,false,\"{\"\"a\"\": [1, \"\"x\"\"]}\","
          "0.0000001,yes,,no\r\n");
}
