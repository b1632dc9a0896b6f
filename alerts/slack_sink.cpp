#include "alerts/slack_sink.h"

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

// Slack mrkdwn treats &, < and > as control characters
// (https://api.slack.com/reference/surfaces/formatting#escaping).
std::string escape_mrkdwn(std::string_view text) {
    std::string out;
    for (char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

// Block Kit limits: a header's text to 150 characters, a section's to 3000.
std::string clip(std::string text, std::size_t max_bytes) {
    if (text.size() <= max_bytes) return text;
    std::size_t cut = max_bytes - 3;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text.resize(cut);
    return text + "...";
}

nlohmann::json field(std::string_view title, const std::string& value) {
    return {{"type", "mrkdwn"}, {"text", fmt::format("*{}*\n{}", title, escape_mrkdwn(value.empty() ? "-" : value))}};
}

}  // namespace

SlackSink::SlackSink(std::string name, SlackSinkOptions options)
    : name_(std::move(name)), options_(std::move(options)) {}

std::string slack_body(const Alert& alert) {
    const char* state = alert.state == AlertState::firing ? "FIRING" : "RESOLVED";
    const std::string summary = value_or(alert.annotations, "summary", value_or(alert.labels, "alertname", "alert"));
    const std::string headline = fmt::format("[{}] {}", state, summary);
    nlohmann::json blocks = nlohmann::json::array();
    blocks.push_back({{"type", "header"}, {"text", {{"type", "plain_text"}, {"text", clip(headline, 150)}}}});
    blocks.push_back({{"type", "section"},
                      {"fields", nlohmann::json::array({field("Model", value_or(alert.labels, "model", "")),
                                                        field("Kind", value_or(alert.labels, "kind", "")),
                                                        field("Subject", value_or(alert.labels, "subject", "")),
                                                        field("Severity", value_or(alert.labels, "severity", ""))})}});
    if (const std::string description = value_or(alert.annotations, "description", ""); !description.empty()) {
        blocks.push_back(
            {{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", clip(escape_mrkdwn(description), 3000)}}}});
    }
    const std::string link = value_or(alert.annotations, "finding_url", alert.generator_url);
    if (!link.empty()) {
        blocks.push_back(
            {{"type", "context"},
             {"elements",
              nlohmann::json::array(
                  {{{"type", "mrkdwn"}, {"text", fmt::format("<{}|Finding in modelwatch>", escape_mrkdwn(link))}}})}});
    }
    const nlohmann::json body = {{"text", headline}, {"blocks", blocks}};
    return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

DeliveryResult SlackSink::deliver(const Alert& alert) {
    http::Request request;
    request.url = options_.url;
    request.timeout = std::chrono::milliseconds(options_.timeout_ms);
    request.body = slack_body(alert);
    // The webhook URL is the credential: name the sink, not the URL.
    return result_of(http::send(request), fmt::format("slack {}", name_));
}

namespace {

const config::SettingRow slack_sink_rows[] = {
    {.key = "urls", .kind = config::ValueKind::url_list, .required = true, .min = 1, .max = 1,
     .help = "the incoming webhook URL Slack issued (https://hooks.slack.com/services/...)"},
};

}  // namespace

std::span<const config::SettingRow> slack_sink_options() { return slack_sink_rows; }

std::unique_ptr<AlertSink> make_slack_sink(const config::ReceiverConfig& receiver) {
    SlackSinkOptions options;
    options.url = receiver.options.list("urls").front();
    options.timeout_ms = receiver.timeout_ms;
    return std::make_unique<SlackSink>(receiver.name, options);
}

}  // namespace mw::alerts
