// The validation gate and the probation check: each decision and its reason,
// in both metric directions, at the margin, and with missing figures.
#include <cmath>
#include <limits>
#include <vector>

#include <catch2/catch.hpp>

#include "retrain/validation_gate.h"

namespace {

using namespace mw::retrain;

JobReport report_with(double challenger, double champion, const std::string& metric = "accuracy") {
    JobReport report;
    report.challenger_version = "v2";
    report.artifact = "/models/v2";
    report.metrics[metric] = challenger;
    report.champion_metrics[metric] = champion;
    return report;
}

}  // namespace

TEST_CASE("the gate promotes a challenger that beats the champion by the margin") {
    GateDecision decision = decide(report_with(0.812, 0.744), GateOptions{});
    CHECK(decision.promote);
    CHECK(decision.reason == "challenger accuracy 0.812 beats champion 0.744 by 0.068 >= margin 0.010");
}

TEST_CASE("the gate rejects a gain smaller than the margin, and a loss") {
    GateDecision small = decide(report_with(0.750, 0.744), GateOptions{});
    CHECK_FALSE(small.promote);
    CHECK(small.reason == "challenger accuracy 0.750 beats champion 0.744 by only 0.006 < margin 0.010");

    GateDecision worse = decide(report_with(0.700, 0.744), GateOptions{});
    CHECK_FALSE(worse.promote);
    CHECK(worse.reason == "challenger accuracy 0.700 does not beat champion 0.744 (worse by 0.044, margin 0.010)");

    GateDecision equal = decide(report_with(0.744, 0.744), GateOptions{});
    CHECK_FALSE(equal.promote);
    CHECK(equal.reason == "challenger accuracy 0.744 does not beat champion 0.744 (equal, no gain, margin 0.010)");
}

TEST_CASE("a gain exactly at the margin promotes despite binary rounding") {
    // 0.30 - 0.29 is 0.009999999999999953 in doubles.
    CHECK(decide(report_with(0.30, 0.29), GateOptions{}).promote);
    CHECK(decide(report_with(0.75, 0.74), GateOptions{}).promote);
    CHECK_FALSE(decide(report_with(0.7499, 0.74), GateOptions{}).promote);
}

TEST_CASE("for a loss metric lower is better") {
    GateOptions options;
    options.metric = "log_loss";
    options.higher_is_better = false;
    options.min_improvement = 0.02;
    GateDecision better = decide(report_with(0.31, 0.35, "log_loss"), options);
    CHECK(better.promote);
    CHECK(better.reason == "challenger log_loss 0.310 beats champion 0.350 by 0.040 >= margin 0.020");
    GateDecision higher = decide(report_with(0.36, 0.35, "log_loss"), options);
    CHECK_FALSE(higher.promote);
    CHECK(higher.reason == "challenger log_loss 0.360 does not beat champion 0.350 (worse by 0.010, margin 0.020)");
}

TEST_CASE("small margins are shown with enough digits") {
    GateOptions options;
    options.min_improvement = 0.0005;
    GateDecision decision = decide(report_with(0.9012, 0.9004), options);
    CHECK(decision.promote);
    CHECK(decision.reason == "challenger accuracy 0.9012 beats champion 0.9004 by 0.0008 >= margin 0.0005");
}

TEST_CASE("the gate rejects when it cannot compare") {
    JobReport no_metric = report_with(0.8, 0.7, "auc");
    GateDecision missing_challenger = decide(no_metric, GateOptions{});
    CHECK_FALSE(missing_challenger.promote);
    CHECK(missing_challenger.reason == "the report has no challenger accuracy (metrics)");

    JobReport no_champion_metric = report_with(0.8, 0.7);
    no_champion_metric.champion_metrics = {{"auc", 0.7}};
    GateDecision missing_champion = decide(no_champion_metric, GateOptions{});
    CHECK_FALSE(missing_champion.promote);
    CHECK(missing_champion.reason == "the report has no champion accuracy (champion_metrics)");
}

TEST_CASE("the gate hands on the champion's figure it compared with, and only a measured one") {
    // What retrain.rebase_on_rejection re-bases the served model's reference to.
    const GateDecision worse = decide(report_with(0.700, 0.744), GateOptions{});
    REQUIRE(worse.champion_value);
    CHECK(*worse.champion_value == 0.744);
    CHECK(decide(report_with(0.750, 0.744), GateOptions{}).champion_value == 0.744);
    CHECK(decide(report_with(0.812, 0.744), GateOptions{}).champion_value == 0.744);

    // No figure for the champion, or none compared: nothing to re-base on.
    JobReport no_champion_metric = report_with(0.8, 0.7);
    no_champion_metric.champion_metrics = {{"auc", 0.7}};
    CHECK_FALSE(decide(no_champion_metric, GateOptions{}).champion_value);
    JobReport first = report_with(0.8, 0.0);
    first.champion_metrics.clear();
    CHECK_FALSE(decide(first, GateOptions{}).champion_value);
    GateOptions fairness;
    fairness.require_fairness_pass = true;
    CHECK_FALSE(decide(report_with(0.700, 0.744), fairness).champion_value);

    // A job that says it measured on no labelled rows: decided as reported,
    // no measurement.
    JobReport no_rows = report_with(0.700, 0.744);
    no_rows.champion_metrics["rows"] = 0;
    const GateDecision unmeasured = decide(no_rows, GateOptions{});
    CHECK_FALSE(unmeasured.promote);
    CHECK_FALSE(unmeasured.champion_value);
    no_rows.champion_metrics["rows"] = 500;
    CHECK(decide(no_rows, GateOptions{}).champion_value == 0.744);
}

TEST_CASE("the first model of its name has no champion to beat") {
    JobReport first = report_with(0.8, 0.0);
    first.champion_metrics.clear();
    GateDecision decision = decide(first, GateOptions{});
    CHECK(decision.promote);
    CHECK(decision.reason == "no champion to compare with; challenger accuracy 0.800");
}

TEST_CASE("a required fairness check must be present and passed") {
    GateOptions options;
    options.require_fairness_pass = true;
    JobReport report = report_with(0.812, 0.744);
    GateDecision none = decide(report, options);
    CHECK_FALSE(none.promote);
    CHECK(none.reason == "the gate requires a fairness check and the report has none");
    report.fairness_passed = false;
    GateDecision failed = decide(report, options);
    CHECK_FALSE(failed.promote);
    CHECK(failed.reason == "the challenger failed the fairness check the gate requires");
    report.fairness_passed = true;
    CHECK(decide(report, options).promote);
    report.fairness_passed = false;
    CHECK(decide(report, GateOptions{}).promote);  // not required: not consulted
}

TEST_CASE("probation waits for its windows, then keeps or rolls back") {
    const ProbationOptions probation;  // 3 windows, max drop 0.02
    const GateOptions gate;
    const std::vector<double> two = {0.70, 0.70};
    ProbationDecision pending = should_roll_back(0.744, two, probation, gate);
    CHECK(pending.verdict == ProbationVerdict::pending);
    CHECK_FALSE(pending.should_roll_back());
    CHECK(pending.reason == "probation: 2 of 3 windows have a measured accuracy so far");

    // Mean of the first three windows 0.730: 0.014 below 0.744, within 0.02.
    // The fourth window (0.5) is after the probation and does not count.
    const std::vector<double> fine = {0.74, 0.73, 0.72, 0.5};
    ProbationDecision keep = should_roll_back(0.744, fine, probation, gate);
    CHECK(keep.verdict == ProbationVerdict::keep);
    CHECK(keep.reason == "promoted model's accuracy over 3 windows 0.730 is within 0.020 of the old champion's 0.744");

    // Mean 0.700: 0.044 below the champion's validated 0.744.
    const std::vector<double> bad = {0.71, 0.70, 0.69};
    ProbationDecision roll = should_roll_back(0.744, bad, probation, gate);
    CHECK(roll.should_roll_back());
    CHECK(roll.reason ==
          "promoted model's accuracy over 3 windows 0.700 is worse than the old champion's 0.744 by 0.044 > max drop "
          "0.020");
}

TEST_CASE("probation skips windows without a metric and follows the metric's direction") {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const std::vector<double> gaps = {0.71, nan, 0.70};
    CHECK(should_roll_back(0.744, gaps, ProbationOptions{}, GateOptions{}).verdict == ProbationVerdict::pending);
    const std::vector<double> filled = {0.71, nan, 0.70, 0.69};
    CHECK(should_roll_back(0.744, filled, ProbationOptions{}, GateOptions{}).should_roll_back());

    GateOptions loss;
    loss.metric = "rmse";
    loss.higher_is_better = false;
    ProbationOptions one_window{1, 0.5};
    const std::vector<double> slightly_worse = {10.4};
    const std::vector<double> much_worse = {10.6};
    CHECK(should_roll_back(10.0, slightly_worse, one_window, loss).verdict == ProbationVerdict::keep);
    CHECK(should_roll_back(10.0, much_worse, one_window, loss).should_roll_back());
    const std::vector<double> better = {9.0};
    CHECK(should_roll_back(10.0, better, one_window, loss).verdict == ProbationVerdict::keep);
}
