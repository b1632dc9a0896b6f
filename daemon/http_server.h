// The HTTP/1.1 server (Boost.Beast on Asio). It owns connections, timeouts and
// size limits; what a request means is the RequestHandler's business.
//
// Every connection is bounded, so that slow or hostile clients cannot stop
// the others (issue 12, item 3):
// - Receiving: a request's headers must arrive within header_timeout_ms and
//   its body within body_timeout_ms, and once receive_rate_grace_ms has
//   passed, each receive_rate_window_ms must bring min_receive_bytes_per_second
//   (daemon/receive_deadline.h). Past either, the answer is 408 and the
//   connection closes. A kept-alive connection may wait idle_timeout_ms for
//   its next request and is then closed without an answer (nothing was asked).
// - Memory: request bodies are charged to max_inflight_bytes as their bytes
//   arrive, never from the declared Content-Length (daemon/request_body.h),
//   and held until their answer is written; past the budget, 503 with
//   Retry-After.
// - Clients: at most max_connections_per_client connections and
//   max_bodies_per_client bodies in flight per client address
//   (daemon/client_limits.h); past them, 429 with Retry-After.
// - Connections: past max_connections a new connection is answered 503 and
//   closed; when even the refusals pile up, accepting pauses and new
//   connections wait in the kernel's listen backlog.
// - Framing: a malformed request line, conflicting Content-Length and
//   Transfer-Encoding, obs-fold and the like get 400 before the connection
//   closes (daemon/request_checks.h).
// Every close and refusal is counted by reason in
// modelwatch_http_connections_closed_total / _refused_total and logged (at
// most one line per reason every few seconds, with the count folded in).
#pragma once

#include <utility>  // before asio: Boost 1.74 + g++ 12 C++20 needs std::exchange declared

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "config/config.h"

namespace mw::daemon {

struct DaemonMetrics;

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

class HttpServer {
public:
    HttpServer(boost::asio::io_context& io, const config::ServerOptions& options, RequestHandler& handler,
               DaemonMetrics& metrics);
    ~HttpServer();

    // Binds and starts accepting; throws std::runtime_error naming the address on failure.
    void start();
    // Stops accepting; requests in flight are answered, then their connections close.
    void stop_accepting();
    std::uint64_t open_connections() const;
    std::uint16_t bound_port() const;

    struct Shared;
    class Session;

private:
    void accept_next();
    void pause_accepting();
    void on_accepted(boost::asio::ip::tcp::socket socket);

    boost::asio::io_context& io_;
    std::shared_ptr<Shared> shared_;  // with the sessions, which may outlive a stopped server briefly
    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::steady_timer accept_pause_;
};

// Whether a reload from `before` to `after` changes the server's limits or
// timeouts, which it reads only when it starts. Every server option is such
// a limit except listen (reported on its own) and what the request handler
// reads live: tokens, max_records_per_request, max_json_depth.
bool server_limits_changed(const config::ServerOptions& before, const config::ServerOptions& after);

HttpResponse make_response(unsigned status, std::string body, std::string_view content_type = "application/json");

}  // namespace mw::daemon
