// When a request that is still arriving must be cut off. Each phase of a
// request (its headers, then its body) has two limits: a hard timeout from the
// phase's start, and, once a grace period has passed, a minimum rate checked
// window after window (the idea of Apache's mod_reqtimeout MinRate). Without
// the rate, a client sending one byte every few seconds holds its connection
// for the whole timeout; with it, such a client is cut off after the grace and
// one window. Time is passed in, so tests control it.
#pragma once

#include <chrono>
#include <cstdint>

namespace mw::daemon {

struct ReceiveLimits {
    std::chrono::milliseconds timeout{0};
    std::uint64_t min_bytes_per_second = 0;  // 0: no minimum rate
    std::chrono::milliseconds grace{0};
    std::chrono::milliseconds window{1000};
};

enum class ReceiveVerdict { in_time, too_slow, timed_out };

class ReceiveDeadline {
public:
    using Clock = std::chrono::steady_clock;

    // Starts a phase: the grace runs from `now`, then the first window.
    void start(Clock::time_point now, const ReceiveLimits& limits);
    void received(std::uint64_t bytes) {
        window_bytes_ += bytes;
        phase_bytes_ += bytes;
    }
    // When check() must next be called: the end of the current window or the hard timeout.
    Clock::time_point next_check() const;
    // Judges the phase at `now`; at or after a window's end, judges that
    // window and starts the next. Calling it early is harmless.
    ReceiveVerdict check(Clock::time_point now);

    // For log lines: bytes of the phase so far; bytes and length of the window judged too slow.
    std::uint64_t phase_bytes() const { return phase_bytes_; }
    std::uint64_t judged_window_bytes() const { return judged_window_bytes_; }
    std::chrono::milliseconds judged_window() const { return judged_window_; }

private:
    ReceiveLimits limits_;
    Clock::time_point deadline_{};
    Clock::time_point window_start_{};
    Clock::time_point window_end_{};
    bool measuring_ = false;  // false during the grace
    std::uint64_t window_bytes_ = 0;
    std::uint64_t phase_bytes_ = 0;
    std::uint64_t judged_window_bytes_ = 0;
    std::chrono::milliseconds judged_window_{0};
};

}  // namespace mw::daemon
