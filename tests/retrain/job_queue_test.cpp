// The retraining job queue against a real PostgreSQL (the ctest fixture).
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "retrain/job_queue.h"
#include "store/leases.h"
#include "store/migrations.h"
#include "tests/support/finding_rows.h"
#include "tests/support/test_clock.h"
#include "tests/support/test_database.h"

using namespace mw::retrain;
using mw::JobState;
using mw::testing::count;
using mw::testing::minute_us;
using mw::testing::t0_us;

namespace {

JobRequest request_for(const std::string& model, const std::string& key) {
    return {model, key, "dataset_drift", "test", std::nullopt, std::string("v1"), R"({"rows": 10})"};
}

}  // namespace

TEST_CASE("enqueue returns the active job for a dedup key that is queued or running", "[retrain][queue]") {
    mw::store::testing::TestDatabase db;
    mw::store::migrate(db.connection());

    const auto first = enqueue(db.connection(), request_for("elec2", "elec2:dataset_drift"), t0_us);
    CHECK(first.created);
    const auto second = enqueue(db.connection(), request_for("elec2", "elec2:dataset_drift"), t0_us + minute_us);
    CHECK_FALSE(second.created);
    CHECK(second.job_id == first.job_id);
    // Another model or another key is another job.
    CHECK(enqueue(db.connection(), request_for("other", "elec2:dataset_drift"), t0_us).created);
    CHECK(enqueue(db.connection(), request_for("elec2", "elec2:performance"), t0_us).created);

    CHECK(count(db.connection(), "SELECT count(*) FROM decisions WHERE kind = 'retrain_queued'") == 3);
    {
        pqxx::read_transaction transaction(db.connection());
        const auto duplicate =
            transaction.exec1("SELECT job_id, reason FROM decisions WHERE kind = 'retrain_duplicate'");
        CHECK(duplicate[0].as<std::int64_t>() == first.job_id);
        CHECK(duplicate[1].as<std::string>() == "duplicate: job " + std::to_string(first.job_id) +
                                                    " with key elec2:dataset_drift is queued (test)");
    }

    // Still one job while it runs; a new one once it ended.
    const auto claimed = claim_next(db.connection(), "worker-a", 5, t0_us + 2 * minute_us);
    REQUIRE(claimed);
    REQUIRE(claimed->id == first.job_id);
    CHECK(enqueue(db.connection(), request_for("elec2", "elec2:dataset_drift"), t0_us).job_id == first.job_id);
    REQUIRE(transition(db.connection(), first.job_id, JobState::failed, "exit 1", t0_us + 3 * minute_us).ok);
    const auto after = enqueue(db.connection(), request_for("elec2", "elec2:dataset_drift"), t0_us + 4 * minute_us);
    CHECK(after.created);
    CHECK(after.job_id != first.job_id);
}

TEST_CASE("claim_next takes the oldest queued job and respects max_concurrent across connections",
          "[retrain][queue]") {
    mw::store::testing::TestDatabase db;
    mw::store::migrate(db.connection());
    auto other = db.connect();

    CHECK_FALSE(claim_next(db.connection(), "worker-a", 1, t0_us));  // empty queue

    const auto late = enqueue(db.connection(), request_for("m", "late"), t0_us + minute_us).job_id;
    const auto early = enqueue(db.connection(), request_for("m", "early"), t0_us).job_id;

    const auto job = claim_next(db.connection(), "worker-a", 1, t0_us + 5 * minute_us);
    REQUIRE(job);
    CHECK(job->id == early);
    CHECK(job->state == JobState::running);
    CHECK(job->claimed_by == std::optional<std::string>("worker-a"));
    CHECK(job->started_at_us == std::optional<std::int64_t>(t0_us + 5 * minute_us));
    CHECK(job->created_at_us == t0_us);  // timestamps round-trip to the microsecond
    CHECK(job->champion_version == std::optional<std::string>("v1"));

    // One runs and the limit is 1: the other daemon gets nothing, then the late job once the first ended.
    CHECK_FALSE(claim_next(*other, "worker-b", 1, t0_us + 6 * minute_us));
    CHECK(claim_next(*other, "worker-b", 2, t0_us + 6 * minute_us)->id == late);
    CHECK_FALSE(claim_next(*other, "worker-b", 5, t0_us + 6 * minute_us));  // queue empty
}

TEST_CASE("two threads claiming from one queue never get the same job", "[retrain][queue]") {
    mw::store::testing::TestDatabase db;
    mw::store::migrate(db.connection());
    constexpr int jobs = 20;
    for (int i = 0; i < jobs; ++i) enqueue(db.connection(), request_for("m", "key-" + std::to_string(i)), t0_us + i);

    std::vector<std::int64_t> claimed[2];
    auto claimer = [&](int index) {
        auto connection = db.connect();
        for (int attempt = 0; attempt < 50; ++attempt) {
            const auto job = claim_next(*connection, "worker-" + std::to_string(index), 100, t0_us + minute_us);
            if (job) claimed[index].push_back(job->id);
        }
    };
    std::thread first(claimer, 0);
    std::thread second(claimer, 1);
    first.join();
    second.join();

    std::vector<std::int64_t> all = claimed[0];
    all.insert(all.end(), claimed[1].begin(), claimed[1].end());
    CHECK(all.size() == jobs);
    CHECK(std::set<std::int64_t>(all.begin(), all.end()).size() == jobs);
    CHECK(count(db.connection(), "SELECT count(*) FROM retrain_jobs WHERE state = 'running'") == jobs);
    // One queued -> running transition per job, by the worker that holds it.
    CHECK(count(db.connection(), "SELECT count(*) FROM retrain_transitions t JOIN retrain_jobs j ON j.id = t.job_id "
                                 "WHERE t.to_state = 'running' AND t.reason = 'claimed by ' || j.claimed_by") == jobs);
}

TEST_CASE("max_concurrent holds across threads claiming at once", "[retrain][queue]") {
    mw::store::testing::TestDatabase db;
    mw::store::migrate(db.connection());
    for (int i = 0; i < 20; ++i) enqueue(db.connection(), request_for("m", "key-" + std::to_string(i)), t0_us + i);

    std::atomic<int> claimed{0};
    auto claimer = [&](int index) {
        auto connection = db.connect();
        for (int attempt = 0; attempt < 50; ++attempt)
            if (claim_next(*connection, "worker-" + std::to_string(index), 3, t0_us + minute_us)) ++claimed;
    };
    // Four claimers rather than two, for more chances to race past the count.
    std::vector<std::thread> threads;
    for (int index = 0; index < 4; ++index) threads.emplace_back(claimer, index);
    for (auto& thread : threads) thread.join();
    CHECK(claimed == 3);
    CHECK(count(db.connection(), "SELECT count(*) FROM retrain_jobs WHERE state = 'running'") == 3);
}

TEST_CASE("transitions follow the state machine and each is stored with its reason", "[retrain][queue]") {
    mw::store::testing::TestDatabase db;
    mw::store::migrate(db.connection());
    const auto id = enqueue(db.connection(), request_for("elec2", "k"), t0_us).job_id;

    SECTION("illegal transitions are refused with what was wrong") {
        const auto skipped = transition(db.connection(), id, JobState::succeeded, "no", t0_us);
        CHECK_FALSE(skipped.ok);
        CHECK(skipped.error == "job " + std::to_string(id) + " cannot go from queued to succeeded "
                                                             "(from queued it can go to running)");
        REQUIRE(claim_next(db.connection(), "w", 1, t0_us));
        REQUIRE(transition(db.connection(), id, JobState::failed, "exit status 2", t0_us).ok);
        const auto promoted = transition(db.connection(), id, JobState::promoted, "no", t0_us);
        CHECK_FALSE(promoted.ok);
        CHECK(promoted.error == "job " + std::to_string(id) + " cannot go from failed to promoted (failed is final)");
        CHECK_FALSE(transition(db.connection(), id + 1000, JobState::running, "no", t0_us).ok);
        CHECK(transition(db.connection(), id + 1000, JobState::running, "no", t0_us).error ==
              "there is no retraining job " + std::to_string(id + 1000));
        // Refusals change nothing.
        CHECK(get_job(db.connection(), id)->job.state == JobState::failed);
        CHECK(get_job(db.connection(), id)->transitions.size() == 3);
    }

    SECTION("the whole life of a job, with its fields and timestamps") {
        REQUIRE(claim_next(db.connection(), "w", 1, t0_us + minute_us));
        TransitionFields trained;
        trained.challenger_version = "v2";
        trained.output = "epoch 10 loss 0.1";
        REQUIRE(transition(db.connection(), id, JobState::succeeded, "exit 0", t0_us + 2 * minute_us, trained).ok);
        TransitionFields validated;
        validated.report_json = R"({"auc": 0.91})";
        REQUIRE(transition(db.connection(), id, JobState::validated, "auc 0.91 >= 0.90", t0_us + 3 * minute_us,
                           validated).ok);
        const auto promoted = transition(db.connection(), id, JobState::promoted, "gate passed", t0_us + 4 * minute_us);
        REQUIRE(promoted.ok);
        CHECK(promoted.job.promoted_at_us == std::optional<std::int64_t>(t0_us + 4 * minute_us));
        REQUIRE(transition(db.connection(), id, JobState::rolled_back, "error rate up", t0_us + 5 * minute_us).ok);

        const auto detail = get_job(db.connection(), id);
        REQUIRE(detail);
        CHECK(detail->job.state == JobState::rolled_back);
        CHECK(detail->job.challenger_version == std::optional<std::string>("v2"));
        CHECK(detail->job.output == "epoch 10 loss 0.1");
        CHECK(detail->job.finished_at_us == std::optional<std::int64_t>(t0_us + 2 * minute_us));
        REQUIRE(detail->transitions.size() == 6);
        const std::vector<std::pair<std::string, std::string>> expected = {
            {"", "queued"},          {"queued", "running"},    {"running", "succeeded"},
            {"succeeded", "validated"}, {"validated", "promoted"}, {"promoted", "rolled_back"}};
        for (std::size_t i = 0; i < expected.size(); ++i) {
            const auto& step = detail->transitions[i];
            CHECK((step.from_state ? to_string(*step.from_state) : "") == expected[i].first);
            CHECK(to_string(step.to_state) == expected[i].second);
        }
        CHECK(detail->transitions[2].reason == "exit 0");
        CHECK(detail->transitions[3].reason == "auc 0.91 >= 0.90");
        CHECK(detail->transitions[5].reason == "error rate up");
        CHECK(detail->transitions[5].at_us == t0_us + 5 * minute_us);

        const auto json = to_json(*detail);
        CHECK(json["state"] == "rolled_back");
        CHECK(json["report"]["auc"] == 0.91);
        CHECK(json["context"]["rows"] == 10);
        CHECK(json["created_at"] == "2026-01-01T00:00:00.000000Z");
        CHECK(json["transitions"][0]["from"].is_null());
        CHECK(json["transitions"][5]["to"] == "rolled_back");
    }
}

TEST_CASE("fail_stale fails jobs left running, without running them again", "[retrain][queue]") {
    mw::store::testing::TestDatabase db;
    mw::store::migrate(db.connection());
    const auto old_job = enqueue(db.connection(), request_for("m", "a"), t0_us).job_id;
    const auto new_job = enqueue(db.connection(), request_for("m", "b"), t0_us).job_id;
    REQUIRE(claim_next(db.connection(), "dead-daemon", 5, t0_us)->id == old_job);
    REQUIRE(claim_next(db.connection(), "live-daemon", 5, t0_us + 30 * minute_us)->id == new_job);

    const auto failed = fail_stale(db.connection(), t0_us + 10 * minute_us, t0_us + 40 * minute_us);
    CHECK(failed == std::vector<std::int64_t>{old_job});
    const auto detail = get_job(db.connection(), old_job);
    CHECK(detail->job.state == JobState::failed);
    CHECK(detail->job.finished_at_us == std::optional<std::int64_t>(t0_us + 40 * minute_us));
    CHECK(detail->transitions.back().reason == "daemon died while running");
    CHECK(get_job(db.connection(), new_job)->job.state == JobState::running);
    CHECK_FALSE(claim_next(db.connection(), "w", 5, t0_us + 41 * minute_us));  // nothing queued again
}

TEST_CASE("fail_orphaned fails the jobs whose daemon stopped heartbeating, and only those", "[retrain][queue]") {
    using namespace std::chrono_literals;
    mw::store::testing::TestDatabase db;
    mw::store::migrate(db.connection());
    // "live" heartbeats; "frozen" did long ago (killed or paused); "gone" has no row at all.
    mw::store::heartbeat(db.connection(), "live", {}, 5s);
    mw::store::heartbeat(db.connection(), "frozen", {}, 5s);
    mw::store::testing::expire_leases_of(db.connection(), "frozen");
    std::map<std::string, std::int64_t> jobs;
    for (const std::string claimer : {"live", "frozen", "gone"}) {
        jobs[claimer] = enqueue(db.connection(), request_for("m", claimer), t0_us).job_id;
        REQUIRE(claim_next(db.connection(), claimer, 10, t0_us)->id == jobs[claimer]);
    }
    const auto elsewhere = enqueue(db.connection(), request_for("triggered", "x"), t0_us).job_id;
    REQUIRE(claim_next(db.connection(), "gone", 10, t0_us)->id == elsewhere);

    // Only models whose runner is a child of its daemon: "triggered" runs elsewhere.
    auto failed = fail_orphaned(db.connection(), {"m"}, 5s, std::nullopt, t0_us + minute_us);
    std::sort(failed.begin(), failed.end());
    CHECK(failed == std::vector<std::int64_t>{jobs["frozen"], jobs["gone"]});
    const auto detail = get_job(db.connection(), jobs["frozen"]);
    CHECK(detail->job.state == JobState::failed);
    CHECK(detail->transitions.back().reason == "its daemon frozen stopped heartbeating while it ran");
    CHECK(get_job(db.connection(), jobs["live"])->job.state == JobState::running);
    CHECK(get_job(db.connection(), elsewhere)->job.state == JobState::running);
    // The frozen runner wakes up: its job's end is refused, and nothing is queued again.
    CHECK_FALSE(transition(db.connection(), jobs["frozen"], JobState::succeeded, "exit 0", t0_us + 2 * minute_us).ok);
    CHECK_FALSE(claim_next(db.connection(), "live", 10, t0_us + 2 * minute_us));
    // A restarted "live" (the same name, its first loop) fails what ran under that name before.
    CHECK(fail_orphaned(db.connection(), {"m"}, 5s, std::string("live"), t0_us + 3 * minute_us) ==
          std::vector<std::int64_t>{jobs["live"]});
}

TEST_CASE("list_jobs returns a model's latest jobs first", "[retrain][queue]") {
    mw::store::testing::TestDatabase db;
    mw::store::migrate(db.connection());
    const auto a = enqueue(db.connection(), request_for("m", "a"), t0_us).job_id;
    const auto b = enqueue(db.connection(), request_for("m", "b"), t0_us + minute_us).job_id;
    enqueue(db.connection(), request_for("other", "c"), t0_us + 2 * minute_us);
    const auto jobs = list_jobs(db.connection(), "m", 10);
    REQUIRE(jobs.size() == 2);
    CHECK(jobs[0].id == b);
    CHECK(jobs[1].id == a);
    CHECK(list_jobs(db.connection(), "", 10).size() == 3);
    CHECK(list_jobs(db.connection(), "m", 1).size() == 1);
}
