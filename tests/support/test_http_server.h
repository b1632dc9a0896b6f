// A tiny HTTP/1.1 server on 127.0.0.1 (an ephemeral port) for tests of code
// that calls out over HTTP: it records every request and answers each with
// what the test's handler returns, one request per connection, on its own
// thread. Its Asio and Beast code is compiled once, in test_http_server.cpp
// (the object library mw_test_http_server, linked into the test binaries that
// use it), not in every test file that includes this header: instantiated
// unoptimised under the sanitizers, Beast's reader and writer are among the
// costliest code of the build.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mw::testing {

struct ReceivedRequest {
    std::string method;
    std::string target;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;

    // The value of the header `name` (compared without case), "" when absent.
    std::string header(std::string_view name) const;
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
unsigned short unused_port();

class TestHttpServer {
public:
    using Handler = std::function<CannedResponse(const ReceivedRequest&)>;

    explicit TestHttpServer(Handler handler);
    ~TestHttpServer();

    TestHttpServer(const TestHttpServer&) = delete;
    TestHttpServer& operator=(const TestHttpServer&) = delete;

    std::string url() const;
    unsigned short port() const;

    std::vector<ReceivedRequest> requests() const;

    // Connections accepted, whether or not a request came on them (a test
    // that nothing connected at all).
    std::size_t connections() const;

private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace mw::testing
