// A small synchronous HTTP/1.1 client for the daemon's outgoing calls
// (alert receivers, retraining triggers, promotion hooks): one request per
// connection, http:// and https:// (TLS verified against the system's CA
// store, with SNI), hard timeouts, and a bounded response body, because the
// other end is as hostile as any input.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace mw::http {

struct Request {
    std::string method = "POST";
    std::string url;  // http://host[:port]/path?query or https://...
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::string content_type = "application/json";
    std::chrono::milliseconds timeout{10000};   // the whole exchange: resolve, connect, TLS, write, read
    std::size_t max_response_bytes = 1 << 20;  // a longer body is an error
};

struct Response {
    int status = 0;  // 0 when no response was received (then `error` says why)
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::string error;  // empty on success; e.g. "connect to 127.0.0.1:9093: Connection refused"

    bool ok() const { return error.empty(); }
    bool success() const { return ok() && status >= 200 && status < 300; }
    // The value of a header (case-insensitive name), or "" when absent.
    std::string header(std::string_view name) const;
};

// Never throws for network or protocol failures: they come back in `error`.
Response send(const Request& request);

// The parts of a URL; `error` names what is wrong with it.
struct Url {
    bool tls = false;
    std::string host;
    std::string port;
    std::string target;  // path and query, at least "/"
    std::string error;
};
Url parse_url(std::string_view url);

}  // namespace mw::http
