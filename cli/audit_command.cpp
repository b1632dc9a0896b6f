// `modelwatch audit`: the fairness audit of a CSV file of predictions and
// outcomes, offline, with the same code the daemon's scheduled audits use.
#include <algorithm>
#include <cstdio>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/exit_status.h"
#include "core/time.h"
#include "core/utf8.h"
#include "fairness/audit.h"
#include "fairness/audit_csv.h"
#include "fairness/report_formats.h"
#include "fairness/report_json.h"
#include "fairness/report_text.h"

namespace mw::cli {

namespace {

using command_line::parse_name_list;
using command_line::parse_unsigned;

// What `modelwatch audit` was asked to do.
struct AuditArguments {
    fairness::CsvAuditSpec spec;
    fairness::AuditOptions options;
    std::string input, reference_input, format = "html", output, model;
    std::vector<std::string> history_files;
    bool fail_on_violation = false;
};

// What each option does to the arguments; the rows below name them once.
std::string apply_sensitive(AuditArguments& arguments, std::string_view value) {
    std::vector<std::string> names;
    if (auto error = parse_name_list(value, "attribute", names); !error.empty()) return error;
    arguments.spec.sensitive_columns.insert(arguments.spec.sensitive_columns.end(), names.begin(), names.end());
    return "";
}

std::string apply_reference_group(AuditArguments& arguments, std::string_view value) {
    const std::size_t eq = value.find('=');
    if (eq == std::string_view::npos || eq == 0) return fmt::format("'{}' is not ATTRIBUTE=VALUE", value);
    arguments.options.reference_values[std::string(value.substr(0, eq))] = value.substr(eq + 1);
    return "";
}

std::string apply_min_group_size(AuditArguments& arguments, std::string_view value) {
    std::uint64_t number = 0;
    if (!parse_unsigned(value, number)) return fmt::format("'{}' is not a count", value);
    arguments.options.metrics.min_group_size = number;
    return "";
}

std::string apply_format(AuditArguments& arguments, std::string_view value) {
    if (fairness::find_report_format(value) == nullptr)
        return config::unknown_component("report format", value, fairness::report_formats());
    arguments.format = value;
    return "";
}

std::string apply_history(AuditArguments& arguments, std::string_view value) {
    return parse_name_list(value, "file", arguments.history_files);
}

std::string apply_bootstrap(AuditArguments& arguments, std::string_view value) {
    std::uint64_t number = 0;
    if (!parse_unsigned(value, number) || number > 100000)
        return fmt::format("'{}' is not a count up to 100000", value);
    arguments.options.bootstrap.replicates = number;
    return "";
}

std::string apply_seed(AuditArguments& arguments, std::string_view value) {
    std::uint64_t number = 0;
    if (!parse_unsigned(value, number)) return fmt::format("'{}' is not a number", value);
    arguments.options.bootstrap.seed = number;
    return "";
}

template <std::string (*F)(AuditArguments&, std::string_view)>
constexpr auto on_audit = command_line::applies<AuditArguments, F>;
template <auto Member>
constexpr auto stored_in_spec = command_line::stores<&AuditArguments::spec, Member>;

constexpr command_line::Option option_table[] = {
    {"--input", "FILE", "the CSV file (required)", true, command_line::stores<&AuditArguments::input>},
    {"--sensitive", "A[,B]", "sensitive attribute columns (required)", true, on_audit<apply_sensitive>},
    {"--y-true", "COL", "true label column (required)", true, stored_in_spec<&fairness::CsvAuditSpec::y_true_column>},
    {"--y-pred", "COL", "predicted label column (required)", true, stored_in_spec<&fairness::CsvAuditSpec::y_pred_column>},
    {"--score", "COL", "probability of the positive class, in [0, 1] (enables calibration)", false, stored_in_spec<&fairness::CsvAuditSpec::score_column>},
    {"--positive-label", "L", "the label value counted as positive (default 1)", false, stored_in_spec<&fairness::CsvAuditSpec::positive_label>},
    {"--reference-group", "A=V", "the reference group of attribute A (repeatable; default the largest group)", false, on_audit<apply_reference_group>},
    {"--min-group-size", "N", "groups with fewer rows are listed as too small, not compared (default 30)", false, on_audit<apply_min_group_size>},
    {"--format", "FORMAT", "report format, listed below (default html)", false, on_audit<apply_format>},
    {"--output", "FILE", "write the report there (default standard output)", false, command_line::stores<&AuditArguments::output>},
    {"--model", "NAME", "the model's name, shown in the report", false, command_line::stores<&AuditArguments::model>},
    {"--history", "F1[,F2...]", "earlier JSON reports of the same audit, for the trend chart", false, on_audit<apply_history>},
    {"--reference-input", "FILE",
     "a CSV of an earlier (reference) window with the same columns: compares each\n"
     "group's share of rows and base rate (pre-training data bias)", false, command_line::stores<&AuditArguments::reference_input>},
    {"--bootstrap", "N", "bootstrap replicates (default 1000)", false, on_audit<apply_bootstrap>},
    {"--seed", "N", "bootstrap seed (default 20240601)", false, on_audit<apply_seed>},
    {"--fail-on-violation", "", "exit 1 when a disparity is beyond tolerance and statistically clear", false, command_line::stores<&AuditArguments::fail_on_violation>},
};

std::string description() {
    return "Fairness audit of a CSV file with a header row: per-group rates with Wilson\n"
           "intervals for each sensitive attribute and their intersection, disparities\n"
           "against a reference group and across groups with bootstrap intervals, and a\n"
           "verdict per disparity.\n";
}

// The report formats, from the code that owns them (fairness/report_formats.h).
std::string notes() {
    std::string text = "report formats:\n";
    for (const auto& format : fairness::report_formats())
        text += fmt::format("  {:<6} {}\n", format.info.name, format.info.summary);
    return text;
}

constexpr Form offline_form{"audit", "--input FILE.csv --sensitive ATTR[,ATTR...] --y-true COL --y-pred COL [options]",
                        description, option_table, notes};

}  // namespace

std::span<const Form> audit_forms() {
    static const Form forms[] = {offline_form, admin_audit_form()};
    return forms;
}

namespace {

int usage_error(std::string_view message) { return cli::usage_error("audit", message); }

bool read_file(const std::string& path, std::string& text) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    std::ostringstream buffer;
    buffer << in.rdbuf();
    text = buffer.str();
    return true;
}

}  // namespace

int run_audit(Args args) {
    if (!args.empty() && std::string_view(args[0]) == "run") return run_admin_audit(args);
    const auto given = parse_or_exit("audit", offline_form, args);
    if (!given.run()) return given.exit_code;
    if (!given.parsed.positionals.empty())
        return usage_error(fmt::format("unexpected argument '{}'", given.parsed.positionals.front()));
    AuditArguments arguments;
    if (const auto error = command_line::apply(given.parsed, option_table, &arguments); !error.empty())
        return usage_error(error);
    auto& [spec, options, input, reference_input, format, output, model, history_files, fail_on_violation] = arguments;
    options.sensitive_attributes = spec.sensitive_columns;

    std::ifstream in(input, std::ios::binary);
    if (!in) return usage_error(fmt::format("cannot open '{}'", input));
    const fairness::CsvAuditRead read = fairness::read_audit_csv(in, spec);
    if (!read.ok()) return usage_error(fmt::format("{}: {}", input, read.error));
    // The problems quote the file's cells.
    for (const auto& problem : read.problems)
        std::fprintf(stderr, "modelwatch audit: %s: skipped %s\n", input.c_str(), terminal_safe(problem).c_str());
    if (read.rows_rejected > read.problems.size())
        std::fprintf(stderr, "modelwatch audit: %s: %llu more rows skipped\n", input.c_str(),
                     static_cast<unsigned long long>(read.rows_rejected - read.problems.size()));

    // A positive label that never occurs makes every rate 0 and every gap
    // "within tolerance": a silent PASS. It is almost always a wrong
    // --positive-label (e.g. the default 1 on a column of "<=50K"/">50K").
    const auto has_positive = [](const std::vector<std::uint8_t>& column) {
        return std::find(column.begin(), column.end(), std::uint8_t{1}) != column.end();
    };
    if (read.data.rows() > 0 && !has_positive(read.data.y_true) && !has_positive(read.data.y_pred))
        return usage_error(fmt::format("{}: the positive label '{}' occurs in neither --y-true nor --y-pred; "
                                       "set --positive-label to the value that means positive",
                                       input, spec.positive_label));

    fairness::AuditRun run = fairness::run_audit(read.data, options);
    if (!run.ok()) return usage_error(fmt::format("{}: {}", input, run.error));
    fairness::AuditResult& result = run.result;
    result.model = model;
    result.generated_at = format_rfc3339_us(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
    const std::size_t slash = input.find_last_of('/');
    result.window.source = slash == std::string::npos ? input : input.substr(slash + 1);
    result.window.description = "all rows of the file";
    result.window.rows_rejected = read.rows_rejected;
    result.window.positive_label = spec.positive_label;
    for (const auto& file : history_files) {
        std::string text;
        if (!read_file(file, text)) return usage_error(fmt::format("cannot read history file '{}'", file));
        fairness::HistoryRead history = fairness::history_from_report_json(text);
        if (!history.error.empty()) return usage_error(fmt::format("history file '{}': {}", file, history.error));
        result.history.insert(result.history.end(), history.points.begin(), history.points.end());
    }

    if (!reference_input.empty()) {
        std::ifstream reference_in(reference_input, std::ios::binary);
        if (!reference_in) return usage_error(fmt::format("cannot open '{}'", reference_input));
        const fairness::CsvAuditRead reference = fairness::read_audit_csv(reference_in, spec);
        if (!reference.ok()) return usage_error(fmt::format("{}: {}", reference_input, reference.error));
        for (const auto& grouping : result.groupings) {
            fairness::RepresentationShift shift =
                fairness::compare_representation(reference.data, read.data, grouping.attributes);
            if (!shift.error.empty()) return usage_error(fmt::format("{}: {}", reference_input, shift.error));
            result.representation.push_back(std::move(shift));
        }
    }

    const std::string report = fairness::find_report_format(format)->render(result);
    if (output.empty()) {
        std::fwrite(report.data(), 1, report.size(), stdout);
    } else {
        std::ofstream out(output, std::ios::binary | std::ios::trunc);
        out << report;
        if (!out.flush()) return usage_error(fmt::format("cannot write '{}'", output));
    }
    const fairness::AuditStatus status = fairness::audit_status(fairness::count_verdicts(result));
    std::fprintf(stderr, "audit_done status=%s rows=%zu rejected=%llu\n", fairness::to_string(status),
                 read.data.rows(), static_cast<unsigned long long>(read.rows_rejected));
    return fail_on_violation && status == fairness::AuditStatus::fail ? exit_negative : exit_ok;
}

}  // namespace mw::cli
