// elec2_server: the Elec2 example's model server (see stream_server.h).
//   elec2_server --data data/elec2/elec2.csv.gz --model-file PATH [OPTION...]   streams to modelwatchd
//   elec2_server --dry-run --data data/elec2/elec2.csv.gz [OPTION...]           retrains in process
// The options and their defaults: server_options below (elec2_server --help).
// Exit status 0 on success, 1 on a failure (the reason on stderr), 2 on bad usage.
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "examples/elec2/command_line.h"
#include "examples/elec2/stream_server.h"

namespace {

namespace cl = mw::command_line;
using mw::elec2::ServerOptions;

constexpr std::string_view synopsis =
    "usage: elec2_server --data CSV[.gz] --model-file PATH [OPTION...]   stream to modelwatchd\n"
    "       elec2_server --dry-run --data CSV[.gz] [OPTION...]           retrain in process, post nothing\n";

std::string stream_without_lockstep(ServerOptions& options, std::string_view) {
    options.lockstep = false;
    return "";
}

constexpr cl::Option server_options[] = {
    {"--data", "CSV[.gz]", "the Elec2 data set (data/elec2/elec2.csv.gz)", false, cl::stores<&ServerOptions::data_path>},
    {"--model-file", "PATH", "the served model, written with v0-initial when absent (required unless --dry-run)",
     false, cl::stores<&ServerOptions::model_file>},
    {"--daemon", "URL", "modelwatchd's address (http://127.0.0.1:8470)", false,
     cl::stores<&ServerOptions::daemon_url>},
    {"--model", "NAME", "the model's name in modelwatchd (elec2)", false, cl::stores<&ServerOptions::model>},
    {"--token", "T", "bearer token for the daemon (in lockstep an admin token: progress is admin API)", false,
     cl::stores<&ServerOptions::token>},
    {"--initial-rows", "N", "the first rows train v0-initial and are not streamed (2000)", false,
     cl::stores<&ServerOptions::initial_rows>},
    {"--batch", "N", "rows per POST (100)", false, cl::stores<&ServerOptions::batch_rows>},
    {"--label-delay-rows", "N", "a row's outcome is posted N rows after its prediction (500)", false,
     cl::stores<&ServerOptions::label_delay_rows>},
    {"--rows-per-second", "R", "pacing (2000; 0: unpaced)", false, cl::stores<&ServerOptions::rows_per_second>},
    {"--limit", "N", "stop after N rows of the data set (0: all)", false, cl::stores<&ServerOptions::limit_rows>},
    {"--summary", "PATH.json", "write the summary there as JSON", false, cl::stores<&ServerOptions::summary_path>},
    {"--score-from-row", "R", "also score the rows from R on (a held-out part; 0: none)", false,
     cl::stores<&ServerOptions::score_from_row>},
    {"--no-lockstep", "", "stream without waiting for the daemon after each batch", false,
     cl::applies<ServerOptions, stream_without_lockstep>},
    {"--lockstep-timeout", "S", "fail when the daemon has not judged a batch in S seconds (120)", false,
     cl::stores<&ServerOptions::lockstep_timeout_seconds>},
    {"--lockstep-rows", "N", "wait after each N rows, the daemon's window (0: after every batch)", false,
     cl::stores<&ServerOptions::lockstep_rows>},
    {"--dry-run", "", "no daemon and no model file: retrain in process", false, cl::stores<&ServerOptions::dry_run>},
    {"--retrain-every", "K", "dry run: retrain after every K streamed rows (0: never)", false,
     cl::stores<&ServerOptions::retrain_every_rows>},
    {"--recent-rows", "N", "dry run: the training job's --recent-rows (4000)", false,
     cl::stores<&ServerOptions::recent_rows>},
    {"--holdout-share", "S", "dry run: the training job's --holdout-share (0.25)", false,
     cl::stores<&ServerOptions::holdout_share>},
};

}  // namespace

int main(int argc, char** argv) {
    ServerOptions options;
    const auto command =
        mw::elec2::read_command_line({argv + 1, argv + argc}, server_options, &options, "elec2_server", synopsis);
    if (command.exit_status) return *command.exit_status;

    const auto summary = mw::elec2::run_stream(options);
    if (!summary.ok()) {
        fmt::print(stderr, "elec2_server: {}\n", summary.error);
        return 1;
    }
    fmt::print("{}", mw::elec2::format_summary(summary.value));
    return 0;
}
