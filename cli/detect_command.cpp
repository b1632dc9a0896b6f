// `modelwatch detect`: runs one streaming concept-drift detector (the same
// code the daemon runs) over a one-column stream and prints the 0-based
// indices, as River counts them, of its drifts and of its warning zones.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/exit_status.h"
#include "core/csv.h"
#include "detectors/concept_registry.h"

namespace mw::cli {

namespace {

namespace cd = mw::concept_drift;

// What `modelwatch detect` was asked to do; the rows below fill it.
struct DetectArguments {
    std::string detector_name;
    std::string input;
    std::string format_name = "text";
    std::string column;
    std::vector<std::string> params;
};

constexpr command_line::Option option_table[] = {
    {"--detector", "NAME", "the detector (listed below) (required)", true,
     command_line::stores<&DetectArguments::detector_name>},
    {"--param", "KEY=VALUE", "one of the detector's options (repeatable)", false,
     command_line::stores<&DetectArguments::params>},
    {"--input", "STREAM.csv", "the stream; '-' reads standard input (required)", true,
     command_line::stores<&DetectArguments::input>},
    {"--column", "NAME", "read the named column of a CSV file with a header line", false,
     command_line::stores<&DetectArguments::column>},
    {"--format", "FORMAT", "output format (default text; the formats are listed below)", false,
     command_line::stores<&DetectArguments::format_name>},
};

std::string description() {
    return "Reads one number per line (a first header line is allowed; '-' reads standard input),\n"
           "or with --column the named column of a CSV file with a header line, feeds them in\n"
           "order to a streaming concept-drift detector and prints the 0-based indices of its\n"
           "drifts and its warning zones (first and last index of each run of warnings). Each\n"
           "detector reproduces the indices of the implementation named below ('reproduces');\n"
           "after a drift a detector starts afresh, as River's do. Detectors marked 0/1 expect\n"
           "1 for an error and 0 for a success (e.g. a classifier's mistakes).\n";
}

struct Detections;
std::string detect_text(const cd::ConceptDetector& detector, std::size_t values, const Detections& detections);
std::string detect_json(const cd::ConceptDetector& detector, std::size_t values, const Detections& detections);

// The output formats, text first (the default).
struct DetectFormat {
    mw::config::ComponentInfo info;
    std::string (*render)(const cd::ConceptDetector&, std::size_t values, const Detections&);
};
constexpr DetectFormat detect_formats[] = {
    {{"text", "the detector, its options and the indices, for a terminal"}, detect_text},
    {{"json", "the same as one JSON object, for programs"}, detect_json},
};

// The detectors and their options, from the code that owns them
// (detectors/concept_registry.h), and the formats.
std::string notes() {
    std::string text = "detectors and their options:\n";
    for (const auto& entry : cd::concept_detectors()) {
        text += fmt::format("  {}{}: {}\n    reproduces: {}\n", entry.info.name, entry.binary_input ? " (0/1)" : "",
                            entry.info.summary, entry.reference);
        text += mw::config::options_help(entry.info, "    ");
    }
    text += "formats (--format):\n";
    for (const auto& format : detect_formats)
        text += fmt::format("  {:<20} {}\n", format.info.name, format.info.summary);
    return text;
}

constexpr Form forms[] = {
    {"detect", "--detector NAME [--param KEY=VALUE]... --input STREAM.csv [--column NAME] [--format FORMAT]",
     description, option_table, notes}};

}  // namespace

std::span<const Form> detect_forms() { return forms; }

namespace {

int usage_error(std::string_view message) { return cli::usage_error("detect", message); }

struct StreamReadResult {
    std::vector<double> values;
    std::string error;
};

std::string_view trim(std::string_view text) {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos) return {};
    const auto last = text.find_last_not_of(" \t");
    return text.substr(first, last - first + 1);
}

// One number per line, i.e. a one-column CSV (quotes allowed). Only the
// first record may be something else (a header); a blank line is accepted
// only at the very end. With `column`, the file is a CSV whose first record
// is its header and the values are that column's (every record as wide as
// the header). For a 0/1 detector every value must be 0 or 1: anything else
// means the wrong column was given.
StreamReadResult read_stream(std::istream& in, std::string_view source, bool binary_input,
                             std::string_view column) {
    StreamReadResult result;
    csv::Options options;
    options.header = false;            // optional here: a first record that is no number
    options.skip_blank_lines = false;  // refused inside the stream, below
    options.allow_ragged = true;       // several fields are refused below, with the line's text
    csv::Reader reader(in, options);
    csv::Record record;
    std::uint64_t blank_line = 0;
    std::size_t column_index = 0;
    std::size_t header_width = 1;
    csv::Status status;
    while ((status = reader.next(record)) == csv::Status::record) {
        const std::uint64_t line = record.line();
        const bool first = reader.rows_read() == 1;
        if (first && !column.empty()) {
            header_width = record.size();
            std::string names;
            for (std::size_t i = 0; i < record.size(); ++i) {
                if (trim(record[i]) == column) break;
                ++column_index;
                names += fmt::format("{}{}", i > 0 ? ", " : "", trim(record[i]));
            }
            if (column_index == record.size()) {
                result.error =
                    fmt::format("{}: line {}: no column '{}' in the header (columns: {})", source, line, column, names);
                return result;
            }
            continue;
        }
        const std::string_view text = trim(record[column.empty() ? 0 : std::min(column_index, record.size() - 1)]);
        if (record.size() == 1 && text.empty() && header_width == 1) {
            if (blank_line == 0) blank_line = line;
            continue;
        }
        if (blank_line != 0) {
            result.error = fmt::format("{}: line {}: blank line inside the stream", source, blank_line);
            return result;
        }
        if (record.size() != header_width) {
            if (first) continue;  // the header of a wider file
            std::string fields;
            for (std::size_t i = 0; i < record.size(); ++i) fields += fmt::format("{}{}", i > 0 ? "," : "", record[i]);
            result.error =
                column.empty()
                    ? fmt::format("{}: line {}: expected one number per line (or --column NAME), got {} fields '{}'",
                                  source, line, record.size(), fields)
                    : fmt::format("{}: line {}: expected {} fields as the header, got {} '{}'", source, line,
                                  header_width, record.size(), fields);
            return result;
        }
        const std::string where = column.empty() ? fmt::format("line {}", line)
                                                 : fmt::format("line {}, column '{}'", line, column);
        double value = 0;
        const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        const bool is_number = ec == std::errc() && ptr == text.data() + text.size() && std::isfinite(value);
        if (!is_number) {
            if (first) continue;  // the header
            result.error = fmt::format("{}: {}: expected a finite number, got '{}'", source, where, text);
            return result;
        }
        if (binary_input && value != 0.0 && value != 1.0) {
            result.error = fmt::format("{}: {}: this detector expects 0 (success) or 1 (error), got '{}'", source,
                                       where, text);
            return result;
        }
        result.values.push_back(value);
    }
    if (status == csv::Status::error) result.error = fmt::format("{}: {}", source, reader.error().to_string());
    return result;
}

struct WarningZone {
    std::size_t first = 0;
    std::size_t last = 0;
};

struct Detections {
    std::vector<std::size_t> drifts;
    std::vector<WarningZone> warning_zones;
};

Detections run(cd::ConceptDetector& detector, const std::vector<double>& values) {
    Detections detections;
    bool in_warning = false;
    for (std::size_t i = 0; i < values.size(); ++i) {
        const cd::DriftState state = detector.update(values[i]);
        if (state == cd::DriftState::drift) detections.drifts.push_back(i);
        if (state == cd::DriftState::warning) {
            if (in_warning)
                detections.warning_zones.back().last = i;
            else
                detections.warning_zones.push_back({i, i});
        }
        in_warning = state == cd::DriftState::warning;
    }
    return detections;
}

std::string join_drifts(const std::vector<std::size_t>& drifts) {
    if (drifts.empty()) return "none";
    std::string text;
    for (const std::size_t index : drifts) text += fmt::format("{}{}", text.empty() ? "" : " ", index);
    return text;
}

std::string join_zones(const std::vector<WarningZone>& zones) {
    if (zones.empty()) return "none";
    std::string text;
    for (const auto& zone : zones) {
        if (!text.empty()) text += ' ';
        text += zone.first == zone.last ? fmt::format("{}", zone.first) : fmt::format("{}-{}", zone.first, zone.last);
    }
    return text;
}

nlohmann::ordered_json options_json(const mw::config::Settings& options) {
    nlohmann::ordered_json object = nlohmann::ordered_json::object();
    for (const auto& item : options.items()) {
        if (item.kind == mw::config::ValueKind::integer)
            object[item.key] = std::get<std::uint64_t>(item.value);
        else if (item.kind == mw::config::ValueKind::number)
            object[item.key] = std::get<double>(item.value);
        else if (item.text == "true" || item.text == "false")
            object[item.key] = item.text == "true";
        else
            object[item.key] = item.text;
    }
    return object;
}

std::string detect_json(const cd::ConceptDetector& detector, std::size_t values, const Detections& detections) {
    nlohmann::ordered_json zones = nlohmann::ordered_json::array();
    for (const auto& zone : detections.warning_zones) zones.push_back({{"first", zone.first}, {"last", zone.last}});
    const nlohmann::ordered_json report = {
        {"detector", detector.name()},
        {"options", options_json(detector.options())},
        {"values", values},
        {"drifts", detections.drifts},
        {"warning_zones", zones},
    };
    return report.dump(2) + "\n";
}

std::string detect_text(const cd::ConceptDetector& detector, std::size_t values, const Detections& detections) {
    std::string text = fmt::format("detector: {}\noptions: {}\nvalues: {}\n", detector.name(),
                                   detector.options().to_string(), values);
    text += fmt::format("drifts ({}): {}\n", detections.drifts.size(), join_drifts(detections.drifts));
    text += fmt::format("warning zones ({}): {}\n", detections.warning_zones.size(),
                        join_zones(detections.warning_zones));
    return text;
}

}  // namespace

int run_detect(Args args) {
    const auto given = parse_or_exit("detect", forms[0], args);
    if (!given.run()) return given.exit_code;
    const auto& parsed = given.parsed;
    if (!parsed.positionals.empty())
        return usage_error(fmt::format("unexpected argument '{}'", parsed.positionals.front()));
    DetectArguments arguments;
    command_line::apply(parsed, option_table, &arguments);  // every row stores its value as given
    const auto& [detector_name, input, format_name, column, params] = arguments;
    const auto* format = mw::config::find_component(std::span<const DetectFormat>(detect_formats), format_name);
    if (format == nullptr)
        return usage_error("--format: " + mw::config::unknown_component("output format", format_name,
                                                                         std::span<const DetectFormat>(detect_formats)));

    cd::MakeDetectorResult made = cd::make_concept_detector(detector_name, params);
    if (!made.ok()) return usage_error(made.error);
    const bool binary_input = cd::find_concept_detector(detector_name)->binary_input;

    StreamReadResult stream;
    if (input == "-") {
        stream = read_stream(std::cin, "standard input", binary_input, column);
    } else {
        std::ifstream file(input);
        if (!file) return usage_error(fmt::format("cannot open '{}'", input));
        stream = read_stream(file, input, binary_input, column);
    }
    if (!stream.error.empty()) return usage_error(stream.error);

    const Detections detections = run(*made.detector, stream.values);

    std::fputs(format->render(*made.detector, stream.values.size(), detections).c_str(), stdout);
    return exit_ok;
}

}  // namespace mw::cli
