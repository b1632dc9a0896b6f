#include "tests/support/test_http_server.h"

#include <utility>  // before Asio: Boost 1.74 under C++20 needs std::exchange declared

#include <algorithm>
#include <cctype>
#include <mutex>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace mw::testing {

std::string ReceivedRequest::header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
        if (key.size() == name.size() && std::equal(key.begin(), key.end(), name.begin(), [](char a, char b) {
                return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
            }))
            return value;
    }
    return "";
}

unsigned short unused_port() {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    return acceptor.local_endpoint().port();
}

struct TestHttpServer::State {
    explicit State(Handler on_request)
        : handler(std::move(on_request)),
          acceptor(io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)),
          port(acceptor.local_endpoint().port()) {}

    void accept_next() {
        acceptor.async_accept([this](const boost::system::error_code& ec, boost::asio::ip::tcp::socket socket) {
            if (ec) return;
            {
                std::lock_guard lock(mutex);
                ++connections;
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
            std::lock_guard lock(mutex);
            requests.push_back(received);
        }
        const CannedResponse canned = handler(received);
        if (canned.never_answer) {
            held.push_back(std::make_unique<boost::asio::ip::tcp::socket>(std::move(socket)));
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

    Handler handler;
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor acceptor;
    unsigned short port = 0;
    std::thread thread;
    mutable std::mutex mutex;
    std::vector<ReceivedRequest> requests;
    std::size_t connections = 0;
    // Only the server thread touches these (never_answer's connections).
    std::vector<std::unique_ptr<boost::asio::ip::tcp::socket>> held;
};

TestHttpServer::TestHttpServer(Handler handler) : state_(std::make_unique<State>(std::move(handler))) {
    state_->accept_next();
    state_->thread = std::thread([state = state_.get()] { state->io.run(); });
}

TestHttpServer::~TestHttpServer() {
    state_->io.stop();
    state_->thread.join();
}

std::string TestHttpServer::url() const { return "http://127.0.0.1:" + std::to_string(state_->port); }

unsigned short TestHttpServer::port() const { return state_->port; }

std::vector<ReceivedRequest> TestHttpServer::requests() const {
    std::lock_guard lock(state_->mutex);
    return state_->requests;
}

std::size_t TestHttpServer::connections() const {
    std::lock_guard lock(state_->mutex);
    return state_->connections;
}

}  // namespace mw::testing
