// `modelwatch drift`: an offline drift report between a reference and a
// current CSV file, computed by the same detectors the daemon runs
// (detectors/dataset_drift.h) and rendered as text, JSON or HTML.
#include <malloc.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <algorithm>
#include <fstream>
#include <future>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/exit_status.h"
#include "core/utf8.h"
#include "detectors/csv_table.h"
#include "detectors/dataset_drift.h"
#include "detectors/drift_report.h"

namespace mw::cli {

namespace {

namespace dr = mw::drift;

int usage_error(std::string_view message) { return cli::usage_error("drift", message); }

using command_line::parse_name_list;
using command_line::parse_unsigned;

struct Arguments {
    std::string reference_path;
    std::string current_path;
    const dr::DriftReportFormat* format = &dr::drift_report_formats().front();
    std::string output_path;
    std::vector<std::string> categorical;
    std::optional<std::vector<std::string>> exclude;  // unset: leave out label, id and time columns
    dr::DatasetDriftOptions options;
};

// Parses "COL=VALUE".
bool split_assignment(std::string_view text, std::string& key, std::string& value) {
    const auto equals = text.find('=');
    if (equals == std::string_view::npos || equals == 0) return false;
    key = text.substr(0, equals);
    value = text.substr(equals + 1);
    return true;
}

// What each option does to the arguments; the rows below name them once.
std::string apply_method(Arguments& arguments, std::string_view value) {
    const auto method = dr::parse_drift_method(value);
    if (!method) return config::unknown_component("drift method", value, dr::drift_methods());
    arguments.options.feature.default_choice.method = method;
    return "";
}

std::string apply_threshold(Arguments& arguments, std::string_view value) {
    double number = 0;
    if (!dr::parse_number_cell(value, number) || number <= 0)
        return fmt::format("expected a positive number, got '{}'", value);
    arguments.options.feature.default_choice.threshold = number;
    return "";
}

// "COL=VALUE": the column's choice, starting from the defaults given so far.
std::string feature_choice(Arguments& arguments, std::string_view value, std::string& text,
                           dr::FeatureMethodChoice*& choice) {
    std::string column;
    if (!split_assignment(value, column, text)) return fmt::format("expected COL=VALUE, got '{}'", value);
    auto& feature = arguments.options.feature;
    choice = &feature.per_feature.try_emplace(column, feature.default_choice).first->second;
    return "";
}

std::string apply_feature_method(Arguments& arguments, std::string_view value) {
    std::string text;
    dr::FeatureMethodChoice* choice = nullptr;
    if (auto error = feature_choice(arguments, value, text, choice); !error.empty()) return error;
    const auto method = dr::parse_drift_method(text);
    if (!method) return config::unknown_component("drift method", text, dr::drift_methods());
    choice->method = method;
    return "";
}

std::string apply_feature_threshold(Arguments& arguments, std::string_view value) {
    std::string text;
    dr::FeatureMethodChoice* choice = nullptr;
    if (auto error = feature_choice(arguments, value, text, choice); !error.empty()) return error;
    double number = 0;
    if (!dr::parse_number_cell(text, number) || number <= 0)
        return fmt::format("expected a positive number, got '{}'", text);
    choice->threshold = number;
    return "";
}

std::string apply_mode(Arguments& arguments, std::string_view value) {
    const auto mode = dr::parse_drift_mode(value);
    if (!mode) return config::unknown_component("drift mode", value, dr::drift_modes());
    arguments.options.feature.mode = *mode;
    return "";
}

std::string apply_correction(Arguments& arguments, std::string_view value) {
    const auto correction = dr::parse_correction(value);
    if (!correction) return config::unknown_component("correction", value, dr::corrections());
    arguments.options.feature.correction = *correction;
    return "";
}

std::string apply_effect_floor(Arguments& arguments, std::string_view value) {
    double number = 0;
    if (!dr::parse_number_cell(value, number) || number < 0)
        return fmt::format("expected a number >= 0, got '{}'", value);
    arguments.options.feature.effect_floor = number;
    return "";
}

std::string apply_resamples(Arguments& arguments, std::string_view value) {
    std::uint64_t count = 0;
    if (!parse_unsigned(value, count) || count == 1 || count > 10000)
        return fmt::format("expected 0 or 2..10000, got '{}'", value);
    arguments.options.feature.noise_resamples = count;
    return "";
}

std::string apply_drift_share(Arguments& arguments, std::string_view value) {
    double number = 0;
    if (!dr::parse_number_cell(value, number) || number <= 0 || number > 1)
        return fmt::format("expected a number in (0, 1], got '{}'", value);
    arguments.options.feature.drift_share = number;
    return "";
}

std::string apply_columns(Arguments& arguments, std::string_view value) {
    return parse_name_list(value, "column", arguments.options.columns);
}

std::string apply_exclude(Arguments& arguments, std::string_view value) {
    return parse_name_list(value, "column", arguments.exclude.emplace());
}

std::string apply_categorical(Arguments& arguments, std::string_view value) {
    return parse_name_list(value, "column", arguments.categorical);
}

std::string apply_no_multivariate(Arguments& arguments, std::string_view) {
    arguments.options.multivariate.enabled = false;
    return "";
}

std::string apply_format(Arguments& arguments, std::string_view value) {
    arguments.format = config::find_component(dr::drift_report_formats(), value);
    if (arguments.format == nullptr)
        return config::unknown_component("report format", value, dr::drift_report_formats());
    return "";
}

template <std::string (*F)(Arguments&, std::string_view)>
constexpr auto on_arguments = command_line::applies<Arguments, F>;

constexpr command_line::Option option_table[] = {
    {"--reference", "REF.csv", "the reference sample (required)", true, command_line::stores<&Arguments::reference_path>},
    {"--current", "CUR.csv", "the current sample (required)", true, command_line::stores<&Arguments::current_path>},
    {"--columns", "a,b,...", "columns to compare (default: all but --segment-by and the excluded)", false, on_arguments<apply_columns>},
    {"--exclude", "a,b,...",
     "columns not to compare; without it, label, id and time columns are left\n"
     "out: a column named label, target, class, y, outcome, id, *_id, ts,\n"
     "timestamp, date, time, datetime, or one whose values grow strictly in\n"
     "both files; --exclude '' compares them all. The report names what\n"
     "was left out.", false, on_arguments<apply_exclude>},
    {"--categorical", "a,b,...",
     "columns to treat as categories even if numeric (a column is numeric\n"
     "when every non-missing cell of both files is a number)", false, on_arguments<apply_categorical>},
    {"--method", "M", "method for every column (default auto; the methods are listed below)", false, on_arguments<apply_method>},
    {"--threshold", "T", "threshold for every column (default: 0.05 for tests, 0.1 for distances)", false, on_arguments<apply_threshold>},
    {"--feature-method", "COL=M", "method for one column (repeatable)", false, on_arguments<apply_feature_method>},
    {"--feature-threshold", "COL=T", "threshold for one column (repeatable)", false, on_arguments<apply_feature_threshold>},
    {"--mode", "MODE", "how a column's verdict is reached (default robust; the modes are listed below)", false, on_arguments<apply_mode>},
    {"--correction", "C", "multiple-testing correction in robust mode (default benjamini_hochberg; listed below)", false, on_arguments<apply_correction>},
    {"--effect-floor", "X", "minimum effect size in robust mode (default 0.1)", false, on_arguments<apply_effect_floor>},
    {"--resamples", "N", "reference resamples for the noise baseline (default 50; 0 disables)", false, on_arguments<apply_resamples>},
    {"--seed", "N", "seed of the resamples (default 20240601)", false, command_line::stores<&Arguments::options, &dr::DatasetDriftOptions::feature, &dr::DriftOptions::seed>},
    {"--drift-share", "S", "dataset drift when the share of drifted columns >= S (default 0.5)", false, on_arguments<apply_drift_share>},
    {"--segment-by", "COL", "also report drift per value of COL", false, command_line::stores<&Arguments::options, &dr::DatasetDriftOptions::segment_column>},
    {"--no-multivariate", "", "skip the PCA reconstruction-error check", false, on_arguments<apply_no_multivariate>},
    {"--format", "FORMAT", "output format (default text; the formats are listed below)", false, on_arguments<apply_format>},
    {"--output", "FILE", "write the report to FILE instead of standard output", false, command_line::stores<&Arguments::output_path>},
};

std::string description() {
    return "Compares the distribution of every column (or of --columns) of CUR.csv with REF.csv\n"
           "and prints a drift report. Both files are CSV with a header row.\n";
}

// "  name  summary" per line.
template <typename Entry>
std::string choice_lines(std::span<const Entry> entries) {
    std::string text;
    for (const auto& entry : entries) text += fmt::format("  {:<20} {}\n", entry.info.name, entry.info.summary);
    return text;
}

// Every list comes from the code that owns it (detectors/drift_method.h,
// detectors/feature_drift.h, detectors/drift_report.h).
std::string notes() {
    return fmt::format("methods (--method, --feature-method):\n  {}\nmodes (--mode):\n{}corrections (--correction):\n{}"
                       "formats (--format):\n{}",
                       dr::drift_method_names(), choice_lines(dr::drift_modes()), choice_lines(dr::corrections()),
                       choice_lines(dr::drift_report_formats()));
}

constexpr Form forms[] = {{"drift", "--reference REF.csv --current CUR.csv [options]", description, option_table, notes}};

}  // namespace

std::span<const Form> drift_forms() { return forms; }

namespace {

// Reads a file column by column into typed arrays: --categorical columns and
// the --segment-by column as text, every other column as numbers while its
// cells are numbers (see dr::read_csv_columns).
dr::CsvColumns read_file(const std::string& path, const Arguments& arguments) {
    std::vector<std::string> text_columns = arguments.categorical;
    if (!arguments.options.segment_column.empty()) text_columns.push_back(arguments.options.segment_column);
    return dr::read_csv_columns(path, text_columns);
}

// A column is numeric when every non-missing cell of both files is a finite
// number (and it is not listed in --categorical); otherwise its cells are
// text, read again from the file that held numbers in it. The file's column
// is moved out: each is used once.
std::string make_column(dr::CsvColumns& table, const std::string& path, int index, const std::string& name,
                        bool numeric, dr::ColumnData& column) {
    column = dr::ColumnData{name, numeric, {}, {}};
    dr::CsvColumn& cells = table.columns[static_cast<std::size_t>(index)];
    if (numeric) {
        column.numbers = std::move(cells.numbers);
        return "";
    }
    if (!cells.numeric) {
        column.texts = std::move(cells.texts);
        return "";
    }
    std::string error;
    column.texts = dr::read_csv_text_column(path, name, error);
    return error;
}

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool ends_with(std::string_view text, std::string_view suffix) {
    return text.size() > suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// Why a column is left out by default, or "" to compare it. A label, an id or
// a time differs between any two samples by construction (a later window has
// later dates and new ids), so comparing them reports drift that says nothing.
std::string default_exclusion(const dr::CsvColumns& reference, const dr::CsvColumns& current, const std::string& name) {
    const std::string key = lower(name);
    for (const char* label : {"label", "target", "class", "y", "outcome"})
        if (key == label) return "label column";
    if (key == "id" || ends_with(key, "_id")) return "id column";
    for (const char* time : {"timestamp", "ts", "date", "time", "datetime"})
        if (key == time) return "time column";
    // A counter or a clock: strictly increasing numbers through both files
    // (a missing value, NaN, is not greater than anything).
    for (const auto* table : {&reference, &current}) {
        const dr::CsvColumn& column = table->columns[static_cast<std::size_t>(table->column_index(name))];
        if (table->rows < 2 || !column.numeric) return "";
        double previous = -std::numeric_limits<double>::infinity();
        for (const double value : column.numbers) {
            if (!(value > previous)) return "";
            previous = value;
        }
    }
    return "grows strictly in both files: an id or a time";
}

// Builds the two tables over the columns both files must have.
std::string make_tables(dr::CsvColumns& reference, dr::CsvColumns& current, const Arguments& arguments,
                        dr::DriftTable& reference_table, dr::DriftTable& current_table,
                        std::vector<dr::ExcludedColumn>& excluded) {
    std::vector<std::string> names = arguments.options.columns;
    if (names.empty()) {
        for (const auto& name : reference.header) {
            if (name == arguments.options.segment_column) continue;
            std::string reason;
            if (arguments.exclude) {
                if (std::find(arguments.exclude->begin(), arguments.exclude->end(), name) != arguments.exclude->end())
                    reason = "--exclude";
            } else if (current.column_index(name) >= 0) {
                reason = default_exclusion(reference, current, name);
            }
            if (reason.empty())
                names.push_back(name);
            else
                excluded.push_back({name, reason});
        }
        if (!arguments.options.segment_column.empty()) names.push_back(arguments.options.segment_column);
    } else if (!arguments.options.segment_column.empty()) {
        names.push_back(arguments.options.segment_column);
    }
    if (arguments.exclude)
        for (const auto& name : *arguments.exclude)
            if (reference.column_index(name) < 0)
                return fmt::format("--exclude: column '{}' is not in {}", name, arguments.reference_path);
    const std::set<std::string> categorical(arguments.categorical.begin(), arguments.categorical.end());
    for (const auto& name : arguments.categorical)
        if (reference.column_index(name) < 0)
            return fmt::format("--categorical: column '{}' is not in {}", name, arguments.reference_path);
    reference_table.rows = reference.rows;
    current_table.rows = current.rows;
    for (const auto& name : names) {
        // A name given twice (in --columns and as --segment-by): the file's
        // column was moved into the first copy.
        if (const auto* earlier = reference_table.find(name); earlier != nullptr) {
            const dr::ColumnData reference_copy = *earlier;
            const dr::ColumnData current_copy = *current_table.find(name);
            reference_table.columns.push_back(reference_copy);
            current_table.columns.push_back(current_copy);
            continue;
        }
        const int r = reference.column_index(name);
        const int c = current.column_index(name);
        if (r < 0) return fmt::format("column '{}' is not in {}", name, arguments.reference_path);
        if (c < 0) return fmt::format("column '{}' is not in {}", name, arguments.current_path);
        const bool numeric = !categorical.contains(name) && name != arguments.options.segment_column &&
                             reference.columns[static_cast<std::size_t>(r)].numeric &&
                             current.columns[static_cast<std::size_t>(c)].numeric;
        if (auto error = make_column(reference, arguments.reference_path, r, name, numeric,
                                     reference_table.columns.emplace_back());
            !error.empty())
            return error;
        if (auto error = make_column(current, arguments.current_path, c, name, numeric,
                                     current_table.columns.emplace_back());
            !error.empty())
            return error;
    }
    if (reference_table.columns.empty())
        return "no column left to compare (see --columns and --exclude)";
    return "";
}

}  // namespace

namespace {
// glibc refuses a threshold above 32 MiB (HEAP_MAX_SIZE / 2 on 64 bits).
constexpr int drift_mmap_threshold_bytes = 32 << 20;
constexpr int drift_trim_threshold_bytes = std::numeric_limits<int>::max();
}  // namespace

int run_drift(Args args) {
    const auto given = parse_or_exit("drift", forms[0], args);
    if (!given.run()) return given.exit_code;
    if (!given.parsed.positionals.empty())
        return usage_error(fmt::format("unexpected argument '{}'", given.parsed.positionals.front()));
    Arguments arguments;
    if (const auto error = command_line::apply(given.parsed, option_table, &arguments); !error.empty())
        return usage_error(error);
    // Every column and every sort's copy is a buffer of megabytes; by default
    // glibc maps each one afresh and unmaps it when freed, so the next one's
    // pages are faulted and zeroed again (page faults and zeroing were a
    // fifth of the plain mode's time in a virtual machine). Freed buffers
    // stay in the heap for the next one instead: a command that exits when
    // done gives nothing back early.
    ::mallopt(M_MMAP_THRESHOLD, drift_mmap_threshold_bytes);
    ::mallopt(M_TRIM_THRESHOLD, drift_trim_threshold_bytes);
    // The two files are parsed at the same time, the current one on a thread
    // of its own that owns its table until get() hands it over: the same CPU
    // time in about half the wall time. The reference's error is still the
    // one reported when both files are bad.
    auto current_read = std::async(std::launch::async, [&arguments] {
        return read_file(arguments.current_path, arguments);
    });
    auto reference = read_file(arguments.reference_path, arguments);
    auto current = current_read.get();
    if (!reference.ok()) return usage_error(reference.error);
    if (!current.ok()) return usage_error(current.error);
    if (reference.rows == 0) return usage_error(fmt::format("{}: no data rows", arguments.reference_path));
    if (current.rows == 0) return usage_error(fmt::format("{}: no data rows", arguments.current_path));

    dr::DriftTable reference_table, current_table;
    std::vector<dr::ExcludedColumn> excluded;
    if (const auto error = make_tables(reference, current, arguments, reference_table, current_table, excluded);
        !error.empty())
        return usage_error(error);
    for (const auto& [column, choice] : arguments.options.feature.per_feature)
        if (reference_table.find(column) == nullptr)
            return usage_error(
                fmt::format("--feature-method/--feature-threshold: column '{}' is not compared", column));

    auto fitted = dr::FittedReference::fit(reference_table, arguments.options);
    if (!fitted.ok()) return usage_error(fitted.error);
    const auto result = fitted.reference->evaluate(current_table);
    for (const auto& feature : result.overall.features)
        if (!feature.ok())
            std::fprintf(stderr, "modelwatch drift: column '%s': %s\n", terminal_safe(feature.feature).c_str(),
                         terminal_safe(feature.error).c_str());

    const dr::ReportSources sources{arguments.reference_path, arguments.current_path, std::move(excluded)};
    const std::string report = arguments.format->render(result, arguments.options, sources);

    if (arguments.output_path.empty()) {
        std::fwrite(report.data(), 1, report.size(), stdout);
    } else {
        std::ofstream out(arguments.output_path, std::ios::binary | std::ios::trunc);
        out << report;
        out.close();
        if (!out) return usage_error(fmt::format("{}: cannot write the report", arguments.output_path));
    }
    return result.overall.dataset_drift ? exit_negative : exit_ok;
}

}  // namespace mw::cli
