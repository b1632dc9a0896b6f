#include "daemon/http_server.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <mutex>
#include <string_view>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/write.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <prometheus/counter.h>

#include "core/log.h"
#include "daemon/client_limits.h"
#include "daemon/metrics.h"
#include "daemon/receive_deadline.h"
#include "daemon/request_body.h"
#include "daemon/request_checks.h"

namespace mw::daemon {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {
constexpr std::uint32_t max_header_bytes = 16 * 1024;
constexpr std::size_t read_chunk_bytes = 64 * 1024;  // one socket read, as Beast's own reads
// After an answer that closes the connection, what the client still sends is
// read and dropped for a bounded time first (a "lingering close", as nginx
// and Apache do): closing with unread data makes the kernel send RST, and the
// client would lose our answer.
constexpr std::uint64_t max_linger_bytes = 64ull << 20;
constexpr auto linger_time = std::chrono::seconds(2);
// Connections past max_connections are answered 503, but each refusal holds
// a socket while it is written and lingers; past this many refusals at once,
// accepting pauses and new connections wait in the kernel's listen backlog.
constexpr std::uint64_t max_refusing_connections = 64;
constexpr auto accept_pause = std::chrono::milliseconds(50);
constexpr auto log_interval = std::chrono::seconds(10);

// Why a connection ended; one label value of modelwatch_http_connections_closed_total each.
enum class Closed : std::size_t {
    client_closed,       // the client closed or reset it
    answered,            // answered, and the request (or a shutdown) asked to close
    idle_timeout,        // no next request within idle_timeout
    header_timeout,      // 408: headers not complete within header_timeout
    header_too_slow,     // 408: headers arriving below min_receive_bytes_per_second
    body_timeout,        // 408: body not complete within body_timeout
    body_too_slow,       // 408: body arriving below min_receive_bytes_per_second
    malformed,           // 400 (or 501): request line, header fields or framing
    header_too_large,    // 431
    body_too_large,      // 413 from the parser (a body past max_body_bytes)
    refused_before_body, // the handler answered from the headers (401, 404, 413, ...) and the body was not read
    body_budget,         // 503: max_inflight_bytes in use
    client_bodies,       // 429: max_bodies_per_client in flight from this client
    write_failed,        // the answer could not be written in time, or at all
    count
};
constexpr std::array<std::string_view, static_cast<std::size_t>(Closed::count)> closed_names = {
    "client_closed", "answered", "idle_timeout",
    "header_timeout", "header_too_slow", "body_timeout", "body_too_slow",
    "malformed", "header_too_large", "body_too_large",
    "refused_before_body", "body_budget", "client_bodies", "write_failed"};

// Why a connection was refused when accepted; label values of modelwatch_http_connections_refused_total.
enum class Refused : std::size_t { max_connections, client_connections, count };
constexpr std::array<std::string_view, static_cast<std::size_t>(Refused::count)> refused_names = {
    "max_connections", "client_connections"};

// Log lines that a flood would repeat: one kind each, below.
enum class LogKind : std::size_t { closed_first, refused_first = closed_first + closed_names.size(),
                                   accept_paused = refused_first + refused_names.size(), accept_failed, count };

// At most one line per kind every log_interval; a line says how many like it
// were left out since the last (the counters have every event).
class ThrottledLog {
public:
    // The number of events left out before this one when it should be logged now; none when it is left out.
    std::optional<std::uint64_t> admit(LogKind kind) {
        const auto now = Clock::now();
        std::lock_guard lock(mutex_);
        auto& slot = slots_[static_cast<std::size_t>(kind)];
        if (slot.logged && now - slot.last < log_interval) {
            ++slot.left_out;
            return std::nullopt;
        }
        slot.logged = true;
        slot.last = now;
        return std::exchange(slot.left_out, 0);
    }

private:
    struct Slot {
        bool logged = false;
        Clock::time_point last{};
        std::uint64_t left_out = 0;
    };
    std::mutex mutex_;
    std::array<Slot, static_cast<std::size_t>(LogKind::count)> slots_{};
};

LogKind log_kind(Closed reason) { return static_cast<LogKind>(static_cast<std::size_t>(reason)); }
LogKind log_kind(Refused reason) {
    return static_cast<LogKind>(static_cast<std::size_t>(LogKind::refused_first) + static_cast<std::size_t>(reason));
}

std::string error_body(std::string_view message) { return nlohmann::json{{"error", message}}.dump(); }

std::chrono::milliseconds ms(std::uint64_t value) { return std::chrono::milliseconds(value); }
}  // namespace

HttpResponse make_response(unsigned status, std::string body, std::string_view content_type) {
    HttpResponse response{static_cast<http::status>(status), 11};
    response.set(http::field::server, "modelwatchd");
    response.set(http::field::content_type, content_type);
    response.body() = std::move(body);
    response.prepare_payload();
    return response;
}

bool server_limits_changed(const config::ServerOptions& before, const config::ServerOptions& after) {
    config::ServerOptions unchanged = after;
    unchanged.listen_address = before.listen_address;
    unchanged.listen_port = before.listen_port;
    unchanged.tokens = before.tokens;
    unchanged.max_records_per_request = before.max_records_per_request;
    unchanged.max_json_depth = before.max_json_depth;
    return unchanged != before;
}

struct HttpServer::Shared {
    Shared(const config::ServerOptions& options_in, RequestHandler& handler_in, DaemonMetrics& metrics)
        : options(options_in),
          handler(handler_in),
          budget(options_in.max_inflight_bytes, &metrics.http_body_bytes_in_flight),
          clients(options_in.max_connections_per_client, options_in.max_bodies_per_client),
          header_limits{ms(options_in.header_timeout_ms), options_in.min_receive_bytes_per_second,
                        ms(options_in.receive_rate_grace_ms), ms(options_in.receive_rate_window_ms)},
          body_limits{ms(options_in.body_timeout_ms), options_in.min_receive_bytes_per_second,
                      ms(options_in.receive_rate_grace_ms), ms(options_in.receive_rate_window_ms)} {
        // Every reason exists from the start, at 0, so rates and alerts on them work at once.
        for (std::size_t i = 0; i < closed_names.size(); ++i)
            closed[i] = &metrics.http_connections_closed.Add({{"reason", std::string(closed_names[i])}});
        for (std::size_t i = 0; i < refused_names.size(); ++i)
            refused[i] = &metrics.http_connections_refused.Add({{"reason", std::string(refused_names[i])}});
    }

    const config::ServerOptions options;
    RequestHandler& handler;
    BodyBudget budget;
    ClientLimits clients;
    const ReceiveLimits header_limits;
    const ReceiveLimits body_limits;
    std::atomic<std::uint64_t> open_connections{0};
    std::atomic<bool> draining{false};
    std::array<prometheus::Counter*, closed_names.size()> closed{};
    std::array<prometheus::Counter*, refused_names.size()> refused{};
    ThrottledLog log;
};

class HttpServer::Session : public std::enable_shared_from_this<HttpServer::Session> {
public:
    // `counted` says whether the connection holds one of its client's connection slots.
    Session(tcp::socket socket, std::shared_ptr<Shared> shared, ClientKey client, bool counted)
        : socket_(std::move(socket)),
          timer_(socket_.get_executor()),
          shared_(std::move(shared)),
          client_(client),
          counted_(counted),
          charge_(shared_->budget) {
        ++shared_->open_connections;
    }
    ~Session() {
        end_request();
        if (counted_) shared_->clients.close(client_);
        if (!refused_) shared_->closed[static_cast<std::size_t>(closed_reason_)]->Increment();
        --shared_->open_connections;
    }

    void start() {
        asio::dispatch(socket_.get_executor(), [self = shared_from_this()] { self->begin_request(true); });
    }

    // Answers a connection that cannot be served at all, then closes it.
    void refuse(Refused reason) {
        refused_ = true;
        shared_->refused[static_cast<std::size_t>(reason)]->Increment();
        const auto& options = shared_->options;
        const bool global = reason == Refused::max_connections;
        if (const auto left_out = shared_->log.admit(log_kind(reason)))
            log::warning("http_connection_refused reason={} client={} open_connections={} limit={} left_out={}",
                         refused_names[static_cast<std::size_t>(reason)], client_.to_string(),
                         shared_->open_connections.load(),
                         global ? options.max_connections : options.max_connections_per_client, *left_out);
        auto response = std::make_shared<HttpResponse>(make_response(
            global ? 503 : 429,
            error_body(global ? "too many open connections; retry shortly"
                              : fmt::format("too many open connections from {}; retry shortly", client_.to_string()))));
        response->set(http::field::retry_after, "1");
        response->keep_alive(false);
        unread_ = true;  // the client may have sent its request already
        asio::dispatch(socket_.get_executor(),
                       [self = shared_from_this(), response] { self->write(response, Closed::answered); });
    }

private:
    enum class Phase { idle, header, body, handling, writing, lingering, closed };

    // ---- receiving -----------------------------------------------------------

    void begin_request(bool first) {
        parser_.emplace();
        parser_->header_limit(max_header_bytes);
        parser_->body_limit(shared_->options.max_body_bytes);
        parser_->get().body().charge = &charge_;
        fold_.reset();
        scanned_ = 0;
        // A new connection owes its first request at once; a kept-alive one
        // may wait idle for its next, unless that one is already buffered.
        if (first || buffer_.size() > 0) {
            start_header();
        } else {
            phase_ = Phase::idle;
            arm_timer(Clock::now() + ms(shared_->options.idle_timeout_ms));
        }
        parse_buffered();
    }

    void start_header() {
        phase_ = Phase::header;
        deadline_.start(Clock::now(), shared_->header_limits);
        deadline_.received(buffer_.size());
        arm_timer(deadline_.next_check());
    }

    void read_more() {
        socket_.async_read_some(buffer_.prepare(read_chunk_bytes),
                                [self = shared_from_this()](beast::error_code ec, std::size_t bytes) {
                                    self->on_read(ec, bytes);
                                });
    }

    void on_read(beast::error_code ec, std::size_t bytes) {
        if (phase_ == Phase::closed) return;
        if (verdict_) return on_deadline();  // the timer cut this read short, or won the race with it
        if (ec) return close_now(Closed::client_closed);
        buffer_.commit(bytes);
        if (phase_ == Phase::idle)
            start_header();  // counts what just arrived
        else
            deadline_.received(bytes);
        parse_buffered();
    }

    void parse_buffered() {
        for (;;) {
            if (phase_ == Phase::idle) return read_more();
            if (phase_ == Phase::header) {
                const auto data = buffer_.data();
                const std::string_view view(static_cast<const char*>(data.data()), data.size());
                if (scanned_ < view.size()) {
                    fold_.scan(view.substr(scanned_));
                    scanned_ = view.size();
                }
                if (fold_.folded())
                    return fail(Closed::malformed, 400,
                                "obsolete line folding (a header line starting with a space or tab) is not "
                                "accepted (RFC 9112 section 5.2)");
            }
            if (buffer_.size() == 0) return read_more();
            beast::error_code ec;
            const std::size_t used = parser_->put(buffer_.data(), ec);
            buffer_.consume(used);
            scanned_ -= std::min(scanned_, used);
            if (ec == http::error::need_more) {
                // In the body, Beast keeps unparsed only a chunk-size line
                // or the trailer fields, which it takes once all are in and
                // with no limit of their own: held to the header's.
                if (phase_ == Phase::body && buffer_.size() > max_header_bytes)
                    return fail(Closed::header_too_large, 431,
                                fmt::format("chunk-size line or trailer fields larger than {} bytes", max_header_bytes));
                return read_more();
            }
            if (ec) return on_parse_error(ec);
            if (phase_ == Phase::header && parser_->is_header_done()) {
                if (!on_header()) return;
                continue;
            }
            if (parser_->is_done()) return on_request();
            if (used == 0) return read_more();
        }
    }

    void on_parse_error(beast::error_code ec) {
        if (ec == http::error::header_limit) return fail(Closed::header_too_large, 431, "request headers too large");
        if (ec == http::error::body_limit)
            return fail(Closed::body_too_large, 413,
                        fmt::format("request body exceeds {} bytes", shared_->options.max_body_bytes));
        if (ec == body_budget_exhausted()) return refuse_busy_body();
        fail(Closed::malformed, 400, describe_parse_error(ec));
    }

    // The headers are in; true when the body is to be read now.
    bool on_header() {
        const auto& header = parser_->get().base();
        if (auto error = check_framing(header)) {
            fail(Closed::malformed, error->status, error->message);
            return false;
        }
        if (auto error = check_content_coding(header)) {
            fail(Closed::answered, error->status, error->message);
            return false;
        }
        std::optional<HttpResponse> early;
        try {
            early = shared_->handler.check_header(header);
        } catch (const std::exception& error) {
            // A handler bug must cost one request, not the process.
            log::error("http_handler_failed stage=header error=\"{}\"", error.what());
            fail(Closed::answered, 500, "internal error");
            return false;
        }
        const bool has_body = !parser_->is_done();
        if (early) {
            // Answered from the headers: an unread body makes the connection unusable.
            early->keep_alive(!has_body && parser_->get().keep_alive() && !shared_->draining);
            unread_ = has_body;
            write(std::make_shared<HttpResponse>(std::move(*early)),
                  has_body ? Closed::refused_before_body : Closed::answered);
            return false;
        }
        if (!has_body) {
            on_request();
            return false;
        }
        if (!shared_->clients.try_start_body(client_)) {
            fail(Closed::client_bodies, 429,
                 fmt::format("too many request bodies in flight from {}; retry shortly", client_.to_string()), true);
            return false;
        }
        holds_client_body_ = true;
        // Refused now when not even the first piece would fit, so a client
        // waiting for 100-continue is spared sending the body.
        const std::uint64_t first_piece =
            std::min<std::uint64_t>(BudgetedStringBody::initial_bytes, parser_->content_length().value_or(
                                                                             BudgetedStringBody::initial_bytes));
        if (shared_->budget.used() + first_piece > shared_->budget.limit()) {
            refuse_busy_body();
            return false;
        }
        phase_ = Phase::body;
        deadline_.start(Clock::now(), shared_->body_limits);
        deadline_.received(buffer_.size());  // body bytes that came with the headers
        arm_timer(deadline_.next_check());
        if (beast::iequals(header[http::field::expect], "100-continue")) {
            auto interim = std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
            http::async_write(socket_, *interim,
                              [self = shared_from_this(), interim](beast::error_code ec, std::size_t) {
                                  if (self->phase_ == Phase::closed) return;
                                  if (self->verdict_) return self->on_deadline();
                                  if (ec) return self->close_now(Closed::client_closed);
                                  self->parse_buffered();
                              });
            return false;
        }
        return true;
    }

    void refuse_busy_body() {
        fail(Closed::body_budget, 503, "too many request bodies in flight; retry shortly", true);
    }

    // ---- deadlines -----------------------------------------------------------

    void arm_timer(Clock::time_point when) {
        const auto generation = ++timer_generation_;
        timer_.expires_at(when);
        timer_.async_wait([self = shared_from_this(), generation](beast::error_code ec) {
            if (ec || generation != self->timer_generation_) return;  // re-armed or cancelled since
            self->on_timer();
        });
    }

    void cancel_timer() {
        ++timer_generation_;
        timer_.cancel();
    }

    void on_timer() {
        switch (phase_) {
            case Phase::idle:
                verdict_ = ReceiveVerdict::timed_out;
                break;
            case Phase::header:
            case Phase::body: {
                const auto verdict = deadline_.check(Clock::now());
                if (verdict == ReceiveVerdict::in_time) return arm_timer(deadline_.next_check());
                verdict_ = verdict;
                break;
            }
            case Phase::writing:
                closed_reason_ = Closed::write_failed;
                [[fallthrough]];
            case Phase::lingering: {
                beast::error_code ignored;
                socket_.close(ignored);  // the pending write or read ends with an error
                return;
            }
            case Phase::handling:
            case Phase::closed:
                return;
        }
        // The pending read (or 100-continue write) ends with operation_aborted
        // and its handler calls on_deadline().
        beast::error_code ignored;
        socket_.cancel(ignored);
    }

    void on_deadline() {
        const auto verdict = *verdict_;
        verdict_.reset();
        if (phase_ == Phase::idle) return close_now(Closed::idle_timeout);  // nothing was asked: nothing to answer
        const bool header = phase_ == Phase::header;
        const bool too_slow = verdict == ReceiveVerdict::too_slow;
        const Closed reason = header ? (too_slow ? Closed::header_too_slow : Closed::header_timeout)
                                     : (too_slow ? Closed::body_too_slow : Closed::body_timeout);
        const auto& options = shared_->options;
        const char* part = header ? "headers" : "body";
        if (const auto left_out = shared_->log.admit(log_kind(reason))) {
            if (too_slow)
                log::info("http_request_too_slow client={} part={} window_bytes={} window_ms={} "
                          "min_bytes_per_second={} left_out={}",
                          client_.to_string(), part, deadline_.judged_window_bytes(),
                          deadline_.judged_window().count(), options.min_receive_bytes_per_second, *left_out);
            else
                log::info("http_request_timeout client={} part={} received_bytes={} timeout_ms={} left_out={}",
                          client_.to_string(), part, deadline_.phase_bytes(),
                          header ? options.header_timeout_ms : options.body_timeout_ms, *left_out);
        }
        fail(reason, 408,
             too_slow ? fmt::format("request {} arriving slower than {} bytes per second", part,
                                    options.min_receive_bytes_per_second)
                      : fmt::format("request {} not received within {} ms", part,
                                    header ? options.header_timeout_ms : options.body_timeout_ms));
    }

    // ---- answering -----------------------------------------------------------

    void on_request() {
        phase_ = Phase::handling;
        cancel_timer();  // the handler's answer is bounded where it waits (the spool)
        auto parsed = parser_->release();
        HttpRequest request(std::move(parsed.base()), std::move(parsed.body().text));
        const bool keep_alive = request.keep_alive();
        auto executor = socket_.get_executor();
        auto answered = std::make_shared<std::atomic<bool>>(false);
        Responder respond = [self = shared_from_this(), executor, keep_alive, answered](HttpResponse response) {
            if (answered->exchange(true)) return;
            auto shared = std::make_shared<HttpResponse>(std::move(response));
            shared->keep_alive(keep_alive && !self->shared_->draining);
            asio::post(executor, [self, shared] { self->write(shared, Closed::answered); });
        };
        try {
            shared_->handler.handle(std::move(request), respond);
        } catch (const std::exception& error) {
            log::error("http_handler_failed stage=body error=\"{}\"", error.what());
            respond(make_response(500, error_body("internal error")));
        }
    }

    // Answers and closes; the body (or the rest of the request) is left unread.
    void fail(Closed reason, unsigned status, std::string_view message, bool retry_after = false) {
        if (reason == Closed::malformed || reason == Closed::header_too_large || reason == Closed::body_too_large) {
            if (const auto left_out = shared_->log.admit(log_kind(reason)))
                log::info("http_request_refused reason={} status={} client={} error=\"{}\" left_out={}",
                          closed_names[static_cast<std::size_t>(reason)], status, client_.to_string(), message,
                          *left_out);
        } else if (reason == Closed::body_budget || reason == Closed::client_bodies) {
            if (const auto left_out = shared_->log.admit(log_kind(reason)))
                log::warning("http_request_refused reason={} status={} client={} body_bytes_in_flight={} "
                             "limit_bytes={} left_out={}",
                             closed_names[static_cast<std::size_t>(reason)], status, client_.to_string(),
                             shared_->budget.used(), shared_->budget.limit(), *left_out);
        }
        unread_ = true;
        auto response = std::make_shared<HttpResponse>(make_response(status, error_body(message)));
        if (retry_after) response->set(http::field::retry_after, "1");
        response->keep_alive(false);
        write(std::move(response), reason);
    }

    // `reason`: why the connection ends if this answer closes it.
    void write(std::shared_ptr<HttpResponse> response, Closed reason) {
        if (phase_ == Phase::closed) return;
        phase_ = Phase::writing;
        closing_reason_ = reason;
        arm_timer(Clock::now() + ms(shared_->options.body_timeout_ms));
        http::async_write(socket_, *response, [self = shared_from_this(), response](beast::error_code ec, std::size_t) {
            self->on_written(ec, *response);
        });
    }

    void on_written(beast::error_code ec, const HttpResponse& response) {
        if (phase_ == Phase::closed) return;
        cancel_timer();
        end_request();
        if (ec) return close_now(closed_reason_ == Closed::write_failed ? Closed::write_failed : Closed::client_closed);
        if (!response.keep_alive() || shared_->draining) return close_after_answer(closing_reason_);
        begin_request(false);  // buffer_ may already hold the next pipelined request: it is kept
    }

    // What this request held (its share of the body budget, its client's body slot) is given back.
    void end_request() {
        charge_.release();
        if (holds_client_body_) {
            shared_->clients.end_body(client_);
            holds_client_body_ = false;
        }
    }

    // ---- closing -------------------------------------------------------------

    void close_after_answer(Closed reason) {
        closed_reason_ = reason;
        beast::error_code ignored;
        socket_.shutdown(tcp::socket::shutdown_send, ignored);
        if (!unread_) return close_now(reason);
        phase_ = Phase::lingering;
        arm_timer(Clock::now() + linger_time);
        buffer_.clear();
        discard_rest();
    }

    void discard_rest() {
        socket_.async_read_some(buffer_.prepare(read_chunk_bytes),
                                [self = shared_from_this()](beast::error_code ec, std::size_t bytes) {
                                    if (self->phase_ == Phase::closed) return;
                                    self->discarded_bytes_ += bytes;
                                    if (ec || self->discarded_bytes_ > max_linger_bytes)
                                        return self->close_now(self->closed_reason_);
                                    self->discard_rest();
                                });
    }

    void close_now(Closed reason) {
        if (phase_ == Phase::closed) return;
        phase_ = Phase::closed;
        closed_reason_ = reason;
        cancel_timer();
        beast::error_code ignored;
        socket_.shutdown(tcp::socket::shutdown_both, ignored);
        socket_.close(ignored);
    }

    tcp::socket socket_;
    asio::steady_timer timer_;
    std::uint64_t timer_generation_ = 0;
    std::shared_ptr<Shared> shared_;
    const ClientKey client_;
    const bool counted_;
    bool refused_ = false;
    Phase phase_ = Phase::idle;
    ReceiveDeadline deadline_;
    std::optional<ReceiveVerdict> verdict_;  // set by the timer, acted on by the read it cut short
    beast::flat_buffer buffer_;
    HeaderFoldScanner fold_;
    std::size_t scanned_ = 0;  // bytes at the front of buffer_ already given to fold_
    std::optional<http::request_parser<BudgetedStringBody>> parser_;
    BodyCharge charge_;
    bool holds_client_body_ = false;
    bool unread_ = false;  // the client may still be sending what we will not read
    Closed closing_reason_ = Closed::answered;
    Closed closed_reason_ = Closed::client_closed;
    std::uint64_t discarded_bytes_ = 0;
};

HttpServer::HttpServer(asio::io_context& io, const config::ServerOptions& options, RequestHandler& handler,
                       DaemonMetrics& metrics)
    : io_(io),
      shared_(std::make_shared<Shared>(options, handler, metrics)),
      acceptor_(asio::make_strand(io)),
      accept_pause_(acceptor_.get_executor()) {}

HttpServer::~HttpServer() = default;

void HttpServer::start() {
    const auto& options = shared_->options;
    beast::error_code ec;
    const auto address = asio::ip::make_address(options.listen_address, ec);
    if (ec) throw std::runtime_error(fmt::format("server.listen: bad address '{}': {}", options.listen_address, ec.message()));
    const tcp::endpoint endpoint{address, options.listen_port};
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
        throw std::runtime_error(
            fmt::format("cannot listen on {}:{}: {}", options.listen_address, options.listen_port, ec.message()));
    log::info("http_listening address={} port={} max_connections={} max_connections_per_client={} "
              "max_bodies_per_client={} min_receive_bytes_per_second={}",
              options.listen_address, bound_port(), options.max_connections, options.max_connections_per_client,
              options.max_bodies_per_client, options.min_receive_bytes_per_second);
    accept_next();
}

void HttpServer::accept_next() {
    if (shared_->open_connections.load() >= shared_->options.max_connections + max_refusing_connections) {
        if (const auto left_out = shared_->log.admit(LogKind::accept_paused))
            log::warning("http_accept_paused open_connections={} max_connections={} left_out={}",
                         shared_->open_connections.load(), shared_->options.max_connections, *left_out);
        return pause_accepting();
    }
    acceptor_.async_accept(asio::make_strand(io_), [this](beast::error_code ec, tcp::socket socket) {
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
        if (ec) {
            // Out of descriptors, say: retrying at once would spin.
            if (const auto left_out = shared_->log.admit(LogKind::accept_failed))
                log::warning("http_accept_failed error=\"{}\" left_out={}", ec.message(), *left_out);
            return pause_accepting();
        }
        on_accepted(std::move(socket));
        accept_next();
    });
}

void HttpServer::pause_accepting() {
    accept_pause_.expires_after(accept_pause);
    accept_pause_.async_wait([this](beast::error_code ec) {
        if (ec || !acceptor_.is_open()) return;
        accept_next();
    });
}

void HttpServer::on_accepted(tcp::socket socket) {
    beast::error_code ec;
    const auto peer = socket.remote_endpoint(ec);
    if (ec) return;  // already gone
    socket.set_option(tcp::no_delay(true), ec);
    const ClientKey client = ClientKey::of(peer.address());
    if (shared_->open_connections.load() >= shared_->options.max_connections) {
        std::make_shared<Session>(std::move(socket), shared_, client, false)->refuse(Refused::max_connections);
        return;
    }
    if (!shared_->clients.try_open(client)) {
        std::make_shared<Session>(std::move(socket), shared_, client, false)->refuse(Refused::client_connections);
        return;
    }
    std::make_shared<Session>(std::move(socket), shared_, client, true)->start();
}

void HttpServer::stop_accepting() {
    shared_->draining = true;
    asio::post(acceptor_.get_executor(), [this] {
        beast::error_code ignored;
        acceptor_.close(ignored);
        accept_pause_.cancel();
    });
}

std::uint64_t HttpServer::open_connections() const { return shared_->open_connections.load(); }

std::uint16_t HttpServer::bound_port() const {
    beast::error_code ec;
    const auto endpoint = acceptor_.local_endpoint(ec);
    return ec ? 0 : endpoint.port();
}

}  // namespace mw::daemon
