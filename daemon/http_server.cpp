#include "daemon/http_server.h"

#include <array>
#include <chrono>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <fmt/format.h>

#include "core/log.h"

namespace mw::daemon {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {
constexpr std::uint32_t max_header_bytes = 16 * 1024;
constexpr std::uint64_t max_linger_bytes = 64ull << 20;

std::string error_body(std::string_view message) {
    std::string escaped;
    for (char c : message) {
        if (c == '"' || c == '\\') escaped += '\\';
        escaped += c;
    }
    return fmt::format("{{\"error\":\"{}\"}}", escaped);
}
}  // namespace

HttpResponse make_response(unsigned status, std::string body, std::string_view content_type) {
    HttpResponse response{static_cast<http::status>(status), 11};
    response.set(http::field::server, "modelwatchd");
    response.set(http::field::content_type, content_type);
    response.body() = std::move(body);
    response.prepare_payload();
    return response;
}

class HttpServer::Session : public std::enable_shared_from_this<HttpServer::Session> {
public:
    Session(tcp::socket socket, const config::ServerOptions& options, RequestHandler& handler,
            std::shared_ptr<std::atomic<std::uint64_t>> open_connections,
            std::shared_ptr<std::atomic<std::uint64_t>> inflight_bytes, std::shared_ptr<std::atomic<bool>> draining)
        : stream_(std::move(socket)),
          options_(options),
          handler_(handler),
          open_connections_(std::move(open_connections)),
          inflight_bytes_(std::move(inflight_bytes)),
          draining_(std::move(draining)) {
        ++*open_connections_;
    }
    ~Session() {
        release_body_budget();
        --*open_connections_;
    }

    void start() {
        asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_header(true); });
    }

    void reject_busy() {
        auto response = std::make_shared<HttpResponse>(
            make_response(503, error_body("too many open connections"), "application/json"));
        response->set(http::field::retry_after, "1");
        response->keep_alive(false);
        write(std::move(response));
    }

private:
    void read_header(bool first_request) {
        parser_.emplace();
        parser_->header_limit(max_header_bytes);
        parser_->body_limit(options_.max_body_bytes);
        // A fresh connection must send its headers promptly; a kept-alive one
        // may wait up to the idle timeout for its next request.
        stream_.expires_after(std::chrono::milliseconds(first_request ? options_.header_timeout_ms
                                                                      : options_.idle_timeout_ms));
        http::async_read_header(stream_, buffer_, *parser_,
                                [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                    self->on_header(ec);
                                });
    }

    void on_header(beast::error_code ec) {
        if (ec == http::error::header_limit) return fail(431, "request headers too large");
        // Beast checks Content-Length against the body limit with the headers.
        if (ec == http::error::body_limit)
            return fail(413, fmt::format("request body exceeds {} bytes", options_.max_body_bytes));
        if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec) return close();

        const auto& header = parser_->get().base();
        std::optional<HttpResponse> early;
        try {
            early = handler_.check_header(header);
        } catch (const std::exception& error) {
            // A handler bug must cost one request, not the process.
            log::error("http_handler_failed stage=header error=\"{}\"", error.what());
            return fail(500, "internal error");
        }
        if (early) {
            // Answered without reading the body, so the connection cannot be reused.
            early->keep_alive(false);
            unread_body_ = true;
            return write(std::make_shared<HttpResponse>(std::move(*early)));
        }
        // A chunked body's size is unknown until read: assume the largest allowed.
        const std::uint64_t body_bytes =
            parser_->chunked() ? options_.max_body_bytes : parser_->content_length().value_or(0);
        if (!reserve_body_budget(body_bytes)) {
            unread_body_ = true;
            auto busy = std::make_shared<HttpResponse>(
                make_response(503, error_body("too many request bodies in flight; retry shortly")));
            busy->set(http::field::retry_after, "1");
            busy->keep_alive(false);
            return write(std::move(busy));
        }
        stream_.expires_after(std::chrono::milliseconds(options_.body_timeout_ms));
        if (beast::iequals(header[http::field::expect], "100-continue")) {
            auto interim = std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
            http::async_write(stream_, *interim,
                              [self = shared_from_this(), interim](beast::error_code write_ec, std::size_t) {
                                  if (write_ec) return self->close();
                                  self->read_body();
                              });
            return;
        }
        read_body();
    }

    void read_body() {
        http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            self->on_body(ec);
        });
    }

    void on_body(beast::error_code ec) {
        if (ec == http::error::body_limit)
            return fail(413, fmt::format("request body exceeds {} bytes", options_.max_body_bytes));
        if (ec == beast::error::timeout) return fail(408, "request body not received in time");
        if (ec) return close();

        stream_.expires_never();  // the handler may wait on the spool; its answer is bounded there
        HttpRequest request = parser_->release();
        const bool keep_alive = request.keep_alive();
        auto executor = stream_.get_executor();
        auto answered = std::make_shared<std::atomic<bool>>(false);
        Responder respond = [self = shared_from_this(), executor, keep_alive, answered](HttpResponse response) {
            if (answered->exchange(true)) return;
            auto shared = std::make_shared<HttpResponse>(std::move(response));
            shared->keep_alive(keep_alive && !*self->draining_);
            asio::post(executor, [self, shared] { self->write(shared); });
        };
        try {
            handler_.handle(std::move(request), respond);
        } catch (const std::exception& error) {
            log::error("http_handler_failed stage=body error=\"{}\"", error.what());
            respond(make_response(500, error_body("internal error")));
        }
    }

    void fail(unsigned status, std::string_view message) {
        unread_body_ = true;
        auto response = std::make_shared<HttpResponse>(make_response(status, error_body(message)));
        response->keep_alive(false);
        write(std::move(response));
    }

    void write(std::shared_ptr<HttpResponse> response) {
        stream_.expires_after(std::chrono::milliseconds(options_.body_timeout_ms));
        http::async_write(stream_, *response,
                          [self = shared_from_this(), response](beast::error_code ec, std::size_t) {
                              self->release_body_budget();
                              if (ec || !response->keep_alive() || *self->draining_) return self->close();
                              // buffer_ may already hold the next pipelined request: keep it.
                              self->read_header(false);
                          });
    }

    bool reserve_body_budget(std::uint64_t bytes) {
        std::uint64_t current = inflight_bytes_->load();
        do {
            if (current + bytes > options_.max_inflight_bytes) return false;
        } while (!inflight_bytes_->compare_exchange_weak(current, current + bytes));
        reserved_bytes_ = bytes;
        return true;
    }

    void release_body_budget() {
        if (reserved_bytes_ == 0) return;
        *inflight_bytes_ -= reserved_bytes_;
        reserved_bytes_ = 0;
    }

    void close() {
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        if (!unread_body_) return stream_.close();
        // The client may still be sending the body we refused. Closing now
        // with unread data makes the kernel send RST, and the client would
        // lose our answer; read and drop what comes for a bounded time first
        // (a "lingering close", as nginx and Apache do).
        stream_.expires_after(std::chrono::seconds(2));
        discard_rest();
    }

    void discard_rest() {
        stream_.async_read_some(boost::asio::buffer(discard_buffer_),
                                [self = shared_from_this()](beast::error_code ec, std::size_t bytes) {
                                    self->discarded_bytes_ += bytes;
                                    if (ec || self->discarded_bytes_ > max_linger_bytes) return self->stream_.close();
                                    self->discard_rest();
                                });
    }

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    bool unread_body_ = false;
    std::uint64_t reserved_bytes_ = 0;  // this request's share of max_inflight_bytes
    std::uint64_t discarded_bytes_ = 0;
    std::array<char, 16 * 1024> discard_buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    const config::ServerOptions& options_;
    RequestHandler& handler_;
    std::shared_ptr<std::atomic<std::uint64_t>> open_connections_;
    std::shared_ptr<std::atomic<std::uint64_t>> inflight_bytes_;
    std::shared_ptr<std::atomic<bool>> draining_;
};

HttpServer::HttpServer(asio::io_context& io, const config::ServerOptions& options, RequestHandler& handler)
    : io_(io),
      options_(options),
      handler_(handler),
      acceptor_(asio::make_strand(io)),
      open_connections_(std::make_shared<std::atomic<std::uint64_t>>(0)),
      inflight_bytes_(std::make_shared<std::atomic<std::uint64_t>>(0)),
      draining_(std::make_shared<std::atomic<bool>>(false)) {}

HttpServer::~HttpServer() = default;

void HttpServer::start() {
    beast::error_code ec;
    const auto address = asio::ip::make_address(options_.listen_address, ec);
    if (ec) throw std::runtime_error(fmt::format("server.listen: bad address '{}': {}", options_.listen_address, ec.message()));
    const tcp::endpoint endpoint{address, options_.listen_port};
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
        throw std::runtime_error(
            fmt::format("cannot listen on {}:{}: {}", options_.listen_address, options_.listen_port, ec.message()));
    log::info("http_listening address={} port={}", options_.listen_address, bound_port());
    accept_next();
}

void HttpServer::accept_next() {
    acceptor_.async_accept(asio::make_strand(io_), [this](beast::error_code ec, tcp::socket socket) {
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
        if (!ec) {
            socket.set_option(tcp::no_delay(true), ec);
            auto session = std::make_shared<Session>(std::move(socket), options_, handler_, open_connections_,
                                                     inflight_bytes_, draining_);
            if (open_connections_->load() > options_.max_connections) session->reject_busy();
            else session->start();
        } else {
            log::warning("http_accept_failed error=\"{}\"", ec.message());
        }
        accept_next();
    });
}

void HttpServer::stop_accepting() {
    *draining_ = true;
    asio::post(acceptor_.get_executor(), [this] {
        beast::error_code ignored;
        acceptor_.close(ignored);
    });
}

std::uint64_t HttpServer::open_connections() const { return open_connections_->load(); }

std::uint16_t HttpServer::bound_port() const {
    beast::error_code ec;
    const auto endpoint = acceptor_.local_endpoint(ec);
    return ec ? 0 : endpoint.port();
}

}  // namespace mw::daemon
