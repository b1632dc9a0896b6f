// A tiny HTTP/1.1 server on 127.0.0.1 (an ephemeral port) for tests of code
// that calls out over HTTP: it records every request and answers each with
// what the test's handler returns, one request per connection, on its own
// thread. Header-only because it is test support shared by several test
// binaries (test_core, test_alerts, test_retrain) that link no common test
// library.
#pragma once

#include <utility>  // before Asio: Boost 1.74 under C++20 needs std::exchange declared

#include <algorithm>
#include <cctype>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace mw::testing {

struct ReceivedRequest {
    std::string method;
    std::string target;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;

    std::string header(std::string_view name) const {
        for (const auto& [key, value] : headers) {
            if (key.size() == name.size() && std::equal(key.begin(), key.end(), name.begin(), [](char a, char b) {
                    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
                }))
                return value;
        }
        return "";
    }
};

struct CannedResponse {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    // Read the request, then hold the connection open and never answer (to
    // exercise the client's deadline).
    bool never_answer = false;
    // Send these bytes verbatim instead of a well-formed response.
    std::string raw;
};

// A loopback port nobody listens on (bound, then released when this
// returns), for tests of a receiver that is down.
inline unsigned short unused_port() {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    return acceptor.local_endpoint().port();
}

class TestHttpServer {
public:
    using Handler = std::function<CannedResponse(const ReceivedRequest&)>;

    explicit TestHttpServer(Handler handler)
        : handler_(std::move(handler)),
          acceptor_(io_, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)) {
        port_ = acceptor_.local_endpoint().port();
        accept_next();
        thread_ = std::thread([this] { io_.run(); });
    }

    ~TestHttpServer() {
        io_.stop();
        thread_.join();
    }

    TestHttpServer(const TestHttpServer&) = delete;
    TestHttpServer& operator=(const TestHttpServer&) = delete;

    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    unsigned short port() const { return port_; }

    std::vector<ReceivedRequest> requests() const {
        std::lock_guard lock(mutex_);
        return requests_;
    }

    // Connections accepted, whether or not a request came on them (a test
    // that nothing connected at all).
    std::size_t connections() const {
        std::lock_guard lock(mutex_);
        return connections_;
    }

private:
    void accept_next() {
        acceptor_.async_accept([this](const boost::system::error_code& ec, boost::asio::ip::tcp::socket socket) {
            if (ec) return;
            {
                std::lock_guard lock(mutex_);
                ++connections_;
            }
            serve(std::move(socket));
            accept_next();
        });
    }

    // Synchronous on the server thread: the clients under test send their
    // whole request at once, so this never waits on a silent client.
    void serve(boost::asio::ip::tcp::socket socket) {
        namespace http = boost::beast::http;
        boost::beast::flat_buffer buffer;
        http::request_parser<http::string_body> parser;
        parser.body_limit(64 << 20);
        boost::system::error_code ec;
        http::read(socket, buffer, parser, ec);
        if (ec) return;
        const auto& message = parser.get();
        ReceivedRequest received;
        received.method = std::string(message.method_string());
        received.target = std::string(message.target());
        for (const auto& field : message)
            received.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
        received.body = message.body();
        {
            std::lock_guard lock(mutex_);
            requests_.push_back(received);
        }
        const CannedResponse canned = handler_(received);
        if (canned.never_answer) {
            held_.push_back(std::make_unique<boost::asio::ip::tcp::socket>(std::move(socket)));
            return;
        }
        if (!canned.raw.empty()) {
            boost::asio::write(socket, boost::asio::buffer(canned.raw), ec);
        } else {
            http::response<http::string_body> response{static_cast<http::status>(canned.status), 11};
            for (const auto& [name, value] : canned.headers) response.set(name, value);
            response.body() = canned.body;
            response.prepare_payload();
            http::write(socket, response, ec);
        }
        socket.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
    }

    Handler handler_;
    boost::asio::io_context io_;
    boost::asio::ip::tcp::acceptor acceptor_;
    unsigned short port_ = 0;
    std::thread thread_;
    mutable std::mutex mutex_;
    std::vector<ReceivedRequest> requests_;
    std::size_t connections_ = 0;
    std::vector<std::unique_ptr<boost::asio::ip::tcp::socket>> held_;
};

}  // namespace mw::testing
