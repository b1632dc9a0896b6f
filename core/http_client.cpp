// The client runs every step of the exchange as an asynchronous operation on a
// private io_context and drives it with run_one(), so one steady_timer set to
// the deadline can abort whichever step is pending (synchronous Asio calls
// cannot be interrupted, and the resolver has no timeout of its own).
#include <utility>  // before Asio: Boost 1.74 under C++20 needs std::exchange declared (PLATFORM.md)

#include "core/http_client.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

namespace mw::http {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

bool has_control_character(std::string_view text) {
    return std::any_of(text.begin(), text.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7f;
    });
}

// One exchange: the io_context, the deadline timer, and the "host:port" that
// every error message names.
class Exchange {
public:
    Exchange(const Url& url, std::chrono::milliseconds timeout)
        : endpoint_name_(url.host + ":" + url.port), timeout_(timeout), deadline_(io_) {
        deadline_.expires_after(timeout);
    }

    // Arms the deadline: when it fires, `on_timeout` closes whatever the
    // pending step waits on, so that step completes with operation_aborted.
    template <typename OnTimeout>
    void arm(OnTimeout on_timeout) {
        deadline_.async_wait([this, on_timeout](const error_code& ec) {
            if (ec) return;  // cancelled: the exchange finished first
            timed_out_ = true;
            on_timeout();
        });
    }

    // Starts one asynchronous step and runs the io_context until it completes.
    // `start` receives a completion callback taking the step's error code.
    template <typename Start>
    error_code run(Start start) {
        bool done = false;
        error_code result;
        start([&](const error_code& ec) {
            result = ec;
            done = true;
        });
        while (!done && io_.run_one() > 0) {
        }
        return result;
    }

    std::string error(std::string_view step, const error_code& ec) const {
        if (timed_out_) return fmt::format("timeout after {} ms during {} {}", timeout_.count(), step, endpoint_name_);
        return fmt::format("{} {}: {}", step, endpoint_name_, ec.message());
    }

    void finish() {
        deadline_.cancel();
        io_.restart();
        io_.poll();  // lets the cancelled timer's handler run before destruction
    }

    asio::io_context& io() { return io_; }
    const std::string& endpoint_name() const { return endpoint_name_; }

private:
    asio::io_context io_;
    std::string endpoint_name_;
    std::chrono::milliseconds timeout_;
    asio::steady_timer deadline_;
    bool timed_out_ = false;
};

std::optional<std::string> build_request(const Request& request, const Url& url,
                                         bhttp::request<bhttp::string_body>& out) {
    const bhttp::verb verb = bhttp::string_to_verb(request.method);
    if (verb == bhttp::verb::unknown) return fmt::format("unknown HTTP method \"{}\"", request.method);
    out.method(verb);
    out.target(url.target);
    out.version(11);
    const bool default_port = (url.tls && url.port == "443") || (!url.tls && url.port == "80");
    const std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
    out.set(bhttp::field::host, default_port ? host : host + ":" + url.port);
    out.set(bhttp::field::user_agent, "modelwatch/" MODELWATCH_VERSION);
    out.set(bhttp::field::connection, "close");
    if (!request.body.empty() && !request.content_type.empty())
        out.set(bhttp::field::content_type, request.content_type);
    for (const auto& [name, value] : request.headers) {
        // A line break in a header would let a configured value inject headers
        // or a second request (CWE-113).
        if (name.empty() || has_control_character(name) || has_control_character(value))
            return fmt::format("header \"{}\" has an empty name or a control character", name);
        out.set(name, value);
    }
    out.body() = request.body;
    out.prepare_payload();
    return std::nullopt;
}

template <typename Stream>
Response exchange(Exchange& exchange, Stream& stream, const Request& request,
                  bhttp::request<bhttp::string_body>& message) {
    Response response;
    error_code ec = exchange.run(
        [&](auto done) { bhttp::async_write(stream, message, [done](const error_code& e, std::size_t) { done(e); }); });
    if (ec) {
        response.error = exchange.error("write request to", ec);
        return response;
    }
    beast::flat_buffer buffer;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(request.max_response_bytes);
    // The header first, alone: Beast 1.74's eager body parsing (which
    // async_read turns on) overwrites the body_limit error raised on a too
    // large Content-Length and reads the whole body anyway.
    ec = exchange.run([&](auto done) {
        bhttp::async_read_header(stream, buffer, parser, [done](const error_code& e, std::size_t) { done(e); });
    });
    if (!ec && !parser.is_done()) {
        ec = exchange.run([&](auto done) {
            bhttp::async_read(stream, buffer, parser, [done](const error_code& e, std::size_t) { done(e); });
        });
    }
    if (ec == bhttp::error::body_limit) {
        response.error = fmt::format("read response from {}: body longer than {} bytes", exchange.endpoint_name(),
                                     request.max_response_bytes);
        return response;
    }
    if (ec) {
        response.error = exchange.error("read response from", ec);
        return response;
    }
    const auto& message_in = parser.get();
    response.status = static_cast<int>(message_in.result_int());
    for (const auto& field : message_in)
        response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    response.body = message_in.body();
    return response;
}

}  // namespace

std::string Response::header(std::string_view name) const {
    for (const auto& [key, value] : headers)
        if (iequals(key, name)) return value;
    return "";
}

Url parse_url(std::string_view text) {
    Url url;
    if (text.empty()) {
        url.error = "empty URL";
        return url;
    }
    if (has_control_character(text) || text.find(' ') != std::string_view::npos) {
        url.error = fmt::format("URL \"{}\" contains a space or a control character", text);
        return url;
    }
    const auto scheme_end = text.find("://");
    if (scheme_end == std::string_view::npos) {
        url.error = fmt::format("URL \"{}\" has no scheme (expected http:// or https://)", text);
        return url;
    }
    const std::string_view scheme = text.substr(0, scheme_end);
    if (iequals(scheme, "https")) {
        url.tls = true;
    } else if (!iequals(scheme, "http")) {
        url.error = fmt::format("URL \"{}\" has scheme \"{}\" (expected http or https)", text, scheme);
        return url;
    }
    std::string_view rest = text.substr(scheme_end + 3);
    if (const auto fragment = rest.find('#'); fragment != std::string_view::npos) rest = rest.substr(0, fragment);
    const auto authority_end = rest.find_first_of("/?");
    const std::string_view authority = rest.substr(0, authority_end);
    const std::string_view target = authority_end == std::string_view::npos ? "" : rest.substr(authority_end);
    if (authority.find('@') != std::string_view::npos) {
        url.error = fmt::format("URL \"{}\" carries credentials; put them in a header instead", text);
        return url;
    }
    std::string_view host = authority;
    std::string_view port;
    if (authority.starts_with('[')) {  // an IPv6 literal (RFC 3986 section 3.2.2)
        const auto close = authority.find(']');
        if (close == std::string_view::npos) {
            url.error = fmt::format("URL \"{}\" has an unterminated IPv6 address", text);
            return url;
        }
        host = authority.substr(1, close - 1);
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after[0] != ':') {
                url.error = fmt::format("URL \"{}\" has characters after the IPv6 address", text);
                return url;
            }
            port = after.substr(1);
        }
    } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
    }
    if (host.empty()) {
        url.error = fmt::format("URL \"{}\" has no host", text);
        return url;
    }
    if (port.empty() && authority.ends_with(':')) {
        url.error = fmt::format("URL \"{}\" has an empty port", text);
        return url;
    }
    if (!port.empty()) {
        unsigned value = 0;
        const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535) {
            url.error = fmt::format("URL \"{}\" has port \"{}\" (expected 1-65535)", text, port);
            return url;
        }
    }
    url.host = std::string(host);
    url.port = port.empty() ? (url.tls ? "443" : "80") : std::string(port);
    url.target = target.empty() ? "/" : (target.front() == '?' ? "/" + std::string(target) : std::string(target));
    return url;
}

Response send(const Request& request) {
    Response response;
    const Url url = parse_url(request.url);
    if (!url.error.empty()) {
        response.error = url.error;
        return response;
    }
    bhttp::request<bhttp::string_body> message;
    if (auto error = build_request(request, url, message)) {
        response.error = *error;
        return response;
    }
    // Anything thrown below (allocation, an Asio invariant) still becomes a
    // value: the caller is a delivery loop that must not die for one receiver.
    try {
        Exchange ex(url, request.timeout);
        tcp::resolver resolver(ex.io());
        asio::ssl::context tls_context(asio::ssl::context::tls_client);
        asio::ssl::stream<tcp::socket> stream(ex.io(), tls_context);
        tcp::socket& socket = stream.next_layer();
        ex.arm([&] {
            resolver.cancel();
            error_code ignored;
            socket.close(ignored);
        });

        tcp::resolver::results_type endpoints;
        error_code ec = ex.run([&](auto done) {
            resolver.async_resolve(url.host, url.port,
                                   [&endpoints, done](const error_code& e, tcp::resolver::results_type results) {
                                       endpoints = std::move(results);
                                       done(e);
                                   });
        });
        if (ec) {
            response.error = ex.error("resolve", ec);
            ex.finish();
            return response;
        }
        ec = ex.run([&](auto done) {
            asio::async_connect(socket, endpoints, [done](const error_code& e, const tcp::endpoint&) { done(e); });
        });
        if (ec) {
            response.error = ex.error("connect to", ec);
            ex.finish();
            return response;
        }
        if (url.tls) {
            tls_context.set_default_verify_paths(ec);
            if (ec) {
                response.error = fmt::format("load the system CA store for {}: {}", ex.endpoint_name(), ec.message());
                ex.finish();
                return response;
            }
            stream.set_verify_mode(asio::ssl::verify_peer);
            // RFC 6125 host name check on the peer certificate, and SNI so
            // that virtual hosts present the right certificate.
            stream.set_verify_callback(asio::ssl::host_name_verification(url.host));
            if (!SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str())) {
                response.error = fmt::format("set TLS server name for {}", ex.endpoint_name());
                ex.finish();
                return response;
            }
            ec = ex.run([&](auto done) { stream.async_handshake(asio::ssl::stream_base::client, done); });
            if (ec) {
                response.error = ex.error("TLS handshake with", ec);
                ex.finish();
                return response;
            }
            response = exchange(ex, stream, request, message);
        } else {
            response = exchange(ex, socket, request, message);
        }
        // One request per connection: close without a TLS close_notify, which
        // could block on a peer that never answers it. The response has been
        // read whole by now (an EOF-delimited body ended with the peer's own
        // close_notify, or the read failed above).
        error_code ignored;
        socket.close(ignored);
        ex.finish();
    } catch (const std::exception& e) {
        response = Response{};
        response.error = fmt::format("request to {}:{}: {}", url.host, url.port, e.what());
    }
    return response;
}

}  // namespace mw::http
