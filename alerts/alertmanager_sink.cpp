#include "alerts/alertmanager_sink.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include "alerts/sink_support.h"
#include "core/http_client.h"
#include "core/log.h"

namespace mw::alerts {

namespace {

// RFC 7617: base64 of "user:password"; EVP_EncodeBlock writes standard
// base64 with padding and a terminating NUL.
std::string basic_credentials(const std::string& username, const std::string& password) {
    const std::string plain = username + ":" + password;
    std::string encoded(4 * ((plain.size() + 2) / 3) + 1, '\0');
    const int length =
        EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                        reinterpret_cast<const unsigned char*>(plain.data()), static_cast<int>(plain.size()));
    encoded.resize(static_cast<std::size_t>(length));
    return encoded;
}

std::string alerts_endpoint(std::string url) {
    while (!url.empty() && url.back() == '/') url.pop_back();
    return url + "/api/v2/alerts";
}

}  // namespace

AlertmanagerSink::AlertmanagerSink(std::string name, AlertmanagerSinkOptions options)
    : name_(std::move(name)), options_(std::move(options)), headers_(options_.headers) {
    if (!options_.bearer_token.empty()) {
        headers_.emplace_back("Authorization", "Bearer " + options_.bearer_token);
    } else if (!options_.basic_auth_username.empty()) {
        headers_.emplace_back("Authorization",
                              "Basic " + basic_credentials(options_.basic_auth_username, options_.basic_auth_password));
    }
}

std::string alertmanager_body(const Alert& alert) {
    nlohmann::json postable = {
        {"labels", alert.labels},
        {"annotations", alert.annotations},
        {"startsAt", format_rfc3339_ms(alert.starts_at_us)},
    };
    // Alertmanager requires endsAt >= startsAt when both are set; a firing
    // alert without an end is kept for resolve_timeout (5 minutes) after its
    // last POST, so the router always sets one.
    if (alert.ends_at_us != 0) postable["endsAt"] = format_rfc3339_ms(std::max(alert.ends_at_us, alert.starts_at_us));
    if (!alert.generator_url.empty()) postable["generatorURL"] = alert.generator_url;
    return nlohmann::json::array({postable}).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

DeliveryResult AlertmanagerSink::deliver(const Alert& alert) {
    if (options_.urls.empty()) {
        return {false, false, fmt::format("alertmanager {}: no URL configured", name_), std::chrono::milliseconds(0)};
    }
    const std::string body = alertmanager_body(alert);
    DeliveryResult combined;
    combined.retryable = false;
    std::vector<std::string> errors;
    for (const std::string& url : options_.urls) {
        http::Request request;
        request.url = alerts_endpoint(url);
        request.timeout = std::chrono::milliseconds(options_.timeout_ms);
        request.headers = headers_;
        request.body = body;
        const DeliveryResult one = result_of(http::send(request), fmt::format("alertmanager {} ({})", name_, url));
        if (one.delivered) {
            combined.delivered = true;
            continue;
        }
        errors.push_back(one.error);
        combined.retryable = combined.retryable || one.retryable;
        combined.retry_after = std::max(combined.retry_after, one.retry_after);
    }
    if (combined.delivered) {
        // Delivered to the cluster; the members that missed it get it by
        // gossip, and the next re-send reaches them directly. Still worth a
        // warning: the pair is running on one leg.
        if (!errors.empty())
            log::warning("alert_delivery_partial sink={} errors=\"{}\"", name_, fmt::join(errors, "; "));
        return DeliveryResult{true, false, "", std::chrono::milliseconds(0)};
    }
    combined.error = fmt::format("{}", fmt::join(errors, "; "));
    return combined;
}

namespace {

const config::SettingRow alertmanager_sink_rows[] = {
    {.key = "urls", .kind = config::ValueKind::url_list, .required = true, .min = 1, .max = 64,
     .help = "base URL of every Alertmanager instance of the cluster (the sink appends /api/v2/alerts); each gets "
             "every alert"},
};

}  // namespace

std::span<const config::SettingRow> alertmanager_sink_options() { return alertmanager_sink_rows; }

std::unique_ptr<AlertSink> make_alertmanager_sink(const config::ReceiverConfig& receiver) {
    AlertmanagerSinkOptions options;
    options.urls = receiver.options.list("urls");
    options.timeout_ms = receiver.timeout_ms;
    return std::make_unique<AlertmanagerSink>(receiver.name, options);
}

}  // namespace mw::alerts
