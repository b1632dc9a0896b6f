// elec2_trainer: the retraining job and the promotion and rollback hooks that
// modelwatchd runs for the Elec2 example (job contract: docs/retraining.md).
//   elec2_trainer train --champion PATH [--recent-rows N] [--holdout-share S]
//   elec2_trainer promote --model-file PATH [--archive DIR]
//   elec2_trainer rollback --model-file PATH --archive DIR
// Exit status 0 on success, 1 on bad input or a failed step (the reason on
// stderr), 2 on bad usage.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "examples/elec2/command_line.h"
#include "examples/elec2/model_jobs.h"

namespace {

constexpr std::string_view usage =
    "usage: elec2_trainer train --champion PATH [--recent-rows N (4000)] [--holdout-share S (0.25)]\n"
    "       elec2_trainer promote --model-file PATH [--archive DIR]   (reads $MODELWATCH_ARTIFACT)\n"
    "       elec2_trainer rollback --model-file PATH --archive DIR    (reads $MODELWATCH_ROLLBACK_TO_VERSION)\n";

struct Arguments {
    std::map<std::string, std::string> values;
    std::string error;
};

// "--name value" pairs, each name one of `allowed`.
Arguments parse_arguments(int argc, char** argv, std::initializer_list<std::string_view> allowed) {
    Arguments arguments;
    for (int i = 2; i < argc; i += 2) {
        const std::string name = argv[i];
        if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
            arguments.error = fmt::format("unknown option '{}'", name);
            return arguments;
        }
        if (i + 1 >= argc) {
            arguments.error = fmt::format("{} needs a value", name);
            return arguments;
        }
        arguments.values[name] = argv[i + 1];
    }
    return arguments;
}

std::optional<std::string> value_of(const Arguments& arguments, const std::string& name) {
    const auto it = arguments.values.find(name);
    if (it == arguments.values.end()) return std::nullopt;
    return it->second;
}

int fail(const std::string& message) {
    fmt::print(stderr, "elec2_trainer: {}\n", message);
    return 1;
}

constexpr mw::elec2::BadUsage bad_usage{"elec2_trainer", usage};

std::string environment(const char* name) {
    const char* value = std::getenv(name);
    return value == nullptr ? std::string() : std::string(value);
}

int train(int argc, char** argv) {
    const Arguments arguments = parse_arguments(argc, argv, {"--champion", "--recent-rows", "--holdout-share"});
    if (!arguments.error.empty()) return bad_usage(arguments.error);
    mw::elec2::TrainJobOptions options;
    const auto champion = value_of(arguments, "--champion");
    if (!champion) return bad_usage("train needs --champion");
    options.champion_path = *champion;
    if (const auto text = value_of(arguments, "--recent-rows")) {
        if (!mw::elec2::parse_number(*text, options.recent_rows) || options.recent_rows == 0)
            return bad_usage(fmt::format("--recent-rows '{}' is not a positive integer", *text));
    }
    if (const auto text = value_of(arguments, "--holdout-share")) {
        if (!mw::elec2::parse_number(*text, options.holdout_share) ||
            !(options.holdout_share > 0 && options.holdout_share < 1))
            return bad_usage(fmt::format("--holdout-share '{}' is not a number between 0 and 1", *text));
    }

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
    const Arguments arguments = parse_arguments(argc, argv, {"--model-file", "--archive"});
    if (!arguments.error.empty()) return bad_usage(arguments.error);
    const auto model_file = value_of(arguments, "--model-file");
    if (!model_file) return bad_usage("promote needs --model-file");
    const std::string artifact = environment("MODELWATCH_ARTIFACT");
    if (artifact.empty()) return fail("MODELWATCH_ARTIFACT is not set: promote runs as a modelwatch promotion hook");
    if (auto error = mw::elec2::promote_model(artifact, *model_file, value_of(arguments, "--archive")); !error.empty())
        return fail(error);
    fmt::print(stderr, "elec2_trainer: promoted {} to {}\n", artifact, *model_file);
    return 0;
}

int rollback(int argc, char** argv) {
    const Arguments arguments = parse_arguments(argc, argv, {"--model-file", "--archive"});
    if (!arguments.error.empty()) return bad_usage(arguments.error);
    const auto model_file = value_of(arguments, "--model-file");
    const auto archive = value_of(arguments, "--archive");
    if (!model_file || !archive) return bad_usage("rollback needs --model-file and --archive");
    const std::string version = environment("MODELWATCH_ROLLBACK_TO_VERSION");
    if (version.empty())
        return fail("MODELWATCH_ROLLBACK_TO_VERSION is not set: rollback runs as a modelwatch rollback hook");
    if (auto error = mw::elec2::rollback_model(*model_file, *archive, version); !error.empty()) return fail(error);
    fmt::print(stderr, "elec2_trainer: rolled {} back to {}\n", *model_file, version);
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
