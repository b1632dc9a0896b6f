// elec2_simulate: the quick start's loop replayed in process
// (examples/elec2/loop_simulation.h), beside the fixed schedule on the same
// rows, to choose trigger settings on one part of the stream and report
// them on another.
//   elec2_simulate --data data/elec2/elec2.csv.gz [OPTION...]
//   elec2_simulate --grid ...   every --min-accuracy of 0.66..0.80 by 0.01 x --cooldown-windows 0..4
//                               x --latency-rows 300, 500, 800 (only the one given, when given: 0 is
//                               the quick start's lockstep replay)
//   elec2_simulate --grid-max-drop ...   every --max-drop of 0.02..0.20 by 0.01 (no minimum) x
//                               --cooldown-windows 0..4 x the same latencies (with
//                               --rebase-on-rejection: each re-basing on rejection)
//   elec2_simulate --oracle K ...   the hindsight bound (examples/elec2/retrain_oracle.h): the best
//                               accuracy with at most 0..K retrains placed anywhere among the
//                               windows' last rows, beside the loop with the given settings
// The options and their defaults: simulate_options below (elec2_simulate --help).
// Exit status 0 on success, 1 on a failure, 2 on bad usage.
#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "examples/elec2/command_line.h"
#include "examples/elec2/elec2_data.h"
#include "examples/elec2/loop_simulation.h"
#include "examples/elec2/retrain_oracle.h"
#include "examples/elec2/stream_server.h"

namespace {

namespace cl = mw::command_line;
using mw::elec2::LoopSimulationOptions;

constexpr std::string_view synopsis =
    "usage: elec2_simulate [OPTION...]                   the loop with the given settings beside the fixed schedule\n"
    "       elec2_simulate --grid [OPTION...]            --min-accuracy 0.66..0.80 by 0.01 x --cooldown-windows 0..4\n"
    "                                                    x --latency-rows 300, 500 and 800 unless given\n"
    "       elec2_simulate --grid-max-drop [OPTION...]   --max-drop 0.02..0.20 by 0.01 (no minimum)\n"
    "                                                    x --cooldown-windows 0..4 x the same latencies\n"
    "       elec2_simulate --oracle K [OPTION...]        the best accuracy with at most 0..K retrains placed in\n"
    "                                                    hindsight, beside the loop with the given settings\n";

std::string min_accuracy_or_none(LoopSimulationOptions& options, std::string_view text) {
    if (text == "none") {
        options.min_accuracy.reset();
        return "";
    }
    double minimum = 0;
    if (!cl::read_number(text, minimum).empty())
        return std::string("expected a finite number or none, got '").append(text).append("'");
    options.min_accuracy = minimum;
    return "";
}

// The rows without an apply (--data, --rebase-on-rejection, --decisions and the grids) are read from
// the parse; the others set the simulation's options.
constexpr cl::Option simulate_options[] = {
    {"--data", "CSV[.gz]", "the Elec2 data set (data/elec2/elec2.csv.gz)"},
    {"--limit", "N", "stop after N rows of the data set (0: all)", false,
     cl::stores<&LoopSimulationOptions::limit_rows>},
    {"--score-from-row", "R", "score the rows from R on (0: from the first streamed row)", false,
     cl::stores<&LoopSimulationOptions::score_from_row>},
    {"--min-accuracy", "A|none", "performance.thresholds' accuracy min (0.72; none: no minimum, needs --max-drop)",
     false, cl::applies<LoopSimulationOptions, min_accuracy_or_none>},
    {"--max-drop", "D", "also below the reference's accuracy by more than this share of it (none)", false,
     cl::stores<&LoopSimulationOptions::max_drop>},
    {"--cooldown-windows", "N", "retrain.cooldown_windows (0)", false,
     cl::stores<&LoopSimulationOptions::cooldown_windows>},
    {"--latency-rows", "L", "rows predicted between a job's queueing and its model's first batch (500)", false,
     cl::stores<&LoopSimulationOptions::latency_rows>},
    {"--window-rows", "N", "window.rows (500)", false, cl::stores<&LoopSimulationOptions::window_rows>},
    {"--reference-rows", "N", "reference.rows (500)", false, cl::stores<&LoopSimulationOptions::reference_rows>},
    {"--recent-rows", "N", "the trainer's --recent-rows (2000)", false,
     cl::stores<&LoopSimulationOptions::recent_rows>},
    {"--data-rows", "N", "retrain.data_rows (4000)", false, cl::stores<&LoopSimulationOptions::data_rows>},
    {"--gate-min-improvement", "G", "retrain.gate_min_improvement (0.01)", false,
     cl::stores<&LoopSimulationOptions::gate_min_improvement>},
    {"--rebase-on-rejection", "", "retrain.rebase_on_rejection: a rejected job re-bases the served model's "
                                  "reference accuracy to the champion's on the job's holdout (off)"},
    {"--decisions", "", "print every triggered finding's decision and every job"},
    {"--grid", "", "run the grid of minimums (see the usage)"},
    {"--grid-max-drop", "", "run the grid of relative drops (see the usage)"},
    {"--oracle", "K", "the hindsight bound for 0..K retrains (see the usage)"},
};

struct Yardstick {
    double accuracy = 0;
    std::size_t retrains = 0;
};

// The fixed schedule on the same rows: retrained every 1,000 rows in process
// with the same label delay (elec2_server --dry-run --retrain-every 1000).
mw::elec2::Result<Yardstick> yardstick(const std::string& data, const mw::elec2::LoopSimulationOptions& loop) {
    mw::elec2::ServerOptions options;
    options.dry_run = true;
    options.data_path = data;
    options.initial_rows = loop.initial_rows;
    options.batch_rows = loop.batch_rows;
    options.label_delay_rows = loop.label_delay_rows;
    options.limit_rows = loop.limit_rows;
    options.score_from_row = loop.score_from_row;
    options.retrain_every_rows = 1000;
    auto summary = mw::elec2::run_stream(options);
    if (!summary.ok()) return mw::elec2::Result<Yardstick>::failure(summary.error);
    Yardstick result;
    const std::size_t from = loop.score_from_row;
    result.accuracy = from > 0 ? summary.value.scored_served_accuracy : summary.value.served_accuracy;
    for (const auto& takeover : summary.value.model_versions)
        if (takeover.version != "v0-initial" && takeover.from_row >= from) ++result.retrains;
    return {result, {}};
}

struct Counts {
    std::size_t jobs = 0;      // every job run (promoted or rejected), triggered in the scored part
    std::size_t promoted = 0;
};

Counts count_jobs(const mw::elec2::LoopSimulation& simulation, std::size_t from) {
    Counts counts;
    for (const auto& job : simulation.jobs) {
        if (job.queued_at_row < from) continue;
        ++counts.jobs;
        counts.promoted += job.promoted ? 1 : 0;
    }
    return counts;
}

std::string rows_list(const mw::elec2::OracleProblem& problem, const std::vector<std::size_t>& placement) {
    std::string text;
    for (const std::size_t m : placement)
        text += fmt::format("{}{}", text.empty() ? "" : ",", problem.candidates[m].serves_from_row);
    return text.empty() ? "-" : text;
}

std::string model_name(const std::optional<std::size_t>& trained_at_row) {
    return trained_at_row ? fmt::format("trained at row {}", *trained_at_row) : std::string("v0-initial");
}

// --oracle K: the best placements of 0..K retrains on the scored rows for
// the model the loop serves at their first row, and again for a model
// trained at that row when it is another, beside the loop with the given
// settings (its jobs, and its promotions replayed from the candidates).
int run_oracle(const std::vector<mw::elec2::LabelledRow>& rows, const LoopSimulationOptions& options,
               const Yardstick& fixed, std::size_t max_retrains) {
    const auto loop = mw::elec2::simulate_loop(rows, options);
    if (!loop.ok()) {
        fmt::print(stderr, "elec2_simulate: {}\n", loop.error);
        return 1;
    }
    const std::size_t first = options.score_from_row > 0 ? options.score_from_row : options.initial_rows;
    const double loop_accuracy = options.score_from_row > 0 ? loop.value.scored_accuracy : loop.value.served_accuracy;
    const auto counts = count_jobs(loop.value, options.score_from_row);
    const auto share = [&](double accuracy) { return 100 * accuracy / fixed.accuracy; };
    fmt::print("hindsight oracle: at most 0..{} retrains at the windows' last rows (every {} rows after row {}), each "
               "serving from the first batch {} rows later, trained as the loop's jobs (the newest {} of {} labelled "
               "streamed rows)\n",
               max_retrains, options.window_rows, options.initial_rows, options.latency_rows, options.recent_rows,
               options.data_rows);
    fmt::print("the loop: accuracy {:.4f} ({:.1f}%), {} jobs, {} promoted\n", loop_accuracy, share(loop_accuracy),
               counts.jobs, counts.promoted);

    const auto served = mw::elec2::served_models(loop.value, first);
    // A job at the last window close at or before the range's start serves there.
    const std::size_t fresh_point =
        options.initial_rows + (first - options.initial_rows) / options.window_rows * options.window_rows;
    std::vector<std::optional<std::size_t>> starts{served.start_trained_at_row};
    if (fresh_point > options.initial_rows && served.start_trained_at_row != fresh_point)
        starts.emplace_back(fresh_point);

    for (std::size_t variant = 0; variant < starts.size(); ++variant) {
        const auto problem = mw::elec2::oracle_problem(rows, options, first, starts[variant]);
        if (!problem.ok()) {
            fmt::print(stderr, "elec2_simulate: {}\n", problem.error);
            return 1;
        }
        const auto& table = problem.value.segment_correct;
        const auto scored = static_cast<double>(problem.value.end_row - problem.value.first_row);
        const auto accuracy = [&](std::size_t correct) { return static_cast<double>(correct) / scored; };
        fmt::print("\nstart: {} at row {}, {}; {} candidates after it\n",
                   variant == 0 ? "the loop's model" : "a job's model", first, model_name(starts[variant]),
                   problem.value.candidates.size() - 1);
        if (variant == 0) {
            const auto replay = mw::elec2::placement_of(problem.value, served.takeovers_trained_at_row);
            if (replay.ok()) {
                const double replayed = accuracy(mw::elec2::placement_correct(table, replay.value));
                fmt::print("the loop's {} promotions replayed from the candidates: accuracy {:.4f}{}\n",
                           replay.value.size(), replayed,
                           replayed == loop_accuracy ? " (the loop's)" : " (NOT the loop's: a different model)");
            } else {
                fmt::print("the loop's promotions are not the oracle's candidates: {}\n", replay.error);
            }
        }
        std::vector<std::size_t> schedule;  // every 1,000 rows, with the loop's trainer
        for (std::size_t m = 1; m < problem.value.candidates.size(); ++m)
            if ((*problem.value.candidates[m].trained_at_row - options.initial_rows) % 1000 == 0)
                schedule.push_back(m);
        const double scheduled = accuracy(mw::elec2::placement_correct(table, schedule));
        fmt::print("every 1,000 rows with the loop's trainer: accuracy {:.4f} ({:.1f}%), {} retrains\n", scheduled,
                   share(scheduled), schedule.size());

        const auto placements = mw::elec2::best_placements(table, max_retrains);
        fmt::print("retrains accuracy share serving_from_rows\n");
        std::optional<std::size_t> reaching;
        for (std::size_t k = 0; k < placements.size(); ++k) {
            const double best = accuracy(placements[k].correct);
            fmt::print("{} {:.4f} {:.1f}% {}\n", k, best, share(best), rows_list(problem.value, placements[k].retrains));
            if (!reaching && share(best) >= 98.0) reaching = k;
        }
        // How much the bound owes to hindsight: one retrain at each point in turn.
        std::vector<double> single;
        for (std::size_t m = 1; m < problem.value.candidates.size(); ++m)
            single.push_back(share(accuracy(mw::elec2::placement_correct(table, {m}))));
        if (!single.empty()) {
            std::sort(single.begin(), single.end());
            fmt::print("one retrain at each of the {} points: {} reach 98%; shares {:.1f}% to {:.1f}%, median "
                       "{:.1f}%\n",
                       single.size(), std::count_if(single.begin(), single.end(), [](double x) { return x >= 98.0; }),
                       single.front(), single.back(), single[single.size() / 2]);
        }
        fmt::print("the fewest retrains reaching 98% of the schedule: {}; a quarter of the schedule's: {}\n",
                   reaching ? fmt::format("{}", *reaching) : fmt::format("more than {}", max_retrains),
                   fixed.retrains / 4);
        const auto at = [&](std::size_t k, std::string_view what) {
            if (k < placements.size())
                fmt::print("the oracle at the loop's {} {}: {:.4f} ({:.1f}%)\n", k, what,
                           accuracy(placements[k].correct), share(accuracy(placements[k].correct)));
        };
        at(counts.jobs, "jobs");
        if (counts.promoted != counts.jobs) at(counts.promoted, "promotions");
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    LoopSimulationOptions options;
    const auto command =
        mw::elec2::read_command_line({argv + 1, argv + argc}, simulate_options, &options, "elec2_simulate", synopsis);
    if (command.exit_status) return *command.exit_status;
    const mw::elec2::BadUsage bad_usage{"elec2_simulate", command.usage};
    const std::string data = command.parsed.value("--data").value_or("data/elec2/elec2.csv.gz");
    const bool grid = command.parsed.has("--grid"), grid_max_drop = command.parsed.has("--grid-max-drop");
    const bool decisions = command.parsed.has("--decisions"), latency_given = command.parsed.has("--latency-rows");
    options.rebase_on_rejection = command.parsed.has("--rebase-on-rejection");
    if (options.cooldown_windows < 0) return bad_usage("--cooldown-windows must not be negative");
    if (options.max_drop && (*options.max_drop < 0 || *options.max_drop >= 1))
        return bad_usage("--max-drop must be in [0, 1): a share of the reference's accuracy");
    if (grid && grid_max_drop) return bad_usage("--grid and --grid-max-drop are two grids; give one");
    std::optional<std::size_t> oracle;
    if (const auto given = command.parsed.value("--oracle")) {
        std::size_t max_retrains = 0;
        if (const auto error = cl::read_number(*given, max_retrains); !error.empty())
            return bad_usage("--oracle: " + error);
        if (max_retrains > 1000) return bad_usage("--oracle: at most 1000 retrains");
        if (grid || grid_max_drop) return bad_usage("--oracle runs the loop with the given settings, not a grid");
        oracle = max_retrains;
    }
    if (!options.min_accuracy && !options.max_drop && !grid && !grid_max_drop)
        return bad_usage("--min-accuracy none needs --max-drop");

    const auto rows = mw::elec2::load_elec2_stream(data);
    if (!rows.ok()) {
        fmt::print(stderr, "elec2_simulate: {}\n", rows.error);
        return 1;
    }
    const std::size_t end =
        options.limit_rows == 0 ? rows.value.size() : std::min(options.limit_rows, rows.value.size());
    const std::size_t from = options.score_from_row > 0 ? options.score_from_row : options.initial_rows;
    if (from < options.initial_rows || from >= end)
        return bad_usage(fmt::format("--score-from-row {} is not among the streamed rows {}..{}", from,
                                     options.initial_rows, end - 1));
    const auto fixed = yardstick(data, options);
    if (!fixed.ok()) {
        fmt::print(stderr, "elec2_simulate: {}\n", fixed.error);
        return 1;
    }
    fmt::print("rows {} to {}; the fixed schedule (every 1,000 rows) on them: accuracy {:.4f}, {} retrains; "
               "a quarter: {}\n",
               from, end - 1, fixed.value.accuracy, fixed.value.retrains, fixed.value.retrains / 4);
    fmt::print("re-basing on rejection: {}\n", options.rebase_on_rejection ? "on" : "off");
    const auto setting = [](const std::optional<double>& value) {
        return value ? fmt::format("{:.2f}", *value) : std::string("-");
    };
    if (oracle) {
        fmt::print("the loop: min_accuracy {} max_drop {} cooldown_windows {} latency_rows {}\n",
                   setting(options.min_accuracy), setting(options.max_drop), options.cooldown_windows,
                   options.latency_rows);
        return run_oracle(rows.value, options, fixed.value, *oracle);
    }
    fmt::print("min_accuracy max_drop cooldown_windows latency_rows accuracy share jobs promoted\n");

    auto run = [&](const mw::elec2::LoopSimulationOptions& settings) -> bool {
        const auto simulation = mw::elec2::simulate_loop(rows.value, settings);
        if (!simulation.ok()) {
            fmt::print(stderr, "elec2_simulate: {}\n", simulation.error);
            return false;
        }
        const double accuracy =
            settings.score_from_row > 0 ? simulation.value.scored_accuracy : simulation.value.served_accuracy;
        const auto counts = count_jobs(simulation.value, settings.score_from_row);
        fmt::print("{} {} {} {} {:.4f} {:.1f}% {} {}\n", setting(settings.min_accuracy), setting(settings.max_drop),
                   settings.cooldown_windows, settings.latency_rows, accuracy, 100 * accuracy / fixed.value.accuracy,
                   counts.jobs, counts.promoted);
        if (decisions) {
            for (const auto& line : simulation.value.decisions) fmt::print("  {}\n", line);
            for (const auto& job : simulation.value.jobs)
                fmt::print("  job at row {}: window {} (rows {}..{}) {} accuracy {:.4f}: {}\n", job.queued_at_row,
                           job.window, job.window_first_row, job.window_first_row + settings.window_rows - 1,
                           job.finding, job.accuracy,
                           job.promoted ? fmt::format("promoted, served from row {}", job.served_from_row)
                           : job.rebased_to ? fmt::format("rejected, reference accuracy re-based to {:.4f}",
                                                          *job.rebased_to)
                                            : std::string("rejected"));
        }
        return true;
    };
    if (!grid && !grid_max_drop) return run(options) ? 0 : 1;
    const std::vector<std::size_t> latencies =
        latency_given ? std::vector<std::size_t>{options.latency_rows} : std::vector<std::size_t>{300, 500, 800};
    const int steps = grid ? 14 : 18;
    for (int step = 0; step <= steps; ++step)
        for (int cooldown = 0; cooldown <= 4; ++cooldown)
            for (const std::size_t latency : latencies) {
                auto settings = options;
                if (grid) {
                    settings.min_accuracy = 0.66 + 0.01 * step;
                } else {
                    settings.min_accuracy.reset();
                    settings.max_drop = 0.02 + 0.01 * step;
                }
                settings.cooldown_windows = cooldown;
                settings.latency_rows = latency;
                if (!run(settings)) return 1;
            }
    return 0;
}
