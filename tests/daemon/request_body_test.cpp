// Request bodies are charged to the budget as their bytes arrive, never from
// what Content-Length claims.
#include <catch2/catch.hpp>

#include <utility>  // before asio: Boost 1.74 + g++ 12 C++20 needs std::exchange declared

#include <string>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>

#include "daemon/request_body.h"

using mw::daemon::body_budget_exhausted;
using mw::daemon::BodyBudget;
using mw::daemon::BodyCharge;
using mw::daemon::BudgetedStringBody;
namespace http = boost::beast::http;

namespace {

// Feeds `bytes` to a parser `piece` bytes at a time, as a socket delivers them.
template <class Parser>
boost::beast::error_code feed(Parser& parser, const std::string& bytes, std::size_t piece = 1 << 30) {
    std::string pending;
    std::size_t next = 0;
    boost::beast::error_code ec;
    while (!parser.is_done()) {
        if (next < bytes.size()) {
            pending += bytes.substr(next, piece);
            next = std::min(bytes.size(), next + piece);
        } else if (pending.empty()) {
            break;
        }
        const std::size_t used = parser.put(boost::asio::buffer(pending), ec);
        pending.erase(0, used);
        if (ec == http::error::need_more) {
            ec = {};
            if (next >= bytes.size()) break;
            continue;
        }
        if (ec) return ec;
        if (used == 0 && next >= bytes.size()) break;
    }
    return ec;
}

struct Upload {
    explicit Upload(BodyBudget& budget) : charge(budget) {
        parser.body_limit(64ull << 20);
        parser.get().body().charge = &charge;
    }
    boost::beast::error_code put(const std::string& bytes, std::size_t piece = 1 << 30) {
        return feed(parser, bytes, piece);
    }
    BodyCharge charge;
    http::request_parser<BudgetedStringBody> parser;
};

std::string head(std::uint64_t content_length) {
    return "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(content_length) + "\r\n\r\n";
}

}  // namespace

TEST_CASE("request body: a declared 32 MiB body that sends a few bytes holds one small piece") {
    BodyBudget budget(1 << 20, nullptr);
    Upload upload(budget);
    REQUIRE_FALSE(upload.put(head(32ull << 20) + "["));
    // One byte fits in the string's own small-string storage: nothing allocated, nothing charged.
    CHECK(budget.used() == 0);
    REQUIRE_FALSE(upload.put(std::string(100, ' ')));
    CHECK(budget.used() == BudgetedStringBody::initial_bytes);
    CHECK(upload.parser.get().body().text == "[" + std::string(100, ' '));
    // Two hundred such clients used to reserve 6.4 GiB; here they take 800 KiB.
}

TEST_CASE("request body: growth is charged before it is allocated, and refused past the budget") {
    BodyBudget budget(1 << 20, nullptr);
    Upload first(budget);
    REQUIRE_FALSE(first.put(head(700'000) + std::string(600'000, 'a')));
    CHECK(budget.used() >= 600'000);
    CHECK(budget.used() <= 700'000);  // capped at the declared length
    CHECK(first.parser.get().body().text.capacity() <= budget.used() + 15);

    Upload second(budget);
    const auto ec = second.put(head(700'000) + std::string(600'000, 'b'));
    CHECK(ec == body_budget_exhausted());
    CHECK(budget.used() <= budget.limit());

    // Answered: the first request's share comes back, and the second one's.
    first.charge.release();
    second.charge.release();
    CHECK(budget.used() == 0);
}

TEST_CASE("request body: a complete body reads as sent, charged at most twice its size") {
    BodyBudget budget(64 << 20, nullptr);
    Upload upload(budget);
    std::string body;
    for (int i = 0; i < 20000; ++i) body += "{\"id\":\"" + std::to_string(i) + "\"}\n";
    REQUIRE_FALSE(upload.put(head(body.size()) + body, 1460));  // in TCP-segment-sized pieces
    REQUIRE(upload.parser.is_done());
    CHECK(upload.parser.get().body().text == body);
    CHECK(budget.used() >= body.size());
    CHECK(budget.used() <= 2 * body.size());
}

TEST_CASE("request body: chunked bodies grow the same way") {
    BodyBudget budget(1 << 20, nullptr);
    Upload upload(budget);
    const std::string chunk(40, 'c');
    REQUIRE_FALSE(upload.put("POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n28\r\n" + chunk +
                                 "\r\n0\r\n\r\n",
                             3));
    CHECK(upload.parser.is_done());
    CHECK(budget.used() == BudgetedStringBody::initial_bytes);
    CHECK(upload.parser.get().body().text == chunk);
}

TEST_CASE("request body: without a charge the body is refused, not read unaccounted") {
    http::request_parser<BudgetedStringBody> parser;
    CHECK(feed(parser, head(100) + std::string(100, 'a')) == body_budget_exhausted());
}
