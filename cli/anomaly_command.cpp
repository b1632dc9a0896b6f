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
#include "detectors/anomaly_registry.h"
#include "detectors/anomaly_series.h"

namespace mw::cli {

namespace {

}  // namespace

std::string anomaly_help() {
    std::string text =
        "usage: modelwatch anomaly --input SERIES.csv [--detector NAME] [--param KEY=VALUE]...\n"
        "\n"
        "Reads 'timestamp,value' (header line first; timestamps 'YYYY-MM-DD HH:MM:SS' in UTC,\n"
        "RFC 3339 or epoch seconds; '-' reads standard input) and writes\n"
        "'timestamp,value,anomaly_score' to standard output. Each score in [0, 1] uses only\n"
        "the points before it.\n"
        "\n"
        "detectors (the first is the default) and their options:\n";
    for (const auto& method : anomaly::anomaly_methods()) {
        text += fmt::format("  {}: {}\n", method.name, method.help);
        for (const auto& option : method.options)
            text += fmt::format("    {:<26} default {:<8} range [{}, {}]  {}\n", option.key, option.default_value,
                                option.min_value, option.max_value, option.help);
    }
    return text;
}

namespace {

void print_help() { std::fputs(anomaly_help().c_str(), stdout); }

int usage_error(std::string_view message) {
    std::fprintf(stderr, "modelwatch anomaly: %.*s\n(see 'modelwatch anomaly --help')\n",
                 static_cast<int>(message.size()), message.data());
    return 2;
}

}  // namespace

int run_anomaly(Args args) {
    std::string input;
    std::string detector_name(anomaly::anomaly_methods().front().name);
    std::vector<std::pair<std::string, std::string>> settings;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string_view arg = args[i];
        if (arg == "--help" || arg == "-h") {
            print_help();
            return 0;
        }
        if (arg != "--input" && arg != "--detector" && arg != "--param")
            return usage_error(fmt::format("unknown argument '{}'", arg));
        if (i + 1 == args.size()) return usage_error(fmt::format("{} needs a value", arg));
        const std::string_view value = args[++i];
        if (arg == "--input") {
            input = value;
        } else if (arg == "--detector") {
            detector_name = value;
        } else {
            const std::size_t equals = value.find('=');
            if (equals == std::string_view::npos || equals == 0)
                return usage_error(fmt::format("--param expects KEY=VALUE, got '{}'", value));
            settings.emplace_back(std::string(value.substr(0, equals)), std::string(value.substr(equals + 1)));
        }
    }
    if (input.empty()) return usage_error("--input is required");

    auto made = anomaly::make_anomaly_detector(detector_name, settings);
    if (!made.detector) return usage_error(made.error);

    anomaly::SeriesReadResult series;
    if (input == "-") {
        series = anomaly::read_series(std::cin, "<stdin>");
    } else {
        std::ifstream file(input);
        if (!file) {
            std::fprintf(stderr, "modelwatch anomaly: cannot open %s\n", input.c_str());
            return 2;
        }
        series = anomaly::read_series(file, input);
    }
    if (!series.ok()) {
        std::fprintf(stderr, "modelwatch anomaly: %s\n", series.error.c_str());
        return 2;
    }

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
        return 2;
    }
    return 0;
}

}  // namespace mw::cli
