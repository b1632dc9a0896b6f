// The hindsight bound on retraining triggers (issue 14, item 5): the best
// prequential accuracy the loop's trainer reaches on a range of rows when at
// most K retrains are placed anywhere among the loop's decision points,
// chosen knowing every label in advance. It is not a trigger (it needs the
// future), so computing it on any rows tunes nothing: it says how good any
// trigger with this trainer, label delay and latency could be.
//
// The candidates (oracle_problem): candidate 0 is the model serving at the
// range's first row (given by the caller: v0-initial, the model the loop
// serves there, or a model trained at a decision point before it); candidate
// m >= 1 is the model a job queued at the m-th decision point inside the
// range trains (job_model: the loop simulation's job data and trainer), and
// it serves from the first batch `latency_rows` after that point, as a
// promoted job's model in loop_simulation.h. The decision points are where
// the loop's windows close: every window_rows rows after the initial rows
// (with windows and references of 500 and labels 500 rows late, every window
// of the quick start closes and is judged on such a row; RESULTS.md, "Live in
// lockstep"). A point whose job cannot train (too few labelled rows, one
// class) is no candidate.
//
// Since a job's model depends only on where it was queued (not on the model
// it replaces), a placement of retrains fixes what is served: each chosen
// candidate serves from its first row until the next chosen one takes over.
// The segments are the rows between consecutive candidates' first rows, so a
// model's accuracy on every later segment is precomputed, and the best
// placement with at most k retrains for every k is a dynamic programme over
// (retrains left, candidate serving) in O(K n^2) (best_placements).
//
// The gate is left out on purpose: the oracle never places a retrain it
// would not want, so its retrains are all promotions, and any trigger whose
// jobs (promoted or rejected) number at most K serves a placement of at
// most K candidates: its accuracy is at most the oracle's at K.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "examples/elec2/elec2_data.h"
#include "examples/elec2/logistic_model.h"
#include "examples/elec2/loop_simulation.h"
#include "examples/elec2/result.h"

namespace mw::elec2 {

// segment_correct[m][s]: how many rows of segment s candidate m predicts
// correctly. Square, (n + 1) x (n + 1) for n candidates after candidate 0;
// candidate m >= 1 takes over at the start of segment m, so only s >= m is
// read.
using SegmentCorrect = std::vector<std::vector<std::size_t>>;

struct Placement {
    std::size_t correct = 0;            // rows predicted correctly over all segments
    std::vector<std::size_t> retrains;  // the candidates taking over, ascending (1..n)
};

// The best placement with at most k retrains, for every k in
// 0..max_retrains (index k). On ties: fewer retrains, then earlier ones.
// Throws std::invalid_argument when the table is not square or empty.
std::vector<Placement> best_placements(const SegmentCorrect& segment_correct, std::size_t max_retrains);

// The rows a given placement predicts correctly (candidates ascending, in
// 1..n; throws std::invalid_argument otherwise).
std::size_t placement_correct(const SegmentCorrect& segment_correct, const std::vector<std::size_t>& retrains);

// The model a job queued after the rows before `queued_at_row` were
// predicted trains and would promote: fitted by the training job's code
// (train_challenger's refit) on job_training_rows with the labels that had
// arrived then (label_delay_rows behind). Fails as the job would.
Result<LogisticModel> job_model(const std::vector<LabelledRow>& rows, const LoopSimulationOptions& options,
                                std::size_t queued_at_row);

struct OracleCandidate {
    std::optional<std::size_t> trained_at_row;  // the decision point whose job trains it; none: v0-initial
    std::size_t serves_from_row = 0;
};

struct OracleProblem {
    std::size_t first_row = 0;  // the range scored: [first_row, end_row)
    std::size_t end_row = 0;
    std::vector<OracleCandidate> candidates;  // [0]: the model serving at first_row
    SegmentCorrect segment_correct;
};

// The candidates and their segments on [first_row, limit or the data's end),
// with the loop's initial rows, batch, label delay, window_rows, data_rows,
// recent_rows, holdout_share and latency_rows from `options`. The model
// serving at first_row is v0-initial when `start_trained_at_row` is empty,
// otherwise job_model at that row (which must be at or before first_row).
Result<OracleProblem> oracle_problem(const std::vector<LabelledRow>& rows, const LoopSimulationOptions& options,
                                     std::size_t first_row, std::optional<std::size_t> start_trained_at_row);

// What a simulated loop served from `first_row` on: the point whose job
// trained the model serving at first_row (none: v0-initial) and the points
// whose jobs' models took over after it, in order (promoted jobs only).
struct ServedModels {
    std::optional<std::size_t> start_trained_at_row;
    std::vector<std::size_t> takeovers_trained_at_row;
};
ServedModels served_models(const LoopSimulation& simulation, std::size_t first_row);

// The candidates trained at these points, as a placement in `problem`;
// fails naming a point that is none of its candidates' (a decision off the
// oracle's points, or a takeover before the range).
Result<std::vector<std::size_t>> placement_of(const OracleProblem& problem,
                                              const std::vector<std::size_t>& trained_at_rows);

}  // namespace mw::elec2
