// elec2_trainer: the retraining job and the promotion and rollback hooks that
// modelwatchd runs for the Elec2 example (job contract: docs/retraining.md).
//   elec2_trainer train --champion PATH [--recent-rows N] [--holdout-share S]
//   elec2_trainer promote --model-file PATH [--archive DIR]
//   elec2_trainer rollback --model-file PATH --archive DIR
// Exit status 0 on success, 1 on bad input or a failed step (the reason on
// stderr), 2 on bad usage.
#include <chrono>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "examples/elec2/command_line.h"
#include "examples/elec2/model_jobs.h"

namespace {

namespace cl = mw::command_line;
using mw::elec2::TrainJobOptions;

constexpr std::string_view usage =
    "usage: elec2_trainer train --champion PATH [--recent-rows N (4000)] [--holdout-share S (0.25)]\n"
    "       elec2_trainer promote --model-file PATH [--archive DIR]   (reads $MODELWATCH_ARTIFACT)\n"
    "       elec2_trainer rollback --model-file PATH --archive DIR    (reads $MODELWATCH_ROLLBACK_TO_VERSION)\n";

constexpr mw::elec2::BadUsage bad_usage{"elec2_trainer", usage};

int fail(const std::string& message) {
    fmt::print(stderr, "elec2_trainer: {}\n", message);
    return 1;
}

std::string environment(const char* name) {
    const char* value = std::getenv(name);
    return value == nullptr ? std::string() : std::string(value);
}

std::string positive_recent_rows(TrainJobOptions& options, std::string_view text) {
    if (auto error = cl::read_number(text, options.recent_rows); !error.empty()) return error;
    return options.recent_rows == 0 ? "expected a positive integer, got '0'" : "";
}

std::string holdout_share_within(TrainJobOptions& options, std::string_view text) {
    if (auto error = cl::read_number(text, options.holdout_share); !error.empty()) return error;
    if (!(options.holdout_share > 0 && options.holdout_share < 1))
        return fmt::format("expected a number between 0 and 1 (both excluded), got '{}'", text);
    return "";
}

constexpr cl::Option train_options[] = {
    {"--champion", "PATH", "the served model", true, cl::stores<&TrainJobOptions::champion_path>},
    {"--recent-rows", "N", "fit on the last N labelled rows of the job's data (4000)", false,
     cl::applies<TrainJobOptions, positive_recent_rows>},
    {"--holdout-share", "S", "the last part of those rows kept out of the fit (0.25)", false,
     cl::applies<TrainJobOptions, holdout_share_within>},
};

// promote's and rollback's options are read from the parse (no apply).
constexpr cl::Option promote_options[] = {
    {"--model-file", "PATH", "the served model, replaced by the job's artifact", true},
    {"--archive", "DIR", "keep the replaced model there as <version>.json"},
};
constexpr cl::Option rollback_options[] = {
    {"--model-file", "PATH", "the served model, replaced by the archived version", true},
    {"--archive", "DIR", "where promote kept the replaced models", true},
};

// A subcommand's options: argv after the subcommand's name.
std::span<char* const> options_of(int argc, char** argv) { return {argv + 2, argv + argc}; }

int train(int argc, char** argv) {
    TrainJobOptions options;
    const auto command =
        mw::elec2::read_command_line(options_of(argc, argv), train_options, &options, "elec2_trainer", usage);
    if (command.exit_status) return *command.exit_status;

    const auto job = mw::elec2::read_job_environment([](const char* name) { return std::getenv(name); });
    if (!job.ok()) return fail(job.error);
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::system_clock::now().time_since_epoch());
    const auto report = mw::elec2::run_train_job(options, job.value, now.count());
    if (!report.ok()) return fail(report.error);
    const auto& metrics = report.value["metrics"];
    const auto& champion_metrics = report.value["champion_metrics"];
    fmt::print(stderr,
               "elec2_trainer: challenger {} on {} holdout rows: accuracy {:.4f} log_loss {:.4f} brier {:.4f}; "
               "champion: accuracy {:.4f} log_loss {:.4f} brier {:.4f}\n",
               report.value["challenger_version"].get<std::string>(), metrics["rows"].get<std::size_t>(),
               metrics["accuracy"].get<double>(), metrics["log_loss"].get<double>(), metrics["brier"].get<double>(),
               champion_metrics["accuracy"].get<double>(), champion_metrics["log_loss"].get<double>(),
               champion_metrics["brier"].get<double>());
    return 0;
}

int promote(int argc, char** argv) {
    const auto command =
        mw::elec2::read_command_line(options_of(argc, argv), promote_options, nullptr, "elec2_trainer", usage);
    if (command.exit_status) return *command.exit_status;
    const std::string model_file = *command.parsed.value("--model-file");
    const std::string artifact = environment("MODELWATCH_ARTIFACT");
    if (artifact.empty()) return fail("MODELWATCH_ARTIFACT is not set: promote runs as a modelwatch promotion hook");
    if (auto error = mw::elec2::promote_model(artifact, model_file, command.parsed.value("--archive"));
        !error.empty())
        return fail(error);
    fmt::print(stderr, "elec2_trainer: promoted {} to {}\n", artifact, model_file);
    return 0;
}

int rollback(int argc, char** argv) {
    const auto command =
        mw::elec2::read_command_line(options_of(argc, argv), rollback_options, nullptr, "elec2_trainer", usage);
    if (command.exit_status) return *command.exit_status;
    const std::string model_file = *command.parsed.value("--model-file");
    const std::string version = environment("MODELWATCH_ROLLBACK_TO_VERSION");
    if (version.empty())
        return fail("MODELWATCH_ROLLBACK_TO_VERSION is not set: rollback runs as a modelwatch rollback hook");
    if (auto error = mw::elec2::rollback_model(model_file, *command.parsed.value("--archive"), version);
        !error.empty())
        return fail(error);
    fmt::print(stderr, "elec2_trainer: rolled {} back to {}\n", model_file, version);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return bad_usage("no command");
    const std::string_view command = argv[1];
    if (command == "train") return train(argc, argv);
    if (command == "promote") return promote(argc, argv);
    if (command == "rollback") return rollback(argc, argv);
    if (command == "--help" || command == "-h") {
        fmt::print("{}", usage);
        return 0;
    }
    return bad_usage(fmt::format("unknown command '{}'", command));
}
