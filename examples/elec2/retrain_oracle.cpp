#include "examples/elec2/retrain_oracle.h"

#include <stdexcept>

#include <fmt/format.h>

#include "examples/elec2/model_jobs.h"

namespace mw::elec2 {
namespace {

void check_square(const SegmentCorrect& segment_correct) {
    if (segment_correct.empty()) throw std::invalid_argument("the oracle's table has no candidate");
    for (const auto& row : segment_correct)
        if (row.size() != segment_correct.size())
            throw std::invalid_argument(fmt::format("the oracle's table is not square: a row of {} for {} candidates",
                                                    row.size(), segment_correct.size()));
}

// serving[m][j]: what candidate m predicts correctly from its first segment
// (m) up to segment j (excluded), j in m..n+1; 0 below m.
std::vector<std::vector<std::size_t>> serving_sums(const SegmentCorrect& segment_correct) {
    const std::size_t segments = segment_correct.size();
    std::vector<std::vector<std::size_t>> serving(segments, std::vector<std::size_t>(segments + 1, 0));
    for (std::size_t m = 0; m < segments; ++m)
        for (std::size_t j = m; j < segments; ++j) serving[m][j + 1] = serving[m][j] + segment_correct[m][j];
    return serving;
}

}  // namespace

std::vector<Placement> best_placements(const SegmentCorrect& segment_correct, std::size_t max_retrains) {
    check_square(segment_correct);
    const std::size_t last = segment_correct.size();  // n + 1: one past the last segment
    const auto serving = serving_sums(segment_correct);

    // best[k][m]: the best over segments m..n with candidate m serving from
    // segment m and at most k retrains after it; next[k][m]: the candidate
    // taking over from m in it (last: none).
    struct Best {
        std::size_t correct = 0;
        std::size_t retrains = 0;
        std::size_t next = 0;
    };
    std::vector<std::vector<Best>> best(max_retrains + 1, std::vector<Best>(last));
    for (std::size_t k = 0; k <= max_retrains; ++k)
        for (std::size_t m = last; m-- > 0;) {
            Best chosen{serving[m][last], 0, last};  // m serves to the end
            if (k > 0)
                for (std::size_t j = m + 1; j < last; ++j) {
                    const Best& after = best[k - 1][j];
                    const std::size_t correct = serving[m][j] + after.correct;
                    // Strictly better, or as good with fewer retrains; the
                    // earlier takeover wins what is left of a tie.
                    if (correct > chosen.correct ||
                        (correct == chosen.correct && after.retrains + 1 < chosen.retrains))
                        chosen = {correct, after.retrains + 1, j};
                }
            best[k][m] = chosen;
        }

    std::vector<Placement> placements(max_retrains + 1);
    for (std::size_t k = 0; k <= max_retrains; ++k) {
        Placement& placement = placements[k];
        placement.correct = best[k][0].correct;
        for (std::size_t m = 0, left = k; best[left][m].next != last; --left) {
            m = best[left][m].next;
            placement.retrains.push_back(m);
        }
    }
    return placements;
}

std::size_t placement_correct(const SegmentCorrect& segment_correct, const std::vector<std::size_t>& retrains) {
    check_square(segment_correct);
    const std::size_t last = segment_correct.size();
    const auto serving = serving_sums(segment_correct);
    std::size_t correct = 0, serving_now = 0;
    for (const std::size_t next : retrains) {
        if (next <= serving_now || next >= last)
            throw std::invalid_argument(fmt::format("candidate {} cannot take over after candidate {} of {}", next,
                                                    serving_now, last - 1));
        correct += serving[serving_now][next];
        serving_now = next;
    }
    return correct + serving[serving_now][last];
}

Result<LogisticModel> job_model(const std::vector<LabelledRow>& rows, const LoopSimulationOptions& options,
                                std::size_t queued_at_row) {
    const std::size_t labelled_end =
        queued_at_row > options.label_delay_rows ? queued_at_row - options.label_delay_rows : 0;
    const auto recent = job_training_rows(rows, options, labelled_end);
    // The champion only enters the job's report, which the oracle does not
    // read: one predicting 0.5 everywhere (zero weights, unit scales).
    LogisticModel champion;
    champion.sds.fill(1.0);
    auto challenger = train_challenger(recent, options.holdout_share, champion);
    if (!challenger.ok()) return Result<LogisticModel>::failure(challenger.error);
    challenger.value.model.version = fmt::format("oracle-{}", queued_at_row);
    return {std::move(challenger.value.model), {}};
}

Result<OracleProblem> oracle_problem(const std::vector<LabelledRow>& rows, const LoopSimulationOptions& options,
                                     std::size_t first_row, std::optional<std::size_t> start_trained_at_row) {
    using Out = Result<OracleProblem>;
    const std::size_t end = options.limit_rows == 0 ? rows.size() : std::min(options.limit_rows, rows.size());
    if (options.initial_rows < 10 || options.batch_rows == 0 || options.window_rows == 0)
        return Out::failure("the oracle needs initial rows, a batch and a window");
    if (first_row < options.initial_rows || first_row >= end)
        return Out::failure(fmt::format("the range's first row {} is not among the streamed rows {}..{}", first_row,
                                        options.initial_rows, end - 1));
    if (start_trained_at_row && *start_trained_at_row > first_row)
        return Out::failure(fmt::format("the model serving at row {} cannot be trained at a later row {}", first_row,
                                        *start_trained_at_row));

    OracleProblem problem;
    problem.first_row = first_row;
    problem.end_row = end;
    std::vector<LogisticModel> models;
    if (start_trained_at_row) {
        auto start = job_model(rows, options, *start_trained_at_row);
        if (!start.ok())
            return Out::failure(fmt::format("the model trained at row {}: {}", *start_trained_at_row, start.error));
        models.push_back(std::move(start.value));
    } else {
        models.push_back(
            fit_logistic_model({rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(options.initial_rows)}));
    }
    problem.candidates.push_back({start_trained_at_row, first_row});

    // A job queued at a decision point serves from the first batch at least
    // latency_rows later (loop_simulation.cpp: finish_job at a batch start).
    const auto serves_from = [&](std::size_t point) {
        const std::size_t ready = point + options.latency_rows - options.initial_rows;
        return options.initial_rows + (ready + options.batch_rows - 1) / options.batch_rows * options.batch_rows;
    };
    for (std::size_t point = options.initial_rows + options.window_rows; point < end; point += options.window_rows) {
        const std::size_t from = serves_from(point);
        if (from <= first_row || from >= end) continue;
        auto model = job_model(rows, options, point);
        if (!model.ok()) continue;
        models.push_back(std::move(model.value));
        problem.candidates.push_back({point, from});
    }

    // Each candidate's correct predictions on its own segment and every later one.
    const std::size_t count = problem.candidates.size();
    problem.segment_correct.assign(count, std::vector<std::size_t>(count, 0));
    for (std::size_t m = 0; m < count; ++m)
        for (std::size_t s = m; s < count; ++s) {
            const std::size_t stop = s + 1 < count ? problem.candidates[s + 1].serves_from_row : end;
            std::size_t correct = 0;
            for (std::size_t i = problem.candidates[s].serves_from_row; i < stop; ++i)
                correct += (predict_up_probability(models[m], rows[i].features) >= 0.5) == rows[i].up ? 1 : 0;
            problem.segment_correct[m][s] = correct;
        }
    return {std::move(problem), {}};
}

ServedModels served_models(const LoopSimulation& simulation, std::size_t first_row) {
    ServedModels served;
    for (const auto& job : simulation.jobs) {
        if (!job.promoted || job.served_from_row == 0) continue;  // rejected, or the stream ended first
        if (job.served_from_row <= first_row)
            served.start_trained_at_row = job.queued_at_row;
        else
            served.takeovers_trained_at_row.push_back(job.queued_at_row);
    }
    return served;
}

Result<std::vector<std::size_t>> placement_of(const OracleProblem& problem,
                                              const std::vector<std::size_t>& trained_at_rows) {
    std::vector<std::size_t> placement;
    std::size_t m = 1;
    for (const std::size_t row : trained_at_rows) {
        while (m < problem.candidates.size() && problem.candidates[m].trained_at_row != row) ++m;
        if (m == problem.candidates.size())
            return Result<std::vector<std::size_t>>::failure(
                fmt::format("no candidate after the previous one was trained at row {}", row));
        placement.push_back(m++);
    }
    return {std::move(placement), {}};
}

}  // namespace mw::elec2
