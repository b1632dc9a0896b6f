// The quick start's loop replayed in process, for choosing its trigger
// settings on data the reported figure is not computed on (bench/RESULTS.md,
// "Triggering estimated on data it was not tuned on"). It follows the
// daemon's rules with the daemon's own code where they are code: the
// reference is the first
// `reference_rows` predictions of each served version, stored once its
// labels arrived (reference.wait_for_labels); windows of `window_rows`
// follow it; at a window's close its accuracy is estimated by CBPE
// (detectors/cbpe.h, fitted on the reference), and judged again on its labels
// once min_label_coverage of them arrived; the accuracy threshold
// ({metric: accuracy, min: min_accuracy, max_drop: max_drop, band_sd: 0}) is
// the daemon's (detectors/performance_thresholds.h, max_drop relative to the
// accuracy on the reference's labelled rows); each triggered performance
// finding goes through the retraining policy (retrain/policy.h:
// superseded, busy, cooldown_windows, budget, breaker); a job trains on the
// labelled rows it would have been exported (retrain.data_rows, then the
// trainer's --recent-rows) with the training job's code, the validation gate
// (retrain/validation_gate.h) decides (with rebase_on_rejection, a rejection
// re-bases the served model's reference accuracy to the champion's figure
// the gate compared with, as retrain.rebase_on_rejection does in the
// daemon), and a promoted model serves from the
// first batch `latency_rows` after the job was queued (the time the daemon
// takes, in rows of the replay). The daemon's passes are taken to happen
// after every batch, and labels `label_delay_rows` late as the server posts
// them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "examples/elec2/elec2_data.h"
#include "examples/elec2/result.h"
#include "retrain/policy.h"

namespace mw::elec2 {

struct LoopSimulationOptions {
    std::size_t initial_rows = 2000;      // train v0-initial, not streamed
    std::size_t batch_rows = 100;
    std::size_t label_delay_rows = 500;
    std::size_t limit_rows = 0;           // stop after this many rows of the data set; 0: all
    std::size_t score_from_row = 0;       // also score the rows from this one on (the held-out part); 0: none
    std::size_t reference_rows = 500;     // reference.rows
    std::size_t window_rows = 500;        // window.rows
    double min_label_coverage = 0.9;      // performance.min_label_coverage
    // performance.thresholds: {metric: accuracy, min, max_drop}; at least one.
    std::optional<double> min_accuracy = 0.72;
    std::optional<double> max_drop;
    bool rebase_on_rejection = false;     // retrain.rebase_on_rejection
    int cooldown_windows = 0;             // retrain.cooldown_windows
    int breaker_failures = 10;            // retrain.breaker_failures
    double gate_min_improvement = 0.01;   // retrain.gate_min_improvement
    std::size_t data_rows = 4000;         // retrain.data_rows
    std::size_t recent_rows = 2000;       // the trainer's --recent-rows
    double holdout_share = 0.25;          // the trainer's --holdout-share
    std::size_t latency_rows = 500;       // rows predicted between a job's queueing and its model's first batch
};

struct SimulatedJob {
    std::size_t queued_at_row = 0;   // the first row predicted after the finding
    std::string finding;             // "estimated" or "realised"
    std::int64_t window = 0;         // the window's sequence
    std::size_t window_first_row = 0;
    double accuracy = 0;             // the finding's statistic
    bool promoted = false;
    std::size_t served_from_row = 0;  // when promoted (0: the stream ended first)
    // When rejected with rebase_on_rejection: the reference accuracy the
    // served model is held to from then on (the champion's on the holdout).
    std::optional<double> rebased_to;
};

struct LoopSimulation {
    std::size_t rows = 0;            // rows streamed
    double served_accuracy = 0;
    std::size_t scored_rows = 0;     // rows from score_from_row on
    double scored_accuracy = 0;
    std::vector<SimulatedJob> jobs;
    std::vector<std::string> decisions;  // every triggered finding's decision, "row 5100 window 7 estimated: ..."
};

Result<LoopSimulation> simulate_loop(const std::vector<LabelledRow>& rows, const LoopSimulationOptions& options);

// What a job queued when the rows before `labelled_end` had their labels
// trains on: the newest retrain.data_rows streamed rows (those after the
// initial ones) of which the trainer keeps the newest --recent-rows.
std::vector<LabelledRow> job_training_rows(const std::vector<LabelledRow>& rows,
                                           const LoopSimulationOptions& options, std::size_t labelled_end);

// The policy options the simulation and the quick start share.
retrain::RetrainPolicyOptions simulated_policy(const LoopSimulationOptions& options);

}  // namespace mw::elec2
