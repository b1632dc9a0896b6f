#include "alerts/webhook_sink.h"

#include <chrono>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "alerts/sink_support.h"
#include "core/http_client.h"

namespace mw::alerts {

WebhookSink::WebhookSink(std::string name, WebhookSinkOptions options, std::function<std::int64_t()> clock_s)
    : name_(std::move(name)), options_(std::move(options)), clock_s_(std::move(clock_s)) {
    if (!clock_s_) {
        clock_s_ = [] {
            return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
                .count();
        };
    }
}

std::string webhook_body(const Alert& alert) {
    nlohmann::json body = {
        {"version", "1"},
        {"state", to_string(alert.state)},
        {"fingerprint", alert.fingerprint},
        {"labels", alert.labels},
        {"annotations", alert.annotations},
        {"startsAt", format_rfc3339_ms(alert.starts_at_us)},
        {"endsAt", format_rfc3339_ms(alert.ends_at_us)},
        {"generatorURL", alert.generator_url},
    };
    // Replace, not throw, on invalid UTF-8 in a label: one bad byte must not
    // make an alert undeliverable.
    return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(message.data()),
         message.size(), digest, &length);
    std::string hex;
    hex.reserve(2 * length);
    for (unsigned int i = 0; i < length; ++i) hex += fmt::format("{:02x}", digest[i]);
    return hex;
}

DeliveryResult WebhookSink::deliver(const Alert& alert) {
    http::Request request;
    request.url = options_.url;
    request.timeout = std::chrono::milliseconds(options_.timeout_ms);
    request.headers = options_.headers;
    request.body = webhook_body(alert);
    if (!options_.secret.empty()) {
        const std::string timestamp = std::to_string(clock_s_());
        request.headers.emplace_back("X-Modelwatch-Timestamp", timestamp);
        request.headers.emplace_back("X-Modelwatch-Signature",
                                     "sha256=" + hmac_sha256_hex(options_.secret, timestamp + "." + request.body));
    }
    return result_of(http::send(request), fmt::format("webhook {} ({})", name_, options_.url));
}

namespace {

const config::SettingRow webhook_sink_rows[] = {
    {.key = "urls", .kind = config::ValueKind::url_list, .required = true, .min = 1, .max = 1,
     .help = "the receiver's URL; the alert is POSTed to it as JSON"},
    {.key = "secret_env", .kind = config::ValueKind::environment, .required = true,
     .help = "environment variable holding the HMAC-SHA256 secret that signs each request"},
};

}  // namespace

std::span<const config::SettingRow> webhook_sink_options() { return webhook_sink_rows; }

std::unique_ptr<AlertSink> make_webhook_sink(const config::ReceiverConfig& receiver) {
    WebhookSinkOptions options;
    options.url = receiver.options.list("urls").front();
    options.secret = receiver.environment.at("secret_env");
    options.timeout_ms = receiver.timeout_ms;
    return std::make_unique<WebhookSink>(receiver.name, options);
}

}  // namespace mw::alerts
