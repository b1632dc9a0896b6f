// The process runner and the exec runner against real processes: exit codes,
// signals, timeouts that must take the job's whole process group with them,
// bounded output, the clean environment, and the report contract.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "retrain/exec_runner.h"
#include "retrain/hooks.h"
#include "retrain/http_trigger.h"
#include "retrain/job_report.h"
#include "retrain/process_runner.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_http_server.h"

namespace {

using namespace mw::retrain;
using mw::JobState;
using namespace std::chrono_literals;
using mw::testing::read_text;
using mw::testing::TempDir;
using mw::testing::write_text;

// An executable /bin/sh script in `dir`.
std::string write_script(const TempDir& dir, const std::string& name, const std::string& body) {
    std::filesystem::path path = dir.path() / name;
    write_text(path, "#!/bin/sh\n" + body);
    ::chmod(path.c_str(), 0755);
    return path.string();
}

ProcessSpec spec_for(std::vector<std::string> argv) {
    ProcessSpec spec;
    spec.argv = std::move(argv);
    spec.environment = {{"PATH", "/usr/bin:/bin"}, {"LANG", "C.UTF-8"}};
    spec.timeout = 60s;
    return spec;
}

bool process_exists(pid_t pid) { return ::kill(pid, 0) == 0 || errno != ESRCH; }

struct OrphanEnd {
    bool gone = false;
    std::optional<int> status;  // when this process reaped it
};

// Waits (bounded) until `pid`, an orphan that is re-parented to this test
// process (a child subreaper), has died, reaping it when it can. Rarely the
// kernel hands the orphan over only after it was released, so the wait status
// is not always ours to see; that it is gone is. The 10 s bound only keeps a
// broken runner from hanging the suite: the assertion is about death, not speed.
OrphanEnd reap_orphan(pid_t pid) {
    for (int attempt = 0; attempt < 1000; ++attempt) {
        int status = 0;
        pid_t reaped = ::waitpid(pid, &status, WNOHANG);
        if (reaped == pid) return {true, status};
        if (reaped < 0 && !process_exists(pid)) return {true, std::nullopt};
        std::this_thread::sleep_for(10ms);
    }
    return {false, std::nullopt};
}

// The grandchild the job's script started (its pid in grandchild.pid in
// `dir`) is gone, and when this process saw how it ended, by `killed_by`
// (none: however it ended).
void check_grandchild_gone(const TempDir& dir, std::optional<int> killed_by) {
    const pid_t grandchild = std::stoi(read_text(dir.path() / "grandchild.pid"));
    REQUIRE(grandchild > 0);
    const OrphanEnd end = reap_orphan(grandchild);
    REQUIRE(end.gone);
    CHECK_FALSE(process_exists(grandchild));
    if (end.status && killed_by) {
        CHECK(WIFSIGNALED(*end.status));
        CHECK(WTERMSIG(*end.status) == *killed_by);
    }
}

const char* valid_report = R"({"version": 1, "challenger_version": "v2", "artifact": "/models/v2.bin",
  "metrics": {"accuracy": 0.81}, "champion_metrics": {"accuracy": 0.74}})";

}  // namespace

TEST_CASE("a non-zero exit is reported with its code and output") {
    ProcessResult result = run_process(spec_for({"/bin/sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 3"}));
    REQUIRE(result.started);
    CHECK(result.exited);
    CHECK(result.exit_code == 3);
    CHECK(result.signal == 0);
    CHECK_FALSE(result.timed_out);
    CHECK_FALSE(result.succeeded());
    CHECK(result.output == "to-stdout\nto-stderr\n");
    CHECK(result.describe() == "exit code 3");
}

TEST_CASE("a crash is reported as the signal that ended the job") {
    ProcessResult result = run_process(spec_for({"/bin/sh", "-c", "kill -SEGV $$"}));
    REQUIRE(result.started);
    CHECK_FALSE(result.exited);
    CHECK(result.signal == SIGSEGV);
    CHECK(result.describe() == "killed by signal 11 (SIGSEGV)");

    JobRunResult judged = judge_job_run(result, "/nonexistent/report.json");
    CHECK(judged.state == JobState::failed);
    CHECK(judged.reason == "job killed by signal 11 (SIGSEGV)");
}

TEST_CASE("a timeout kills the job and the children it started") {
    // Orphans of the job are re-parented to this process, so it can reap the
    // grandchild and see how it died.
    REQUIRE(::prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
    TempDir dir;
    std::string script =
        write_script(dir, "hang.sh", "sleep 1000 &\necho $! > grandchild.pid\nsleep 1000\n");
    ProcessSpec spec = spec_for({script});
    spec.working_directory = dir.path().string();
    spec.timeout = 300ms;
    spec.kill_grace = 10s;
    ProcessResult result = run_process(spec);
    REQUIRE(result.started);
    CHECK(result.timed_out);
    CHECK(result.signal == SIGTERM);
    CHECK(result.describe().starts_with("timed out after "));
    CHECK(result.describe().ends_with(" ms (killed by signal 15 (SIGTERM))"));

    check_grandchild_gone(dir, std::nullopt);

    JobRunResult judged = judge_job_run(result, dir.path() / "report.json");
    CHECK(judged.state == JobState::timed_out);
}

TEST_CASE("a job that ignores SIGTERM is killed after the grace period") {
    REQUIRE(::prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
    TempDir dir;
    // An ignored signal stays ignored across exec, so the sleeps ignore it too.
    std::string script = write_script(dir, "stubborn.sh",
                                      "trap '' TERM\nsleep 1000 &\necho $! > grandchild.pid\nsleep 1000\n");
    ProcessSpec spec = spec_for({script});
    spec.working_directory = dir.path().string();
    spec.timeout = 200ms;
    spec.kill_grace = 300ms;
    ProcessResult result = run_process(spec);
    CHECK(result.timed_out);
    CHECK(result.signal == SIGKILL);
    check_grandchild_gone(dir, SIGKILL);
}

TEST_CASE("children left behind by a job that exited are killed with its group") {
    REQUIRE(::prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
    TempDir dir;
    std::string script = write_script(dir, "leave.sh", "sleep 1000 &\necho $! > grandchild.pid\nexit 0\n");
    ProcessSpec spec = spec_for({script});
    spec.working_directory = dir.path().string();
    ProcessResult result = run_process(spec);
    CHECK(result.succeeded());
    check_grandchild_gone(dir, SIGKILL);
}

TEST_CASE("huge output keeps its first and last 32 KiB with a marker between") {
    const std::size_t payload = 50u * 1024 * 1024;
    ProcessResult result = run_process(spec_for(
        {"/bin/sh", "-c", "echo BEGIN; head -c " + std::to_string(payload) + " /dev/zero | tr '\\0' x; echo; echo END"}));
    REQUIRE(result.succeeded());
    const std::size_t total = 6 + payload + 1 + 4;
    CHECK(result.output_bytes_total == total);
    const std::string marker = "\n[... " + std::to_string(total - 2 * 32 * 1024) + " bytes omitted ...]\n";
    CHECK(result.output.size() == 2 * 32 * 1024 + marker.size());
    CHECK(result.output.starts_with("BEGIN\nxxx"));
    CHECK(result.output.ends_with("xxx\nEND\n"));
    CHECK(result.output.substr(32 * 1024, marker.size()) == marker);
}

TEST_CASE("BoundedOutput keeps everything until the limits are passed") {
    BoundedOutput small(4, 3);
    small.append("abc");
    small.append("defg");
    CHECK(small.text() == "abcdefg");
    small.append("hij");
    CHECK(small.total_bytes() == 10);
    CHECK(small.text() == "abcd\n[... 3 bytes omitted ...]\nhij");
    for (int i = 0; i < 100; ++i) small.append("0123456789");
    CHECK(small.text() == "abcd\n[... 1003 bytes omitted ...]\n789");
}

TEST_CASE("the job sees only the documented environment, in its own directory, with stdin empty") {
    ::setenv("MODELWATCH_LEAK_CHECK", "must-not-reach-the-job", 1);
    TempDir dir;
    Job job;
    job.id = 42;
    job.model = "churn";
    job.trigger = "dataset_drift";
    job.reason = "psi 0.31 > 0.2";
    job.champion_version = "v1";
    JobContext context;
    context.job_dir = dir.path();
    context.context_path = dir.path() / "context.json";
    context.data_path = dir.path() / "data.csv";
    context.report_path = dir.path() / "report.json";
    JobContextOptions options;
    options.job_database_uri = "postgresql://reader@db/modelwatch";
    options.extra_environment = {{"TRAIN_EPOCHS", "5"}, {"MODELWATCH_REPORT", "/elsewhere"}, {"PATH", "/opt/bin:/usr/bin:/bin"}};

    ProcessSpec spec;
    spec.argv = {"/usr/bin/env"};
    spec.environment = job_environment(job, context, options);
    spec.working_directory = dir.path().string();
    ProcessResult result = run_process(spec);
    REQUIRE(result.succeeded());

    std::set<std::string> lines;
    std::istringstream stream(result.output);
    for (std::string line; std::getline(stream, line);) lines.insert(line);
    const std::string job_dir = dir.path().string();
    std::set<std::string> expected = {
        "PATH=/opt/bin:/usr/bin:/bin",
        "LANG=C.UTF-8",
        "MODELWATCH_JOB_ID=42",
        "MODELWATCH_MODEL=churn",
        "MODELWATCH_CHAMPION_VERSION=v1",
        "MODELWATCH_TRIGGER=dataset_drift",
        "MODELWATCH_REASON=psi 0.31 > 0.2",
        "MODELWATCH_JOB_DIR=" + job_dir,
        "MODELWATCH_CONTEXT=" + job_dir + "/context.json",
        "MODELWATCH_DATA=" + job_dir + "/data.csv",
        "MODELWATCH_REPORT=" + job_dir + "/report.json",
        "MODELWATCH_DATABASE_URI=postgresql://reader@db/modelwatch",
        "TRAIN_EPOCHS=5",
    };
    CHECK(lines == expected);

    ProcessSpec where = spec_for({"/bin/sh", "-c", "pwd; cat; echo stdin-done"});
    where.working_directory = dir.path().string();
    where.timeout = 30s;
    ProcessResult in_dir = run_process(where);
    CHECK_FALSE(in_dir.timed_out);
    CHECK(in_dir.output == std::filesystem::canonical(dir.path()).string() + "\nstdin-done\n");
    ::unsetenv("MODELWATCH_LEAK_CHECK");
}

TEST_CASE("a program that cannot be started is a failure with the reason") {
    ProcessResult missing = run_process(spec_for({"/nonexistent/train"}));
    CHECK_FALSE(missing.started);
    CHECK(missing.error == "spawn /nonexistent/train: No such file or directory");
    ProcessResult not_on_path = run_process(spec_for({"no-such-trainer"}));
    CHECK_FALSE(not_on_path.started);
    CHECK(not_on_path.error == "spawn no-such-trainer: not found in PATH=/usr/bin:/bin");
    ProcessResult bare_name = run_process(spec_for({"true"}));
    CHECK(bare_name.succeeded());
    CHECK(judge_job_run(missing, "/nonexistent/report.json").state == JobState::failed);
}

TEST_CASE("the exec runner maps exit and report to the job state") {
    TempDir dir;
    Job job;
    job.id = 7;
    job.model = "churn";
    JobContext context;
    context.job_dir = dir.path();
    context.context_path = dir.path() / "context.json";
    context.data_path = dir.path() / "data.csv";
    context.report_path = dir.path() / "report.json";
    JobContextOptions context_options;
    ExecRunnerOptions options;
    options.timeout = 60s;

    SECTION("exit 0 with a valid report succeeds") {
        write_text(dir.path() / "report.in", valid_report);
        options.argv = {write_script(dir, "train.sh", "cat report.in > \"$MODELWATCH_REPORT\"\n")};
        JobRunResult result = run_prepared_job(job, context, context_options, options);
        CHECK(result.state == JobState::succeeded);
        REQUIRE(result.report);
        CHECK(result.report->challenger_version == "v2");
        CHECK(result.report->metrics.at("accuracy") == 0.81);
    }
    SECTION("exit 0 without a report fails") {
        options.argv = {write_script(dir, "train.sh", "exit 0\n")};
        JobRunResult result = run_prepared_job(job, context, context_options, options);
        CHECK(result.state == JobState::failed);
        CHECK(result.reason == "job exited 0 but its report is invalid: report.json: missing (the job did not write it)");
    }
    SECTION("a malformed report fails naming the field") {
        options.argv = {write_script(dir, "train.sh",
                                     "echo '{\"version\": 1, \"challenger_version\": \"v2\", \"artifact\": \"a\", "
                                     "\"metrics\": {\"accuracy\": \"high\"}, \"champion_metrics\": {}}' "
                                     "> \"$MODELWATCH_REPORT\"\n")};
        JobRunResult result = run_prepared_job(job, context, context_options, options);
        CHECK(result.state == JobState::failed);
        CHECK(result.reason == "job exited 0 but its report is invalid: report.json: metrics.accuracy: expected a "
                               "finite number, got \"high\"");
    }
    SECTION("a non-zero exit fails even with a report") {
        write_text(dir.path() / "report.in", valid_report);
        options.argv = {write_script(dir, "train.sh", "cat report.in > \"$MODELWATCH_REPORT\"\necho oops\nexit 2\n")};
        JobRunResult result = run_prepared_job(job, context, context_options, options);
        CHECK(result.state == JobState::failed);
        CHECK(result.reason == "job exit code 2");
        CHECK(result.output == "oops\n");
    }
    SECTION("a report larger than 1 MiB fails unread") {
        options.argv = {write_script(dir, "train.sh", "head -c 1048577 /dev/zero > \"$MODELWATCH_REPORT\"\n")};
        JobRunResult result = run_prepared_job(job, context, context_options, options);
        CHECK(result.state == JobState::failed);
        CHECK(result.reason == "job exited 0 but its report is invalid: report.json: 1048577 bytes exceeds the limit "
                               "of 1048576 bytes");
    }
    SECTION("a report that is a symbolic link is not followed") {
        write_text(dir.path() / "elsewhere.json", valid_report);
        options.argv = {write_script(dir, "train.sh", "ln -s elsewhere.json \"$MODELWATCH_REPORT\"\n")};
        JobRunResult result = run_prepared_job(job, context, context_options, options);
        CHECK(result.state == JobState::failed);
        CHECK(result.reason.starts_with("job exited 0 but its report is invalid: report.json: cannot open: "));
    }
    SECTION("a timeout is timed_out") {
        options.argv = {write_script(dir, "train.sh", "sleep 1000\n")};
        options.timeout = 1s;
        JobRunResult result = run_prepared_job(job, context, context_options, options);
        CHECK(result.state == JobState::timed_out);
        CHECK(result.reason.starts_with("timed out after "));
    }
}

TEST_CASE("parse_job_report accepts the contract") {
    JobReportParse parsed = parse_job_report(R"({"version": 1, "challenger_version": "v2", "artifact": "s3://m/v2",
        "metrics": {"accuracy": 0.81, "auc": 0.9}, "champion_metrics": {"accuracy": 0.74},
        "fairness": {"passed": false, "details": {"dp_ratio": 0.7}}, "notes": "extra keys are allowed"})");
    REQUIRE(parsed.report);
    CHECK(parsed.error.empty());
    CHECK(parsed.report->artifact == "s3://m/v2");
    CHECK(parsed.report->metrics.size() == 2);
    CHECK(parsed.report->champion_metrics.at("accuracy") == 0.74);
    CHECK(parsed.report->fairness_passed == false);
    CHECK(parsed.report->fairness_details_json == R"({"dp_ratio":0.7})");

    JobReportParse minimal = parse_job_report(R"({"version": 1, "challenger_version": "v2", "artifact": "a",
        "metrics": {"rmse": 3}, "champion_metrics": {}})");
    REQUIRE(minimal.report);
    CHECK_FALSE(minimal.report->fairness_passed.has_value());
    CHECK(minimal.report->champion_metrics.empty());
}

// A report is kept (retrain_jobs.report) by writing it back out, and
// nlohmann::json's dump() recurses once per level: nesting within the byte
// limit but half a million levels deep overflowed the stack (the daemon
// crashed on POST /v1/jobs/{id}/report, or on an exec job's report file).
TEST_CASE("parse_job_report refuses a report nested deeper than it can hold, and keeps the rest") {
    const std::string head = R"({"version": 1, "challenger_version": "v2", "artifact": "a",
        "metrics": {"accuracy": 0.8}, "champion_metrics": {}, "notes": )";
    const std::size_t levels = (max_job_report_bytes - head.size() - 1) / 2;
    const std::string deep = head + std::string(levels, '[') + std::string(levels, ']') + "}";
    REQUIRE(deep.size() <= max_job_report_bytes);
    const JobReportParse parsed = parse_job_report(deep);
    CHECK_FALSE(parsed.report);
    CHECK(parsed.error == "report: nested deeper than 64 levels");

    // Nesting up to the limit is a report like any other.
    const std::size_t allowed = 64 - 1;  // inside the report's own object
    const std::string nested = head + std::string(allowed, '[') + std::string(allowed, ']') + "}";
    const JobReportParse kept = parse_job_report(nested);
    INFO(kept.error);
    CHECK(kept.report);
}

TEST_CASE("parse_job_report names the field of a malformed report") {
    const std::string metrics = R"("metrics": {"accuracy": 0.8}, "champion_metrics": {"accuracy": 0.7})";
    const std::string head = R"({"version": 1, "challenger_version": "v2", "artifact": "a", )";
    struct Case {
        std::string text;
        std::string error;
    };
    const std::vector<Case> cases = {
        {"{no", "report: not valid JSON: parse error at line 1, column 3: syntax error while parsing object key - "
                "invalid literal; last read: '{no'; expected string literal"},
        {"[1, 2]", "report: expected a JSON object, got [1,2]"},
        {R"({"challenger_version": "v2", "artifact": "a", )" + metrics + "}", "version: missing"},
        {R"({"version": 2, "challenger_version": "v2", "artifact": "a", )" + metrics + "}",
         "version: expected 1, got 2"},
        {R"({"version": "1", "challenger_version": "v2", "artifact": "a", )" + metrics + "}",
         "version: expected 1, got \"1\""},
        {R"({"version": 1, "artifact": "a", )" + metrics + "}", "challenger_version: missing"},
        {R"({"version": 1, "challenger_version": "", "artifact": "a", )" + metrics + "}",
         "challenger_version: expected a non-empty string, got \"\""},
        {R"({"version": 1, "challenger_version": 2, "artifact": "a", )" + metrics + "}",
         "challenger_version: expected a non-empty string, got 2"},
        {R"({"version": 1, "challenger_version": "v2", )" + metrics + "}", "artifact: missing"},
        {R"({"version": 1, "challenger_version": "v2", "artifact": null, )" + metrics + "}",
         "artifact: expected a non-empty string, got null"},
        {head + R"("champion_metrics": {}})", "metrics: missing"},
        {head + R"("metrics": [0.8], "champion_metrics": {}})",
         "metrics: expected an object of metric name to number, got [0.8]"},
        {head + R"("metrics": {}, "champion_metrics": {}})", "metrics: expected at least one metric"},
        {head + R"("metrics": {"accuracy": "0.8"}, "champion_metrics": {}})",
         "metrics.accuracy: expected a finite number, got \"0.8\""},
        {head + R"("metrics": {"accuracy": 1e999}, "champion_metrics": {}})",
         "report: not valid JSON: number overflow parsing '1e999'"},
        {head + R"("metrics": {"accuracy": 0.8}})", "champion_metrics: missing"},
        {head + R"("metrics": {"accuracy": 0.8}, "champion_metrics": {"accuracy": true}})",
         "champion_metrics.accuracy: expected a finite number, got true"},
        {head + metrics + R"(, "fairness": true})", "fairness: expected an object or null, got true"},
        {head + metrics + R"(, "fairness": {}})", "fairness.passed: missing"},
        {head + metrics + R"(, "fairness": {"passed": "yes"}})",
         "fairness.passed: expected true or false, got \"yes\""},
        {head + metrics + R"(, "fairness": {"passed": true, "details": [1]}})",
         "fairness.details: expected an object, got [1]"},
    };
    for (const Case& c : cases) {
        INFO(c.text);
        JobReportParse parsed = parse_job_report(c.text);
        CHECK_FALSE(parsed.report);
        CHECK(parsed.error == c.error);
    }
    std::string huge = head + metrics + R"(, "notes": ")" + std::string(max_job_report_bytes, 'x') + "\"}";
    JobReportParse too_big = parse_job_report(huge);
    CHECK_FALSE(too_big.report);
    CHECK(too_big.error == "report: " + std::to_string(huge.size()) + " bytes exceeds the limit of 1048576 bytes");
}

namespace {

const std::string trigger_context = R"({"version": 1, "job_id": 7, "model": "churn", "data": null})";

Job job_seven() {
    Job job;
    job.id = 7;
    job.model = "churn";
    return job;
}

}  // namespace

TEST_CASE("the HTTP trigger posts the context with its idempotency key; 2xx and 409 are success") {
    int answer = 201;
    std::string answer_body;
    mw::testing::TestHttpServer server([&](const mw::testing::ReceivedRequest&) {
        return mw::testing::CannedResponse{answer, {}, answer_body};
    });
    HttpTriggerOptions options;
    options.url = server.url() + "/api/v1/dags/train/dagRuns";
    options.bearer_token = "s3cret";
    options.headers = {{"X-Team", "ml"}};

    TriggerResult accepted = trigger_http_job(job_seven(), trigger_context, options);
    CHECK(accepted.status == CallStatus::ok);
    CHECK(accepted.http_status == 201);
    CHECK(accepted.reason == "POST " + options.url + ": HTTP 201, triggered");
    REQUIRE(server.requests().size() == 1);
    const mw::testing::ReceivedRequest request = server.requests()[0];
    CHECK(request.method == "POST");
    CHECK(request.target == "/api/v1/dags/train/dagRuns");
    CHECK(request.header("Idempotency-Key") == "modelwatch-job-7");
    CHECK(request.header("Authorization") == "Bearer s3cret");
    CHECK(request.header("X-Team") == "ml");
    CHECK(request.header("Content-Type") == "application/json");
    CHECK(nlohmann::json::parse(request.body) == nlohmann::json::parse(trigger_context));

    answer = 409;
    TriggerResult again = trigger_http_job(job_seven(), trigger_context, options);
    CHECK(again.status == CallStatus::ok);
    CHECK(again.reason == "POST " + options.url + ": HTTP 409, already triggered with Idempotency-Key modelwatch-job-7");

    answer = 500;
    answer_body = R"({"detail": "scheduler down"})";
    TriggerResult down = trigger_http_job(job_seven(), trigger_context, options);
    CHECK(down.status == CallStatus::retry);
    CHECK(down.http_status == 500);
    CHECK(down.reason == "POST " + options.url + R"(: HTTP 500: {"detail": "scheduler down"})");

    answer = 404;
    answer_body = "no such DAG";
    TriggerResult missing = trigger_http_job(job_seven(), trigger_context, options);
    CHECK(missing.status == CallStatus::failed);
    CHECK(missing.reason == "POST " + options.url + ": HTTP 404: no such DAG");

    answer = 429;
    CHECK(trigger_http_job(job_seven(), trigger_context, options).status == CallStatus::retry);
    CHECK(server.requests().size() == 5);
}

TEST_CASE("an unreachable trigger endpoint is worth a retry") {
    std::string url;
    {
        mw::testing::TestHttpServer closed([](const mw::testing::ReceivedRequest&) {
            return mw::testing::CannedResponse{};
        });
        url = closed.url() + "/trigger";
    }
    HttpTriggerOptions options;
    options.url = url;
    options.timeout = std::chrono::milliseconds(5000);
    TriggerResult result = trigger_http_job(job_seven(), trigger_context, options);
    CHECK(result.status == CallStatus::retry);
    CHECK(result.http_status == 0);
    CHECK(result.reason.starts_with("POST " + url + ": "));
}

TEST_CASE("the trigger body can be shaped for Airflow and GitHub") {
    HttpTriggerOptions options;
    options.url = "http://127.0.0.1:1/x";
    options.body = TriggerBody::airflow;
    nlohmann::json airflow = nlohmann::json::parse(trigger_request(job_seven(), trigger_context, options).body);
    CHECK(airflow == nlohmann::json{{"dag_run_id", "modelwatch-job-7"}, {"conf", nlohmann::json::parse(trigger_context)}});
    options.body = TriggerBody::github;
    nlohmann::json github = nlohmann::json::parse(trigger_request(job_seven(), trigger_context, options).body);
    CHECK(github == nlohmann::json{{"event_type", "modelwatch-retrain"},
                                   {"client_payload", nlohmann::json::parse(trigger_context)}});
}

TEST_CASE("an argv hook gets its variables in a clean environment") {
    TempDir dir;
    HookCall call;
    call.job_id = 9;
    call.model = "churn";
    call.challenger_version = "v3";
    call.artifact = "/models/v3.bin";
    call.rollback_to_version = "v2";
    call.job_dir = dir.path().string();
    HookOptions options;
    options.argv = {write_script(dir, "hook.sh", "env | sort > \"hook-$MODELWATCH_HOOK.env\"\n")};
    options.environment = {{"SERVING_URL", "http://serving"}, {"MODELWATCH_ARTIFACT", "ignored"}};

    HookResult promoted = run_hook(HookKind::promotion, call, options);
    CHECK(promoted.status == CallStatus::ok);
    CHECK(promoted.reason == "promotion hook " + options.argv[0] + ": exit code 0");
    const std::string job_dir = dir.path().string();
    CHECK(read_text(dir.path() / "hook-promotion.env") ==
          "LANG=C.UTF-8\n"
          "MODELWATCH_ARTIFACT=/models/v3.bin\n"
          "MODELWATCH_CHALLENGER_VERSION=v3\n"
          "MODELWATCH_HOOK=promotion\n"
          "MODELWATCH_JOB_DIR=" + job_dir + "\n"
          "MODELWATCH_JOB_ID=9\n"
          "MODELWATCH_MODEL=churn\n"
          "PATH=/usr/bin:/bin\n"
          "PWD=" + job_dir + "\n"
          "SERVING_URL=http://serving\n");

    HookResult rolled_back = run_hook(HookKind::rollback, call, options);
    CHECK(rolled_back.status == CallStatus::ok);
    CHECK(read_text(dir.path() / "hook-rollback.env").find("MODELWATCH_ROLLBACK_TO_VERSION=v2\n") != std::string::npos);
    CHECK(read_text(dir.path() / "hook-rollback.env").find("MODELWATCH_HOOK=rollback\n") != std::string::npos);

    options.argv = {write_script(dir, "fail.sh", "echo cannot reach serving\nexit 4\n")};
    HookResult failed = run_hook(HookKind::promotion, call, options);
    CHECK(failed.status == CallStatus::failed);
    CHECK(failed.reason == "promotion hook " + options.argv[0] + ": exit code 4");
    CHECK(failed.output == "cannot reach serving\n");

    CHECK(run_hook(HookKind::promotion, call, HookOptions{}).reason ==
          "promotion hook: neither argv nor url is configured");
}

TEST_CASE("an HTTP hook posts its variables; only 2xx is success") {
    int answer = 200;
    mw::testing::TestHttpServer server([&](const mw::testing::ReceivedRequest&) {
        return mw::testing::CannedResponse{answer, {}, "busy"};
    });
    HookCall call;
    call.job_id = 9;
    call.model = "churn";
    call.challenger_version = "v3";
    call.artifact = "s3://models/v3";
    call.rollback_to_version = "v2";
    HookOptions options;
    options.url = server.url() + "/rollback";
    options.bearer_token = "t";

    HookResult result = run_hook(HookKind::rollback, call, options);
    CHECK(result.status == CallStatus::ok);
    CHECK(result.reason == "rollback hook POST " + options.url + ": HTTP 200");
    REQUIRE(server.requests().size() == 1);
    const mw::testing::ReceivedRequest request = server.requests()[0];
    CHECK(request.header("Idempotency-Key") == "modelwatch-job-9-rollback");
    CHECK(request.header("Authorization") == "Bearer t");
    CHECK(nlohmann::json::parse(request.body) == nlohmann::json{{"MODELWATCH_HOOK", "rollback"},
                                                                {"MODELWATCH_JOB_ID", "9"},
                                                                {"MODELWATCH_MODEL", "churn"},
                                                                {"MODELWATCH_CHALLENGER_VERSION", "v3"},
                                                                {"MODELWATCH_ARTIFACT", "s3://models/v3"},
                                                                {"MODELWATCH_JOB_DIR", ""},
                                                                {"MODELWATCH_ROLLBACK_TO_VERSION", "v2"}});
    answer = 503;
    HookResult busy = run_hook(HookKind::rollback, call, options);
    CHECK(busy.status == CallStatus::retry);
    CHECK(busy.reason == "rollback hook POST " + options.url + ": HTTP 503: busy");
    answer = 409;
    CHECK(run_hook(HookKind::promotion, call, options).status == CallStatus::failed);
}
