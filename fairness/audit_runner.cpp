#include "fairness/audit_runner.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <filesystem>
#include <system_error>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/durable_file.h"
#include "core/log.h"
#include "core/time.h"
#include "fairness/report_formats.h"
#include "fairness/report_json.h"
#include "fairness/report_text.h"

namespace mw::fairness {
namespace {

using nlohmann::json;

// NaN as JSON null (an undefined interval), as the JSON report writes it.
json number_or_null(double value) { return std::isfinite(value) ? json(value) : json(nullptr); }

bool beyond_tolerance(Verdict verdict) {
    return verdict == Verdict::beyond_clear || verdict == Verdict::beyond_unclear;
}

// The tolerance bound on the value's side of parity (ratio 1, difference 0):
// the bound a violation crossed, or the one a clean value would cross by
// moving away from parity. A band across groups has parity as one edge
// (fairness/disparities.cpp tolerance_band), so its other edge is the one.
double watched_bound(const DisparityValue& value) {
    const double parity = definition_of(value.metric).judged_by == JudgedBy::ratio ? 1.0 : 0.0;
    if (value.band.upper <= parity) return value.band.lower;
    if (value.band.lower >= parity) return value.band.upper;
    return value.judged_value < parity ? value.band.lower : value.band.upper;
}

Finding make_finding(const AuditResult& result, const GroupingResult& grouping, const DisparityValue& value,
                     const std::string& audit, std::int64_t audit_id, std::int64_t data_start_us,
                     std::int64_t data_end_us) {
    const std::string name = grouping_name(grouping.attributes);
    Finding f;
    f.model = result.model;
    f.kind = "fairness";
    f.subject = fmt::format("{} {}", definition_of(value.metric).id, name);
    if (!value.group.empty()) f.subject += fmt::format(" [{}]", value.group);
    f.method = "fairness_audit";
    f.statistic = value.judged_value;
    f.threshold = watched_bound(value);
    f.triggered = beyond_tolerance(value.verdict);
    f.severity = value.verdict == Verdict::beyond_clear     ? Severity::critical
                 : value.verdict == Verdict::beyond_unclear ? Severity::warning
                                                            : Severity::info;
    f.window_start_us = data_start_us;
    f.window_end_us = data_end_us;
    const auto& reference = grouping.disparities.reference_index;
    f.evidence_json =
        json{{"audit", audit},
             {"audit_id", audit_id},
             {"metric", definition_of(value.metric).id},
             {"grouping", name},
             {"group", value.group},
             {"reference_group", reference ? json(grouping.groups[*reference].label) : json(nullptr)},
             {"verdict", to_string(value.verdict)},
             {"judged_by", definition_of(value.metric).judged_by == JudgedBy::ratio ? "ratio" : "difference"},
             {"judged_interval",
              {number_or_null(value.judged_interval.lower), number_or_null(value.judged_interval.upper)}},
             {"band", {number_or_null(value.band.lower), number_or_null(value.band.upper)}},
             {"difference", number_or_null(value.difference)},
             {"ratio", number_or_null(value.ratio)}}
            .dump();
    return f;
}

// The window as people read it, with what the reader did to the rows.
std::string window_description(const AuditDataLoad& load, const AuditDataQuery& query) {
    std::string text = fmt::format("{} to {}", format_rfc3339_us(query.data_start_us),
                                   format_rfc3339_us(query.data_end_us));
    if (load.truncated)
        text += fmt::format("; more than {} labelled predictions: the latest {} audited", query.max_rows,
                            query.max_rows);
    if (load.rows_missing_attribute > 0)
        text += fmt::format("; {} rows lack a sensitive attribute and are audited under the value \"{}\"",
                            load.rows_missing_attribute, missing_attribute_value);
    if (load.rows_without_score > 0)
        text += fmt::format("; {} rows have no score in [0, 1], so calibration is left out", load.rows_without_score);
    return text;
}

bool has_positive(const std::vector<std::uint8_t>& column) {
    return std::find(column.begin(), column.end(), std::uint8_t{1}) != column.end();
}

struct ReportWrite {
    std::vector<std::string> paths;
    json paths_by_format = json::object();
    std::string error;
};

// Writes each report durably, then points latest.<ext> at it: a symlink made
// beside it and renamed over the old one, so readers never see it missing.
ReportWrite write_reports(const AuditResult& result, const AuditSpec& spec, const std::string& reports_dir,
                          std::int64_t now_us) {
    namespace fs = std::filesystem;
    ReportWrite write;
    const fs::path directory = fs::path(reports_dir) / spec.model / spec.name;
    std::error_code ec;
    fs::create_directories(directory, ec);
    if (ec) {
        write.error = fmt::format("cannot create report folder {}: {}", directory.string(), ec.message());
        return write;
    }
    const std::string stem = report_file_stem(now_us);
    std::vector<const ReportFormatEntry*> formats;
    for (const auto& name : spec.report_formats) formats.push_back(find_report_format(name));
    if (spec.report_formats.empty())
        for (const auto& entry : report_formats()) formats.push_back(&entry);
    for (const ReportFormatEntry* format : formats) {
        if (format == nullptr) continue;  // validate_spec refused unknown names before a run
        const std::string extension(format->extension);
        const std::string file = stem + "." + extension;
        const std::string text = format->render(result);
        const fs::path path = directory / file;
        if (std::string error = write_file_durably(path.string(), text); !error.empty()) {
            write.error = error;
            return write;
        }
        const fs::path latest = directory / ("latest." + extension);
        const fs::path temporary = directory / ("latest." + extension + ".tmp");
        fs::remove(temporary, ec);
        fs::create_symlink(file, temporary, ec);
        if (!ec) fs::rename(temporary, latest, ec);
        if (ec) {
            write.error = fmt::format("cannot point {} at {}: {}", latest.string(), file, ec.message());
            return write;
        }
        write.paths.push_back(path.string());
        write.paths_by_format[extension] = path.string();
    }
    return write;
}

// Ends a begun run in state error; the row stays 'running' (to be failed by
// fail_stale_running at the next start) only if PostgreSQL is gone too.
void finish_with_error(pqxx::connection_base& connection, const AuditSpec& spec, AuditRunSummary& summary,
                       std::string error) {
    summary.state = AuditState::error;
    summary.error = std::move(error);
    log::warning("audit_error model={} audit={} id={} error=\"{}\"", spec.model, spec.name, summary.id,
                 summary.error);
    AuditOutcome outcome;
    outcome.state = AuditState::error;
    outcome.rows = summary.rows;
    outcome.error = summary.error;
    try {
        finish_audit(connection, summary.id, outcome, {});
    } catch (const std::exception& e) {
        log::warning("audit_finish_failed id={} error=\"{}\"", summary.id, e.what());
    }
}

}  // namespace

std::string report_file_stem(std::int64_t utc_us) {
    // format_rfc3339_us gives "YYYY-MM-DDTHH:MM:SS.ffffffZ": keep the digits to the second.
    const std::string text = format_rfc3339_us(utc_us);
    std::string stem;
    for (std::size_t i = 0; i < 19 && i < text.size(); ++i)
        if (text[i] != '-' && text[i] != ':') stem += text[i];
    return stem + "Z";
}

std::vector<Finding> audit_findings(const AuditResult& result, const std::string& audit, std::int64_t audit_id,
                                    std::int64_t data_start_us, std::int64_t data_end_us) {
    std::vector<Finding> findings;
    for (const auto& grouping : result.groupings) {
        for (const auto* values : {&grouping.disparities.between_groups, &grouping.disparities.to_reference})
            for (const auto& value : *values)
                // A value that could not be judged says nothing about a gap
                // (it must neither raise nor clear an alert).
                if (value.verdict != Verdict::not_evaluable)
                    findings.push_back(
                        make_finding(result, grouping, value, audit, audit_id, data_start_us, data_end_us));
    }
    return findings;
}

AuditRunSummary run_audit_job(pqxx::connection_base& connection, const AuditSpec& spec, const AuditRunRequest& request,
                              const AuditRunnerOptions& options) {
    AuditRunSummary summary;
    AuditDataQuery query;
    query.model = spec.model;
    query.data_end_us = request.data_end_us;
    query.data_start_us = request.data_end_us - spec.data_window_ms * 1000;
    query.sensitive_attributes = spec.options.sensitive_attributes;
    query.positive_label = spec.positive_label;
    query.max_rows = spec.max_rows;

    try {
        const AuditBegin begin = begin_audit(connection, spec.model, spec.name, request.trigger,
                                             request.scheduled_for_us, query.data_start_us, query.data_end_us,
                                             request.fence);
        if (begin.already_running) {
            summary.already_running = true;
            summary.error = fmt::format("audit {}/{} is already running", spec.model, spec.name);
            return summary;
        }
        summary.id = begin.id;
    } catch (const store::LeaseLost& e) {
        summary.fenced = true;
        summary.error = fmt::format("audit {}/{} not begun: {}", spec.model, spec.name, e.what());
        return summary;
    } catch (const std::exception& e) {
        summary.error = fmt::format("cannot begin audit {}/{}: {}", spec.model, spec.name, e.what());
        return summary;
    }

    try {
        const AuditDataLoad load = load_audit_data(connection, query);
        summary.rows = load.data.rows();
        summary.rows_rejected = load.rows_rejected;
        if (!load.ok()) {
            finish_with_error(connection, spec, summary, load.error);
            return summary;
        }
        if (load.data.rows() == 0) {
            finish_with_error(connection, spec, summary,
                              fmt::format("no labelled predictions of model {} from {} to {}", spec.model,
                                          format_rfc3339_us(query.data_start_us),
                                          format_rfc3339_us(query.data_end_us)));
            return summary;
        }
        // As `modelwatch audit` refuses it: a positive label that never occurs
        // makes every rate 0 and every gap "within tolerance", a silent pass.
        if (!has_positive(load.data.y_true) && !has_positive(load.data.y_pred)) {
            finish_with_error(connection, spec, summary,
                              fmt::format("the positive label '{}' occurs in neither the predictions nor the "
                                          "outcomes: set positive_label to the value that means positive",
                                          spec.positive_label));
            return summary;
        }
        AuditRun run = run_audit(load.data, spec.options);
        if (!run.ok()) {
            finish_with_error(connection, spec, summary, run.error);
            return summary;
        }
        AuditResult& result = run.result;
        result.model = spec.model;
        result.generated_at = format_rfc3339_us(request.now_us);
        result.window.source = fmt::format("model {}, labelled predictions", spec.model);
        result.window.description = window_description(load, query);
        result.window.rows_rejected = load.rows_rejected;
        result.window.positive_label = spec.positive_label;
        result.history = history(connection, spec.model, spec.name, options.history_runs);

        const ReportWrite reports = write_reports(result, spec, options.reports_dir, request.now_us);
        summary.report_paths = reports.paths;
        if (!reports.error.empty()) {
            finish_with_error(connection, spec, summary, reports.error);
            return summary;
        }

        summary.verdicts = count_verdicts(result);
        const AuditStatus status = audit_status(summary.verdicts);
        summary.status = to_string(status);
        summary.state = status == AuditStatus::fail ? AuditState::failed : AuditState::passed;
        const std::vector<Finding> findings =
            audit_findings(result, spec.name, summary.id, query.data_start_us, query.data_end_us);
        AuditOutcome outcome;
        outcome.state = summary.state;
        outcome.rows = summary.rows;
        outcome.result_json = render_json(result);
        outcome.reports_json = reports.paths_by_format.dump();
        if (!finish_audit(connection, summary.id, outcome, findings)) {
            summary.state = AuditState::error;
            summary.error = fmt::format("audit {} was no longer running when it finished (failed as stale)",
                                        summary.id);
            log::warning("audit_error model={} audit={} id={} error=\"{}\"", spec.model, spec.name, summary.id,
                         summary.error);
            return summary;
        }
        summary.checks = findings.size();
        summary.findings = static_cast<std::size_t>(
            std::count_if(findings.begin(), findings.end(), [](const Finding& f) { return f.triggered; }));
        log::notice("audit_finished model={} audit={} id={} state={} status={} rows={} findings={} checks={}",
                    spec.model, spec.name, summary.id, to_string(summary.state), summary.status, summary.rows,
                    summary.findings, summary.checks);
    } catch (const store::LeaseLost& e) {
        // Another daemon owns the model now: it fails this run and runs the audit itself.
        summary.state = AuditState::error;
        summary.fenced = true;
        summary.error = fmt::format("audit {}/{} {} not finished: {}", spec.model, spec.name, summary.id, e.what());
        log::warning("audit_fenced model={} audit={} id={} error=\"{}\"", spec.model, spec.name, summary.id, e.what());
    } catch (const std::exception& e) {
        finish_with_error(connection, spec, summary, fmt::format("audit {}/{}: {}", spec.model, spec.name, e.what()));
    }
    return summary;
}

}  // namespace mw::fairness
