#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "alerts/exec_sink.h"
#include "alerts/webhook_sink.h"
#include "tests/alerts/sink_test_support.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using mw::alerts::ExecSink;
using mw::alerts::ExecSinkOptions;
using mw::testing::read_text;
using mw::testing::TempDir;

namespace {
ExecSinkOptions shell(const std::string& script, std::vector<std::string> args = {}, std::int64_t timeout_ms = 10000) {
    ExecSinkOptions options;
    options.argv = {"/bin/sh", "-c", script, "sh"};
    options.argv.insert(options.argv.end(), args.begin(), args.end());
    options.timeout_ms = timeout_ms;
    return options;
}

// True once the process is gone or a zombie (it got its SIGKILL); waits a
// bounded while because the signal is delivered asynchronously.
bool dead(pid_t pid) {
    for (int i = 0; i < 500; ++i) {
        const std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
        if (stat.empty() || stat.find(") Z") != std::string::npos) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}
}  // namespace

TEST_CASE("exec: exit 0 is delivered; stdin is the webhook body; the environment is clean") {
    TempDir dir;
    ::setenv("MODELWATCH_TEST_DAEMON_SECRET", "must-not-leak", 1);
    ExecSink sink("hook",
                  shell(R"(cat > "$1"; env > "$2")",
                        {(dir.path() / "stdin").string(), (dir.path() / "env").string()}));
    CHECK(sink.name() == "hook");
    const auto result = sink.deliver(mw::testing::sample_alert());
    CHECK(result.delivered);
    CHECK(result.error.empty());
    CHECK(read_text(dir.path() / "stdin") == mw::alerts::webhook_body(mw::testing::sample_alert()));
    const std::string env = read_text(dir.path() / "env");
    CHECK_THAT(env, Catch::Contains("PATH=/usr/bin:/bin\n"));
    CHECK_THAT(env, Catch::Contains("MODELWATCH_ALERT_STATE=firing\n"));
    CHECK_THAT(env, Catch::Contains("MODELWATCH_ALERT_FINGERPRINT=3f2a9c0e"));
    CHECK_THAT(env, Catch::Contains("MODELWATCH_ALERT_LABEL_MODEL=churn\n"));
    CHECK_THAT(env, Catch::Contains("MODELWATCH_ALERT_LABEL_ALERTNAME=ModelDrift\n"));
    CHECK_THAT(env, Catch::Contains("MODELWATCH_ALERT_ANNOTATION_FINDING_URL=http://modelwatch:8470/v1/findings/42\n"));
    CHECK_THAT(env, Catch::Contains("MODELWATCH_ALERT_STARTS_AT=2024-05-01T12:00:00.123Z\n"));
    CHECK_THAT(env, !Catch::Contains("must-not-leak"));
    CHECK_THAT(env, !Catch::Contains("HOME="));
}

TEST_CASE("exec: environment names are sanitised") {
    auto alert = mw::testing::sample_alert();
    alert.labels["team.name-x"] = "ml";
    const auto env = mw::alerts::exec_environment(alert);
    CHECK(std::find(env.begin(), env.end(), "MODELWATCH_ALERT_LABEL_TEAM_NAME_X=ml") != env.end());
    CHECK(env.front() == "PATH=/usr/bin:/bin");
}

TEST_CASE("exec: a failing exit is retried, 65 is final, and the output explains") {
    ExecSink failing("hook", shell("echo boom >&2; exit 3"));
    auto result = failing.deliver(mw::testing::sample_alert());
    CHECK_FALSE(result.delivered);
    CHECK(result.retryable);
    CHECK_THAT(result.error, Catch::Contains("exited with status 3") && Catch::Contains("output: boom"));

    ExecSink refusing("hook", shell("echo 'unknown model'; exit 65"));
    result = refusing.deliver(mw::testing::sample_alert());
    CHECK_FALSE(result.delivered);
    CHECK_FALSE(result.retryable);
    CHECK_THAT(result.error, Catch::Contains("status 65") && Catch::Contains("unknown model"));
}

TEST_CASE("exec: death by a signal is retried and named") {
    ExecSink sink("hook", shell("kill -TERM $$"));
    const auto result = sink.deliver(mw::testing::sample_alert());
    CHECK_FALSE(result.delivered);
    CHECK(result.retryable);
    CHECK_THAT(result.error, Catch::Contains("killed by signal 15 (TERM)"));
}

TEST_CASE("exec: at the timeout the program and its children are killed") {
    TempDir dir;
    const fs::path pid_file = dir.path() / "child.pid";
    // A background child in the same group, then the program itself sleeps.
    ExecSink sink("hook", shell(R"(sleep 60 & echo $! > "$1"; exec sleep 60)", {pid_file.string()}, 300));
    const auto result = sink.deliver(mw::testing::sample_alert());
    CHECK_FALSE(result.delivered);
    CHECK(result.retryable);
    CHECK_THAT(result.error, Catch::Contains("timeout after 300 ms") && Catch::Contains("killed"));
    const std::string child = read_text(pid_file);
    REQUIRE_FALSE(child.empty());
    CHECK(dead(static_cast<pid_t>(std::stol(child))));
}

TEST_CASE("exec: what a program leaves running after it exits is killed") {
    TempDir dir;
    const fs::path pid_file = dir.path() / "child.pid";
    ExecSink sink("hook", shell(R"(sleep 60 > /dev/null 2>&1 & echo $! > "$1"; exit 0)", {pid_file.string()}));
    CHECK(sink.deliver(mw::testing::sample_alert()).delivered);
    const std::string child = read_text(pid_file);
    REQUIRE_FALSE(child.empty());
    CHECK(dead(static_cast<pid_t>(std::stol(child))));
}

TEST_CASE("exec: huge output is truncated to the limit") {
    auto options = shell("head -c 1000000 /dev/zero | tr '\\0' x; exit 1");
    options.max_output_bytes = 1000;
    ExecSink sink("hook", options);
    const auto result = sink.deliver(mw::testing::sample_alert());
    CHECK(result.retryable);
    CHECK_THAT(result.error, Catch::Contains(std::string(1000, 'x') + " [output truncated]"));
    CHECK_THAT(result.error, !Catch::Contains(std::string(1001, 'x')));
}

TEST_CASE("exec: the default keeps 64 KiB of output") {
    ExecSink sink("hook", shell("head -c 200000 /dev/zero | tr '\\0' y; exit 1"));
    const auto result = sink.deliver(mw::testing::sample_alert());
    CHECK_THAT(result.error, Catch::Contains(std::string(64 << 10, 'y') + " [output truncated]"));
    CHECK_THAT(result.error, !Catch::Contains(std::string((64 << 10) + 1, 'y')));
}

TEST_CASE("exec: a program that ignores a large stdin does not break the delivery") {
    auto alert = mw::testing::sample_alert();
    alert.annotations["description"] = std::string(4 << 20, 'd');  // far more than a socket buffer
    ExecSink sink("hook", shell("exit 0"));
    CHECK(sink.deliver(alert).delivered);  // and no SIGPIPE ended this process
}

TEST_CASE("exec: a huge annotation is cut in the environment, whole on stdin") {
    TempDir dir;
    auto alert = mw::testing::sample_alert();
    alert.annotations["description"] = std::string(1 << 20, 'd');  // over the kernel's 128 KiB per string
    ExecSink sink("hook", shell(R"(cat > "$1"; printf %s "$MODELWATCH_ALERT_ANNOTATION_DESCRIPTION" > "$2")",
                                {(dir.path() / "stdin").string(), (dir.path() / "env").string()}));
    CHECK(sink.deliver(alert).delivered);
    CHECK(read_text(dir.path() / "stdin") == mw::alerts::webhook_body(alert));
    const std::string value = read_text(dir.path() / "env");
    CHECK(value.size() == (8 << 10) - std::string("MODELWATCH_ALERT_ANNOTATION_DESCRIPTION=").size());
    CHECK(value.find_first_not_of('d') == std::string::npos);
}

TEST_CASE("exec: a missing program or a relative path is a final error") {
    ExecSinkOptions missing;
    missing.argv = {"/nonexistent/alert-hook"};
    auto result = ExecSink("hook", missing).deliver(mw::testing::sample_alert());
    CHECK_FALSE(result.delivered);
    CHECK_FALSE(result.retryable);
    CHECK_THAT(result.error, Catch::Contains("/nonexistent/alert-hook") && Catch::Contains("No such file"));

    ExecSinkOptions relative;
    relative.argv = {"alert-hook"};
    result = ExecSink("hook", relative).deliver(mw::testing::sample_alert());
    CHECK_FALSE(result.retryable);
    CHECK_THAT(result.error, Catch::Contains("absolute path"));

    result = ExecSink("hook", {}).deliver(mw::testing::sample_alert());
    CHECK_FALSE(result.retryable);
}
