// The model server against a fake modelwatchd (a Boost.Beast listener on a
// loopback port chosen by the kernel) and in dry-run mode.
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "examples/elec2/logistic_model.h"
#include "examples/elec2/stream_server.h"
#include "examples/elec2/tests/temporary_directory.h"

using namespace mw::elec2;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

namespace {

struct Received {
    std::string target;
    std::string authorization;
    nlohmann::json body;
};

struct Reply {
    unsigned status = 200;
    std::string retry_after;
    std::string body;
};

// Serves one connection at a time on its own thread; `respond` decides each reply.
class FakeDaemon {
public:
    explicit FakeDaemon(std::function<Reply(const Received&)> respond)
        : respond_(std::move(respond)), acceptor_(context_, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)) {
        thread_ = std::thread([this] { serve(); });
    }
    ~FakeDaemon() {
        context_.stop();
        thread_.join();
    }

    std::string url() const { return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()); }
    std::vector<Received> received() {
        std::lock_guard lock(mutex_);
        return received_;
    }

private:
    void serve() {
        accept();
        context_.run();
    }
    void accept() {
        acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
            if (ec) return;
            boost::beast::flat_buffer buffer;
            http::request<http::string_body> request;
            boost::system::error_code read_error;
            http::read(socket, buffer, request, read_error);
            if (!read_error) {
                Received got{std::string(request.target()), std::string(request[http::field::authorization]),
                             nlohmann::json::parse(request.body(), nullptr, false)};
                {
                    std::lock_guard lock(mutex_);
                    received_.push_back(got);
                }
                const Reply reply = respond_(got);
                http::response<http::string_body> response{static_cast<http::status>(reply.status), 11};
                if (!reply.retry_after.empty()) response.set(http::field::retry_after, reply.retry_after);
                response.body() = reply.body;
                response.prepare_payload();
                boost::system::error_code write_error;
                http::write(socket, response, write_error);
            }
            accept();
        });
    }

    std::function<Reply(const Received&)> respond_;
    boost::asio::io_context context_;
    tcp::acceptor acceptor_;
    std::thread thread_;
    std::mutex mutex_;
    std::vector<Received> received_;
};

Reply accepted(const Received& request) {
    return {200, "", nlohmann::json{{"accepted", request.body.size()}, {"rejected", nlohmann::json::array()}}.dump()};
}

ServerOptions small_stream(const testing::TemporaryDirectory& directory) {
    ServerOptions options;
    options.data_path = std::string(MODELWATCH_SOURCE_DIR) + "/data/elec2/elec2.csv.gz";
    options.model_file = directory.file("served.json");
    options.initial_rows = 2000;
    options.batch_rows = 100;
    options.label_delay_rows = 200;
    options.rows_per_second = 0;
    options.limit_rows = 2600;
    options.lockstep = false;  // the lockstep's own tests below answer GET /v1/models/elec2/progress
    return options;
}

}  // namespace

TEST_CASE("row ids sort in stream order") {
    CHECK(row_id(4096) == "r0004096");
    CHECK(row_id(45311) == "r0045311");
    CHECK(row_id(999) < row_id(1000));
}

TEST_CASE("the server posts each prediction once, outcomes after the delay, and retries a 503") {
    testing::TemporaryDirectory directory;
    int predictions_requests = 0;
    FakeDaemon daemon([&](const Received& request) {
        if (request.target == "/v1/models/elec2/predictions" && ++predictions_requests == 2)
            return Reply{503, "0", R"({"accepted": 0, "error": "spool full"})"};
        return accepted(request);
    });
    ServerOptions options = small_stream(directory);
    options.daemon_url = daemon.url();
    options.token = "secret";
    options.summary_path = directory.file("summary.json");

    const auto summary = run_stream(options);
    REQUIRE(summary.ok());
    CHECK(summary.value.rows == 600);
    CHECK(summary.value.predictions_accepted == 600);
    CHECK(summary.value.outcomes_accepted == 600);

    // The model file was absent: the server wrote the initial model there.
    const auto served = load_model(options.model_file);
    REQUIRE(served.ok());
    CHECK(served.value.version == "v0-initial");

    std::vector<std::string> predicted, labelled;
    std::size_t predicted_before_outcomes = 0;
    for (const auto& request : daemon.received()) {
        CHECK(request.authorization == "Bearer secret");
        REQUIRE(request.body.is_array());
        if (request.target == "/v1/models/elec2/predictions") {
            for (const auto& record : request.body) {
                CHECK(record["model_version"] == "v0-initial");
                CHECK(record["features"].size() == 7);
                CHECK_FALSE(record.contains("ts"));
                CHECK(record["prediction"] == (record["score"].get<double>() >= 0.5 ? "UP" : "DOWN"));
                predicted.push_back(record["id"]);
            }
        } else {
            REQUIRE(request.target == "/v1/models/elec2/outcomes");
            // Before the final flush, outcomes trail the predictions by the delay.
            if (predicted.size() < 600) CHECK(labelled.size() + request.body.size() + 200 <= predicted.size());
            if (labelled.empty()) predicted_before_outcomes = predicted.size();
            for (const auto& record : request.body) labelled.push_back(record["id"]);
        }
    }
    // The refused batch was sent again: 7 requests, 600 distinct predictions in order.
    CHECK(predictions_requests == 7);
    std::vector<std::string> expected;
    for (std::size_t i = 2000; i < 2600; ++i) expected.push_back(row_id(i));
    std::vector<std::string> distinct;
    for (const auto& id : predicted)
        if (distinct.empty() || distinct.back() != id) distinct.push_back(id);
    CHECK(predicted.size() == 700);
    CHECK(std::is_sorted(predicted.begin(), predicted.begin() + 100));
    CHECK(labelled == expected);
    CHECK(predicted_before_outcomes == 400);  // 300 rows predicted + the 100 sent twice

    const auto written = nlohmann::json::parse(testing::read_text(options.summary_path));
    CHECK(written["rows"] == 600);
    CHECK(written["model_versions"] == nlohmann::json::parse(R"([{"version": "v0-initial", "from_row": 2000}])"));
    CHECK(written["served_accuracy"].get<double>() == summary.value.served_accuracy);
    CHECK(written["static_accuracy"].get<double>() == summary.value.static_accuracy);
}

TEST_CASE("the server serves a promoted model from the next batch on") {
    testing::TemporaryDirectory directory;
    ServerOptions options = small_stream(directory);
    const auto rows = load_elec2_stream(options.data_path);
    REQUIRE(rows.ok());
    LogisticModel promoted = fit_logistic_model({rows.value.begin() + 1000, rows.value.begin() + 2000});
    promoted.version = "v1-promoted";
    int predictions_requests = 0;
    FakeDaemon daemon([&](const Received& request) {
        // After the third batch (rows 2000-2299) a promotion replaces the file.
        if (request.target == "/v1/models/elec2/predictions" && ++predictions_requests == 3)
            REQUIRE(save_model(promoted, options.model_file).empty());
        return accepted(request);
    });
    options.daemon_url = daemon.url();
    const auto summary = run_stream(options);
    REQUIRE(summary.ok());
    REQUIRE(summary.value.model_versions.size() == 2);
    CHECK(summary.value.model_versions[1].version == "v1-promoted");
    CHECK(summary.value.model_versions[1].from_row == 2300);
    for (const auto& request : daemon.received()) {
        if (request.target != "/v1/models/elec2/predictions") continue;
        for (const auto& record : request.body) {
            const bool after = record["id"].get<std::string>() >= row_id(2300);
            CHECK(record["model_version"] == (after ? "v1-promoted" : "v0-initial"));
            if (after) {
                const std::size_t index = std::stoul(record["id"].get<std::string>().substr(1));
                CHECK(record["score"].get<double>() == predict_up_probability(promoted, rows.value[index].features));
            }
        }
    }
    // The static baseline keeps predicting with the initial model.
    CHECK(summary.value.static_accuracy != summary.value.served_accuracy);
}

TEST_CASE("a 4xx from the daemon stops the server with the daemon's message") {
    testing::TemporaryDirectory directory;
    FakeDaemon daemon([](const Received&) { return Reply{404, "", R"({"error": "unknown model 'elec2'"})"}; });
    ServerOptions options = small_stream(directory);
    options.daemon_url = daemon.url();
    const auto summary = run_stream(options);
    REQUIRE_FALSE(summary.ok());
    CHECK(summary.error == "POST /v1/models/elec2/predictions -> 404: unknown model 'elec2'");
    CHECK(daemon.received().size() == 1);
}

namespace {

// What the fake daemon answers to GET /v1/models/elec2/progress: a monitor
// pass has begun and ended between any two answers.
struct FakeProgress {
    std::uint64_t passes = 0;
    int jobs_unfinished = 0;
    int transitions = 0;

    Reply answer() {
        passes += 2;
        const nlohmann::json body{{"model", "elec2"},
                                  {"owned", true},
                                  {"spool_undrained_batches", 0},
                                  {"monitor", {{"passes_ended", passes}, {"next_pass", passes + 1}}},
                                  {"windows", 0},
                                  {"windows_judged", 0},
                                  {"last_finding_id", 0},
                                  {"last_reference_id", 1},
                                  {"reference_pending", false},
                                  {"last_job_transition_id", transitions},
                                  {"jobs_unfinished", jobs_unfinished},
                                  {"findings_unrouted", 0},
                                  {"findings_unseen_by_retraining", 0}};
        return {200, "", body.dump()};
    }
};

}  // namespace

TEST_CASE("lockstep: the server waits after each batch until the daemon has judged it, then goes on") {
    testing::TemporaryDirectory directory;
    ServerOptions options = small_stream(directory);
    options.lockstep = true;
    const auto rows = load_elec2_stream(options.data_path);
    REQUIRE(rows.ok());
    LogisticModel promoted = fit_logistic_model({rows.value.begin() + 1000, rows.value.begin() + 2000});
    promoted.version = "v1-promoted";
    const std::string progress = "/v1/models/elec2/progress";
    int predictions_requests = 0;
    int job_answers_left = 0;
    FakeProgress daemon_progress;
    FakeDaemon daemon([&](const Received& request) {
        if (request.target == progress) {
            daemon_progress.jobs_unfinished = job_answers_left > 0 ? 1 : 0;
            Reply reply = daemon_progress.answer();
            // The job runs for three answers, then promotes its model.
            if (job_answers_left > 0 && --job_answers_left == 0) {
                REQUIRE(save_model(promoted, options.model_file).empty());
                ++daemon_progress.transitions;
            }
            return reply;
        }
        // The third batch (rows 2200-2299) sets off a retraining job.
        if (request.target == "/v1/models/elec2/predictions" && ++predictions_requests == 3) job_answers_left = 3;
        return accepted(request);
    });
    options.daemon_url = daemon.url();
    const auto summary = run_stream(options);
    REQUIRE(summary.ok());
    // The job's model serves from the very next batch: the daemon's work took no rows.
    REQUIRE(summary.value.model_versions.size() == 2);
    CHECK(summary.value.model_versions[1].from_row == 2300);
    CHECK(summary.value.lockstep_waits == 7);  // after each of the 6 batches and after the last outcomes

    // The next batch was posted only after the daemon had settled: three
    // answers with the job, one with its last transition, one quiet.
    int answers_before_next_batch = -1;
    std::optional<int> counting;
    for (const auto& request : daemon.received()) {
        if (request.target == "/v1/models/elec2/predictions") {
            if (counting) answers_before_next_batch = *counting;
            counting.reset();
            if (request.body.front()["id"] == row_id(2200)) counting = 0;
        } else if (request.target == progress && counting) {
            ++*counting;
        }
    }
    CHECK(answers_before_next_batch == 5);

    // Waits at window boundaries only: after rows 2000-2299 and 2300-2599, and at the end.
    testing::TemporaryDirectory other_directory;
    ServerOptions every_window = small_stream(other_directory);
    every_window.lockstep = true;
    every_window.lockstep_rows = 300;
    every_window.daemon_url = daemon.url();
    const auto windowed = run_stream(every_window);
    REQUIRE(windowed.ok());
    CHECK(windowed.value.lockstep_waits == 3);
    every_window.lockstep_rows = 250;
    CHECK(run_stream(every_window).error == "--lockstep-rows must be a multiple of --batch");
}

TEST_CASE("lockstep: a daemon that never settles stops the server within the bound, saying why") {
    testing::TemporaryDirectory directory;
    ServerOptions options = small_stream(directory);
    options.lockstep = true;
    options.lockstep_timeout_seconds = 0.5;
    FakeProgress daemon_progress;
    daemon_progress.jobs_unfinished = 1;  // a job that never ends
    FakeDaemon daemon([&](const Received& request) {
        if (request.target == "/v1/models/elec2/progress") return daemon_progress.answer();
        return accepted(request);
    });
    options.daemon_url = daemon.url();
    const auto started = std::chrono::steady_clock::now();
    const auto summary = run_stream(options);
    REQUIRE_FALSE(summary.ok());
    CHECK_THAT(summary.error, Catch::StartsWith("rows up to r0002099: modelwatchd has not judged what was sent within "
                                                "0.5 s") &&
                                  Catch::EndsWith("still waiting for: 1 retraining jobs to finish"));
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
    int predictions_posted = 0;
    for (const auto& request : daemon.received())
        predictions_posted += request.target == "/v1/models/elec2/predictions" ? 1 : 0;
    CHECK(predictions_posted == 1);  // nothing after the batch the daemon never finished with
}

TEST_CASE("lockstep: a progress request the daemon refuses stops the server at once with the daemon's message") {
    // A model's ingest token on the admin route: the wait's bound (120 s) is not waited out.
    testing::TemporaryDirectory directory;
    ServerOptions options = small_stream(directory);
    options.lockstep = true;
    REQUIRE(options.lockstep_timeout_seconds >= 120);
    const std::string refusal =
        "the bearer token is a model's ingest token: /v1/models/{model}/progress needs an admin token (server.tokens)";
    FakeDaemon daemon([&](const Received& request) {
        if (request.target == "/v1/models/elec2/progress") return Reply{403, "", nlohmann::json{{"error", refusal}}.dump()};
        return accepted(request);
    });
    options.daemon_url = daemon.url();
    const auto started = std::chrono::steady_clock::now();
    const auto summary = run_stream(options);
    REQUIRE_FALSE(summary.ok());
    CHECK(summary.error == "rows up to r0002099: modelwatchd refused the progress request, so there is nothing to "
                           "wait for: GET /v1/models/elec2/progress -> 403: " + refusal);
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
    int progress_requests = 0;
    for (const auto& request : daemon.received())
        progress_requests += request.target == "/v1/models/elec2/progress" ? 1 : 0;
    CHECK(progress_requests == 1);
}

TEST_CASE("dry run: periodic retraining and the baselines on the first 6000 rows") {
    ServerOptions options;
    options.data_path = std::string(MODELWATCH_SOURCE_DIR) + "/data/elec2/elec2.csv.gz";
    options.dry_run = true;
    options.limit_rows = 6000;
    options.retrain_every_rows = 1000;
    options.label_delay_rows = 0;
    options.score_from_row = 4500;
    const auto summary = run_stream(options);
    REQUIRE(summary.ok());
    CHECK(summary.value.rows == 4000);
    CHECK(summary.value.scored_rows == 1500);
    REQUIRE(summary.value.model_versions.size() == 4);
    CHECK(summary.value.model_versions[1].version == "dry-3000");
    CHECK(summary.value.model_versions[3].from_row == 5000);

    // The baselines computed independently of the server's loop.
    const auto rows = load_elec2_stream(options.data_path);
    REQUIRE(rows.ok());
    LogisticModel initial = fit_logistic_model({rows.value.begin(), rows.value.begin() + 2000});
    std::size_t static_correct = 0, persistence_correct = 0, scored_static_correct = 0;
    for (std::size_t i = 2000; i < 6000; ++i) {
        const bool right = (predict_up_probability(initial, rows.value[i].features) >= 0.5) == rows.value[i].up;
        static_correct += right;
        scored_static_correct += i >= 4500 && right;
        persistence_correct += rows.value[i - 1].up == rows.value[i].up;
    }
    CHECK(summary.value.static_accuracy == static_cast<double>(static_correct) / 4000);
    CHECK(summary.value.scored_static_accuracy == static_cast<double>(scored_static_correct) / 1500);
    CHECK(summary.value.persistence_accuracy == static_cast<double>(persistence_correct) / 4000);
    // Retraining helps on this stretch already.
    CHECK(summary.value.served_accuracy > summary.value.static_accuracy);
}
