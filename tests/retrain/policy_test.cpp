// The retraining policy: the pure decision core with a controlled clock, and
// the same rules through the database (process_findings, requests, breaker).
#include <catch2/catch.hpp>

#include <map>
#include <string>

#include <fmt/format.h>
#include <pqxx/pqxx>

#include "retrain/job_queue.h"
#include "retrain/policy.h"
#include "retrain/policy_store.h"
#include "store/migrations.h"
#include "tests/support/finding_rows.h"
#include "tests/support/test_clock.h"
#include "tests/support/test_database.h"

using namespace mw::retrain;
using mw::JobState;
using mw::testing::count;
using mw::testing::hour_us;
using mw::testing::minute_us;
using mw::testing::t0_us;

namespace {

mw::Finding finding(const std::string& kind, bool triggered, std::int64_t window_end_us,
                    const std::string& subject = "") {
    mw::Finding result;
    result.model = "elec2";
    result.kind = kind;
    result.subject = subject;
    result.method = "ks";
    result.triggered = triggered;
    result.window_start_us = window_end_us - 5 * minute_us;
    result.window_end_us = window_end_us;
    return result;
}

RetrainPolicyOptions drift_policy(std::int64_t hold_for_ms, int min_findings = 1) {
    RetrainPolicyOptions options;
    options.triggers.push_back({TriggerKind("dataset_drift"), hold_for_ms, min_findings});
    return options;
}

// observe() then evaluate(), as process_findings does.
Decision feed(const RetrainPolicyOptions& options, PolicyState& state, const mw::Finding& input, std::int64_t at_us) {
    observe(state, options, input);
    return evaluate(options, state, input, at_us);
}

}  // namespace

TEST_CASE("a trigger counts only once its condition held for hold_for", "[retrain][policy]") {
    const auto options = drift_policy(10 * 60 * 1000);
    PolicyState state;
    state.model = "elec2";

    SECTION("one noisy window does not queue; a sustained condition does") {
        auto decision = feed(options, state, finding("dataset_drift", true, t0_us), t0_us);
        CHECK(decision.verdict == Verdict::skip);
        CHECK(decision.reason == "hold: dataset_drift triggered for 0 s of 10 min");
        decision = feed(options, state, finding("dataset_drift", true, t0_us + 5 * minute_us), t0_us);
        CHECK(decision.reason == "hold: dataset_drift triggered for 5 min of 10 min");
        decision = feed(options, state, finding("dataset_drift", true, t0_us + 10 * minute_us), t0_us);
        CHECK(decision.verdict == Verdict::enqueue);
        CHECK(decision.dedup_key == "elec2:dataset_drift");
        CHECK(decision.trigger == TriggerKind("dataset_drift"));
    }
    SECTION("a clean finding in between starts the hold over") {
        feed(options, state, finding("dataset_drift", true, t0_us), t0_us);
        feed(options, state, finding("dataset_drift", true, t0_us + 5 * minute_us), t0_us);
        CHECK(feed(options, state, finding("dataset_drift", false, t0_us + 10 * minute_us), t0_us).verdict ==
              Verdict::ignore);
        const auto decision = feed(options, state, finding("dataset_drift", true, t0_us + 15 * minute_us), t0_us);
        CHECK(decision.reason == "hold: dataset_drift triggered for 0 s of 10 min");
    }
    SECTION("holds are kept per subject") {
        feed(options, state, finding("dataset_drift", true, t0_us, "a"), t0_us);
        feed(options, state, finding("dataset_drift", false, t0_us + 5 * minute_us, "b"), t0_us);
        CHECK(feed(options, state, finding("dataset_drift", true, t0_us + 10 * minute_us, "a"), t0_us).verdict ==
              Verdict::enqueue);
    }
    SECTION("kinds without a trigger are ignored") {
        CHECK(feed(options, state, finding("performance", true, t0_us), t0_us).verdict == Verdict::ignore);
        CHECK(feed(options, state, finding("manual", true, t0_us), t0_us).verdict == Verdict::ignore);
        CHECK(state.holds.empty());
    }
}

TEST_CASE("min_findings counts the triggered findings of the run", "[retrain][policy]") {
    const auto options = drift_policy(0, 2);
    PolicyState state;
    state.model = "elec2";
    CHECK(feed(options, state, finding("dataset_drift", true, t0_us), t0_us).reason ==
          "hold: dataset_drift triggered in 1 of the 2 findings it needs");
    CHECK(feed(options, state, finding("dataset_drift", true, t0_us + minute_us), t0_us).verdict == Verdict::enqueue);
}

TEST_CASE("cooldown, budget, breaker and duplicates stop a trigger that held", "[retrain][policy]") {
    const auto options = drift_policy(0);
    PolicyState state;
    state.model = "elec2";
    const auto drift = finding("dataset_drift", true, t0_us);
    const std::int64_t now_us = t0_us + 48 * hour_us;

    SECTION("cooldown after the last job ended") {
        state.last_finished_us = now_us - 12 * minute_us;
        auto decision = feed(options, state, drift, now_us);
        CHECK(decision.verdict == Verdict::skip);
        CHECK(decision.reason == "cooldown: last job ended 12 min ago, cooldown 60 min");
        CHECK(feed(options, state, drift, now_us + 48 * minute_us).verdict == Verdict::enqueue);
    }
    SECTION("daily budget over a rolling 24 h") {
        state.queued_at_us = {now_us - 23 * hour_us, now_us - 10 * hour_us, now_us - hour_us};
        CHECK(feed(options, state, drift, now_us).reason == "budget: 3 jobs in the last 24 h, budget 3");
        CHECK(feed(options, state, drift, now_us + hour_us + 1).verdict == Verdict::enqueue);
    }
    SECTION("an open breaker") {
        state.consecutive_failures = 3;
        CHECK(breaker_should_open(options, state));
        state.breaker_open = true;
        CHECK_FALSE(breaker_should_open(options, state));
        CHECK(feed(options, state, drift, now_us).reason == "breaker open after 3 consecutive failures");
        CHECK(evaluate_request(options, state, TriggerKind("manual"), now_us).reason ==
              "breaker open after 3 consecutive failures");
    }
    SECTION("a job with the same key is active") {
        state.active_jobs.push_back({17, "elec2:dataset_drift", "queued"});
        const auto decision = feed(options, state, drift, now_us);
        CHECK(decision.reason == "duplicate: job 17 with key elec2:dataset_drift is queued");
        CHECK(decision.existing_job == std::optional<std::int64_t>(17));
    }
    SECTION("another job of the model is active") {
        state.active_jobs.push_back({18, "elec2:performance", "running"});
        CHECK(feed(options, state, drift, now_us).reason == "busy: job 18 with key elec2:performance is running");
    }
    SECTION("a disabled policy") {
        auto disabled = options;
        disabled.enabled = false;
        CHECK(feed(disabled, state, drift, now_us).verdict == Verdict::skip);
    }
    SECTION("after a job is queued its trigger's hold starts over") {
        const auto held = drift_policy(10 * 60 * 1000);
        feed(held, state, finding("dataset_drift", true, t0_us), now_us);
        const auto decision = feed(held, state, finding("dataset_drift", true, t0_us + 10 * minute_us), now_us);
        REQUIRE(decision.verdict == Verdict::enqueue);
        record_enqueued(state, decision, "", 5, now_us);
        CHECK(state.holds.empty());
        CHECK(state.queued_at_us.size() == 1);
        CHECK(state.active_jobs.size() == 1);
    }
}

TEST_CASE("cooldown_windows counts the model's windows after the last job ended, not the clock",
          "[retrain][policy]") {
    auto options = drift_policy(0);
    options.cooldown_ms = 0;
    options.cooldown_windows = 2;
    PolicyState state;
    state.model = "elec2";
    state.reference_id = 4;
    const auto drift = finding("dataset_drift", true, t0_us);
    const std::int64_t now_us = t0_us + 48 * hour_us;
    auto window = [](std::int64_t sequence) { return FindingWindow{sequence, 4}; };

    SECTION("no job ended yet: nothing to count from") {
        CHECK(evaluate(options, state, drift, now_us, window(1)).verdict == Verdict::enqueue);
    }
    SECTION("the windows that close after the job ended count, however long ago it ended") {
        state.last_finished_us = now_us - 30 * 24 * hour_us;
        state.last_window_before_finish = 11;
        auto decision = evaluate(options, state, drift, now_us, window(11));
        CHECK(decision.verdict == Verdict::skip);
        CHECK(decision.reason == "cooldown: window 11 closed before the last job ended, cooldown 2 windows after it");
        // A late finding of an older window (its labels came after the job ended).
        CHECK(evaluate(options, state, drift, now_us, window(9)).verdict == Verdict::skip);
        decision = evaluate(options, state, drift, now_us, window(12));
        CHECK(decision.reason == "cooldown: window 12 is window 1 of the 2 after the last job ended");
        CHECK(evaluate(options, state, drift, now_us, window(13)).verdict == Verdict::enqueue);
    }
    SECTION("a job that ended a moment ago does not hold back a window that closed after it") {
        state.last_finished_us = now_us - 1;
        state.last_window_before_finish = 3;
        CHECK(evaluate(options, state, drift, now_us, window(5)).verdict == Verdict::enqueue);
    }
    SECTION("findings of no window and requests are held by cooldown_ms only") {
        state.last_finished_us = now_us - 1;
        state.last_window_before_finish = 3;
        CHECK(evaluate(options, state, drift, now_us).verdict == Verdict::enqueue);
        CHECK(evaluate_request(options, state, TriggerKind("manual"), now_us).verdict == Verdict::enqueue);
    }
    SECTION("the time cooldown still applies beside it") {
        options.cooldown_ms = 60 * 60 * 1000;
        state.last_finished_us = now_us - 12 * minute_us;
        state.last_window_before_finish = 3;
        CHECK(evaluate(options, state, drift, now_us, window(9)).reason ==
              "cooldown: last job ended 12 min ago, cooldown 60 min");
    }
    SECTION("a negative count is refused") {
        options.cooldown_windows = -1;
        CHECK(check_options(options) == "cooldown_windows must not be negative, not -1");
    }
}

TEST_CASE("a finding of a window judged against a replaced reference queues nothing", "[retrain][policy]") {
    const auto options = drift_policy(0);
    PolicyState state;
    state.model = "elec2";
    state.reference_id = 7;  // collected (or being collected) after a promotion
    const auto drift = finding("dataset_drift", true, t0_us);
    const auto decision = evaluate(options, state, drift, t0_us, FindingWindow{30, 6});
    CHECK(decision.verdict == Verdict::skip);
    CHECK(decision.reason == "superseded: window 30 was judged against reference 6, replaced by reference 7");
    CHECK(evaluate(options, state, drift, t0_us, FindingWindow{31, 7}).verdict == Verdict::enqueue);
    // Without a stored reference, or a finding of no window, nothing is superseded.
    state.reference_id.reset();
    CHECK(evaluate(options, state, drift, t0_us, FindingWindow{30, 6}).verdict == Verdict::enqueue);
}

TEST_CASE("manual and scheduled requests bypass the hold only", "[retrain][policy]") {
    const auto options = drift_policy(60 * 60 * 1000);
    PolicyState state;
    state.model = "elec2";
    const auto decision = evaluate_request(options, state, TriggerKind("manual"), t0_us);
    CHECK(decision.verdict == Verdict::enqueue);
    CHECK(decision.dedup_key == "elec2:manual");
    state.last_finished_us = t0_us - minute_us;
    CHECK(evaluate_request(options, state, TriggerKind("schedule"), t0_us).reason ==
          "cooldown: last job ended 1 min ago, cooldown 60 min");
}

TEST_CASE("dedup keys and durations read as documented", "[retrain][policy]") {
    RetrainPolicyOptions options;
    CHECK(dedup_key(options, "elec2", TriggerKind("concept_drift"), "x") == "elec2:concept_drift");
    options.dedup_key_template = "{model}/{trigger}/{subject}/{model}";
    CHECK(dedup_key(options, "m", TriggerKind("performance"), "auc") == "m/performance/auc/m");
    CHECK(format_duration_ms(45'000) == "45 s");
    CHECK(format_duration_ms(12 * 60'000 + 59'000) == "12 min");
    CHECK(format_duration_ms(4 * 3'600'000) == "4 h");
    CHECK(format_duration_ms(3 * 3'600'000 + 1'800'000) == "3.5 h");
    CHECK(parse_trigger_kind("multivariate_drift") == TriggerKind("multivariate_drift"));
    // Every finding kind can trigger (label_drift was refused once).
    for (const auto& kind : mw::finding_kinds()) CHECK(parse_trigger_kind(kind.name) == kind.name);
    CHECK_FALSE(parse_trigger_kind("nope"));
}

TEST_CASE("check_options names the option that is wrong", "[retrain][policy]") {
    RetrainPolicyOptions options = drift_policy(0);
    CHECK(check_options(options).empty());
    options.triggers.push_back({TriggerKind("performance"), 0, 0});
    CHECK(check_options(options) == "triggers[1].min_findings must be at least 1, not 0");
    options.triggers[1] = {TriggerKind("dataset_drift"), 0, 1};
    CHECK(check_options(options) == "triggers[1] repeats the kind dataset_drift of triggers[0]");
    options.triggers.pop_back();
    options.breaker_failures = 0;
    CHECK(check_options(options) == "breaker_failures must be at least 1, not 0");
}

// ---- through the database ----

namespace {

// A finding of a five-minute window ending at window_end_us.
std::int64_t insert_finding(pqxx::connection& connection, const std::string& kind, bool triggered,
                            std::int64_t window_end_us, const std::string& model = "elec2") {
    mw::testing::FindingRow row;
    row.model = model;
    row.kind = kind;
    row.statistic = 0.3;
    row.threshold = 0.1;
    row.p_value.reset();
    row.triggered = triggered;
    row.window_start_us = window_end_us - 5 * minute_us;
    row.window_end_us = window_end_us;
    return mw::testing::insert_finding(connection, row);
}

// Model elec2's policy as process_findings reads it: `limits` (cooldown,
// budget, ...) with one dataset_drift trigger that needs no hold.
std::map<std::string, RetrainPolicyOptions> elec2_policy(RetrainPolicyOptions limits) {
    limits.triggers = drift_policy(0).triggers;
    return {{"elec2", std::move(limits)}};
}

std::string latest_decision(pqxx::connection& connection) {
    pqxx::read_transaction transaction(connection);
    return transaction.exec1("SELECT kind || ': ' || reason FROM decisions ORDER BY id DESC LIMIT 1")[0]
        .as<std::string>();
}

// Runs a job to a failure, as a runner would.
void fail_job(pqxx::connection& connection, std::int64_t job_id, std::int64_t at_us) {
    REQUIRE(claim_next(connection, "w", 5, at_us)->id == job_id);
    REQUIRE(transition(connection, job_id, JobState::failed, "exit 1", at_us).ok);
}

}  // namespace

TEST_CASE("process_findings applies the hold across calls and considers each finding once", "[retrain][policy][db]") {
    mw::store::testing::TestDatabase db;
    mw::store::migrate(db.connection());
    const std::map<std::string, RetrainPolicyOptions> options{{"elec2", drift_policy(10 * 60 * 1000)}};

    insert_finding(db.connection(), "dataset_drift", true, t0_us);
    auto result = process_findings(db.connection(), options, t0_us);
    CHECK(result.findings == 1);
    CHECK(result.skipped == 1);
    CHECK(latest_decision(db.connection()) == "retrain_skipped: hold: dataset_drift triggered for 0 s of 10 min");
    // Another model's findings and clean findings are passed over.
    insert_finding(db.connection(), "dataset_drift", true, t0_us, "unconfigured");
    insert_finding(db.connection(), "dataset_drift", true, t0_us + 5 * minute_us);
    result = process_findings(db.connection(), options, t0_us + 5 * minute_us);
    CHECK(result.findings == 2);
    CHECK(latest_decision(db.connection()) == "retrain_skipped: hold: dataset_drift triggered for 5 min of 10 min");

    const auto third = insert_finding(db.connection(), "dataset_drift", true, t0_us + 10 * minute_us);
    result = process_findings(db.connection(), options, t0_us + 10 * minute_us);
    CHECK(result.queued == 1);
    CHECK(result.cursor == third);
    const auto jobs = list_jobs(db.connection(), "elec2", 10);
    REQUIRE(jobs.size() == 1);
    CHECK(jobs[0].finding_id == std::optional<std::int64_t>(third));
    CHECK(jobs[0].trigger == "dataset_drift");
    CHECK(jobs[0].reason == "dataset_drift triggered for 10 min over 3 findings");
    CHECK(latest_decision(db.connection()) == "retrain_queued: dataset_drift triggered for 10 min over 3 findings");

    // Nothing new: nothing happens, and the finding that queued the job is not seen again.
    result = process_findings(db.connection(), options, t0_us + 11 * minute_us);
    CHECK(result.findings == 0);
    CHECK(count(db.connection(), "SELECT count(*) FROM retrain_jobs") == 1);
    CHECK(count(db.connection(), "SELECT last_finding_id FROM finding_cursors WHERE consumer = 'retrain_policy'") ==
          third);

    // Queuing the job started the hold over.
    insert_finding(db.connection(), "dataset_drift", true, t0_us + 15 * minute_us);
    process_findings(db.connection(), options, t0_us + 15 * minute_us);
    CHECK(latest_decision(db.connection()) == "retrain_skipped: hold: dataset_drift triggered for 0 s of 10 min");
}

TEST_CASE("a noisy trigger that keeps clearing never queues", "[retrain][policy][db]") {
    mw::store::testing::TestDatabase db;
    mw::store::migrate(db.connection());
    const std::map<std::string, RetrainPolicyOptions> options{{"elec2", drift_policy(10 * 60 * 1000)}};
    for (int i = 0; i < 6; ++i) {
        insert_finding(db.connection(), "dataset_drift", i % 2 == 0, t0_us + i * 5 * minute_us);
        process_findings(db.connection(), options, t0_us + i * 5 * minute_us);
    }
    CHECK(count(db.connection(), "SELECT count(*) FROM retrain_jobs") == 0);
    CHECK(count(db.connection(), "SELECT count(*) FROM decisions WHERE kind = 'retrain_skipped'") == 3);
}

TEST_CASE("cooldown and budget are rebuilt from the stored jobs", "[retrain][policy][db]") {
    mw::store::testing::TestDatabase db;
    mw::store::migrate(db.connection());
    const auto options = elec2_policy({.daily_budget = 2});

    insert_finding(db.connection(), "dataset_drift", true, t0_us);
    REQUIRE(process_findings(db.connection(), options, t0_us).queued == 1);
    const auto first = list_jobs(db.connection(), "elec2", 1)[0].id;
    insert_finding(db.connection(), "dataset_drift", true, t0_us + minute_us);
    CHECK(process_findings(db.connection(), options, t0_us + minute_us).duplicates == 1);
    CHECK(latest_decision(db.connection()) ==
          "retrain_skipped: duplicate: job " + std::to_string(first) + " with key elec2:dataset_drift is queued");
    REQUIRE(claim_next(db.connection(), "w", 1, t0_us + minute_us));
    REQUIRE(transition(db.connection(), first, JobState::succeeded, "exit 0", t0_us + 2 * minute_us).ok);

    insert_finding(db.connection(), "dataset_drift", true, t0_us + 14 * minute_us);
    process_findings(db.connection(), options, t0_us + 14 * minute_us);
    CHECK(latest_decision(db.connection()) == "retrain_skipped: cooldown: last job ended 12 min ago, cooldown 60 min");

    insert_finding(db.connection(), "dataset_drift", true, t0_us + 63 * minute_us);
    REQUIRE(process_findings(db.connection(), options, t0_us + 63 * minute_us).queued == 1);
    const auto second = list_jobs(db.connection(), "elec2", 1)[0].id;
    REQUIRE(claim_next(db.connection(), "w", 1, t0_us + 64 * minute_us));
    REQUIRE(transition(db.connection(), second, JobState::succeeded, "exit 0", t0_us + 65 * minute_us).ok);

    insert_finding(db.connection(), "dataset_drift", true, t0_us + 3 * hour_us);
    process_findings(db.connection(), options, t0_us + 3 * hour_us);
    CHECK(latest_decision(db.connection()) == "retrain_skipped: budget: 2 jobs in the last 24 h, budget 2");

    // 24 h after the first job was queued, one slot is free again.
    insert_finding(db.connection(), "dataset_drift", true, t0_us + 24 * hour_us + minute_us);
    CHECK(process_findings(db.connection(), options, t0_us + 24 * hour_us + minute_us).queued == 1);
}

TEST_CASE("the breaker opens after consecutive failures, pages, survives a restart and resets",
          "[retrain][policy][db]") {
    mw::store::testing::TestDatabase db;
    mw::store::migrate(db.connection());
    const auto options = elec2_policy({.cooldown_ms = 0, .daily_budget = 100});
    const auto& policy = options.at("elec2");

    // A success, then three failures in a row (a rejection counts).
    std::int64_t now_us = t0_us;
    for (const auto end : {JobState::succeeded, JobState::failed, JobState::timed_out, JobState::failed}) {
        const auto id = enqueue(db.connection(), {"elec2", "k", "manual", "test", {}, {}, "{}"}, now_us).job_id;
        REQUIRE(claim_next(db.connection(), "w", 1, now_us)->id == id);
        REQUIRE(transition(db.connection(), id, end, "test", now_us += minute_us).ok);
    }
    CHECK(load_policy_state(db.connection(), "elec2", now_us).consecutive_failures == 3);

    auto result = process_findings(db.connection(), options, now_us += minute_us);
    CHECK(result.breakers_opened == 1);
    {
        pqxx::read_transaction transaction(db.connection());
        const auto page = transaction.exec1(
            "SELECT severity, triggered, statistic, threshold FROM findings WHERE kind = 'retrain_breaker'");
        CHECK(page[0].as<std::string>() == "critical");
        CHECK(page[1].as<bool>());
        CHECK(page[2].as<double>() == 3);
        CHECK(page[3].as<double>() == 3);
    }
    CHECK(count(db.connection(), "SELECT count(*) FROM decisions WHERE kind = 'breaker_opened'") == 1);

    // Opens once; the breaker finding itself is passed over; triggers are refused.
    insert_finding(db.connection(), "dataset_drift", true, now_us);
    result = process_findings(db.connection(), options, now_us += minute_us);
    CHECK(result.breakers_opened == 0);
    CHECK(result.queued == 0);
    CHECK(latest_decision(db.connection()) == "retrain_skipped: breaker open after 3 consecutive failures");
    const auto manual = request_manual(db.connection(), policy, "elec2", "operator asked", now_us);
    CHECK(manual.decision.verdict == Verdict::skip);
    CHECK_FALSE(manual.job_id);

    // A restart: a new connection rebuilds the state from the database.
    {
        auto restarted = db.connect();
        const auto state = load_policy_state(*restarted, "elec2", now_us);
        CHECK(state.breaker_open);
        CHECK(state.consecutive_failures == 3);
    }

    CHECK(reset_breaker(db.connection(), "elec2", "fixed the trainer", now_us += minute_us));
    const auto state = load_policy_state(db.connection(), "elec2", now_us);
    CHECK_FALSE(state.breaker_open);
    CHECK(state.consecutive_failures == 0);
    CHECK(count(db.connection(),
                "SELECT count(*) FROM findings WHERE kind = 'retrain_breaker' AND NOT triggered") == 1);
    insert_finding(db.connection(), "dataset_drift", true, now_us);
    CHECK(process_findings(db.connection(), options, now_us += minute_us).queued == 1);
}

TEST_CASE("a rejected job counts as a failure for the breaker", "[retrain][policy][db]") {
    mw::store::testing::TestDatabase db;
    mw::store::migrate(db.connection());
    std::int64_t now_us = t0_us;
    for (int i = 0; i < 2; ++i) {
        const auto id = enqueue(db.connection(), {"elec2", "k", "manual", "test", {}, {}, "{}"}, now_us).job_id;
        fail_job(db.connection(), id, now_us += minute_us);
    }
    const auto id = enqueue(db.connection(), {"elec2", "k", "manual", "test", {}, {}, "{}"}, now_us).job_id;
    REQUIRE(claim_next(db.connection(), "w", 1, now_us)->id == id);
    REQUIRE(transition(db.connection(), id, JobState::succeeded, "exit 0", now_us += minute_us).ok);
    CHECK(load_policy_state(db.connection(), "elec2", now_us).consecutive_failures == 0);
    REQUIRE(transition(db.connection(), id, JobState::rejected, "auc below champion", now_us += minute_us).ok);
    CHECK(load_policy_state(db.connection(), "elec2", now_us).consecutive_failures == 3);
}

TEST_CASE("a manual request bypasses the hold and is deduplicated", "[retrain][policy][db]") {
    mw::store::testing::TestDatabase db;
    mw::store::migrate(db.connection());
    const auto policy = drift_policy(60 * 60 * 1000);

    const auto first = request_manual(db.connection(), policy, "elec2", "new labels arrived", t0_us);
    CHECK(first.decision.verdict == Verdict::enqueue);
    REQUIRE(first.job_id);
    const auto job = get_job(db.connection(), *first.job_id);
    CHECK(job->job.trigger == "manual");
    CHECK(job->job.dedup_key == "elec2:manual");
    CHECK(job->job.reason == "manual request: new labels arrived");

    const auto second = request_manual(db.connection(), policy, "elec2", "again", t0_us + minute_us);
    CHECK(second.decision.verdict == Verdict::skip);
    CHECK(second.job_id == first.job_id);
    CHECK(latest_decision(db.connection()) == "retrain_skipped: manual request refused: duplicate: job " +
                                                  std::to_string(*first.job_id) + " with key elec2:manual is queued");
    CHECK(count(db.connection(), "SELECT count(*) FROM retrain_jobs") == 1);
}

namespace {

// A reference of model elec2 as the monitor stores it; `active` or retired.
std::int64_t insert_policy_test_reference(pqxx::connection& connection, bool active) {
    pqxx::work transaction(connection);
    const auto id = transaction
                        .exec_params1("INSERT INTO model_references (model, source, rows, sample, retired_at) "
                                      "VALUES ('elec2', 'first_n', 500, '{}'::jsonb, CASE WHEN $1 THEN NULL "
                                      "ELSE now() END) RETURNING id",
                                      active)[0]
                        .as<std::int64_t>();
    transaction.commit();
    return id;
}

// Window `sequence` of elec2, closed at closed_us against `reference`, with
// one triggered dataset_drift finding of it; returns the finding's id.
std::int64_t insert_window_with_finding(pqxx::connection& connection, std::int64_t reference, std::int64_t sequence,
                                   std::int64_t closed_us) {
    pqxx::work transaction(connection);
    const auto window =
        transaction
            .exec_params1("INSERT INTO monitor_windows (model, reference_id, sequence, first_ts, first_id, last_ts, "
                          "last_id, rows, closed_at) VALUES ('elec2', $1, $2, 'epoch'::timestamptz + $3 * interval "
                          "'1 microsecond', 'a', 'epoch'::timestamptz + $3 * interval '1 microsecond', 'b', 500, "
                          "'epoch'::timestamptz + $3 * interval '1 microsecond') RETURNING id",
                          reference, sequence, closed_us)[0]
            .as<std::int64_t>();
    mw::testing::FindingRow row;
    row.window_start_us = closed_us - minute_us;
    row.window_end_us = closed_us;
    const auto finding = mw::testing::insert_finding(transaction, row);
    transaction.exec_params0("UPDATE findings SET window_id = $1 WHERE id = $2", window, finding);
    transaction.commit();
    return finding;
}

}  // namespace

TEST_CASE("process_findings counts cooldown_windows from the stored windows and skips superseded findings",
          "[retrain][policy][db]") {
    mw::store::testing::TestDatabase db;
    mw::store::migrate(db.connection());
    const auto options = elec2_policy({.cooldown_ms = 0, .cooldown_windows = 2});
    const auto first_reference = insert_policy_test_reference(db.connection(), true);

    insert_window_with_finding(db.connection(), first_reference, 1, t0_us);
    REQUIRE(process_findings(db.connection(), options, t0_us).queued == 1);
    const auto job = list_jobs(db.connection(), "elec2", 1)[0].id;
    // Window 2 closes while the job runs; the job ends after it.
    insert_window_with_finding(db.connection(), first_reference, 2, t0_us + minute_us);
    CHECK(process_findings(db.connection(), options, t0_us + minute_us).duplicates == 1);
    fail_job(db.connection(), job, t0_us + 2 * minute_us);

    // Hours later by the clock, but one window later by the data.
    insert_window_with_finding(db.connection(), first_reference, 3, t0_us + 5 * hour_us);
    CHECK(process_findings(db.connection(), options, t0_us + 5 * hour_us).queued == 0);
    CHECK(latest_decision(db.connection()) ==
          "retrain_skipped: cooldown: window 3 is window 1 of the 2 after the last job ended");
    insert_window_with_finding(db.connection(), first_reference, 4, t0_us + 5 * hour_us + minute_us);
    CHECK(process_findings(db.connection(), options, t0_us + 5 * hour_us + minute_us).queued == 1);

    // A new reference (a promotion's reset): findings of windows judged
    // against the old one no longer queue anything.
    const auto second = list_jobs(db.connection(), "elec2", 1)[0].id;
    fail_job(db.connection(), second, t0_us + 5 * hour_us + 2 * minute_us);
    {
        pqxx::work transaction(db.connection());
        transaction.exec0("UPDATE model_references SET retired_at = now()");
        transaction.commit();
    }
    const auto new_reference = insert_policy_test_reference(db.connection(), true);
    insert_window_with_finding(db.connection(), first_reference, 7, t0_us + 9 * hour_us);
    CHECK(process_findings(db.connection(), options, t0_us + 9 * hour_us).queued == 0);
    CHECK(latest_decision(db.connection()) ==
          fmt::format("retrain_skipped: superseded: window 7 was judged against reference {}, replaced by "
                      "reference {}",
                      first_reference, new_reference));
    insert_window_with_finding(db.connection(), new_reference, 8, t0_us + 9 * hour_us + minute_us);
    CHECK(process_findings(db.connection(), options, t0_us + 9 * hour_us + minute_us).queued == 1);
}
