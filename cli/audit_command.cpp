// `modelwatch audit`: the fairness audit of a CSV file of predictions and
// outcomes, offline, with the same code the daemon's scheduled audits use.
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/exit_status.h"
#include "fairness/audit.h"
#include "fairness/audit_csv.h"
#include "fairness/report_formats.h"
#include "fairness/report_json.h"
#include "fairness/report_text.h"

namespace mw::cli {

namespace {

constexpr command_line::Option option_table[] = {
    {"--input", "FILE", "the CSV file (required)", true},
    {"--sensitive", "A[,B]", "sensitive attribute columns (required)", true},
    {"--y-true", "COL", "true label column (required)", true},
    {"--y-pred", "COL", "predicted label column (required)", true},
    {"--score", "COL", "probability of the positive class, in [0, 1] (enables calibration)"},
    {"--positive-label", "L", "the label value counted as positive (default 1)"},
    {"--reference-group", "A=V", "the reference group of attribute A (repeatable; default the largest group)"},
    {"--min-group-size", "N", "groups with fewer rows are listed as too small, not compared (default 30)"},
    {"--format", "FORMAT", "report format, listed below (default html)"},
    {"--output", "FILE", "write the report there (default standard output)"},
    {"--model", "NAME", "the model's name, shown in the report"},
    {"--history", "F1[,F2...]", "earlier JSON reports of the same audit, for the trend chart"},
    {"--reference-input", "FILE",
     "a CSV of an earlier (reference) window with the same columns: compares each\n"
     "group's share of rows and base rate (pre-training data bias)"},
    {"--bootstrap", "N", "bootstrap replicates (default 1000)"},
    {"--seed", "N", "bootstrap seed (default 20240601)"},
    {"--fail-on-violation", "", "exit 1 when a disparity is beyond tolerance and statistically clear"},
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

std::vector<std::string> split(std::string_view text, char separator) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (true) {
        const std::size_t end = text.find(separator, start);
        parts.emplace_back(text.substr(start, end - start));
        if (end == std::string_view::npos) break;
        start = end + 1;
    }
    return parts;
}

bool parse_unsigned(std::string_view text, std::uint64_t& value) {
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    return ec == std::errc() && end == text.data() + text.size();
}

int usage_error(std::string_view message) { return cli::usage_error("audit", message); }

std::string utc_now() {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

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
    fairness::CsvAuditSpec spec;
    fairness::AuditOptions options;
    std::string input, reference_input, format = "html", output, model;
    std::vector<std::string> history_files;
    bool fail_on_violation = false;

    for (const auto& [arg, value] : given.parsed.given) {
        std::uint64_t number = 0;
        if (arg == "--fail-on-violation") {
            fail_on_violation = true;
        } else if (arg == "--input") {
            input = value;
        } else if (arg == "--sensitive") {
            for (auto& name : split(value, ',')) {
                if (name.empty()) return usage_error("--sensitive has an empty attribute name");
                spec.sensitive_columns.push_back(name);
            }
        } else if (arg == "--y-true") {
            spec.y_true_column = value;
        } else if (arg == "--y-pred") {
            spec.y_pred_column = value;
        } else if (arg == "--score") {
            spec.score_column = value;
        } else if (arg == "--positive-label") {
            spec.positive_label = value;
        } else if (arg == "--reference-group") {
            const std::size_t eq = value.find('=');
            if (eq == std::string::npos || eq == 0)
                return usage_error(fmt::format("--reference-group '{}' is not ATTRIBUTE=VALUE", value));
            options.reference_values[value.substr(0, eq)] = value.substr(eq + 1);
        } else if (arg == "--min-group-size") {
            if (!parse_unsigned(value, number)) return usage_error(fmt::format("--min-group-size '{}' is not a count", value));
            options.metrics.min_group_size = number;
        } else if (arg == "--format") {
            if (fairness::find_report_format(value) == nullptr)
                return usage_error(config::unknown_component("report format", value, fairness::report_formats()));
            format = value;
        } else if (arg == "--reference-input") {
            reference_input = value;
        } else if (arg == "--output") {
            output = value;
        } else if (arg == "--model") {
            model = value;
        } else if (arg == "--history") {
            history_files = split(value, ',');
        } else if (arg == "--bootstrap") {
            if (!parse_unsigned(value, number) || number > 100000)
                return usage_error(fmt::format("--bootstrap '{}' is not a count up to 100000", value));
            options.bootstrap.replicates = number;
        } else if (arg == "--seed") {
            if (!parse_unsigned(value, number)) return usage_error(fmt::format("--seed '{}' is not a number", value));
            options.bootstrap.seed = number;
        }
    }
    options.sensitive_attributes = spec.sensitive_columns;

    std::ifstream in(input, std::ios::binary);
    if (!in) return usage_error(fmt::format("cannot open '{}'", input));
    const fairness::CsvAuditRead read = fairness::read_audit_csv(in, spec);
    if (!read.ok()) return usage_error(fmt::format("{}: {}", input, read.error));
    for (const auto& problem : read.problems) std::fprintf(stderr, "modelwatch audit: %s: skipped %s\n", input.c_str(), problem.c_str());
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
    result.generated_at = utc_now();
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
