// The daemon's audit run end to end against the real PostgreSQL of the ctest
// fixture: 2000 rows of the bundled UCI Adult data (data/adult/adult.csv.gz)
// stored as predictions of a rule-based model with their outcomes, audited by
// sex and race; reports written, the run stored with the state the data
// gives, a fairness finding stored per disparity judged (triggered beyond
// tolerance), history carried into the next run, and a later run on data
// without the gaps clearing the same subjects.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/transaction>

#include "core/time.h"
#include "fairness/audit_runner.h"
#include "fairness/audit_store.h"
#include "store/migrations.h"
#include "tests/support/command_output.h"
#include "tests/support/finding_rows.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_database.h"

using namespace mw::fairness;
using mw::store::testing::TestDatabase;
using mw::testing::count;
using mw::testing::read_text;
using mw::testing::TempDir;
using nlohmann::json;

namespace {

constexpr std::int64_t minute_us = 60LL * 1'000'000;
constexpr std::int64_t day_us = 24 * 60 * minute_us;
const std::int64_t window_end_us = *mw::parse_rfc3339_us("2026-11-23T03:00:00Z");
constexpr std::size_t adult_rows = 2000;

std::vector<std::string> split(const std::string& line) {
    std::vector<std::string> fields;
    std::stringstream in(line);
    std::string field;
    while (std::getline(in, field, ',')) fields.push_back(field);
    return fields;
}

// The first adult_rows records of Adult, split into their 15 fields.
std::vector<std::vector<std::string>> adult_records() {
    const std::string csv =
        mw::testing::command_output("gzip -dc '" + std::string(MODELWATCH_SOURCE_DIR) + "/data/adult/adult.csv.gz' | head -n " +
                     std::to_string(adult_rows + 1));
    std::stringstream lines(csv);
    std::string line;
    std::getline(lines, line);
    REQUIRE(split(line)[14] == "income");
    std::vector<std::vector<std::string>> records;
    while (std::getline(lines, line)) {
        records.push_back(split(line));
        REQUIRE(records.back().size() == 15);
    }
    REQUIRE(records.size() == adult_rows);
    return records;
}

// One prediction of model "adult" with its outcome.
struct LabelledPrediction {
    std::string id;
    std::string ts;  // RFC 3339
    std::string prediction;
    double score = 0;
    std::string sex;
    std::string race;
    std::string label;
};

void insert_labelled(pqxx::work& t, const LabelledPrediction& row) {
    t.exec_params0(
        "INSERT INTO predictions (model, id, ts, features, prediction_label, score, attributes, received_at) "
        "VALUES ('adult', $1, $2::timestamptz, '{}', $3, $4, jsonb_build_object('sex', $5::text, 'race', $6::text), "
        "now())",
        row.id, row.ts, row.prediction, row.score, row.sex, row.race);
    t.exec_params0(
        "INSERT INTO outcomes (model, id, ts, label, received_at) VALUES ('adult', $1, $2::timestamptz, $3, now())",
        row.id, row.ts, row.label);
}

// The first rows of Adult as predictions of a rule ("married and at least some
// college" predicts >50K; the score is years of education / 16) with the true
// income as outcome, spread over the 6 days before the window's end.
void insert_adult_predictions(pqxx::connection& connection) {
    pqxx::work t(connection);
    std::size_t i = 0;
    for (const auto& f : adult_records()) {
        const int education_years = std::stoi(f[4]);
        const bool positive = f[5] == "Married-civ-spouse" && education_years >= 10;
        const std::string id = std::to_string(i);
        const std::string ts =
            mw::format_rfc3339_us(window_end_us - 6 * day_us + static_cast<std::int64_t>(i) * (6 * day_us / 2100));
        insert_labelled(t, {id, ts, positive ? ">50K" : "<=50K", education_years / 16.0, f[9], f[8], f[14]});
        ++i;
    }
    t.commit();
}

// The people of the same Adult rows (sex, race) as predictions with no gap at
// all, spread over the 6 days before end_us: in every sex x race cell, padded
// to a multiple of 4 rows with copies of its people, the rows cycle through
// (prediction, outcome) = (>50K, >50K), (>50K, <=50K), (<=50K, >50K),
// (<=50K, <=50K) with score 0.75 for a predicted >50K and 0.25 otherwise, so
// every rate and calibration error is the same in every group.
void insert_fair_predictions(pqxx::connection& connection, std::int64_t end_us) {
    std::map<std::pair<std::string, std::string>, std::size_t> cells;
    for (const auto& f : adult_records()) ++cells[{f[9], f[8]}];
    pqxx::work t(connection);
    std::size_t i = 0;
    for (const auto& [cell, size] : cells) {
        const std::size_t padded = (size + 3) / 4 * 4;
        for (std::size_t k = 0; k < padded; ++k, ++i) {
            const bool predicted = k % 4 < 2;
            const bool positive = k % 2 == 0;
            const std::string id = "fair-" + std::to_string(i);
            const std::string ts =
                mw::format_rfc3339_us(end_us - 6 * day_us + static_cast<std::int64_t>(i) * (6 * day_us / 2400));
            insert_labelled(t, {id, ts, predicted ? ">50K" : "<=50K", predicted ? 0.75 : 0.25, cell.first,
                                cell.second, positive ? ">50K" : "<=50K"});
        }
    }
    REQUIRE(i < 2400);  // all inside the 6 days
    t.commit();
}

// subject -> triggered: what an audit's findings must be, from its JSON
// report: one per disparity judged (not "not_evaluable"), subject
// "<metric> <grouping>" across groups, "<metric> <grouping> [<group>]" against
// the reference group, triggered when beyond tolerance.
std::map<std::string, bool> expected_findings(const json& report) {
    std::map<std::string, bool> expected;
    for (const auto& grouping : report.at("groupings"))
        for (const char* side : {"to_reference", "between_groups"})
            for (const auto& value : grouping.at("disparities").at(side)) {
                const std::string verdict = value.at("verdict").get<std::string>();
                if (verdict == "not_evaluable") continue;
                std::string subject =
                    value.at("metric").get<std::string>() + " " + grouping.at("name").get<std::string>();
                if (value.contains("group")) subject += " [" + value.at("group").get<std::string>() + "]";
                expected[subject] = verdict == "beyond_tolerance_clear" || verdict == "beyond_tolerance_not_clear";
            }
    return expected;
}

// What differs between two subject -> triggered maps, one line per subject,
// so that a failed comparison names the subjects; empty when they are equal.
std::string differences(const std::map<std::string, bool>& stored, const std::map<std::string, bool>& expected) {
    std::string text;
    const auto describe = [](const std::map<std::string, bool>& side, const std::string& subject) {
        const auto found = side.find(subject);
        return found == side.end() ? std::string("absent") : found->second ? "triggered" : "clean";
    };
    std::set<std::string> subjects;
    for (const auto& [subject, triggered] : stored) subjects.insert(subject);
    for (const auto& [subject, triggered] : expected) subjects.insert(subject);
    for (const auto& subject : subjects)
        if (describe(stored, subject) != describe(expected, subject))
            text += "'" + subject + "': stored " + describe(stored, subject) + ", expected " +
                    describe(expected, subject) + "\n";
    return text;
}

// subject -> triggered of the fairness findings an audit stored.
std::map<std::string, bool> stored_findings(pqxx::connection& connection, std::int64_t audit_id) {
    pqxx::read_transaction t(connection);
    std::map<std::string, bool> stored;
    for (const auto& row : t.exec_params(
             "SELECT subject, triggered FROM findings WHERE kind = 'fairness' AND evidence->>'audit_id' = $1::text",
             audit_id)) {
        const bool unique = stored.emplace(row[0].as<std::string>(), row[1].as<bool>()).second;
        CHECK(unique);
    }
    return stored;
}

// A fresh database holding the Adult predictions, and a folder for reports.
struct AdultAudit {
    TestDatabase db;
    TempDir reports{"mw-audit-reports"};
    AuditRunnerOptions options;

    AdultAudit() {
        mw::store::migrate(db.connection());
        insert_adult_predictions(db.connection());
        options.reports_dir = reports.path().string();
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
    AdultAudit audit;
    auto& c = audit.db.connection();
    const TempDir& reports = audit.reports;
    const AuditRunnerOptions& options = audit.options;
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
    CHECK(first.checks == beyond + first.verdicts.within);

    // Reports: one file per format and latest.<ext> pointing at it.
    const std::filesystem::path folder = reports.path() / "adult" / "weekly";
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
    // The disparities within tolerance are stored too, not triggered, under
    // the subjects a violation of theirs would have.
    REQUIRE(first.verdicts.within > 0);
    CHECK(count(c, "SELECT count(*) FROM findings WHERE NOT triggered AND severity = 'info' "
                   "AND method = 'fairness_audit'") == static_cast<std::int64_t>(first.verdicts.within));
    CHECK(count(c, "SELECT count(*) FROM findings WHERE NOT triggered AND severity <> 'info'") == 0);
    CHECK(differences(stored_findings(c, first.id), expected_findings(report)) == "");
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
    CHECK(count(c, "SELECT count(*) FROM findings") == static_cast<std::int64_t>(2 * first.checks));
    CHECK(differences(stored_findings(c, second.id), stored_findings(c, first.id)) == "");
}

TEST_CASE("a later audit on data without the gaps stores the violated subjects as not triggered") {
    AdultAudit audit;
    auto& c = audit.db.connection();
    const std::int64_t fair_window_end_us = window_end_us + 7 * day_us;
    insert_fair_predictions(c, fair_window_end_us);
    const AuditRunnerOptions& options = audit.options;
    const std::filesystem::path folder = audit.reports.path() / "adult" / "weekly";
    const AuditSpec spec = adult_spec();

    AuditRunRequest request;
    request.data_end_us = window_end_us;
    request.now_us = window_end_us;
    const AuditRunSummary gaps = run_audit_job(c, spec, request, options);
    INFO(gaps.error);
    REQUIRE(gaps.state == AuditState::failed);
    const auto before = stored_findings(c, gaps.id);
    CHECK(differences(before, expected_findings(json::parse(read_text(folder / "latest.json")))) == "");

    request.data_end_us = fair_window_end_us;
    request.now_us = fair_window_end_us;
    const AuditRunSummary fair = run_audit_job(c, spec, request, options);
    INFO(fair.error);
    REQUIRE(fair.state == AuditState::passed);
    CHECK(fair.status == "pass");
    CHECK(fair.findings == 0);
    CHECK(fair.checks == fair.verdicts.within);
    const auto after = stored_findings(c, fair.id);
    CHECK(differences(after, expected_findings(json::parse(read_text(folder / "latest.json")))) == "");
    // Every subject the first run found violated is stored again, clean, so
    // the alert on it (fingerprint model, kind, subject) resolves.
    std::size_t violations = 0;
    for (const auto& [subject, triggered] : before) {
        if (!triggered) continue;
        ++violations;
        INFO(subject);
        REQUIRE(after.contains(subject));
        CHECK_FALSE(after.at(subject));
    }
    CHECK(violations == gaps.findings);
    CHECK(violations > 0);
    for (const auto& [subject, triggered] : after) CHECK_FALSE(triggered);
    CHECK(count(c, "SELECT count(*) FROM findings WHERE triggered AND evidence->>'audit_id' = '" +
                       std::to_string(fair.id) + "'") == 0);
}

TEST_CASE("an audit run that cannot begin or cannot judge ends as a value") {
    AdultAudit audit;
    auto& c = audit.db.connection();
    const TempDir& reports = audit.reports;
    AuditRunnerOptions& options = audit.options;
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
        CHECK_FALSE(std::filesystem::exists(reports.path() / "adult"));
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
        std::ofstream(reports.path() / "blocker") << "a file where the folder should go";
        options.reports_dir = (reports.path() / "blocker").string();
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
