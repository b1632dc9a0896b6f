// Request bodies whose memory is charged to one server-wide budget as their
// bytes arrive. Beast's string_body reserves a body's declared Content-Length
// before the first byte, so a client declaring 32 MiB and sending nothing held
// 32 MiB; here a body grows geometrically with what actually arrived, and each
// growth is charged before it is allocated. A growth the budget cannot cover
// fails the read with body_budget_exhausted (the server answers 503).
#pragma once

#include <utility>  // before asio: Boost 1.74 + g++ 12 C++20 needs std::exchange declared

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/optional/optional.hpp>

namespace prometheus {
class Gauge;
}

namespace mw::daemon {

class BodyBudget {
public:
    // `in_use` (optional) follows the bytes charged.
    BodyBudget(std::uint64_t limit_bytes, prometheus::Gauge* in_use);

    bool try_charge(std::uint64_t bytes);
    void release(std::uint64_t bytes);
    std::uint64_t used() const { return used_.load(); }
    std::uint64_t limit() const { return limit_; }

private:
    const std::uint64_t limit_;
    std::atomic<std::uint64_t> used_{0};
    prometheus::Gauge* in_use_;
};

// One request's share of the budget: charged while its body arrives, kept
// while it is handled (the handler holds the bytes), released once answered.
class BodyCharge {
public:
    explicit BodyCharge(BodyBudget& budget) : budget_(budget) {}
    ~BodyCharge() { release(); }
    BodyCharge(const BodyCharge&) = delete;
    BodyCharge& operator=(const BodyCharge&) = delete;

    bool grow(std::uint64_t bytes);
    void release();
    std::uint64_t bytes() const { return bytes_; }

private:
    BodyBudget& budget_;
    std::uint64_t bytes_ = 0;
};

// The error a body read fails with when the budget cannot cover its growth.
boost::beast::error_code body_budget_exhausted();

// A Beast body type: a std::string read under a BodyCharge (set `charge`
// before the body is read; without one, reading fails).
struct BudgetedStringBody {
    // The first allocation: small, since a declared length is only a claim.
    static constexpr std::uint64_t initial_bytes = 4096;

    struct value_type {
        std::string text;
        BodyCharge* charge = nullptr;
    };

    static std::uint64_t size(const value_type& body) { return body.text.size(); }

    class reader {
    public:
        template <bool isRequest, class Fields>
        reader(boost::beast::http::header<isRequest, Fields>&, value_type& body) : body_(body) {}

        void init(const boost::optional<std::uint64_t>& length, boost::beast::error_code& ec) {
            if (length) declared_ = *length;
            ec = {};
        }

        template <class ConstBufferSequence>
        std::size_t put(const ConstBufferSequence& buffers, boost::beast::error_code& ec) {
            const std::size_t bytes = boost::asio::buffer_size(buffers);
            if (!reserve(body_.text.size() + bytes, ec)) return 0;
            for (auto it = boost::asio::buffer_sequence_begin(buffers); it != boost::asio::buffer_sequence_end(buffers);
                 ++it)
                body_.text.append(static_cast<const char*>(it->data()), it->size());
            ec = {};
            return bytes;
        }

        void finish(boost::beast::error_code& ec) { ec = {}; }

    private:
        // Makes room for `needed` bytes, charging the new capacity first.
        bool reserve(std::uint64_t needed, boost::beast::error_code& ec);

        value_type& body_;
        std::optional<std::uint64_t> declared_;  // Content-Length; none when chunked
    };
};

}  // namespace mw::daemon
