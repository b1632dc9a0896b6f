// The rules of RFC 9112 on a request's framing that Beast 1.74's parser does
// not enforce itself. Beast rejects a malformed request line, a bad or
// repeated Content-Length and chunked with Content-Length, but it unfolds
// obsolete line folding, accepts a Transfer-Encoding without chunked last
// (and then reads no body: the rest would be taken for the next request),
// accepts Content-Length beside a Transfer-Encoding other than chunked, and
// does not require Host. Each of these answers 400 here and the connection
// is closed, since where the next request starts is then unknown.
#pragma once

#include <utility>  // before asio: Boost 1.74 + g++ 12 C++20 needs std::exchange declared

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/message.hpp>

namespace mw::daemon {

// Finds obs-fold, and whitespace before the first field line, in a request's
// header bytes as they arrive (RFC 9112 sections 5.2 and 2.2: a server must
// reject or unfold them; rejecting leaves no two readings of a field). Stops
// at the empty line that ends the header, so body bytes are never scanned.
class HeaderFoldScanner {
public:
    void reset() { *this = HeaderFoldScanner{}; }
    // Scans the next bytes of the header; true once a folded line was seen.
    bool scan(std::string_view bytes);
    bool folded() const { return folded_; }

private:
    std::uint32_t line_index_ = 0;
    std::uint32_t line_length_ = 0;  // characters of the current line other than CR
    bool ended_ = false;
    bool folded_ = false;
};

struct RequestError {
    unsigned status;
    std::string message;
};

// Checks a complete request header's framing (see the file comment).
std::optional<RequestError> check_framing(const boost::beast::http::request_header<>& header);

// A request body in a content coding (Content-Encoding other than identity,
// e.g. gzip) is answered 415 (RFC 9110 section 8.4.1): the daemon decodes
// none, and parsing compressed bytes as the plain body would refuse them with
// a misleading error or, worse, take them for records.
std::optional<RequestError> check_content_coding(const boost::beast::http::request_header<>& header);

// A 400 answer's message for an error of Beast's request parser.
std::string describe_parse_error(const boost::beast::error_code& ec);

}  // namespace mw::daemon
