// Whether a trained challenger replaces the champion, and whether a promoted
// model is rolled back after its probation. Pure functions of the job's
// report and the realised metrics, so every decision is reproducible from
// what is stored, and each carries its reason in plain words with the
// numbers that made it.
#pragma once

#include <optional>
#include <span>
#include <string>

#include "retrain/job_report.h"

namespace mw::retrain {

struct GateOptions {
    std::string metric = "accuracy";  // a key of the report's metrics and champion_metrics
    bool higher_is_better = true;     // false for losses (log_loss, rmse, ...)
    double min_improvement = 0.01;    // absolute margin in the metric's own unit
    bool require_fairness_pass = false;  // reject unless the report says fairness.passed == true
};

struct GateDecision {
    bool promote = false;
    // e.g. "challenger accuracy 0.812 beats champion 0.744 by 0.068 >= margin 0.010"
    std::string reason;
    // The champion's figure the decision compared with (the report's
    // champion_metrics[metric]); none when the gate decided without one (no
    // champion, no figure for either side, a failed fairness check), and
    // none when champion_metrics gives `rows` (the labelled rows the job
    // measured on, docs/retraining.md) below 1. What
    // retrain.rebase_on_rejection re-bases the served model's reference to.
    std::optional<double> champion_value;
};

// Promote when the challenger's metric improves on the champion's (both from
// the report, measured by the job on the same holdout) by at least
// min_improvement, in the direction higher_is_better says. A report without
// the metric for either side is rejected: a gate that cannot compare does not
// promote. When champion_metrics is empty (the first model of its name, no
// champion to compare with) the challenger is promoted and the reason says so.
GateDecision decide(const JobReport& report, const GateOptions& options);

struct ProbationOptions {
    int window_count = 3;   // closed monitor windows after promotion that make up the probation
    double max_drop = 0.02;  // absolute, in the gate metric's unit
};

enum class ProbationVerdict { pending, keep, roll_back };
const char* to_string(ProbationVerdict);

struct ProbationDecision {
    ProbationVerdict verdict = ProbationVerdict::pending;
    std::string reason;
    bool should_roll_back() const { return verdict == ProbationVerdict::roll_back; }
};

// champion_metric_at_promotion: the old champion's figure the gate validated
// against (the report's champion_metrics[metric]). window_metrics: the
// promoted model's realised metric per closed window since promotion, oldest
// first (window_metrics in PostgreSQL; NaN for a window without one, which is
// skipped). The realised figure is the mean of the first window_count windows (equal weight per window: windows are closed by
// count, so they hold about as many labelled rows each); more windows are
// ignored, fewer give `pending`. Roll back when the realised figure is worse
// than the champion's by more than max_drop.
ProbationDecision should_roll_back(double champion_metric_at_promotion, std::span<const double> window_metrics,
                                   const ProbationOptions& probation, const GateOptions& gate);

}  // namespace mw::retrain
