// elec2_server: the Elec2 example's model server (see stream_server.h).
//   elec2_server --data data/elec2/elec2.csv.gz --daemon http://127.0.0.1:8470 --model elec2
//                --model-file PATH [--token T] [--initial-rows 2000] [--batch 100]
//                [--label-delay-rows 500] [--rows-per-second 2000] [--limit N] [--summary PATH.json]
//                [--score-from-row R] [--no-lockstep] [--lockstep-timeout S] [--lockstep-rows N]
//   elec2_server --dry-run --data ... [--retrain-every K] [--recent-rows 4000] [--holdout-share 0.25] ...
// Exit status 0 on success, 1 on a failure (the reason on stderr), 2 on bad usage.
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "examples/elec2/command_line.h"
#include "examples/elec2/stream_server.h"

namespace {

constexpr std::string_view usage =
    "usage: elec2_server --data CSV[.gz] --model-file PATH [--daemon URL (http://127.0.0.1:8470)]\n"
    "         [--model NAME (elec2)] [--token T] [--initial-rows N (2000)] [--batch N (100)]\n"
    "         [--label-delay-rows N (500)] [--rows-per-second R (2000, 0: unpaced)] [--limit N]\n"
    "         [--summary PATH.json] [--score-from-row R (also score rows R on: a held-out part)]\n"
    "         [--no-lockstep (stream without waiting for the daemon after each batch)]\n"
    "         [--lockstep-timeout S (120: fail when the daemon has not judged a batch in S seconds)]\n"
    "         [--lockstep-rows N (0: wait after every batch; N: after each N rows, the daemon's window)]\n"
    "       elec2_server --dry-run --data CSV[.gz] [--retrain-every K (0: never)] [--recent-rows N (4000)]\n"
    "         [--holdout-share S (0.25)] [--initial-rows N] [--batch N] [--label-delay-rows N] [--limit N]\n"
    "         [--summary PATH.json] [--score-from-row R]\n";

using mw::elec2::parse_number;
constexpr mw::elec2::BadUsage bad_usage{"elec2_server", usage};

}  // namespace

int main(int argc, char** argv) {
    mw::elec2::ServerOptions options;
    for (int i = 1; i < argc; ++i) {
        const std::string_view name = argv[i];
        if (name == "--dry-run") {
            options.dry_run = true;
            continue;
        }
        if (name == "--no-lockstep") {
            options.lockstep = false;
            continue;
        }
        if (name == "--help" || name == "-h") {
            fmt::print("{}", usage);
            return 0;
        }
        if (i + 1 >= argc) return bad_usage(fmt::format("{} needs a value", name));
        const std::string_view value = argv[++i];
        bool parsed = true;
        if (name == "--data") options.data_path = value;
        else if (name == "--daemon") options.daemon_url = value;
        else if (name == "--model") options.model = value;
        else if (name == "--model-file") options.model_file = value;
        else if (name == "--token") options.token = value;
        else if (name == "--summary") options.summary_path = value;
        else if (name == "--initial-rows") parsed = parse_number(value, options.initial_rows);
        else if (name == "--batch") parsed = parse_number(value, options.batch_rows);
        else if (name == "--label-delay-rows") parsed = parse_number(value, options.label_delay_rows);
        else if (name == "--rows-per-second") parsed = parse_number(value, options.rows_per_second);
        else if (name == "--lockstep-rows") parsed = parse_number(value, options.lockstep_rows);
        else if (name == "--lockstep-timeout") parsed = parse_number(value, options.lockstep_timeout_seconds);
        else if (name == "--limit") parsed = parse_number(value, options.limit_rows);
        else if (name == "--score-from-row") parsed = parse_number(value, options.score_from_row);
        else if (name == "--retrain-every") parsed = parse_number(value, options.retrain_every_rows);
        else if (name == "--recent-rows") parsed = parse_number(value, options.recent_rows);
        else if (name == "--holdout-share") parsed = parse_number(value, options.holdout_share);
        else return bad_usage(fmt::format("unknown option '{}'", name));
        if (!parsed) return bad_usage(fmt::format("{} '{}' is not a valid number", name, value));
    }

    const auto summary = mw::elec2::run_stream(options);
    if (!summary.ok()) {
        fmt::print(stderr, "elec2_server: {}\n", summary.error);
        return 1;
    }
    fmt::print("{}", mw::elec2::format_summary(summary.value));
    return 0;
}
