// The minimum-rate and timeout rule for requests still arriving, with time
// passed in by the test.
#include <catch2/catch.hpp>

#include <chrono>

#include "daemon/receive_deadline.h"

using mw::daemon::ReceiveDeadline;
using mw::daemon::ReceiveLimits;
using mw::daemon::ReceiveVerdict;
using namespace std::chrono_literals;

namespace {
const auto t0 = ReceiveDeadline::Clock::time_point{} + 1000s;
// The defaults: 10 s headers, 1 KiB/s after a 5 s grace, over 5 s windows.
const ReceiveLimits limits{10s, 1024, 5s, 5s};
}  // namespace

TEST_CASE("receive deadline: nothing is judged during the grace") {
    ReceiveDeadline deadline;
    deadline.start(t0, limits);
    CHECK(deadline.next_check() == t0 + 5s);
    CHECK(deadline.check(t0 + 4999ms) == ReceiveVerdict::in_time);
    // The grace ends without a byte: the first window starts, nothing is cut yet.
    CHECK(deadline.check(t0 + 5s) == ReceiveVerdict::in_time);
    CHECK(deadline.next_check() == t0 + 10s);
}

TEST_CASE("receive deadline: a window below the rate is too slow, one at the rate is not") {
    ReceiveDeadline deadline;
    deadline.start(t0, ReceiveLimits{60s, 1024, 5s, 5s});
    REQUIRE(deadline.check(t0 + 5s) == ReceiveVerdict::in_time);
    deadline.received(5 * 1024);  // exactly 1 KiB/s over the first window
    CHECK(deadline.check(t0 + 10s) == ReceiveVerdict::in_time);
    deadline.received(5 * 1024 - 1);
    CHECK(deadline.check(t0 + 15s) == ReceiveVerdict::too_slow);
    CHECK(deadline.judged_window_bytes() == 5 * 1024 - 1);
    CHECK(deadline.judged_window() == 5000ms);
    CHECK(deadline.phase_bytes() == 10 * 1024 - 1);
}

TEST_CASE("receive deadline: the issue's attacker (one byte every 3 s) is cut after grace and one window") {
    ReceiveDeadline deadline;
    deadline.start(t0, ReceiveLimits{60s, 1024, 5s, 5s});
    auto now = t0;
    ReceiveVerdict verdict = ReceiveVerdict::in_time;
    int checks = 0;
    while (verdict == ReceiveVerdict::in_time && checks < 100) {
        const auto next = deadline.next_check();
        while (now + 3s <= next) {
            now += 3s;
            deadline.received(1);
        }
        now = next;
        verdict = deadline.check(now);
        ++checks;
    }
    CHECK(verdict == ReceiveVerdict::too_slow);
    CHECK(now == t0 + 10s);
}

TEST_CASE("receive deadline: a late check measures the time that passed") {
    ReceiveDeadline deadline;
    deadline.start(t0, ReceiveLimits{60s, 1000, 0s, 2s});
    REQUIRE(deadline.check(t0) == ReceiveVerdict::in_time);  // no grace: the first window starts now
    deadline.received(2500);
    // Checked 1 s late (a busy machine): 3 s need 3000 bytes, 2500 came.
    CHECK(deadline.check(t0 + 3s) == ReceiveVerdict::too_slow);
    CHECK(deadline.judged_window() == 3000ms);
}

TEST_CASE("receive deadline: the hard timeout holds however fast bytes come") {
    ReceiveDeadline deadline;
    deadline.start(t0, limits);
    for (int second = 1; second <= 10; ++second) {
        deadline.received(1 << 20);
        if (second % 5 == 0 && second < 10) REQUIRE(deadline.check(t0 + std::chrono::seconds(second)) == ReceiveVerdict::in_time);
    }
    CHECK(deadline.next_check() == t0 + 10s);
    CHECK(deadline.check(t0 + 10s) == ReceiveVerdict::timed_out);
}

TEST_CASE("receive deadline: a rate of 0 leaves only the timeout") {
    ReceiveDeadline deadline;
    deadline.start(t0, ReceiveLimits{10s, 0, 1s, 1s});
    CHECK(deadline.next_check() == t0 + 10s);
    CHECK(deadline.check(t0 + 9s) == ReceiveVerdict::in_time);
    CHECK(deadline.check(t0 + 10s) == ReceiveVerdict::timed_out);
}

TEST_CASE("receive deadline: start() begins a new phase from nothing") {
    ReceiveDeadline deadline;
    deadline.start(t0, limits);
    deadline.received(100);
    REQUIRE(deadline.check(t0 + 5s) == ReceiveVerdict::in_time);
    deadline.start(t0 + 6s, ReceiveLimits{60s, 1024, 5s, 5s});
    CHECK(deadline.phase_bytes() == 0);
    CHECK(deadline.next_check() == t0 + 11s);
}
