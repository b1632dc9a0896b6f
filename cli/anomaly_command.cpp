// `modelwatch anomaly`: scores a timestamp,value series point by point with
// one of the streaming anomaly detectors, the same code the daemon runs on a
// model's operational series, and writes timestamp,value,anomaly_score.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/exit_status.h"
#include "detectors/anomaly_registry.h"
#include "detectors/anomaly_series.h"

namespace mw::cli {

namespace {

// What `modelwatch anomaly` was asked to do; the rows below fill it.
struct AnomalyArguments {
    std::string input;
    std::string detector_name = std::string(anomaly::anomaly_methods().front().info.name);
    std::vector<std::string> settings;
};

std::string apply_anomaly_param(AnomalyArguments& arguments, std::string_view value) {
    const std::size_t equals = value.find('=');
    if (equals == std::string_view::npos || equals == 0) return fmt::format("expects KEY=VALUE, got '{}'", value);
    arguments.settings.emplace_back(value);
    return "";
}

constexpr command_line::Option option_table[] = {
    {"--input", "SERIES.csv", "the series; '-' reads standard input (required)", true,
     command_line::stores<&AnomalyArguments::input>},
    {"--detector", "NAME", "the detector (listed below; default the first)", false,
     command_line::stores<&AnomalyArguments::detector_name>},
    {"--param", "KEY=VALUE", "one of the detector's options (repeatable)", false,
     command_line::applies<AnomalyArguments, apply_anomaly_param>},
};

std::string description() {
    return "Reads 'timestamp,value' (header line first; timestamps 'YYYY-MM-DD HH:MM:SS' in UTC,\n"
           "RFC 3339 or epoch seconds; '-' reads standard input) and writes\n"
           "'timestamp,value,anomaly_score' to standard output. Each score in [0, 1] uses only\n"
           "the points before it.\n";
}

// The detectors and their options, from the code that owns them
// (detectors/anomaly_registry.h).
std::string notes() {
    std::string text = "detectors (the first is the default) and their options:\n";
    for (const auto& method : anomaly::anomaly_methods()) {
        text += fmt::format("  {}: {}\n", method.info.name, method.info.summary);
        text += config::options_help(method.info, "    ");
    }
    return text;
}

constexpr Form forms[] = {
    {"anomaly", "--input SERIES.csv [--detector NAME] [--param KEY=VALUE]...", description, option_table, notes}};

int usage_error(std::string_view message) { return cli::usage_error("anomaly", message); }

}  // namespace

std::span<const Form> anomaly_forms() { return forms; }

int run_anomaly(Args args) {
    const auto given = parse_or_exit("anomaly", forms[0], args);
    if (!given.run()) return given.exit_code;
    const auto& parsed = given.parsed;
    if (!parsed.positionals.empty())
        return usage_error(fmt::format("unexpected argument '{}'", parsed.positionals.front()));
    AnomalyArguments arguments;
    if (const auto error = command_line::apply(parsed, option_table, &arguments); !error.empty())
        return usage_error(error);
    const auto& [input, detector_name, settings] = arguments;

    auto made = anomaly::make_anomaly_detector(detector_name, settings);
    if (!made.detector) return usage_error(made.error);

    anomaly::SeriesReadResult series;
    if (input == "-") {
        series = anomaly::read_series(std::cin, "<stdin>");
    } else {
        std::ifstream file(input);
        if (!file) return usage_error(fmt::format("cannot open {}", input));
        series = anomaly::read_series(file, input);
    }
    if (!series.ok()) return usage_error(series.error);

    if (series.out_of_order_lines > 0)
        std::fprintf(stderr,
                     "modelwatch anomaly: warning: %zu lines have a timestamp earlier than the line before "
                     "(first: line %zu); scored in file order\n",
                     series.out_of_order_lines, series.first_out_of_order_line);

    fmt::memory_buffer out;
    fmt::format_to(std::back_inserter(out), "timestamp,value,anomaly_score\n");
    for (const auto& point : series.points) {
        const double score = made.detector->score(point.timestamp_s, point.value);
        fmt::format_to(std::back_inserter(out), "{},{},{:.12g}\n", point.timestamp, point.value, score);
    }
    if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size() || std::fflush(stdout) != 0) {
        std::fprintf(stderr, "modelwatch anomaly: writing the output failed\n");
        return exit_usage;
    }
    return exit_ok;
}

}  // namespace mw::cli
