#include "daemon/receive_deadline.h"

#include <algorithm>

namespace mw::daemon {

void ReceiveDeadline::start(Clock::time_point now, const ReceiveLimits& limits) {
    limits_ = limits;
    deadline_ = now + limits.timeout;
    window_start_ = now;
    window_end_ = now + limits.grace;
    measuring_ = false;
    window_bytes_ = 0;
    phase_bytes_ = 0;
    judged_window_bytes_ = 0;
    judged_window_ = std::chrono::milliseconds(0);
}

ReceiveDeadline::Clock::time_point ReceiveDeadline::next_check() const {
    return limits_.min_bytes_per_second == 0 ? deadline_ : std::min(deadline_, window_end_);
}

ReceiveVerdict ReceiveDeadline::check(Clock::time_point now) {
    if (now >= deadline_) return ReceiveVerdict::timed_out;
    if (limits_.min_bytes_per_second == 0 || now < window_end_) return ReceiveVerdict::in_time;
    if (measuring_) {
        // Measured over the time that really passed: a timer that fires late
        // on a busy machine lengthens the window, not the requirement.
        const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now - window_start_);
        const std::uint64_t required =
            limits_.min_bytes_per_second * static_cast<std::uint64_t>(elapsed.count()) / 1000;
        if (window_bytes_ < required) {
            judged_window_bytes_ = window_bytes_;
            judged_window_ = elapsed;
            return ReceiveVerdict::too_slow;
        }
    }
    measuring_ = true;
    window_start_ = now;
    window_end_ = now + limits_.window;
    window_bytes_ = 0;
    return ReceiveVerdict::in_time;
}

}  // namespace mw::daemon
