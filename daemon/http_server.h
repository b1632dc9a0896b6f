// The HTTP/1.1 server (Boost.Beast on Asio). It owns connections, timeouts and
// size limits; what a request means is the RequestHandler's business.
//
// Every connection is bounded: headers must arrive within header_timeout_ms,
// the body within body_timeout_ms and under max_body_bytes, and an idle
// keep-alive connection is closed after idle_timeout_ms. Past max_connections
// a new connection is answered 503 and closed. Each request reserves its
// Content-Length (max_body_bytes when chunked) from max_inflight_bytes before
// its body is read and keeps it until its answer is written; past the budget
// it is answered 503 with Retry-After, so memory stays bounded under load.
#pragma once

#include <utility>  // before asio: Boost 1.74 + g++ 12 C++20 needs std::exchange declared

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "config/config.h"

namespace mw::daemon {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpRequestHeader = boost::beast::http::request_header<>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;
using Responder = std::function<void(HttpResponse)>;

class RequestHandler {
public:
    virtual ~RequestHandler() = default;
    // Called once the headers are in, before the body is read: an answer here
    // (401, 404, 413, ...) is sent without reading the body.
    virtual std::optional<HttpResponse> check_header(const HttpRequestHeader& header) = 0;
    // `respond` may be called from any thread, exactly once.
    virtual void handle(HttpRequest request, Responder respond) = 0;
};

struct ServerStats {
    std::uint64_t open_connections = 0;
};

class HttpServer {
public:
    HttpServer(boost::asio::io_context& io, const config::ServerOptions& options, RequestHandler& handler);
    ~HttpServer();

    // Binds and starts accepting; throws std::runtime_error naming the address on failure.
    void start();
    // Stops accepting; requests in flight are answered, then their connections close.
    void stop_accepting();
    std::uint64_t open_connections() const;
    std::uint16_t bound_port() const;

    class Session;

private:
    void accept_next();

    boost::asio::io_context& io_;
    config::ServerOptions options_;
    RequestHandler& handler_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::shared_ptr<std::atomic<std::uint64_t>> open_connections_;
    std::shared_ptr<std::atomic<std::uint64_t>> inflight_bytes_;  // reserved by requests being handled
    std::shared_ptr<std::atomic<bool>> draining_;
};

HttpResponse make_response(unsigned status, std::string body, std::string_view content_type = "application/json");

}  // namespace mw::daemon
