// The daemon's audit run end to end against the real PostgreSQL of the ctest
// fixture: 2000 rows of the bundled UCI Adult data (data/adult/adult.csv.gz)
// stored as predictions of a rule-based model with their outcomes, audited by
// sex and race; reports written, the run stored with the state the data
// gives, fairness findings inserted, and history carried into the next run.
#include <catch2/catch.hpp>

#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/transaction>

#include "core/time.h"
#include "fairness/audit_runner.h"
#include "fairness/audit_store.h"
#include "store/migrations.h"
#include "tests/support/test_database.h"

using namespace mw::fairness;
using mw::store::testing::TestDatabase;
using nlohmann::json;

namespace {

constexpr std::int64_t minute_us = 60LL * 1'000'000;
constexpr std::int64_t day_us = 24 * 60 * minute_us;
const std::int64_t window_end_us = *mw::parse_rfc3339_us("2026-11-23T03:00:00Z");
constexpr std::size_t adult_rows = 2000;

std::string read_command(const std::string& command) {
    std::string text;
    std::FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    char buffer[1 << 16];
    std::size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) text.append(buffer, n);
    REQUIRE(::pclose(pipe) == 0);
    return text;
}

std::vector<std::string> split(const std::string& line) {
    std::vector<std::string> fields;
    std::stringstream in(line);
    std::string field;
    while (std::getline(in, field, ',')) fields.push_back(field);
    return fields;
}

// The first rows of Adult as predictions of a rule ("married and at least some
// college" predicts >50K; the score is years of education / 16) with the true
// income as outcome, spread over the 6 days before the window's end.
void insert_adult_predictions(pqxx::connection& connection) {
    const std::string csv =
        read_command("gzip -dc '" + std::string(MODELWATCH_SOURCE_DIR) + "/data/adult/adult.csv.gz' | head -n " +
                     std::to_string(adult_rows + 1));
    std::stringstream lines(csv);
    std::string line;
    std::getline(lines, line);
    REQUIRE(split(line)[14] == "income");
    pqxx::work t(connection);
    std::size_t i = 0;
    while (std::getline(lines, line)) {
        const std::vector<std::string> f = split(line);
        REQUIRE(f.size() == 15);
        const int education_years = std::stoi(f[4]);
        const bool positive = f[5] == "Married-civ-spouse" && education_years >= 10;
        const std::string id = std::to_string(i);
        const std::string ts =
            mw::format_rfc3339_us(window_end_us - 6 * day_us + static_cast<std::int64_t>(i) * (6 * day_us / 2100));
        t.exec_params0(
            "INSERT INTO predictions (model, id, ts, features, prediction_label, score, attributes, received_at) "
            "VALUES ('adult', $1, $2::timestamptz, '{}', $3, $4, jsonb_build_object('sex', $5::text, 'race', "
            "$6::text), now())",
            id, ts, std::string(positive ? ">50K" : "<=50K"), education_years / 16.0, f[9], f[8]);
        t.exec_params0(
            "INSERT INTO outcomes (model, id, ts, label, received_at) VALUES ('adult', $1, $2::timestamptz, $3, now())",
            id, ts, f[14]);
        ++i;
    }
    REQUIRE(i == adult_rows);
    t.commit();
}

std::int64_t count(pqxx::connection& connection, const std::string& sql) {
    pqxx::read_transaction t(connection);
    return t.exec1(sql)[0].as<std::int64_t>();
}

std::string read_text(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

struct TemporaryDirectory {
    std::filesystem::path path;
    TemporaryDirectory() {
        std::string pattern = (std::filesystem::temp_directory_path() / "mw-audit-reports-XXXXXX").string();
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        path = pattern;
    }
    ~TemporaryDirectory() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

AuditSpec adult_spec() {
    AuditSpec spec;
    spec.model = "adult";
    spec.name = "weekly";
    spec.data_window_ms = 7 * 24 * 3600 * 1000LL;
    spec.options.sensitive_attributes = {"sex", "race"};
    spec.options.bootstrap.replicates = 300;
    spec.positive_label = ">50K";
    return spec;
}

}  // namespace

TEST_CASE("a scheduled audit on Adult writes reports, stores its verdict and findings, and feeds the trend") {
    TestDatabase db;
    auto& c = db.connection();
    mw::store::migrate(c);
    insert_adult_predictions(c);
    TemporaryDirectory reports;
    AuditRunnerOptions options;
    options.reports_dir = reports.path.string();
    const AuditSpec spec = adult_spec();

    AuditRunRequest request;
    request.trigger = AuditTrigger::schedule;
    request.scheduled_for_us = window_end_us;
    request.data_end_us = window_end_us;
    request.now_us = window_end_us + 5 * minute_us;
    const AuditRunSummary first = run_audit_job(c, spec, request, options);
    INFO(first.error);
    REQUIRE(first.id > 0);
    CHECK(first.error.empty());
    CHECK(first.rows == adult_rows);
    CHECK(first.rows_rejected == 0);

    // The state is what the data says: "fail" (beyond tolerance, clearly) is failed.
    const std::size_t beyond = first.verdicts.beyond_clear + first.verdicts.beyond_unclear;
    CHECK(first.status == (first.verdicts.beyond_clear > 0 ? "fail" : beyond > 0 ? "review" : "pass"));
    CHECK(first.state == (first.verdicts.beyond_clear > 0 ? AuditState::failed : AuditState::passed));
    // On Adult, the "married" rule selects men far more often than women.
    CHECK(first.state == AuditState::failed);
    CHECK(first.findings == beyond);

    // Reports: one file per format and latest.<ext> pointing at it.
    const std::filesystem::path folder = reports.path / "adult" / "weekly";
    CHECK(first.report_paths == std::vector<std::string>{(folder / "20261123T030500Z.html").string(),
                                                         (folder / "20261123T030500Z.json").string(),
                                                         (folder / "20261123T030500Z.md").string()});
    for (const char* extension : {"html", "json", "md"}) {
        const auto latest = folder / (std::string("latest.") + extension);
        REQUIRE(std::filesystem::is_symlink(latest));
        CHECK(std::filesystem::read_symlink(latest) == std::string("20261123T030500Z.") + extension);
        CHECK(read_text(latest) == read_text(folder / (std::string("20261123T030500Z.") + extension)));
    }
    CHECK(read_text(folder / "latest.html").find("<html") != std::string::npos);
    const json report = json::parse(read_text(folder / "latest.json"));
    CHECK(report["model"] == "adult");
    CHECK(report["generated_at"] == "2026-11-23T03:05:00.000000Z");
    CHECK(report["data_window"]["rows"] == adult_rows);
    CHECK(report["data_window"]["source"] == "model adult, labelled predictions");
    CHECK(report["data_window"]["description"] == "2026-11-16T03:00:00.000000Z to 2026-11-23T03:00:00.000000Z");
    CHECK(report["data_window"]["has_scores"] == true);
    CHECK(report["summary"]["status"] == first.status);
    CHECK(report["history"].empty());

    // The stored run, its slot, and its findings.
    const auto stored = get_audit(c, first.id);
    REQUIRE(stored.has_value());
    CHECK(stored->state == "failed");
    CHECK(stored->trigger == "schedule");
    CHECK(stored->rows == adult_rows);
    CHECK(json::parse(stored->result_json) == report);
    CHECK(json::parse(stored->reports_json)["md"] == (folder / "20261123T030500Z.md").string());
    CHECK(last_slot(c, "adult", "weekly") == window_end_us);
    CHECK(count(c, "SELECT count(*) FROM findings WHERE model = 'adult' AND kind = 'fairness' AND triggered "
                   "AND window_id IS NULL AND method = 'fairness_audit'") == static_cast<std::int64_t>(beyond));
    CHECK(count(c, "SELECT count(*) FROM findings WHERE severity = 'critical'") ==
          static_cast<std::int64_t>(first.verdicts.beyond_clear));
    CHECK(count(c, "SELECT count(*) FROM findings WHERE severity = 'warning'") ==
          static_cast<std::int64_t>(first.verdicts.beyond_unclear));
    {
        // Demographic parity across the sexes: min/max selection rate below the 0.8 bound.
        pqxx::read_transaction t(c);
        const pqxx::result r = t.exec(
            "SELECT statistic, threshold, severity, evidence->>'audit_id', "
            "(extract(epoch FROM window_start) * 1000000)::bigint FROM findings "
            "WHERE subject = 'demographic_parity sex'");
        REQUIRE(r.size() == 1);
        CHECK(r[0][0].as<double>() < 0.8);
        CHECK(r[0][1].as<double>() == 0.8);
        CHECK(r[0][2].as<std::string>() == "critical");
        CHECK(r[0][3].as<std::int64_t>() == first.id);
        CHECK(r[0][4].as<std::int64_t>() == window_end_us - 7 * day_us);
        // Against the reference group (the largest, Male), Female is named in brackets.
        CHECK(t.exec1("SELECT count(*) FROM findings WHERE subject = 'demographic_parity sex [Female]'")[0]
                  .as<int>() == 1);
    }

    // A second run (manual, a week later over the same window) shows the first in its trend.
    request.trigger = AuditTrigger::manual;
    request.scheduled_for_us.reset();
    request.now_us = window_end_us + 7 * day_us;
    const AuditRunSummary second = run_audit_job(c, spec, request, options);
    INFO(second.error);
    REQUIRE(second.state == AuditState::failed);
    CHECK(second.id != first.id);
    CHECK(std::filesystem::read_symlink(folder / "latest.json") == "20261130T030000Z.json");
    const json second_report = json::parse(read_text(folder / "latest.json"));
    REQUIRE_FALSE(second_report["history"].empty());
    std::set<std::string> labels;
    for (const auto& point : second_report["history"]) labels.insert(point["label"].get<std::string>());
    CHECK(labels == std::set<std::string>{"2026-11-23T03:05:00.000000Z"});
    CHECK(read_text(folder / "latest.html").find("Trend over past audits") != std::string::npos);
    // The store's history now holds both runs: two points per grouping and metric.
    labels.clear();
    std::size_t sex_parity_points = 0;
    for (const auto& point : history(c, "adult", "weekly", 30)) {
        labels.insert(point.label);
        if (point.grouping == "sex" && point.metric == DisparityMetric::demographic_parity) ++sex_parity_points;
    }
    CHECK(labels == std::set<std::string>{"2026-11-23T03:05:00.000000Z", "2026-11-30T03:00:00.000000Z"});
    CHECK(sex_parity_points == 2);
    CHECK(last_slot(c, "adult", "weekly") == window_end_us);  // manual runs record no slot
    CHECK(count(c, "SELECT count(*) FROM findings") == static_cast<std::int64_t>(2 * beyond));
}

TEST_CASE("an audit run that cannot begin or cannot judge ends as a value") {
    TestDatabase db;
    auto& c = db.connection();
    mw::store::migrate(c);
    insert_adult_predictions(c);
    TemporaryDirectory reports;
    AuditRunnerOptions options;
    options.reports_dir = reports.path.string();
    AuditRunRequest request;
    request.data_end_us = window_end_us;
    request.now_us = window_end_us;

    SECTION("already running elsewhere: nothing begun") {
        REQUIRE(begin_audit(c, "adult", "weekly", AuditTrigger::manual, std::nullopt, 0, 1).ok());
        const AuditRunSummary summary = run_audit_job(c, adult_spec(), request, options);
        CHECK(summary.already_running);
        CHECK(summary.id == 0);
        CHECK(summary.error == "audit adult/weekly is already running");
        CHECK(count(c, "SELECT count(*) FROM audits") == 1);
    }
    SECTION("a positive label that never occurs is an error, not a silent pass") {
        AuditSpec spec = adult_spec();
        spec.positive_label = "1";
        const AuditRunSummary summary = run_audit_job(c, spec, request, options);
        CHECK(summary.state == AuditState::error);
        CHECK(summary.error ==
              "the positive label '1' occurs in neither the predictions nor the outcomes: set positive_label to "
              "the value that means positive");
        CHECK(get_audit(c, summary.id)->state == "error");
        CHECK(get_audit(c, summary.id)->error == summary.error);
        CHECK(count(c, "SELECT count(*) FROM findings") == 0);
        CHECK_FALSE(std::filesystem::exists(reports.path / "adult"));
    }
    SECTION("an empty window is an error naming the window") {
        request.data_end_us = window_end_us - 30 * day_us;
        const AuditRunSummary summary = run_audit_job(c, adult_spec(), request, options);
        CHECK(summary.state == AuditState::error);
        CHECK(summary.error ==
              "no labelled predictions of model adult from 2026-10-17T03:00:00.000000Z to "
              "2026-10-24T03:00:00.000000Z");
    }
    SECTION("an unknown reference group is run_audit's error, stored") {
        AuditSpec spec = adult_spec();
        spec.options.reference_values["sex"] = "Robot";
        const AuditRunSummary summary = run_audit_job(c, spec, request, options);
        CHECK(summary.state == AuditState::error);
        CHECK(summary.error.find("Robot") != std::string::npos);
        CHECK(get_audit(c, summary.id)->state == "error");
    }
    SECTION("a report folder that cannot be made is an error") {
        std::ofstream(reports.path / "blocker") << "a file where the folder should go";
        options.reports_dir = (reports.path / "blocker").string();
        const AuditRunSummary summary = run_audit_job(c, adult_spec(), request, options);
        CHECK(summary.state == AuditState::error);
        CHECK(summary.error.rfind("cannot create report folder", 0) == 0);
        CHECK(count(c, "SELECT count(*) FROM findings") == 0);
    }
}

TEST_CASE("report file stems are the UTC second, safe in file names") {
    CHECK(report_file_stem(*mw::parse_rfc3339_us("2026-11-25T03:00:00.75Z")) == "20261125T030000Z");
    CHECK(report_file_stem(*mw::parse_rfc3339_us("2026-01-02T13:14:15+02:00")) == "20260102T111415Z");
}
