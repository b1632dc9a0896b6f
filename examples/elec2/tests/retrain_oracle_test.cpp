// The hindsight oracle: its dynamic programme against every placement of a
// small table, and its Elec2 candidates against the simulated loop they
// bound.
#include <catch2/catch.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>

#include "examples/elec2/elec2_data.h"
#include "examples/elec2/evaluation.h"
#include "examples/elec2/loop_simulation.h"
#include "examples/elec2/retrain_oracle.h"

using namespace mw::elec2;

namespace {

// Every subset of the candidates 1..n as a placement, scored segment by
// segment (the serving candidate of a segment is the last chosen one at or
// before it), independently of placement_correct.
struct Exhaustive {
    std::size_t correct = 0;
    std::size_t fewest_retrains = 0;  // among the placements reaching `correct`
};

std::size_t score_by_segment(const SegmentCorrect& table, std::uint32_t chosen) {
    std::size_t correct = 0, serving = 0;
    for (std::size_t s = 0; s < table.size(); ++s) {
        if (s > 0 && (chosen >> (s - 1) & 1U)) serving = s;
        correct += table[serving][s];
    }
    return correct;
}

Exhaustive exhaustive(const SegmentCorrect& table, std::size_t max_retrains) {
    const std::size_t n = table.size() - 1;
    Exhaustive best;
    bool any = false;
    for (std::uint32_t chosen = 0; chosen < (1U << n); ++chosen) {
        const auto retrains = static_cast<std::size_t>(std::popcount(chosen));
        if (retrains > max_retrains) continue;
        const std::size_t correct = score_by_segment(table, chosen);
        if (!any || correct > best.correct || (correct == best.correct && retrains < best.fewest_retrains))
            best = {correct, retrains};
        any = true;
    }
    return best;
}

std::uint32_t mask_of(const std::vector<std::size_t>& retrains) {
    std::uint32_t mask = 0;
    for (const std::size_t m : retrains) mask |= 1U << (m - 1);
    return mask;
}

SegmentCorrect random_table(std::size_t candidates, std::mt19937& random) {
    // Small counts so that ties between placements are common.
    std::uniform_int_distribution<std::size_t> count(0, 6);
    SegmentCorrect table(candidates, std::vector<std::size_t>(candidates, 0));
    for (std::size_t m = 0; m < candidates; ++m)
        for (std::size_t s = m; s < candidates; ++s) table[m][s] = count(random);
    return table;
}

const std::vector<LabelledRow>& elec2_rows() {
    static const auto rows = load_elec2_stream(std::string(MODELWATCH_SOURCE_DIR) + "/data/elec2/elec2.csv.gz");
    REQUIRE(rows.ok());
    return rows.value;
}

}  // namespace

TEST_CASE("the oracle's placements equal the best of every placement of at most K retrains") {
    std::mt19937 random(20261207);
    for (int trial = 0; trial < 40; ++trial) {
        const std::size_t points = 12;
        const auto table = random_table(points + 1, random);
        // K = 0 (the first model serves everything) to K beyond the points.
        const auto placements = best_placements(table, points + 2);
        REQUIRE(placements.size() == points + 3);
        for (std::size_t k = 0; k < placements.size(); ++k) {
            INFO("trial " << trial << ", at most " << k << " retrains");
            const auto truth = exhaustive(table, k);
            const Placement& placement = placements[k];
            CHECK(placement.correct == truth.correct);
            // The placement given reaches its figure, within its budget, with
            // as few retrains as any placement that does.
            CHECK(std::is_sorted(placement.retrains.begin(), placement.retrains.end()));
            CHECK(score_by_segment(table, mask_of(placement.retrains)) == placement.correct);
            CHECK(placement_correct(table, placement.retrains) == placement.correct);
            CHECK(placement.retrains.size() == truth.fewest_retrains);
            if (k == 0) CHECK(placement.correct == score_by_segment(table, 0));
        }
    }
}

TEST_CASE("the oracle keeps a model that no retrain beats, and refuses a table that is not one") {
    // Candidate 0 predicts every row; the others half of them.
    SegmentCorrect table(5, std::vector<std::size_t>(5, 0));
    for (std::size_t m = 0; m < 5; ++m)
        for (std::size_t s = m; s < 5; ++s) table[m][s] = m == 0 ? 10 : 5;
    for (const auto& placement : best_placements(table, 8)) {
        CHECK(placement.correct == 50);
        CHECK(placement.retrains.empty());
    }
    // One candidate, no segment to retrain into.
    const auto alone = best_placements({{7}}, 3);
    CHECK(alone.back().correct == 7);
    CHECK(alone.back().retrains.empty());

    CHECK_THROWS_AS(best_placements({}, 1), std::invalid_argument);
    CHECK_THROWS_AS(best_placements({{1, 2}, {3}}, 1), std::invalid_argument);
    CHECK_THROWS_AS(placement_correct(table, {2, 2}), std::invalid_argument);
    CHECK_THROWS_AS(placement_correct(table, {5}), std::invalid_argument);
}

TEST_CASE("the oracle's candidates replay the simulated loop's served models row for row") {
    LoopSimulationOptions options;
    options.limit_rows = 20000;
    options.score_from_row = 9200;  // inside a window, as the held-out half's row 23,656
    options.min_accuracy = 0.72;
    options.cooldown_windows = 1;
    options.latency_rows = 0;  // the lockstep: every decision on a window's last row
    const auto loop = simulate_loop(elec2_rows(), options);
    REQUIRE(loop.ok());
    const auto served = served_models(loop.value, options.score_from_row);
    REQUIRE(served.start_trained_at_row);  // a promoted model serves at the range's start
    REQUIRE(served.takeovers_trained_at_row.size() >= 2);

    const auto problem = oracle_problem(elec2_rows(), options, options.score_from_row, served.start_trained_at_row);
    REQUIRE(problem.ok());
    const auto placement = placement_of(problem.value, served.takeovers_trained_at_row);
    REQUIRE(placement.ok());
    const std::size_t rows = problem.value.end_row - problem.value.first_row;
    REQUIRE(rows == loop.value.scored_rows);
    const std::size_t loop_correct =
        static_cast<std::size_t>(std::llround(loop.value.scored_accuracy * static_cast<double>(rows)));
    CHECK(placement_correct(problem.value.segment_correct, placement.value) == loop_correct);

    // The bound at the loop's job count is at least the loop.
    std::size_t jobs = 0;
    for (const auto& job : loop.value.jobs) jobs += job.queued_at_row >= options.score_from_row ? 1 : 0;
    const auto placements = best_placements(problem.value.segment_correct, jobs);
    CHECK(placements.back().correct >= loop_correct);
    // And with no retrain it is the starting model alone.
    const auto start = job_model(elec2_rows(), options, *served.start_trained_at_row);
    REQUIRE(start.ok());
    const auto alone = evaluate(start.value, {elec2_rows().begin() + 9200, elec2_rows().begin() + 20000});
    CHECK(placements.front().correct ==
          static_cast<std::size_t>(std::llround(alone.accuracy * static_cast<double>(rows))));
}

TEST_CASE("the oracle's decision points are the windows' last rows, served after the latency") {
    LoopSimulationOptions options;
    options.limit_rows = 8000;
    options.latency_rows = 250;  // served from the first batch of 100 at least 250 rows later
    const auto problem = oracle_problem(elec2_rows(), options, 4100, std::nullopt);
    REQUIRE(problem.ok());
    const auto& candidates = problem.value.candidates;
    CHECK_FALSE(candidates.front().trained_at_row);  // v0-initial
    REQUIRE(candidates.size() >= 2);
    // 4,000 would serve from 4,300, the first point after 4,100; 7,500 from 7,800.
    CHECK(candidates[1].trained_at_row == std::optional<std::size_t>(4000));
    CHECK(candidates[1].serves_from_row == 4300);
    CHECK(candidates.back().trained_at_row == std::optional<std::size_t>(7500));
    CHECK(candidates.back().serves_from_row == 7800);
    CHECK(candidates.size() == 1 + (7500 - 4000) / 500 + 1);

    CHECK_FALSE(oracle_problem(elec2_rows(), options, 1999, std::nullopt).ok());
    CHECK_FALSE(oracle_problem(elec2_rows(), options, 8000, std::nullopt).ok());
    CHECK_FALSE(oracle_problem(elec2_rows(), options, 4100, std::size_t{4500}).ok());
    // A job with no streamed labelled rows has nothing to train on.
    CHECK_FALSE(oracle_problem(elec2_rows(), options, 4100, std::size_t{2500}).ok());
}
