// The Alertmanager sink against a real Alertmanager (Debian's
// prometheus-alertmanager 0.25): what it stores is what a person will see.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "alerts/alertmanager_sink.h"
#include "core/http_client.h"
#include "core/time.h"
#include "tests/alerts/sink_test_support.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_http_server.h"

namespace fs = std::filesystem;

extern char** environ;

namespace {

constexpr const char* alertmanager_binary = "/usr/bin/prometheus-alertmanager";

// One Alertmanager on 127.0.0.1 with a throwaway config and storage, stopped
// (SIGTERM, then waited for) and removed when the test case ends, pass or fail.
class Alertmanager {
public:
    Alertmanager() {
        dir_ = fs::temp_directory_path() / ("mw-alertmanager-" + std::to_string(std::random_device{}()));
        fs::create_directories(dir_ / "data");
        // A route to a receiver with no integrations: alerts are stored and
        // shown by the API, and notified nowhere.
        std::ofstream(dir_ / "am.yml") << "route:\n  receiver: \"null\"\nreceivers:\n  - name: \"null\"\n";
        port_ = mw::testing::unused_port();
        const std::vector<std::string> args = {
            alertmanager_binary,
            "--config.file=" + (dir_ / "am.yml").string(),
            "--storage.path=" + (dir_ / "data").string(),
            "--web.listen-address=127.0.0.1:" + std::to_string(port_),
            "--cluster.listen-address=",
        };
        std::vector<char*> argv;
        for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
        argv.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        const std::string log = (dir_ / "alertmanager.log").string();
        posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
        const int error = ::posix_spawn(&pid_, alertmanager_binary, &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        if (error != 0) pid_ = -1;
    }

    ~Alertmanager() {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            int status = 0;
            ::waitpid(pid_, &status, 0);
        }
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
    }

    Alertmanager(const Alertmanager&) = delete;
    Alertmanager& operator=(const Alertmanager&) = delete;

    bool started() const { return pid_ > 0; }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    std::string log() const { return mw::testing::read_text(dir_ / "alertmanager.log"); }

    // Polls GET /-/ready (up to 30 s: a loaded machine starts it slowly).
    bool wait_ready() const {
        for (int attempt = 0; attempt < 300; ++attempt) {
            mw::http::Request request;
            request.method = "GET";
            request.url = url() + "/-/ready";
            request.timeout = std::chrono::milliseconds(1000);
            if (mw::http::send(request).status == 200) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return false;
    }

    // GET /api/v2/alerts (default filters: active, silenced, inhibited,
    // unprocessed; resolved alerts are never listed).
    nlohmann::json alerts() const {
        mw::http::Request request;
        request.method = "GET";
        request.url = url() + "/api/v2/alerts";
        const auto response = mw::http::send(request);
        INFO(response.error);
        REQUIRE(response.status == 200);
        return nlohmann::json::parse(response.body);
    }

private:
    fs::path dir_;
    unsigned short port_ = 0;
    pid_t pid_ = -1;
};

}  // namespace

TEST_CASE("a real Alertmanager shows the delivered alert as active, then resolved") {
    REQUIRE(fs::exists(alertmanager_binary));  // apt-get install prometheus-alertmanager (scripts/install-deps.sh)
    Alertmanager alertmanager;
    REQUIRE(alertmanager.started());
    if (!alertmanager.wait_ready()) FAIL("Alertmanager did not become ready; its log:\n" << alertmanager.log());

    mw::alerts::AlertmanagerSinkOptions options;
    options.urls = {alertmanager.url()};
    mw::alerts::AlertmanagerSink sink("am", options);
    const std::int64_t now = mw::now_us();
    auto alert = mw::testing::sample_alert();
    alert.starts_at_us = now - 60'000'000;
    alert.ends_at_us = now + 15 * 60'000'000LL;

    auto result = sink.deliver(alert);
    INFO(result.error);
    REQUIRE(result.delivered);

    auto listed = alertmanager.alerts();
    REQUIRE(listed.size() == 1);
    CHECK(listed[0]["labels"] == nlohmann::json(alert.labels));
    CHECK(listed[0]["annotations"] == nlohmann::json(alert.annotations));
    CHECK(listed[0]["status"]["state"] == "active");
    CHECK(listed[0]["generatorURL"] == alert.generator_url);
    CHECK(mw::parse_rfc3339_us(listed[0]["startsAt"].get<std::string>()) == alert.starts_at_us / 1000 * 1000);
    CHECK(mw::parse_rfc3339_us(listed[0]["endsAt"].get<std::string>()) == alert.ends_at_us / 1000 * 1000);

    // Resolved: the same labels, endsAt = the moment it cleared (now).
    alert.state = mw::alerts::AlertState::resolved;
    alert.ends_at_us = mw::now_us();
    result = sink.deliver(alert);
    REQUIRE(result.delivered);
    CHECK(alertmanager.alerts().empty());
}

TEST_CASE("a real Alertmanager refuses an invalid alert for good, and the sink does not retry it") {
    REQUIRE(fs::exists(alertmanager_binary));
    Alertmanager alertmanager;
    REQUIRE(alertmanager.started());
    if (!alertmanager.wait_ready()) FAIL("Alertmanager did not become ready; its log:\n" << alertmanager.log());

    mw::alerts::AlertmanagerSinkOptions options;
    options.urls = {alertmanager.url()};
    auto alert = mw::testing::sample_alert();
    alert.labels = {{"not a valid label name", "x"}};
    const auto result = mw::alerts::AlertmanagerSink("am", options).deliver(alert);
    CHECK_FALSE(result.delivered);
    CHECK_FALSE(result.retryable);
    CHECK_THAT(result.error, Catch::Contains("HTTP 400"));
    CHECK(alertmanager.alerts().empty());
}
