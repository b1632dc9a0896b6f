#include <filesystem>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "examples/elec2/model_jobs.h"
#include "examples/elec2/tests/temporary_directory.h"

using namespace mw::elec2;

namespace {

const std::vector<LabelledRow>& elec2_rows() {
    static const auto rows = load_elec2_stream(std::string(MODELWATCH_SOURCE_DIR) + "/data/elec2/elec2.csv.gz");
    REQUIRE(rows.ok());
    return rows.value;
}

// A job's data.csv holding rows [begin, end) of Elec2, with its columns in an
// order of its own (the job finds them by name), a quoted timestamp, and
// every tenth row without a label yet.
std::string job_csv(std::size_t begin, std::size_t end) {
    std::string text = "label,id,\"ts\",model_version,transfer,vicdemand,vicprice,nswdemand,nswprice,period,day,"
                       "prediction,score\n";
    for (std::size_t i = begin; i < end; ++i) {
        const auto& f = elec2_rows()[i].features;
        const std::string label = i % 10 == 9 ? "" : (elec2_rows()[i].up ? "UP" : "DOWN");
        text += fmt::format("{},r{:07},\"2026-11-25 10:00:00,{}\",v0,{},{},{},{},{},{},{},UP,0.5\n", label, i, i, f[6],
                            f[5], f[4], f[3], f[2], f[1], f[0]);
    }
    return text;
}

std::vector<LabelledRow> labelled(std::size_t begin, std::size_t end) {
    std::vector<LabelledRow> rows;
    for (std::size_t i = begin; i < end; ++i)
        if (i % 10 != 9) rows.push_back(elec2_rows()[i]);
    return rows;
}

struct Job {
    testing::TemporaryDirectory directory;
    JobEnvironment environment;
    TrainJobOptions options;

    Job() {
        environment.job_id = "job7";
        environment.model = "elec2";
        environment.job_dir = directory.path();
        environment.data_path = directory.file("data.csv");
        environment.report_path = directory.file("report.json");
        options.champion_path = directory.file("champion.json");
        LogisticModel champion = fit_logistic_model({elec2_rows().begin(), elec2_rows().begin() + 2000});
        champion.version = "v0-initial";
        REQUIRE(save_model(champion, options.champion_path).empty());
    }
};

LogisticModel named(LogisticModel model, std::string version) {
    model.version = std::move(version);
    return model;
}

}  // namespace

TEST_CASE("the training job reports holdout figures of challenger and champion and saves the refitted challenger") {
    Job job;
    testing::write_text(job.environment.data_path, job_csv(10000, 12500));
    job.options.recent_rows = 1000;
    job.options.holdout_share = 0.25;
    const auto report = run_train_job(job.options, job.environment, 1700000000);
    REQUIRE(report.ok());

    // The last 1000 labelled rows; the first 750 train, the last 250 are the holdout.
    const auto all = labelled(10000, 12500);
    const std::vector<LabelledRow> recent(all.end() - 1000, all.end());
    const std::vector<LabelledRow> training(recent.begin(), recent.begin() + 750);
    const std::vector<LabelledRow> holdout(recent.begin() + 750, recent.end());
    const auto champion = load_model(job.options.champion_path);
    REQUIRE(champion.ok());
    const Metrics expected_challenger = evaluate(fit_logistic_model(training), holdout);
    const Metrics expected_champion = evaluate(champion.value, holdout);

    const nlohmann::json& r = report.value;
    CHECK(r["version"] == 1);
    CHECK(r["challenger_version"] == "v1700000000-job7");
    const std::string artifact = r["artifact"];
    CHECK(artifact == std::filesystem::path(job.directory.file("model.json")).lexically_normal().string());
    CHECK(r["metrics"]["rows"] == 250);
    CHECK(r["metrics"]["accuracy"].get<double>() == expected_challenger.accuracy);
    CHECK(r["metrics"]["log_loss"].get<double>() == expected_challenger.log_loss);
    CHECK(r["metrics"]["brier"].get<double>() == expected_challenger.brier);
    CHECK(r["champion_metrics"]["accuracy"].get<double>() == expected_champion.accuracy);
    CHECK(r["champion_metrics"]["log_loss"].get<double>() == expected_champion.log_loss);
    CHECK(r["rows_without_label"] == 250);
    // On data 8000 rows later the drifted champion is clearly worse.
    CHECK(expected_challenger.accuracy > expected_champion.accuracy + 0.05);

    // The file the daemon reads is the report returned.
    CHECK(nlohmann::json::parse(testing::read_text(job.environment.report_path)) == r);

    // The saved challenger is refitted on all 1000 recent rows.
    const auto saved = load_model(artifact);
    REQUIRE(saved.ok());
    CHECK(saved.value.version == "v1700000000-job7");
    CHECK(saved.value.weights == fit_logistic_model(recent).weights);
    CHECK(saved.value.trained_on["rows"] == 1000);
    CHECK(saved.value.trained_on["first_id"] == fmt::format("r{:07}", std::stoul(recent.front().id)));
    CHECK(saved.value.trained_on["last_id"] == "r0012498");
    CHECK(saved.value.trained_on["champion_version"] == "v0-initial");
}

TEST_CASE("the training job fails with a message on bad input") {
    Job job;
    SECTION("a label that is neither UP nor DOWN names the file and line") {
        std::string csv = job_csv(10000, 10100);
        const auto at = csv.find("\nUP,");
        csv.replace(at, 4, "\nSIDEWAYS,");
        testing::write_text(job.environment.data_path, csv);
        const auto report = run_train_job(job.options, job.environment, 1);
        REQUIRE_FALSE(report.ok());
        CHECK_THAT(report.error, Catch::Contains("data.csv:") && Catch::Contains("label 'SIDEWAYS'"));
    }
    SECTION("a missing feature column") {
        testing::write_text(job.environment.data_path, "id,label\nr1,UP\n");
        const auto report = run_train_job(job.options, job.environment, 1);
        REQUIRE_FALSE(report.ok());
        CHECK_THAT(report.error, Catch::Contains("no column 'day'"));
    }
    SECTION("a feature that is not a number") {
        std::string csv = job_csv(10000, 10100);
        csv.replace(csv.find(",v0,"), 4, ",v0,x");
        testing::write_text(job.environment.data_path, csv);
        const auto report = run_train_job(job.options, job.environment, 1);
        REQUIRE_FALSE(report.ok());
        CHECK_THAT(report.error, Catch::Contains("transfer: 'x"));
    }
    SECTION("too few rows to split") {
        testing::write_text(job.environment.data_path, job_csv(10000, 10001));
        CHECK_FALSE(run_train_job(job.options, job.environment, 1).ok());
    }
    SECTION("a champion that cannot be read") {
        testing::write_text(job.environment.data_path, job_csv(10000, 10100));
        job.options.champion_path = job.directory.file("absent.json");
        const auto report = run_train_job(job.options, job.environment, 1);
        REQUIRE_FALSE(report.ok());
        CHECK_THAT(report.error, Catch::StartsWith("the champion:"));
    }
    CHECK_FALSE(std::filesystem::exists(job.environment.report_path));
}

TEST_CASE("the job environment needs the variables the contract promises") {
    std::map<std::string, std::string> variables = {{"MODELWATCH_JOB_ID", "17"},
                                                    {"MODELWATCH_JOB_DIR", "/tmp/job"},
                                                    {"MODELWATCH_DATA", "/tmp/job/data.csv"},
                                                    {"MODELWATCH_REPORT", "/tmp/job/report.json"},
                                                    {"MODELWATCH_TRIGGER", "drift"}};
    auto lookup = [&](const char* name) -> const char* {
        const auto it = variables.find(name);
        return it == variables.end() ? nullptr : it->second.c_str();
    };
    const auto environment = read_job_environment(lookup);
    REQUIRE(environment.ok());
    CHECK(environment.value.trigger == "drift");
    CHECK(environment.value.report_path == "/tmp/job/report.json");
    variables.erase("MODELWATCH_DATA");
    CHECK_THAT(read_job_environment(lookup).error, Catch::StartsWith("MODELWATCH_DATA is not set"));
}

TEST_CASE("promote archives the replaced model and rollback brings it back") {
    testing::TemporaryDirectory directory;
    const std::string model_file = directory.file("served.json");
    const std::string archive = directory.file("archive");
    const LogisticModel base = fit_logistic_model({elec2_rows().begin(), elec2_rows().begin() + 500});
    REQUIRE(save_model(named(base, "v0-initial"), model_file).empty());
    const LogisticModel challenger = fit_logistic_model({elec2_rows().begin() + 500, elec2_rows().begin() + 1000});
    const std::string artifact = directory.file("model.json");
    REQUIRE(save_model(named(challenger, "v5-job1"), artifact).empty());

    REQUIRE(promote_model(artifact, model_file, archive) == "");
    CHECK(load_model(model_file).value.version == "v5-job1");
    CHECK(load_model(model_file).value.weights == challenger.weights);
    CHECK(load_model(archive + "/v0-initial.json").value.weights == base.weights);

    SECTION("rollback") {
        REQUIRE(rollback_model(model_file, archive, "v0-initial") == "");
        CHECK(load_model(model_file).value.version == "v0-initial");
        CHECK(load_model(model_file).value.weights == base.weights);
        // The model rolled back from is kept too, so the rollback can be undone.
        CHECK(load_model(archive + "/v5-job1.json").value.version == "v5-job1");
    }
    SECTION("rollback to a version the archive does not hold changes nothing") {
        CHECK_THAT(rollback_model(model_file, archive, "v9-job3"), Catch::StartsWith("cannot roll back to 'v9-job3'"));
        CHECK(load_model(model_file).value.version == "v5-job1");
    }
    SECTION("a version cannot escape the archive") {
        CHECK_THAT(rollback_model(model_file, archive, "../served"), Catch::Contains("cannot name a file"));
    }
    SECTION("an artifact that is not a model is not promoted") {
        testing::write_text(artifact, "{}");
        CHECK_THAT(promote_model(artifact, model_file, archive), Catch::StartsWith("the artifact is not a usable model"));
        CHECK(load_model(model_file).value.version == "v5-job1");
    }
}

TEST_CASE("the first promotion has nothing to archive") {
    testing::TemporaryDirectory directory;
    const std::string artifact = directory.file("model.json");
    REQUIRE(save_model(named(fit_logistic_model({elec2_rows().begin(), elec2_rows().begin() + 500}), "v1-a"), artifact)
                .empty());
    REQUIRE(promote_model(artifact, directory.file("served.json"), directory.file("archive")) == "");
    CHECK(load_model(directory.file("served.json")).value.version == "v1-a");
}
