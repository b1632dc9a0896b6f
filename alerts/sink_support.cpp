#include "alerts/sink_support.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "core/time.h"

namespace mw::alerts {

namespace {

// The start of a response body, printable, for an error message.
std::string excerpt(std::string_view body) {
    constexpr std::size_t max_chars = 200;
    std::string out;
    for (char c : body.substr(0, max_chars)) {
        const auto u = static_cast<unsigned char>(c);
        out += (u < 0x20 || u == 0x7f) ? ' ' : c;
    }
    if (body.size() > max_chars) out += "...";
    return out;
}

}  // namespace

std::chrono::milliseconds parse_retry_after(std::string_view value) {
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    std::uint64_t seconds = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (value.empty() || end != value.data() + value.size()) return std::chrono::milliseconds(0);
    if (ec == std::errc::result_out_of_range) return max_retry_after;
    if (ec != std::errc{}) return std::chrono::milliseconds(0);
    const auto max_seconds =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(max_retry_after).count());
    return std::chrono::seconds(std::min(seconds, max_seconds));
}

DeliveryResult result_of(const http::Response& response, std::string_view receiver) {
    DeliveryResult result;
    if (!response.ok()) {
        result.retryable = true;
        result.error = fmt::format("{}: {}", receiver, response.error);
        return result;
    }
    const int status = response.status;
    if (status >= 200 && status < 300) {
        result.delivered = true;
        result.retryable = false;
        return result;
    }
    result.retryable = status == 408 || status == 429 || (status >= 500 && status < 600);
    if (result.retryable) result.retry_after = parse_retry_after(response.header("Retry-After"));
    result.error = fmt::format("{}: HTTP {}{}: {}", receiver, status, result.retryable ? "" : " (not retried)",
                               excerpt(response.body));
    return result;
}

std::string format_rfc3339_ms(std::int64_t us_since_epoch) {
    // core/time.h's formatter always writes six fractional digits then 'Z':
    // dropping the last three digits truncates to milliseconds. Floor the
    // microseconds first so a negative instant truncates towards the past too.
    std::string text = format_rfc3339_us(floor_to(us_since_epoch, 1000));
    text.erase(text.size() - 4, 3);
    return text;
}

}  // namespace mw::alerts
