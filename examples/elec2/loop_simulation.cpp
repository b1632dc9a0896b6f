#include "examples/elec2/loop_simulation.h"

#include <algorithm>
#include <iterator>
#include <optional>

#include <fmt/format.h>

#include "core/finding_kinds.h"
#include "detectors/cbpe.h"
#include "detectors/performance_thresholds.h"
#include "examples/elec2/logistic_model.h"
#include "examples/elec2/model_jobs.h"
#include "retrain/job_report.h"
#include "retrain/validation_gate.h"

namespace mw::elec2 {
namespace {

// One window of the simulated daemon: rows [first, first + window_rows).
struct SimulatedWindow {
    std::int64_t sequence = 0;
    std::size_t first = 0;
    std::int64_t reference_id = 0;
    bool judged = false;  // on its labels
};

struct PendingJob {
    SimulatedJob job;
    std::size_t ready_at_row = 0;
    std::optional<LogisticModel> model;  // the challenger when the gate passed
    std::optional<double> champion_value;  // what the gate compared with, when it did
};

// The clock the policy reads: one simulated second per row, so its 24 h
// budget counts the whole stream as one day (the quick start runs in minutes).
std::int64_t row_clock_us(std::size_t row) { return static_cast<std::int64_t>(row) * 1'000'000; }

}  // namespace

retrain::RetrainPolicyOptions simulated_policy(const LoopSimulationOptions& options) {
    retrain::RetrainPolicyOptions policy;
    policy.triggers.push_back({retrain::TriggerKind(finding_kind("performance")), 0, 1});
    policy.cooldown_ms = 0;
    policy.cooldown_windows = options.cooldown_windows;
    policy.daily_budget = 100;
    policy.breaker_failures = options.breaker_failures;
    return policy;
}

std::vector<LabelledRow> job_training_rows(const std::vector<LabelledRow>& rows,
                                           const LoopSimulationOptions& options, std::size_t labelled_end) {
    labelled_end = std::min(labelled_end, rows.size());
    const std::size_t streamed_labelled = labelled_end > options.initial_rows ? labelled_end - options.initial_rows : 0;
    const std::size_t take = std::min({options.data_rows, options.recent_rows, streamed_labelled});
    return {rows.begin() + static_cast<std::ptrdiff_t>(labelled_end - take),
            rows.begin() + static_cast<std::ptrdiff_t>(labelled_end)};
}

Result<LoopSimulation> simulate_loop(const std::vector<LabelledRow>& rows, const LoopSimulationOptions& options) {
    using Out = Result<LoopSimulation>;
    const std::size_t end = options.limit_rows == 0 ? rows.size() : std::min(options.limit_rows, rows.size());
    if (end <= options.initial_rows || options.initial_rows < 10 || options.batch_rows == 0 ||
        options.window_rows == 0 || options.reference_rows < 20)
        return Out::failure("the simulation's rows, batch, window and reference sizes leave nothing to simulate");
    if (!options.min_accuracy && !options.max_drop)
        return Out::failure("the accuracy threshold needs a minimum, a max_drop or both");

    LogisticModel served =
        fit_logistic_model({rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(options.initial_rows)});
    served.version = "v0-initial";
    const auto policy = simulated_policy(options);
    retrain::GateOptions gate;
    gate.min_improvement = options.gate_min_improvement;
    // The quick start's threshold as the daemon reads it
    // (daemon/detector_options.cpp: band_sd 0 is no band).
    performance::MetricThreshold threshold;
    threshold.metric = "accuracy";
    threshold.lower = options.min_accuracy;
    threshold.max_drop = options.max_drop;
    threshold.reference_band = false;

    LoopSimulation simulation;
    retrain::PolicyState state;
    state.model = "elec2";
    std::vector<double> served_score(end, 0.0);  // p(UP) served for each streamed row
    std::size_t version_from = options.initial_rows;  // the served version's first row
    std::optional<performance::CbpeReference> cbpe;
    // The accuracy on the reference's labelled rows, which max_drop is
    // relative to (daemon/reference_fit.cpp: the band fit's reference_value).
    std::vector<performance::ReferenceBand> reference_accuracy;
    std::int64_t reference_id = 0;
    std::size_t reference_end = 0;  // rows before it are the reference's or earlier
    bool reference_pending = true;
    std::vector<SimulatedWindow> windows;
    std::size_t next_window_first = 0;
    std::optional<PendingJob> pending;
    std::size_t served_correct = 0, scored_correct = 0;

    auto labelled_before = [&](std::size_t stop, bool stream_ended) {
        return stream_ended ? stop : (stop > options.label_delay_rows ? stop - options.label_delay_rows : 0);
    };
    std::size_t labelled = 0;  // rows before this one have their labels, as of the current pass

    // A window's accuracy through the daemon's threshold, then a triggered
    // finding through the policy; queues a job.
    auto consider = [&](const SimulatedWindow& window, const std::string& how, double accuracy, std::size_t stop) {
        performance::MetricSet metrics;
        metrics.metrics.push_back({"accuracy", accuracy, {}});
        auto findings = performance::evaluate_thresholds(
            metrics, how == "estimated", {threshold}, reference_accuracy,
            {state.model, "", row_clock_us(window.first), row_clock_us(window.first + options.window_rows - 1)});
        if (findings.empty()) return;  // max_drop alone, and no reference value to drop from
        Finding& finding = findings.front();
        retrain::observe(state, policy, finding);
        if (!finding.triggered) return;
        const retrain::FindingWindow place{window.sequence, window.reference_id};
        const auto decision = retrain::evaluate(policy, state, finding, row_clock_us(stop), place);
        simulation.decisions.push_back(fmt::format("row {} window {} {} accuracy {:.4f} below {:.4f}: {}", stop,
                                                   window.sequence, how, accuracy, finding.threshold,
                                                   decision.verdict == retrain::Verdict::enqueue ? "queued"
                                                                                                 : decision.reason));
        if (decision.verdict != retrain::Verdict::enqueue) return;
        retrain::record_enqueued(state, decision, finding.subject, static_cast<std::int64_t>(simulation.jobs.size() + 1),
                                 row_clock_us(stop));
        const std::vector<LabelledRow> recent = job_training_rows(rows, options, labelled);
        PendingJob job;
        job.job = {stop, how, window.sequence, window.first, accuracy, false, 0};
        job.ready_at_row = stop + options.latency_rows;
        auto challenger = train_challenger(recent, options.holdout_share, served);
        if (challenger.ok()) {
            retrain::JobReport report;
            report.metrics["accuracy"] = challenger.value.metrics.accuracy;
            report.champion_metrics["accuracy"] = challenger.value.champion_metrics.accuracy;
            report.champion_metrics["rows"] = static_cast<double>(challenger.value.holdout_rows);
            const auto gate_decision = retrain::decide(report, gate);
            job.champion_value = gate_decision.champion_value;
            if (gate_decision.promote) {
                job.model = std::move(challenger.value.model);
                job.model->version = fmt::format("sim-{}", stop);
            }
        }
        pending = std::move(job);
    };

    // The job ends: the model changes hands (promoted) or not (rejected).
    auto finish_job = [&](std::size_t at_row) {
        SimulatedJob job = pending->job;
        job.promoted = pending->model.has_value();
        state.active_jobs.clear();
        state.last_finished_us = row_clock_us(at_row);
        state.last_window_before_finish = windows.empty() ? 0 : windows.back().sequence;
        state.consecutive_failures = job.promoted ? 0 : state.consecutive_failures + 1;
        if (retrain::breaker_should_open(policy, state)) state.breaker_open = true;
        // The daemon re-bases the active reference, not a pending one
        // (store::rebase_reference); a failed job (no challenger) measured nothing.
        if (!job.promoted && options.rebase_on_rejection && pending->champion_value && !reference_pending) {
            auto band = std::find_if(reference_accuracy.begin(), reference_accuracy.end(),
                                     [](const performance::ReferenceBand& each) { return each.metric == "accuracy"; });
            if (band == reference_accuracy.end()) {
                reference_accuracy.push_back({.metric = "accuracy"});
                band = std::prev(reference_accuracy.end());
            }
            band->reference_value = *pending->champion_value;
            band->rebased_by_job = static_cast<std::int64_t>(simulation.jobs.size() + 1);
            job.rebased_to = *pending->champion_value;
        }
        if (job.promoted && at_row < end) {
            served = std::move(*pending->model);
            job.served_from_row = at_row;
            version_from = at_row;
            reference_pending = true;
            ++reference_id;
            state.reference_id = reference_id;
        }
        simulation.jobs.push_back(job);
        pending.reset();
    };

    // One monitor pass after the rows before `stop` were predicted and the
    // labels of those before labelled_before(stop) arrived.
    auto monitor_pass = [&](std::size_t stop, bool stream_ended) {
        labelled = labelled_before(stop, stream_ended);
        if (reference_pending) {
            const std::size_t ref_end = version_from + options.reference_rows;
            if (stop < ref_end) return;
            const std::size_t have = labelled > version_from ? std::min(labelled, ref_end) - version_from : 0;
            if (static_cast<double>(have) < options.min_label_coverage * static_cast<double>(options.reference_rows))
                return;
            std::vector<double> score;
            std::vector<bool> predicted, actual;
            for (std::size_t i = version_from; i < version_from + have; ++i) {
                score.push_back(served_score[i]);
                predicted.push_back(served_score[i] >= 0.5);
                actual.push_back(rows[i].up);
            }
            auto fit = performance::fit_cbpe(score, predicted, actual);
            cbpe.reset();
            if (fit.ok()) cbpe = std::move(fit.reference);
            reference_accuracy.clear();
            if (have >= 20) {
                std::size_t correct = 0;
                for (std::size_t i = 0; i < have; ++i) correct += predicted[i] == actual[i] ? 1 : 0;
                performance::ReferenceBand band;
                band.metric = "accuracy";
                band.reference_value = static_cast<double>(correct) / static_cast<double>(have);
                reference_accuracy.push_back(band);
            }
            reference_pending = false;
            if (reference_id == 0) {
                reference_id = 1;
                state.reference_id = 1;
            }
            reference_end = ref_end;
            next_window_first = std::max(next_window_first, reference_end);
        }
        while (next_window_first + options.window_rows <= stop) {
            SimulatedWindow window{static_cast<std::int64_t>(windows.size() + 1), next_window_first, reference_id, false};
            windows.push_back(window);
            next_window_first += options.window_rows;
            if (!cbpe) continue;
            std::vector<double> score(served_score.begin() + static_cast<std::ptrdiff_t>(window.first),
                                      served_score.begin() + static_cast<std::ptrdiff_t>(window.first + options.window_rows));
            std::vector<bool> predicted;
            for (const double p : score) predicted.push_back(p >= 0.5);
            const auto estimate = performance::estimate_cbpe(score, predicted, &*cbpe);
            if (!estimate.ok()) continue;
            for (const auto& metric : estimate.metrics)
                if (metric.name == "accuracy" && metric.value) consider(window, "estimated", *metric.value, stop);
        }
        for (auto& window : windows) {
            if (window.judged) continue;
            const std::size_t last = window.first + options.window_rows;
            const std::size_t have = labelled > window.first ? std::min(labelled, last) - window.first : 0;
            if (static_cast<double>(have) < options.min_label_coverage * static_cast<double>(options.window_rows))
                break;  // judged in order
            window.judged = true;
            std::size_t correct = 0;
            for (std::size_t i = window.first; i < window.first + have; ++i)
                correct += (served_score[i] >= 0.5) == rows[i].up ? 1 : 0;
            consider(window, "realised", static_cast<double>(correct) / static_cast<double>(have), stop);
        }
    };

    for (std::size_t start = options.initial_rows; start < end; start += options.batch_rows) {
        const std::size_t stop = std::min(start + options.batch_rows, end);
        if (pending && start >= pending->ready_at_row) finish_job(start);
        for (std::size_t i = start; i < stop; ++i) {
            served_score[i] = predict_up_probability(served, rows[i].features);
            const bool correct = (served_score[i] >= 0.5) == rows[i].up;
            served_correct += correct ? 1 : 0;
            if (options.score_from_row > 0 && i >= options.score_from_row) {
                scored_correct += correct ? 1 : 0;
                ++simulation.scored_rows;
            }
        }
        simulation.rows += stop - start;
        monitor_pass(stop, false);
    }
    // The outcomes still held back arrive at the end of the stream; the
    // jobs they set off still count.
    monitor_pass(end, true);
    while (pending) finish_job(end);

    simulation.served_accuracy = static_cast<double>(served_correct) / static_cast<double>(simulation.rows);
    if (simulation.scored_rows > 0)
        simulation.scored_accuracy = static_cast<double>(scored_correct) / static_cast<double>(simulation.scored_rows);
    return {std::move(simulation), {}};
}

}  // namespace mw::elec2
