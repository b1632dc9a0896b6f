// The lockstep wait (examples/elec2/lockstep.h) on scripted progress answers
// and a clock the test moves: it proceeds once a whole monitor pass found
// nothing to do, and a daemon that never settles fails it after the bound
// with what it was still waiting for.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "examples/elec2/lockstep.h"

using namespace mw::elec2;
using namespace std::chrono_literals;

namespace {

// A daemon at rest: lease held, spool drained, nothing pending.
DaemonProgress lockstep_rest(std::uint64_t passes_ended) {
    DaemonProgress progress;
    progress.owned = true;
    progress.monitor_passes_ended = passes_ended;
    progress.monitor_next_pass = passes_ended + 2;  // one pass is running as the answer is taken
    progress.windows = 7;
    progress.windows_judged = 6;
    progress.last_finding_id = 30;
    progress.last_reference_id = 2;
    progress.last_job_transition_id = 11;
    return progress;
}

// Answers from `script` in order (the last one repeated), on a clock that
// only the waits move.
struct ScriptedDaemon {
    std::vector<ProgressReading> script;
    std::size_t next = 0;
    std::chrono::steady_clock::time_point clock{};

    LockstepHooks hooks() {
        LockstepHooks hooks;
        hooks.fetch = [this] { return script[std::min(next++, script.size() - 1)]; };
        hooks.now = [this] { return clock; };
        hooks.sleep = [this](std::chrono::milliseconds duration) { clock += duration; };
        return hooks;
    }
};

ProgressReading lockstep_answer(DaemonProgress progress) { return {{std::move(progress), {}}}; }

// No answer: `error` says why; `final` when asking again cannot help.
ProgressReading lockstep_unanswered(std::string error, bool final = false) {
    return {Result<DaemonProgress>::failure(std::move(error)), final};
}

}  // namespace

TEST_CASE("lockstep: the daemon's progress answer is parsed, and a missing field is named") {
    const auto parsed = parse_progress(R"({"model": "elec2", "owned": true, "spool_undrained_batches": 0,
        "monitor": {"passes_ended": 40, "next_pass": 42, "last_error": "boom"}, "windows": 9, "windows_judged": 8,
        "last_finding_id": 77, "last_reference_id": 3, "reference_pending": false, "last_job_transition_id": 12,
        "jobs_unfinished": 1, "findings_unrouted": 2, "findings_unseen_by_retraining": 4})");
    REQUIRE(parsed.ok());
    CHECK(parsed.value.owned);
    CHECK(parsed.value.monitor_passes_ended == 40);
    CHECK(parsed.value.monitor_next_pass == 42);
    CHECK(parsed.value.monitor_error == "boom");
    CHECK(parsed.value.windows == 9);
    CHECK(parsed.value.windows_judged == 8);
    CHECK(parsed.value.last_finding_id == 77);
    CHECK(parsed.value.last_reference_id == 3);
    CHECK(parsed.value.last_job_transition_id == 12);
    CHECK(parsed.value.jobs_unfinished == 1);
    CHECK(parsed.value.findings_unrouted == 2);
    CHECK(parsed.value.findings_unseen_by_retraining == 4);

    CHECK(parse_progress("[]").error == "the daemon's progress answer is not a JSON object");
    CHECK(parse_progress(R"({"owned": true, "spool_undrained_batches": 0, "monitor": {"passes_ended": 1}})").error ==
          "the daemon's progress answer has no valid \"monitor.next_pass\"");
    CHECK(parse_progress(R"({"owned": "yes"})").error == "the daemon's progress answer has no valid \"owned\"");
}

TEST_CASE("lockstep: settled needs a whole monitor pass that changed nothing, and nothing pending") {
    const auto before = lockstep_rest(40);
    auto after = lockstep_rest(42);
    CHECK(unsettled_reason(before, after).empty());

    after.monitor_passes_ended = 41;  // the pass begun after `before` has not ended
    CHECK(unsettled_reason(before, after) == "the end of monitor pass 42 (passes ended: 41)");

    after = lockstep_rest(42);
    after.windows = 8;
    after.last_finding_id = 31;
    CHECK(unsettled_reason(before, after) ==
          "a pass with nothing left to do (since the last answer: windows 7 -> 8, last finding 30 -> 31)");

    after = lockstep_rest(42);
    after.jobs_unfinished = 1;
    after.findings_unrouted = 2;
    CHECK(unsettled_reason(before, after) ==
          "1 retraining jobs to finish; 2 findings to be routed by the alert router");

    auto undrained = before;
    undrained.spool_undrained_batches = 3;
    CHECK(unsettled_reason(undrained, lockstep_rest(42)) == "3 acknowledged batches to be stored");
    auto unowned = lockstep_rest(42);
    unowned.owned = false;
    CHECK(unsettled_reason(before, unowned) == "the model's lease (this daemon does not own it)");
}

TEST_CASE("lockstep: the wait goes on through the daemon's work and proceeds once it is done") {
    ScriptedDaemon daemon;
    auto busy = lockstep_rest(42);
    busy.windows = 8;  // the pass after the first answer closed a window ...
    busy.last_finding_id = 31;
    auto job = lockstep_rest(44);
    job.windows = 8;
    job.last_finding_id = 31;
    job.jobs_unfinished = 1;  // ... whose finding queued a job
    job.last_job_transition_id = 12;
    auto done = lockstep_rest(46);
    done.windows = 8;
    done.last_finding_id = 31;
    done.last_job_transition_id = 14;
    auto quiet = done;
    quiet.monitor_passes_ended = 48;
    quiet.monitor_next_pass = 50;
    daemon.script = {lockstep_answer(lockstep_rest(40)), lockstep_answer(lockstep_rest(41)), lockstep_answer(busy),
                     lockstep_answer(job), lockstep_answer(done), lockstep_answer(quiet), lockstep_answer(quiet)};
    LockstepOptions options;
    options.poll = 25ms;
    const auto waited = wait_until_settled(daemon.hooks(), options);
    REQUIRE(waited.ok());
    CHECK(waited.value.answers == 6);  // the last answer is the first that shows it settled
    CHECK(waited.value.waited == 125ms);
}

TEST_CASE("lockstep: a daemon that never settles fails the wait after the bound, saying what it waited for") {
    ScriptedDaemon daemon;
    std::vector<ProgressReading> script;
    for (std::uint64_t passes = 40; passes < 400; passes += 2) {
        auto stuck = lockstep_rest(passes);
        stuck.jobs_unfinished = 1;  // a job that never ends
        script.push_back(lockstep_answer(stuck));
    }
    daemon.script = script;
    LockstepOptions options;
    options.timeout = 2s;
    options.poll = 25ms;
    const auto waited = wait_until_settled(daemon.hooks(), options);
    REQUIRE_FALSE(waited.ok());
    CHECK(waited.error ==
          "modelwatchd has not judged what was sent within 2 s (81 answers read); still waiting for: "
          "1 retraining jobs to finish");
    CHECK(daemon.clock.time_since_epoch() <= 2s);  // bounded: never past the deadline

    // A daemon that stopped answering: the last error is in the message.
    ScriptedDaemon gone;
    gone.script = {lockstep_unanswered("GET /v1/models/elec2/progress: connect 127.0.0.1:9: refused")};
    const auto unanswered = wait_until_settled(gone.hooks(), options);
    REQUIRE_FALSE(unanswered.ok());
    CHECK_THAT(unanswered.error,
               Catch::EndsWith("still waiting for: an answer (the last attempt: GET /v1/models/elec2/progress: "
                               "connect 127.0.0.1:9: refused)"));
}

TEST_CASE("lockstep: a daemon restarted during the wait is waited for from its new count, not until the bound") {
    // The old process answered at pass 500; the new one counts from 0. The
    // records acknowledged before the restart are in its spool or stored,
    // so its own settled answers are what the wait needs.
    ScriptedDaemon daemon;
    auto restarted = lockstep_rest(2);
    auto restarted_quiet = lockstep_rest(4);
    daemon.script = {lockstep_answer(lockstep_rest(500)),
                     lockstep_unanswered("GET /v1/models/elec2/progress: connect 127.0.0.1:9: refused"),
                     lockstep_answer(restarted), lockstep_answer(restarted_quiet)};
    LockstepOptions options;
    options.timeout = 120s;
    options.poll = 25ms;
    const auto waited = wait_until_settled(daemon.hooks(), options);
    REQUIRE(waited.ok());
    CHECK(waited.value.restarts == 1);
    CHECK(waited.value.answers == 4);
    CHECK(waited.value.waited == 75ms);

    // Still bounded, and saying so, when the new process never settles.
    ScriptedDaemon stuck;
    auto busy = lockstep_rest(3);
    busy.jobs_unfinished = 1;
    stuck.script = {lockstep_answer(lockstep_rest(500)), lockstep_answer(lockstep_rest(1))};
    for (std::uint64_t passes = 3; passes < 200; passes += 2) {
        busy.monitor_passes_ended = passes;
        busy.monitor_next_pass = passes + 2;
        stuck.script.push_back(lockstep_answer(busy));
    }
    options.timeout = 2s;
    const auto unsettled = wait_until_settled(stuck.hooks(), options);
    REQUIRE_FALSE(unsettled.ok());
    CHECK_THAT(unsettled.error, Catch::EndsWith("still waiting for: 1 retraining jobs to finish"));
    CHECK(stuck.clock.time_since_epoch() <= 2s);
}

TEST_CASE("lockstep: a progress request the daemon refuses fails the wait at once, with the daemon's message") {
    // A model's ingest token on the admin route: 403, whatever the wait's bound.
    const std::string refusal = "GET /v1/models/elec2/progress -> 403: the bearer token is a model's ingest token: "
                                "/v1/models/{model}/progress needs an admin token (server.tokens)";
    ScriptedDaemon daemon;
    daemon.script = {lockstep_unanswered(refusal, true), lockstep_answer(lockstep_rest(40))};
    LockstepOptions options;
    options.timeout = 120s;
    options.poll = 25ms;
    const auto waited = wait_until_settled(daemon.hooks(), options);
    REQUIRE_FALSE(waited.ok());
    CHECK(waited.error == "modelwatchd refused the progress request, so there is nothing to wait for: " + refusal);
    CHECK(daemon.next == 1);  // asked once
    CHECK(daemon.clock.time_since_epoch() == 0s);  // no wait at all

    // Also after answers: a reload that removed the model (404) ends the wait there.
    ScriptedDaemon reloaded;
    reloaded.script = {lockstep_answer(lockstep_rest(40)),
                       lockstep_unanswered("GET /v1/models/elec2/progress -> 404: unknown model 'elec2'", true)};
    const auto removed = wait_until_settled(reloaded.hooks(), options);
    REQUIRE_FALSE(removed.ok());
    CHECK_THAT(removed.error, Catch::EndsWith("404: unknown model 'elec2'"));
    CHECK(reloaded.clock.time_since_epoch() == 25ms);
}
