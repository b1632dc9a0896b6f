#include "retrain/job_report.h"

#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/json_nesting.h"

namespace mw::retrain {

namespace {

using nlohmann::json;

JobReportParse failure(std::string message) { return JobReportParse{std::nullopt, std::move(message)}; }

// A short rendering of an offending value for an error message.
std::string shown(const json& value) {
    std::string text = value.dump();
    if (text.size() > 40) text = text.substr(0, 37) + "...";
    return text;
}

std::string required_text(const json& document, const char* field, std::string& error) {
    auto found = document.find(field);
    if (found == document.end()) {
        error = fmt::format("{}: missing", field);
        return "";
    }
    if (!found->is_string() || found->get_ref<const std::string&>().empty()) {
        error = fmt::format("{}: expected a non-empty string, got {}", field, shown(*found));
        return "";
    }
    return found->get<std::string>();
}

// A metrics object: every value a finite number.
bool read_metrics(const json& document, const char* field, bool require_one, std::map<std::string, double>& metrics,
                  std::string& error) {
    auto found = document.find(field);
    if (found == document.end()) {
        error = fmt::format("{}: missing", field);
        return false;
    }
    if (!found->is_object()) {
        error = fmt::format("{}: expected an object of metric name to number, got {}", field, shown(*found));
        return false;
    }
    if (require_one && found->empty()) {
        error = fmt::format("{}: expected at least one metric", field);
        return false;
    }
    for (const auto& [name, value] : found->items()) {
        // JSON has no NaN or infinity, but 1e999 parses to infinity.
        if (!value.is_number() || !std::isfinite(value.get<double>())) {
            error = fmt::format("{}.{}: expected a finite number, got {}", field, name, shown(value));
            return false;
        }
        metrics.emplace(name, value.get<double>());
    }
    return true;
}

}  // namespace

JobReportParse parse_job_report(std::string_view text) {
    if (text.size() > max_job_report_bytes) {
        return failure(fmt::format("report: {} bytes exceeds the limit of {} bytes", text.size(), max_job_report_bytes));
    }
    if (json_nesting_exceeds(text, max_job_report_depth))
        return failure(fmt::format("report: nested deeper than {} levels", max_job_report_depth));
    json document;
    try {
        document = json::parse(text);
    } catch (const json::exception& error) {
        // A syntax error (parse_error) or a number too large for a double
        // (out_of_range). The library's message says where ("parse error at
        // line 3, column 14: ..."); its "[json.exception...] " prefix does not.
        std::string_view message = error.what();
        if (auto end = message.find("] "); message.starts_with("[json.exception") && end != std::string_view::npos) {
            message.remove_prefix(end + 2);
        }
        return failure(fmt::format("report: not valid JSON: {}", message));
    }
    if (!document.is_object()) return failure(fmt::format("report: expected a JSON object, got {}", shown(document)));

    auto version = document.find("version");
    if (version == document.end()) return failure("version: missing");
    if (!version->is_number_integer() || version->get<std::int64_t>() != 1) {
        return failure(fmt::format("version: expected 1, got {}", shown(*version)));
    }

    JobReport report;
    std::string error;
    report.challenger_version = required_text(document, "challenger_version", error);
    if (!error.empty()) return failure(error);
    report.artifact = required_text(document, "artifact", error);
    if (!error.empty()) return failure(error);
    if (!read_metrics(document, "metrics", true, report.metrics, error)) return failure(error);
    if (!read_metrics(document, "champion_metrics", false, report.champion_metrics, error)) return failure(error);

    auto fairness = document.find("fairness");
    if (fairness != document.end() && !fairness->is_null()) {
        if (!fairness->is_object()) {
            return failure(fmt::format("fairness: expected an object or null, got {}", shown(*fairness)));
        }
        auto passed = fairness->find("passed");
        if (passed == fairness->end()) return failure("fairness.passed: missing");
        if (!passed->is_boolean()) {
            return failure(fmt::format("fairness.passed: expected true or false, got {}", shown(*passed)));
        }
        report.fairness_passed = passed->get<bool>();
        auto details = fairness->find("details");
        if (details != fairness->end() && !details->is_null()) {
            if (!details->is_object()) {
                return failure(fmt::format("fairness.details: expected an object, got {}", shown(*details)));
            }
            report.fairness_details_json = details->dump();
        }
    }
    report.json = document.dump();
    return JobReportParse{std::move(report), ""};
}

}  // namespace mw::retrain
