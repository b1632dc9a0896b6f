#include "examples/elec2/daemon_client.h"

// Boost 1.74's Asio needs <utility> before it under C++20 (PLATFORM.md).
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <charconv>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace mw::elec2 {
namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

struct Exchange {
    unsigned status = 0;  // 0: no response (see error)
    std::string retry_after;
    std::string body;
    std::string error;
};

// One request on a fresh connection. Beast applies the stream's expiry only
// to asynchronous operations, so the exchange is a chain of async steps run
// to completion on a private io_context, bounded as a whole by `timeout`.
Exchange exchange_once(http::verb verb, const std::string& host, const std::string& port, const std::string& target,
                       const std::string& token, const std::string& body, std::chrono::milliseconds timeout) {
    Exchange result;
    boost::asio::io_context context;
    tcp::resolver resolver(context);
    beast::tcp_stream stream(context);
    http::request<http::string_body> request{verb, target, 11};
    request.set(http::field::host, host + ":" + port);
    if (verb == http::verb::post) request.set(http::field::content_type, "application/json");
    request.set(http::field::user_agent, "elec2_server");
    if (!token.empty()) request.set(http::field::authorization, "Bearer " + token);
    request.body() = body;
    request.prepare_payload();
    beast::flat_buffer buffer;
    http::response<http::string_body> response;

    auto fail = [&](const char* step, const beast::error_code& ec) {
        result.error = fmt::format("{} {}:{}: {}", step, host, port, ec.message());
    };
    boost::system::error_code resolve_error;
    const auto endpoints = resolver.resolve(host, port, resolve_error);
    if (resolve_error) {
        fail("resolve", resolve_error);
        return result;
    }
    stream.expires_after(timeout);
    stream.async_connect(endpoints, [&](const beast::error_code& connect_error, const tcp::endpoint&) {
        if (connect_error) return fail("connect", connect_error);
        http::async_write(stream, request, [&](const beast::error_code& write_error, std::size_t) {
            if (write_error) return fail("write to", write_error);
            http::async_read(stream, buffer, response, [&](const beast::error_code& read_error, std::size_t) {
                if (read_error) return fail("read from", read_error);
                result.status = response.result_int();
                result.retry_after = std::string(response[http::field::retry_after]);
                result.body = std::move(response.body());
            });
        });
    });
    context.run();
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    return result;
}

// The daemon's {"error": ...} message, or the body itself.
std::string error_message(const std::string& body) {
    const auto json = nlohmann::json::parse(body, nullptr, false);
    if (json.is_object() && json.contains("error") && json["error"].is_string()) {
        std::string message = json["error"].get<std::string>();
        if (json.contains("rejected") && json["rejected"].is_array() && !json["rejected"].empty())
            message += "; first rejected record: " + json["rejected"][0].dump();
        return message;
    }
    return body;
}

}  // namespace

Result<DaemonClient> DaemonClient::create(const DaemonClientOptions& options) {
    constexpr std::string_view scheme = "http://";
    std::string_view url = options.base_url;
    if (url.substr(0, scheme.size()) != scheme)
        return Result<DaemonClient>::failure(
            fmt::format("--daemon '{}': only http:// URLs are supported", options.base_url));
    url.remove_prefix(scheme.size());
    const auto slash = url.find('/');
    const std::string_view authority = url.substr(0, slash);
    std::string_view path = slash == std::string_view::npos ? std::string_view() : url.substr(slash);
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    DaemonClient client;
    client.options_ = options;
    const auto colon = authority.rfind(':');
    if (colon == std::string_view::npos) {
        client.host_ = std::string(authority);
        client.port_ = "80";
    } else {
        client.host_ = std::string(authority.substr(0, colon));
        client.port_ = std::string(authority.substr(colon + 1));
    }
    if (client.host_.empty() || client.port_.empty() ||
        !std::all_of(client.port_.begin(), client.port_.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return Result<DaemonClient>::failure(fmt::format("--daemon '{}': expected http://host[:port]", options.base_url));
    client.prefix_ = std::string(path);
    return {std::move(client), {}};
}

Result<PostOutcome> DaemonClient::post(const std::string& path, const std::string& json_body) const {
    using Out = Result<PostOutcome>;
    const auto deadline = std::chrono::steady_clock::now() + options_.give_up_after;
    auto backoff = options_.first_backoff;
    PostOutcome outcome;
    std::string last_problem;
    while (true) {
        const Exchange response =
            exchange_once(http::verb::post, host_, port_, prefix_ + path, options_.token, json_body, options_.timeout);
        if (response.status >= 200 && response.status < 300) {
            const auto json = nlohmann::json::parse(response.body, nullptr, false);
            if (json.is_object()) {
                if (json.contains("accepted") && json["accepted"].is_number_unsigned())
                    outcome.accepted = json["accepted"].get<std::size_t>();
                if (json.contains("rejected") && json["rejected"].is_array() && !json["rejected"].empty()) {
                    outcome.rejected = json["rejected"].size();
                    outcome.first_rejection = json["rejected"][0].dump();
                }
            }
            return {outcome, {}};
        }
        if (response.status >= 400 && response.status < 500)
            return Out::failure(fmt::format("POST {} -> {}: {}", path, response.status, error_message(response.body)));

        std::chrono::milliseconds wait = backoff;
        if (response.status == 503) {
            // The daemon's spool is full or PostgreSQL is slow: it says when to come back.
            int seconds = 1;
            const auto& text = response.retry_after;
            const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
            if (ec != std::errc() || ptr != text.data() + text.size() || seconds < 0) seconds = 1;
            wait = std::chrono::seconds(seconds);
            last_problem = fmt::format("503: {}", error_message(response.body));
        } else {
            backoff = std::min(backoff * 2, options_.max_backoff);
            last_problem = response.status == 0 ? response.error
                                                 : fmt::format("{}: {}", response.status, error_message(response.body));
        }
        if (std::chrono::steady_clock::now() + wait > deadline)
            return Out::failure(fmt::format("POST {}: gave up after {} retries over {} s; last: {}", path,
                                            outcome.retries, options_.give_up_after.count(), last_problem));
        fmt::print(stderr, "elec2_server: POST {} failed ({}); retrying in {} ms\n", path, last_problem, wait.count());
        std::this_thread::sleep_for(wait);
        ++outcome.retries;
    }
}

GetOutcome DaemonClient::get(const std::string& path) const {
    using Body = Result<std::string>;
    const Exchange response =
        exchange_once(http::verb::get, host_, port_, prefix_ + path, options_.token, {}, options_.timeout);
    if (response.status == 0) return {Body::failure(fmt::format("GET {}: {}", path, response.error))};
    if (response.status != 200) {
        // 408 and 429 are about this moment (a slow exchange, too many at once), not the request.
        const bool refused = response.status >= 400 && response.status < 500 && response.status != 408 &&
                             response.status != 429;
        return {Body::failure(fmt::format("GET {} -> {}: {}", path, response.status, error_message(response.body))),
                refused};
    }
    return {{response.body, {}}};
}

}  // namespace mw::elec2
