#include "alerts/pagerduty_sink.h"

#include <chrono>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "alerts/sink_support.h"
#include "core/http_client.h"

namespace mw::alerts {

namespace {

std::string value_or(const std::map<std::string, std::string>& map, const std::string& key, std::string fallback) {
    const auto it = map.find(key);
    return it == map.end() || it->second.empty() ? fallback : it->second;
}

// PagerDuty rejects a summary over 1024 characters; cut on a UTF-8 character
// boundary so the JSON stays valid text.
std::string truncate_summary(std::string summary) {
    constexpr std::size_t max_bytes = 1024;
    if (summary.size() <= max_bytes) return summary;
    std::size_t cut = max_bytes;
    while (cut > 0 && (static_cast<unsigned char>(summary[cut]) & 0xC0) == 0x80) --cut;
    summary.resize(cut);
    return summary;
}

}  // namespace

PagerDutySink::PagerDutySink(std::string name, PagerDutySinkOptions options)
    : name_(std::move(name)), options_(std::move(options)) {}

const char* pagerduty_severity(std::string_view label) {
    if (label == "critical") return "critical";
    if (label == "error" || label == "high") return "error";
    if (label == "info" || label == "low") return "info";
    return "warning";
}

std::string pagerduty_body(const Alert& alert, const PagerDutySinkOptions& options) {
    nlohmann::json body = {
        {"routing_key", options.routing_key},
        {"dedup_key", alert.fingerprint},
    };
    if (alert.state == AlertState::resolved) {
        // A resolve needs only the key: PagerDuty ignores a payload on it.
        body["event_action"] = "resolve";
    } else {
        const std::string model = value_or(alert.labels, "model", "");
        const std::string kind = value_or(alert.labels, "kind", "");
        const std::string summary =
            value_or(alert.annotations, "summary",
                     fmt::format("{} {} {}", value_or(alert.labels, "alertname", "modelwatch alert"), model, kind));
        body["event_action"] = "trigger";
        body["payload"] = {
            {"summary", truncate_summary(summary)},
            {"source", options.source},
            {"severity", pagerduty_severity(value_or(alert.labels, "severity", ""))},
            {"timestamp", format_rfc3339_ms(alert.starts_at_us)},
            {"component", model},
            {"group", kind},
            {"class", value_or(alert.labels, "alertname", "")},
            {"custom_details", {{"labels", alert.labels}, {"annotations", alert.annotations}}},
        };
        body["client"] = "modelwatch";
        if (!alert.generator_url.empty()) {
            body["client_url"] = alert.generator_url;
            body["links"] = nlohmann::json::array({{{"href", alert.generator_url}, {"text", "Finding in modelwatch"}}});
        }
    }
    return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

DeliveryResult PagerDutySink::deliver(const Alert& alert) {
    if (options_.routing_key.empty()) {
        return {false, false, fmt::format("pagerduty {}: no routing_key configured", name_),
                std::chrono::milliseconds(0)};
    }
    http::Request request;
    request.url = options_.url;
    request.timeout = std::chrono::milliseconds(options_.timeout_ms);
    request.body = pagerduty_body(alert, options_);
    return result_of(http::send(request), fmt::format("pagerduty {} ({})", name_, options_.url));
}

namespace {

const config::SettingRow pagerduty_sink_rows[] = {
    {.key = "urls", .kind = config::ValueKind::url_list, .required = true, .min = 1, .max = 1,
     .help = "the Events API v2 endpoint, https://events.pagerduty.com/v2/enqueue"},
    {.key = "secret_env", .kind = config::ValueKind::environment, .required = true,
     .help = "environment variable holding the service's integration (routing) key"},
};

}  // namespace

std::span<const config::SettingRow> pagerduty_sink_options() { return pagerduty_sink_rows; }

std::unique_ptr<AlertSink> make_pagerduty_sink(const config::ReceiverConfig& receiver) {
    PagerDutySinkOptions options;
    options.url = receiver.options.list("urls").front();
    options.routing_key = receiver.environment.at("secret_env");
    options.timeout_ms = receiver.timeout_ms;
    return std::make_unique<PagerDutySink>(receiver.name, options);
}

}  // namespace mw::alerts
