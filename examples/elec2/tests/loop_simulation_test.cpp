// The in-process simulation of the quick start's loop: reproducible, and
// following the policy it shares with the daemon (busy, superseded,
// cooldown_windows) on the first rows of Elec2.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <string>

#include <fmt/format.h>

#include "examples/elec2/elec2_data.h"
#include "examples/elec2/loop_simulation.h"
#include "examples/elec2/stream_server.h"

using namespace mw::elec2;

namespace {

const std::vector<LabelledRow>& simulation_rows() {
    static const auto rows = load_elec2_stream(std::string(MODELWATCH_SOURCE_DIR) + "/data/elec2/elec2.csv.gz");
    REQUIRE(rows.ok());
    return rows.value;
}

LoopSimulationOptions simulation_on_first_rows(double min_accuracy, int cooldown_windows) {
    LoopSimulationOptions options;
    options.limit_rows = 12000;
    options.min_accuracy = min_accuracy;
    options.cooldown_windows = cooldown_windows;
    return options;
}

}  // namespace

TEST_CASE("the simulated loop is reproducible, and never retrains when no window falls below its bar") {
    const auto once = simulate_loop(simulation_rows(), simulation_on_first_rows(0.72, 1));
    const auto again = simulate_loop(simulation_rows(), simulation_on_first_rows(0.72, 1));
    REQUIRE(once.ok());
    REQUIRE(again.ok());
    CHECK(once.value.served_accuracy == again.value.served_accuracy);
    CHECK(once.value.decisions == again.value.decisions);
    CHECK_FALSE(once.value.jobs.empty());

    const auto never = simulate_loop(simulation_rows(), simulation_on_first_rows(0.0, 0));
    REQUIRE(never.ok());
    CHECK(never.value.jobs.empty());
    ServerOptions fixed;
    fixed.data_path = std::string(MODELWATCH_SOURCE_DIR) + "/data/elec2/elec2.csv.gz";
    fixed.dry_run = true;
    fixed.limit_rows = 12000;
    const auto untouched = run_stream(fixed);
    REQUIRE(untouched.ok());
    CHECK(never.value.rows == untouched.value.rows);
    CHECK(never.value.served_accuracy == untouched.value.static_accuracy);
}

TEST_CASE("simulated jobs follow the policy: one at a time, none for the replaced model's windows, "
          "cooldown in windows") {
    // Every window below an accuracy of 1: every finding is a trigger.
    const auto busy = simulate_loop(simulation_rows(), simulation_on_first_rows(1.0, 0));
    REQUIRE(busy.ok());
    const auto& jobs = busy.value.jobs;
    REQUIRE(jobs.size() >= 3);
    bool superseded = false;
    for (std::size_t j = 1; j < jobs.size(); ++j) {
        // One job at a time: the next is queued once the previous ended.
        CHECK(jobs[j].queued_at_row >= jobs[j - 1].queued_at_row + LoopSimulationOptions{}.latency_rows);
        // After a promotion, only the new model's windows trigger.
        if (jobs[j - 1].promoted) CHECK(jobs[j].window_first_row >= jobs[j - 1].served_from_row);
    }
    for (const auto& decision : busy.value.decisions) superseded |= decision.find("superseded") != std::string::npos;
    CHECK(superseded);

    // A cooldown of 3 windows: fewer jobs, each 3 windows after the last
    // window closed when the previous one ended (4 windows of 500 rows).
    const auto spaced = simulate_loop(simulation_rows(), simulation_on_first_rows(1.0, 3));
    REQUIRE(spaced.ok());
    CHECK(spaced.value.jobs.size() < jobs.size());
    for (std::size_t j = 1; j < spaced.value.jobs.size(); ++j)
        CHECK(spaced.value.jobs[j].window >= spaced.value.jobs[j - 1].window + 3);
}

TEST_CASE("a max_drop alone holds each served model to the accuracy on its own reference") {
    auto options = simulation_on_first_rows(0.0, 0);
    options.min_accuracy.reset();
    CHECK(simulate_loop(simulation_rows(), options).error == "the accuracy threshold needs a minimum, a max_drop or both");

    // A drop of 0: any window below its reference's accuracy is a trigger,
    // and the bound moves with each promoted model's reference.
    options.max_drop = 0.0;
    const auto eager = simulate_loop(simulation_rows(), options);
    REQUIRE(eager.ok());
    REQUIRE(eager.value.jobs.size() >= 2);
    bool promoted = false;
    for (const auto& job : eager.value.jobs) promoted |= job.promoted;
    REQUIRE(promoted);
    std::set<std::string> bounds;
    for (const auto& decision : eager.value.decisions) {
        const auto at = decision.find(" below ");
        REQUIRE(at != std::string::npos);
        bounds.insert(decision.substr(at + 7, 6));
    }
    CHECK(bounds.size() >= 2);

    // A drop of 99%: no window of Elec2 falls that far, so the loop is the
    // model never retrained.
    options.max_drop = 0.99;
    const auto never = simulate_loop(simulation_rows(), options);
    REQUIRE(never.ok());
    CHECK(never.value.jobs.empty());
    CHECK(never.value.decisions.empty());
}

TEST_CASE("re-basing on rejection holds the served model to the champion's figure its rejecting gate compared with") {
    // As the daemon's retrain.rebase_on_rejection: a drop of 0, so a
    // decision's bound is the reference accuracy itself.
    auto options = simulation_on_first_rows(0.0, 0);
    options.min_accuracy.reset();
    options.max_drop = 0.0;
    const auto off = simulate_loop(simulation_rows(), options);
    options.rebase_on_rejection = true;
    const auto on = simulate_loop(simulation_rows(), options);
    REQUIRE(off.ok());
    REQUIRE(on.ok());
    for (const auto& job : off.value.jobs) CHECK_FALSE(job.rebased_to);

    // Every rejected job re-based (none failed to train here), no promoted one did.
    const auto row_of = [](const std::string& decision) { return std::stoul(decision.substr(4)); };
    const auto bound_of = [](const std::string& decision) {
        const auto at = decision.find(" below ");
        REQUIRE(at != std::string::npos);
        return decision.substr(at + 7, 6);
    };
    std::size_t checked = 0;
    for (std::size_t j = 0; j + 1 < on.value.jobs.size(); ++j) {
        const auto& job = on.value.jobs[j];
        CHECK(job.promoted != job.rebased_to.has_value());
        if (job.promoted) continue;
        // The first decision after the job ended is held to the champion's
        // figure (it queued the next job, so it came before any other ended).
        const std::size_t ended = job.queued_at_row + options.latency_rows;
        const auto next = std::find_if(on.value.decisions.begin(), on.value.decisions.end(),
                                       [&](const std::string& decision) { return row_of(decision) > ended; });
        REQUIRE(next != on.value.decisions.end());
        CHECK(bound_of(*next) == fmt::format("{:.4f}", *job.rebased_to));
        ++checked;
    }
    CHECK(checked >= 1);
    // And the re-based bars change what the loop does.
    CHECK(on.value.decisions != off.value.decisions);
}
