// What a reload may change in the server's options without a restart.
#include <catch2/catch.hpp>

#include "daemon/http_server.h"

using mw::config::ServerOptions;
using mw::daemon::server_limits_changed;

TEST_CASE("server options: tokens and the handler's limits are live; every limit the server reads is not") {
    const ServerOptions before;
    ServerOptions after = before;
    after.tokens.resize(1);
    after.max_records_per_request = 7;
    after.max_json_depth = 3;
    after.listen_port = 1;  // reported on its own as server.listen
    CHECK_FALSE(server_limits_changed(before, after));

    for (auto change : {+[](ServerOptions& o) { o.min_receive_bytes_per_second = 0; },
                        +[](ServerOptions& o) { o.max_connections_per_client = 1; },
                        +[](ServerOptions& o) { o.max_bodies_per_client = 1; },
                        +[](ServerOptions& o) { o.receive_rate_grace_ms = 1; },
                        +[](ServerOptions& o) { o.receive_rate_window_ms = 1; },
                        +[](ServerOptions& o) { o.max_inflight_bytes = 1; },
                        +[](ServerOptions& o) { o.header_timeout_ms = 1; }}) {
        ServerOptions changed = before;
        change(changed);
        CHECK(server_limits_changed(before, changed));
    }
}

// ---- the server on real sockets ------------------------------------------------
// Run here too (not only by the integration tests) so that the test command's
// sanitizer pass covers the connection state machine: every close path, and
// that connections and body bytes are all given back.

#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <prometheus/registry.h>

#include "daemon/metrics.h"

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// Answers every request with the size of its body.
class EchoHandler : public mw::daemon::RequestHandler {
public:
    std::optional<mw::daemon::HttpResponse> check_header(const mw::daemon::HttpRequestHeader&) override {
        return std::nullopt;
    }
    void handle(mw::daemon::HttpRequest request, mw::daemon::Responder respond) override {
        respond(mw::daemon::make_response(200, "got " + std::to_string(request.body().size()), "text/plain"));
    }
};

class RunningServer {
public:
    explicit RunningServer(const ServerOptions& options)
        : metrics_(registry_), server_(io_, options, handler_, metrics_) {
        server_.start();
        for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
    }
    ~RunningServer() {
        server_.stop_accepting();
        io_.stop();
        for (auto& thread : threads_) thread.join();
    }
    std::uint16_t port() const { return server_.bound_port(); }
    std::uint64_t open_connections() const { return server_.open_connections(); }
    double body_bytes() const { return metrics_.http_body_bytes_in_flight.Value(); }
    double closed(const std::string& reason) {
        return metrics_.http_connections_closed.Add({{"reason", reason}}).Value();
    }

private:
    prometheus::Registry registry_;
    mw::daemon::DaemonMetrics metrics_;
    asio::io_context io_;
    EchoHandler handler_;
    mw::daemon::HttpServer server_;
    std::vector<std::thread> threads_;
};

// A blocking client socket with a receive timeout.
class Client {
public:
    explicit Client(std::uint16_t port, const char* source = "127.0.0.1") : socket_(io_) {
        socket_.open(asio::ip::tcp::v4());
        socket_.bind({asio::ip::make_address(source), 0});
        socket_.connect({asio::ip::make_address("127.0.0.1"), port});
        timeval timeout{5, 0};
        ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    }
    void send(const std::string& bytes) {
        boost::system::error_code ec;
        asio::write(socket_, asio::buffer(bytes), ec);
    }
    // What arrives until the server closes or `limit` passes.
    std::string read_until_closed(std::chrono::milliseconds limit = 5000ms) {
        std::string data;
        const auto end = std::chrono::steady_clock::now() + limit;
        char buffer[4096];
        while (std::chrono::steady_clock::now() < end) {
            const auto n = ::recv(socket_.native_handle(), buffer, sizeof buffer, 0);
            if (n <= 0) break;
            data.append(buffer, static_cast<std::size_t>(n));
        }
        return data;
    }

private:
    asio::io_context io_;
    asio::ip::tcp::socket socket_;
};

ServerOptions tight_options() {
    ServerOptions options;
    options.listen_address = "127.0.0.1";
    options.listen_port = 0;
    options.header_timeout_ms = 600;
    options.body_timeout_ms = 800;
    options.idle_timeout_ms = 300;
    options.receive_rate_grace_ms = 100;
    options.receive_rate_window_ms = 100;
    options.min_receive_bytes_per_second = 1024;
    options.max_connections = 8;
    options.max_connections_per_client = 4;
    options.max_bodies_per_client = 2;
    options.max_body_bytes = 256 * 1024;
    options.max_inflight_bytes = 1 << 20;
    return options;
}

template <typename Condition>
bool eventually(Condition condition) {
    for (int i = 0; i < 100; ++i) {
        if (condition()) return true;
        std::this_thread::sleep_for(50ms);
    }
    return condition();
}

}  // namespace

TEST_CASE("http server: answers, refusals and timeouts on real sockets, and everything is given back") {
    RunningServer server(tight_options());

    SECTION("pipelined requests are all answered, bodies read whole") {
        Client client(server.port());
        client.send("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'a') +
                    "GET /b HTTP/1.1\r\nHost: x\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        const auto data = client.read_until_closed();
        CHECK(data.find("got 5000") != std::string::npos);
        CHECK(data.find("got 0") != std::string::npos);
        std::size_t answers = 0;
        for (std::size_t at = data.find("HTTP/1.1 200"); at != std::string::npos; at = data.find("HTTP/1.1 200", at + 1))
            ++answers;
        CHECK(answers == 3);
    }
    SECTION("headers arriving too slowly get 408") {
        Client client(server.port());
        client.send("GET / HTTP/1.1\r\nHost: x\r\n");
        const auto data = client.read_until_closed();
        CHECK(data.rfind("HTTP/1.1 408", 0) == 0);
        // Too slow after 200 ms; on a machine so loaded that the timer fires past 600 ms, too late.
        CHECK(eventually([&] { return server.closed("header_too_slow") + server.closed("header_timeout") == 1; }));
    }
    SECTION("a stalled body gets 408, and its bytes are given back") {
        Client client(server.port());
        client.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + std::string(50000, 'b'));
        const auto data = client.read_until_closed();
        CHECK(data.rfind("HTTP/1.1 408", 0) == 0);
        CHECK(eventually([&] { return server.closed("body_too_slow") + server.closed("body_timeout") == 1; }));
    }
    SECTION("conflicting framing gets 400") {
        Client client(server.port());
        client.send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nContent-Length: 2\r\n\r\n[]");
        CHECK(client.read_until_closed().rfind("HTTP/1.1 400", 0) == 0);
    }
    SECTION("past the per-client connection cap, 429 at once") {
        std::vector<std::unique_ptr<Client>> held;
        for (int i = 0; i < 4; ++i) held.push_back(std::make_unique<Client>(server.port()));
        CHECK(eventually([&] { return server.open_connections() >= 4; }));
        Client extra(server.port());
        CHECK(extra.read_until_closed(1000ms).rfind("HTTP/1.1 429", 0) == 0);
    }
    // Whatever the section did, every connection ends and every byte comes back.
    CHECK(eventually([&] { return server.open_connections() == 0; }));
    CHECK(eventually([&] { return server.body_bytes() == 0; }));
}

TEST_CASE("http server: bodies in flight are bounded per client and in all, by the bytes that arrived") {
    auto options = tight_options();
    options.min_receive_bytes_per_second = 0;  // the uploads below pause on purpose
    options.body_timeout_ms = 5000;
    RunningServer server(options);
    const std::string head = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 262144\r\n\r\n";
    {
        // Four uploads, two from each of two addresses, that have sent most of their 256 KiB hold the whole 1 MiB.
        std::vector<std::unique_ptr<Client>> uploads;
        for (const char* source : {"127.9.0.1", "127.9.0.1", "127.9.0.2", "127.9.0.2"}) {
            uploads.push_back(std::make_unique<Client>(server.port(), source));
            uploads.back()->send(head + std::string(250000, 'c'));
        }
        // (Charged by capacity, grown by doubling as the reads come: between what arrived and the declared size.)
        REQUIRE(eventually([&] { return server.body_bytes() >= 4 * 250000; }));
        CHECK(server.body_bytes() <= 4 * 262144);
        // A body from another address: the budget is spent, 503.
        Client fifth(server.port(), "127.9.0.5");
        fifth.send(head + std::string(10000, 'f'));
        const auto busy = fifth.read_until_closed();
        CHECK(busy.rfind("HTTP/1.1 503", 0) == 0);
        CHECK(busy.find("Retry-After: 1") != std::string::npos);
        CHECK(eventually([&] { return server.closed("body_budget") == 1; }));
        // A third body from an address with two in flight: 429.
        Client third(server.port(), "127.9.0.1");
        third.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789");
        CHECK(third.read_until_closed().rfind("HTTP/1.1 429", 0) == 0);
        // A finished upload is answered and gives its bytes back.
        uploads[0]->send(std::string(262144 - 250000, 'e'));
        CHECK(uploads[0]->read_until_closed(1000ms).find("got 262144") != std::string::npos);
    }
    CHECK(eventually([&] { return server.open_connections() == 0; }));
    CHECK(eventually([&] { return server.body_bytes() == 0; }));
}
