// RFC 9112 framing rules on top of Beast's parser, on whole requests parsed
// the way the server parses them.
#include <catch2/catch.hpp>

#include <utility>  // before asio: Boost 1.74 + g++ 12 C++20 needs std::exchange declared

#include <optional>
#include <string>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "daemon/request_checks.h"

using mw::daemon::check_content_coding;
using mw::daemon::check_framing;
using mw::daemon::describe_parse_error;
using mw::daemon::HeaderFoldScanner;
namespace http = boost::beast::http;

namespace {

// The status a request's header gets: 0 when it passes, 400 from a parser error.
unsigned status_of(const std::string& request) {
    http::request_parser<http::string_body> parser;
    boost::beast::error_code ec;
    parser.put(boost::asio::buffer(request), ec);
    if (ec && ec != http::error::need_more) return 400;
    REQUIRE(parser.is_header_done());
    const auto error = check_framing(parser.get().base());
    return error ? error->status : 0;
}

// The status a request's Content-Encoding gets: 0 when it passes.
unsigned coding_status_of(const std::string& request) {
    http::request_parser<http::string_body> parser;
    boost::beast::error_code ec;
    parser.put(boost::asio::buffer(request), ec);
    REQUIRE((!ec || ec == http::error::need_more));
    REQUIRE(parser.is_header_done());
    const auto error = check_content_coding(parser.get().base());
    return error ? error->status : 0;
}

bool folded(const std::string& bytes, std::size_t piece) {
    HeaderFoldScanner scanner;
    for (std::size_t i = 0; i < bytes.size(); i += piece) scanner.scan(std::string_view(bytes).substr(i, piece));
    return scanner.folded();
}

}  // namespace

TEST_CASE("framing: well-formed requests pass") {
    CHECK(status_of("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n[]") == 0);
    CHECK(status_of("POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n") == 0);
    CHECK(status_of("GET / HTTP/1.0\r\n\r\n") == 0);  // HTTP/1.0 needs no Host
}

TEST_CASE("framing: conflicting Content-Length and Transfer-Encoding are 400 (RFC 9112 section 6.3)") {
    // Caught by Beast in either order when the coding is chunked...
    CHECK(status_of("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n") == 400);
    CHECK(status_of("POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n") == 400);
    // ...and here when it is not: Beast would read no body at all.
    CHECK(status_of("POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\n") == 400);
    CHECK(status_of("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n") == 400);
}

TEST_CASE("framing: Transfer-Encoding must end in chunked, once, and only chunked is understood") {
    CHECK(status_of("POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n") == 400);
    CHECK(status_of("POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n") == 400);
    CHECK(status_of("POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n") == 400);
    CHECK(status_of("POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n") == 501);
    // Two lines are one list, gzip then chunked (Beast looks at the last line only).
    CHECK(status_of("POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n") ==
          501);
    CHECK(status_of("POST /p HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n") == 400);
}

TEST_CASE("framing: HTTP/1.1 needs exactly one Host (RFC 9112 section 3.2)") {
    CHECK(status_of("GET / HTTP/1.1\r\n\r\n") == 400);
    CHECK(status_of("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n") == 400);
}

TEST_CASE("framing: a malformed request line is a parser error with a clear message") {
    CHECK(status_of("GET  / HTTP/1.1\r\nHost: x\r\n\r\n") == 400);
    CHECK(status_of("GET / HTTP/2.0\r\nHost: x\r\n\r\n") == 400);
    CHECK(status_of("GET /\r\nHost: x\r\n\r\n") == 400);
    CHECK(describe_parse_error(http::error::bad_version).starts_with("malformed request line"));
    CHECK(describe_parse_error(http::error::bad_content_length).find("Content-Length") != std::string::npos);
}

TEST_CASE("a body in a content coding is 415, naming the coding (RFC 9110 section 8.4)") {
    const std::string start = "POST /v1/models/m/predictions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n";
    CHECK(coding_status_of(start + "\r\n{}") == 0);
    CHECK(coding_status_of(start + "Content-Encoding: identity\r\n\r\n{}") == 0);
    CHECK(coding_status_of(start + "Content-Encoding: gzip\r\n\r\n{}") == 415);
    CHECK(coding_status_of(start + "Content-Encoding: GZIP\r\n\r\n{}") == 415);
    CHECK(coding_status_of(start + "Content-Encoding: identity, br\r\n\r\n{}") == 415);
    CHECK(coding_status_of(start + "Content-Encoding: identity\r\nContent-Encoding: deflate\r\n\r\n{}") == 415);
}

TEST_CASE("obs-fold is found however the header is cut into pieces") {
    const std::string fold = "POST /p HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  continued\r\n\r\n";
    const std::string leading = "POST /p HTTP/1.1\r\n Host: x\r\n\r\n";  // whitespace before the first field
    const std::string tab = "POST /p HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\tcontinued\r\n\r\n";
    const std::string clean = "POST /p HTTP/1.1\r\nHost: x\r\nX-A: a b\r\n\r\n  [ \"body lines may start with spaces\" ]";
    for (std::size_t piece : {1u, 2u, 7u, 1000u}) {
        INFO(piece);
        CHECK(folded(fold, piece));
        CHECK(folded(leading, piece));
        CHECK(folded(tab, piece));
        CHECK_FALSE(folded(clean, piece));
    }
}
