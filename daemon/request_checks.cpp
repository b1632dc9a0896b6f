#include "daemon/request_checks.h"

#include <vector>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <fmt/format.h>

namespace mw::daemon {

namespace http = boost::beast::http;

bool HeaderFoldScanner::scan(std::string_view bytes) {
    for (const char c : bytes) {
        if (ended_ || folded_) break;
        if (c == '\r') continue;
        if (c == '\n') {
            // An empty line after the request line ends the header. (An empty
            // line before it is the parser's business: it rejects it.)
            if (line_length_ == 0 && line_index_ > 0) ended_ = true;
            ++line_index_;
            line_length_ = 0;
            continue;
        }
        if (line_length_ == 0 && line_index_ > 0 && (c == ' ' || c == '\t')) folded_ = true;
        ++line_length_;
    }
    return folded_;
}

std::optional<RequestError> check_framing(const http::request_header<>& header) {
    // RFC 9112 section 3.2: a server must answer 400 to an HTTP/1.1 request
    // without a Host header or with more than one.
    const auto hosts = header.count(http::field::host);
    if (header.version() >= 11 && hosts != 1)
        return RequestError{400, hosts == 0 ? "an HTTP/1.1 request needs a Host header (RFC 9112 section 3.2)"
                                            : "more than one Host header (RFC 9112 section 3.2)"};

    const auto encodings = header.equal_range(http::field::transfer_encoding);
    if (encodings.first == encodings.second) return std::nullopt;
    if (header.version() < 11)
        return RequestError{400, "Transfer-Encoding in an HTTP/1.0 request (RFC 9112 section 6.1)"};
    if (header.count(http::field::content_length) > 0)
        return RequestError{400, "both Content-Length and Transfer-Encoding: the body's length is ambiguous "
                                 "(RFC 9112 section 6.3)"};
    // The codings of every Transfer-Encoding line, in order (RFC 9110 section 5.3: repeated lines are one list).
    std::vector<std::string> codings;
    for (auto it = encodings.first; it != encodings.second; ++it)
        for (const auto& coding : http::token_list{it->value()}) codings.emplace_back(coding);
    if (codings.empty() || !boost::beast::iequals(codings.back(), "chunked"))
        return RequestError{400, "Transfer-Encoding without chunked as its last coding: the body's length "
                                 "is unknown (RFC 9112 section 6.3)"};
    for (std::size_t i = 0; i + 1 < codings.size(); ++i) {
        if (boost::beast::iequals(codings[i], "chunked"))
            return RequestError{400, "chunked applied more than once (RFC 9112 section 7)"};
        // Section 6.1: a coding the server does not understand gets 501.
        return RequestError{501, fmt::format("transfer coding \"{}\" is not supported; send the body "
                                             "uncompressed, chunked or with Content-Length", codings[i])};
    }
    return std::nullopt;
}

std::optional<RequestError> check_content_coding(const http::request_header<>& header) {
    const auto encodings = header.equal_range(http::field::content_encoding);
    for (auto it = encodings.first; it != encodings.second; ++it)
        for (const auto& coding : http::token_list{it->value()})
            if (!boost::beast::iequals(coding, "identity"))
                return RequestError{415, fmt::format("content coding \"{}\" is not supported; send the body "
                                                     "uncompressed (RFC 9110 section 8.4)",
                                                     std::string_view(coding.data(), coding.size()))};
    return std::nullopt;
}

std::string describe_parse_error(const boost::beast::error_code& ec) {
    if (ec == http::error::bad_method || ec == http::error::bad_target || ec == http::error::bad_version)
        return fmt::format("malformed request line ({})", ec.message());
    if (ec == http::error::bad_content_length)
        return "invalid Content-Length, different Content-Length values, or Content-Length with chunked "
               "Transfer-Encoding (RFC 9112 section 6.3)";
    if (ec == http::error::bad_transfer_encoding)
        return "Transfer-Encoding repeated or given with Content-Length (RFC 9112 section 6.3)";
    if (ec == http::error::bad_line_ending) return "a header line does not end in CRLF";
    if (ec == http::error::bad_field || ec == http::error::bad_value)
        return fmt::format("malformed header field ({})", ec.message());
    if (ec == http::error::bad_chunk || ec == http::error::bad_chunk_extension)
        return fmt::format("malformed chunked body ({})", ec.message());
    return fmt::format("malformed request ({})", ec.message());
}

}  // namespace mw::daemon
