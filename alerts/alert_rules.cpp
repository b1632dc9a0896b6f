#include "alerts/alert_rules.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "alerts/fingerprint.h"
#include "core/finding_kinds.h"
#include "core/time.h"

namespace mw::alerts {

std::set<std::string> default_alerting_set() {
    const auto kinds = default_alerting_kinds();
    return {kinds.begin(), kinds.end()};
}

namespace {

// Firing alerts carry endsAt = now + this many resend intervals (render_alert).
constexpr std::int64_t firing_ends_after_resend_intervals = 4;

// "dataset_drift" -> "Dataset drift".
std::string humanize(std::string_view kind) {
    std::string text(kind);
    std::replace(text.begin(), text.end(), '_', ' ');
    if (!text.empty()) text[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(text[0])));
    return text;
}

std::string replace_all(std::string text, std::string_view placeholder, std::string_view value) {
    for (std::size_t at = text.find(placeholder); at != std::string::npos;
         at = text.find(placeholder, at + value.size()))
        text.replace(at, placeholder.size(), value);
    return text;
}

std::string trim_trailing_slashes(std::string url) {
    while (!url.empty() && url.back() == '/') url.pop_back();
    return url;
}

}  // namespace

std::optional<AlertState> parse_state(std::string_view text) {
    if (text == "firing") return AlertState::firing;
    if (text == "resolved") return AlertState::resolved;
    return std::nullopt;
}

std::optional<Severity> parse_severity(std::string_view text) {
    for (const Severity severity : {Severity::info, Severity::warning, Severity::critical})
        if (text == to_string(severity)) return severity;
    return std::nullopt;
}

std::vector<std::string> validate(const AlertRoutingOptions& options) {
    std::vector<std::string> problems;
    if (options.resend_interval_seconds <= 0)
        problems.push_back(fmt::format("resend_interval_seconds must be positive, got {}",
                                       options.resend_interval_seconds));
    if (options.resolve_after_clean_windows < 1)
        problems.push_back(fmt::format("resolve_after_clean_windows must be at least 1, got {}",
                                       options.resolve_after_clean_windows));
    std::set<std::string> declared;
    for (const auto& policy : options.receivers) {
        if (!declared.insert(policy.name).second)
            problems.push_back(fmt::format("receivers: '{}' is declared twice", policy.name));
        if (policy.max_per_minute < 0)
            problems.push_back(fmt::format("receivers.{}.max_per_minute must be >= 0, got {}", policy.name,
                                           policy.max_per_minute));
    }
    const auto check_declared = [&](const std::vector<std::string>& names, std::string_view where) {
        for (const auto& name : names)
            if (!declared.contains(name))
                problems.push_back(fmt::format("{} names receiver '{}', which is not declared in receivers", where,
                                               name));
    };
    check_declared(options.default_receivers, "default_receivers");
    for (const auto& [severity, names] : options.receivers_by_severity)
        check_declared(names, fmt::format("receivers_by_severity.{}", to_string(severity)));
    return problems;
}

const std::vector<std::string>& receivers_for(Severity severity, const AlertRoutingOptions& options) {
    const auto found = options.receivers_by_severity.find(severity);
    return found != options.receivers_by_severity.end() ? found->second : options.default_receivers;
}

bool wants_resend(const std::string& receiver, const AlertRoutingOptions& options) {
    const auto found = std::find_if(options.receivers.begin(), options.receivers.end(),
                                    [&](const ReceiverPolicy& policy) { return policy.name == receiver; });
    return found != options.receivers.end() && found->resend;
}

std::string summarize(const Finding& finding) {
    std::string summary = fmt::format("{} on model {}", humanize(finding.kind), finding.model);
    if (!finding.subject.empty()) summary += fmt::format(" ({})", finding.subject);
    return summary;
}

std::string describe(const Finding& finding) {
    std::string text = summarize(finding);
    text += finding.triggered ? ": " : " cleared: ";
    text += fmt::format("{} statistic {:.4g}, threshold {:.4g}", finding.method, finding.statistic,
                        finding.threshold);
    if (finding.p_value >= 0) text += fmt::format(", p-value {:.4g}", finding.p_value);
    text += fmt::format(", window {} to {}.", format_rfc3339_us(finding.window_start_us),
                        format_rfc3339_us(finding.window_end_us));
    return text;
}

RoutingStep route_finding(const StoredFinding& stored, const std::optional<AlertRecord>& current, int clean_windows,
                          const AlertRoutingOptions& options, std::int64_t now_us) {
    const Finding& finding = stored.finding;
    if (!options.alerting_kinds.contains(finding.kind)) return {};

    if (finding.triggered) {
        AlertRecord next;
        if (current) next = *current;
        const bool starts = !current || current->state == AlertState::resolved;
        if (starts) {
            next.fingerprint = fingerprint(finding.model, finding.kind, finding.subject);
            next.model = finding.model;
            next.kind = finding.kind;
            next.subject = finding.subject;
            next.state = AlertState::firing;
            next.started_at_us = now_us;
            next.resolved_at_us.reset();
            // A new episode: receivers have not been told about it yet.
            next.last_sent_at_us.reset();
        }
        const auto severity = options.severity_by_kind.find(finding.kind);
        next.severity = severity != options.severity_by_kind.end() ? severity->second : finding.severity;
        next.finding_id = stored.id;
        next.summary = summarize(finding);
        next.description = describe(finding);
        next.updated_at_us = now_us;
        return {next, starts};
    }

    if (!current || current->state == AlertState::resolved) return {};
    if (clean_windows < options.resolve_after_clean_windows) return {};
    AlertRecord next = *current;
    next.state = AlertState::resolved;
    next.resolved_at_us = now_us;
    next.finding_id = stored.id;
    next.description = describe(finding);
    next.updated_at_us = now_us;
    return {next, true};
}

std::string causes_annotation(const std::string& evidence_json) {
    const auto evidence = nlohmann::json::parse(evidence_json, nullptr, false);
    if (!evidence.is_object() || !evidence.contains("root_cause") || !evidence["root_cause"].is_object()) return {};
    const auto& ranking = evidence["root_cause"];
    std::string text;
    if (const auto causes = ranking.find("causes"); causes != ranking.end() && causes->is_array())
        for (const auto& cause : *causes)
            if (cause.is_string()) text += (text.empty() ? "" : "\n") + cause.get<std::string>();
    if (!text.empty()) return text;
    for (const char* key : {"summary", "error"})
        if (const auto found = ranking.find(key); found != ranking.end() && found->is_string())
            return found->get<std::string>();
    return {};
}

Alert render_alert(const AlertRecord& record, const AlertRoutingOptions& options, std::int64_t now_us,
                   const std::string& causes) {
    Alert alert;
    alert.fingerprint = record.fingerprint;
    alert.state = record.state;
    alert.labels["alertname"] = "modelwatch_" + record.kind;
    alert.labels["model"] = record.model;
    alert.labels["kind"] = record.kind;
    // Alertmanager drops empty labels; leaving it out keeps both sides equal.
    if (!record.subject.empty()) alert.labels["subject"] = record.subject;
    alert.labels["severity"] = to_string(record.severity);
    alert.annotations["summary"] = record.summary;
    alert.annotations["description"] = record.description;
    if (!options.runbook_url_template.empty())
        alert.annotations["runbook_url"] = replace_all(
            replace_all(options.runbook_url_template, "{model}", record.model), "{kind}", record.kind);
    alert.generator_url =
        fmt::format("{}/v1/findings/{}", trim_trailing_slashes(options.external_url), record.finding_id);
    alert.annotations["finding_url"] = alert.generator_url;
    if (!causes.empty()) alert.annotations["causes"] = causes;
    alert.starts_at_us = record.started_at_us;
    alert.ends_at_us = record.state == AlertState::firing
                           ? now_us + firing_ends_after_resend_intervals * options.resend_interval_seconds *
                                          microseconds_per_second
                           : record.resolved_at_us.value_or(now_us);
    return alert;
}

nlohmann::json to_json(const Alert& alert) {
    return {{"fingerprint", alert.fingerprint},     {"state", to_string(alert.state)},
            {"labels", alert.labels},               {"annotations", alert.annotations},
            {"starts_at_us", alert.starts_at_us},   {"ends_at_us", alert.ends_at_us},
            {"starts_at", format_rfc3339_us(alert.starts_at_us)},
            {"ends_at", format_rfc3339_us(alert.ends_at_us)},
            {"generator_url", alert.generator_url}};
}

std::optional<Alert> alert_from_json(const nlohmann::json& json) {
    if (!json.is_object()) return std::nullopt;
    const auto string_field = [&](const char* key) -> const std::string* {
        const auto found = json.find(key);
        return found != json.end() && found->is_string() ? found->get_ptr<const std::string*>() : nullptr;
    };
    const auto integer_field = [&](const char* key) -> std::optional<std::int64_t> {
        const auto found = json.find(key);
        if (found == json.end() || !found->is_number_integer()) return std::nullopt;
        return found->get<std::int64_t>();
    };
    const auto string_map = [&](const char* key) -> std::optional<std::map<std::string, std::string>> {
        const auto found = json.find(key);
        if (found == json.end() || !found->is_object()) return std::nullopt;
        std::map<std::string, std::string> map;
        for (const auto& [name, value] : found->items()) {
            if (!value.is_string()) return std::nullopt;
            map[name] = value.get<std::string>();
        }
        return map;
    };
    const auto* fingerprint_text = string_field("fingerprint");
    const auto* state_text = string_field("state");
    const auto* generator_url = string_field("generator_url");
    const auto state = state_text ? parse_state(*state_text) : std::nullopt;
    auto labels = string_map("labels");
    auto annotations = string_map("annotations");
    const auto starts_at_us = integer_field("starts_at_us");
    const auto ends_at_us = integer_field("ends_at_us");
    if (!fingerprint_text || !state || !generator_url || !labels || !annotations || !starts_at_us || !ends_at_us)
        return std::nullopt;
    return Alert{*fingerprint_text, *state, std::move(*labels), std::move(*annotations), *starts_at_us,
                 *ends_at_us, *generator_url};
}

nlohmann::json to_json(const AlertRecord& record) {
    const auto optional_time = [](const std::optional<std::int64_t>& us) -> nlohmann::json {
        return us ? nlohmann::json(format_rfc3339_us(*us)) : nlohmann::json(nullptr);
    };
    return {{"fingerprint", record.fingerprint},
            {"model", record.model},
            {"kind", record.kind},
            {"subject", record.subject},
            {"severity", to_string(record.severity)},
            {"state", to_string(record.state)},
            {"finding_id", record.finding_id},
            {"summary", record.summary},
            {"description", record.description},
            {"started_at", format_rfc3339_us(record.started_at_us)},
            {"resolved_at", optional_time(record.resolved_at_us)},
            {"last_sent_at", optional_time(record.last_sent_at_us)},
            {"updated_at", format_rfc3339_us(record.updated_at_us)}};
}

}  // namespace mw::alerts
