// Admission control's arithmetic (store/backlog_admission.h) on times passed
// in: the drain rate measured over busy time only, refusal past the limit with
// a Retry-After from the excess and the rate, no refusal (and no division)
// while the rate is unknown or the drain is interrupted, and clocks that jump.
#include <catch2/catch.hpp>

#include "store/backlog_admission.h"
#include "tests/support/test_clock.h"

using mw::store::BacklogAdmission;
using mw::testing::second_us;

namespace {

constexpr std::uint64_t admission_mb = 1'000'000;

// A drain that has stored `rate_mb` MB per second of work for `seconds`
// seconds, one commit per second, ending at `end_us` with work left.
BacklogAdmission admission_measured_at(std::uint32_t limit_s, std::uint64_t rate_mb, int seconds,
                                       std::int64_t end_us) {
    BacklogAdmission admission(limit_s);
    const std::int64_t start = end_us - seconds * second_us;
    admission.drained(0, true, start);  // the store is up and has work from here
    for (int s = 1; s <= seconds; ++s) admission.drained(rate_mb * admission_mb, true, start + s * second_us);
    return admission;
}

}  // namespace

TEST_CASE("before any commit the drain is interrupted: nothing is refused, whatever the backlog") {
    BacklogAdmission admission(10);
    CHECK(admission.drain_interrupted(0));
    CHECK(admission.drain_bytes_per_second(0) == 0);
    const auto verdict = admission.judge(900 * admission_mb, 5 * second_us);
    CHECK(verdict.admit);
    CHECK(verdict.backlog_seconds == 0);
}

TEST_CASE("the drain rate is bytes over the time there was work, not over idle time") {
    BacklogAdmission admission(10);
    admission.drained(0, false, 0);  // store seen working, nothing left
    CHECK_FALSE(admission.drain_interrupted(0));
    // Idle for 100 s, then a batch arrives and is stored 0.5 s later.
    admission.backlog_began(100 * second_us);
    admission.drained(4 * admission_mb, false, 100 * second_us + second_us / 2);
    CHECK(admission.drain_bytes_per_second(101 * second_us) == Approx(8e6));
    // Idle again: the last rate is kept (an estimate beats none), even past the window.
    CHECK(admission.drain_bytes_per_second(500 * second_us) == Approx(8e6));
}

TEST_CASE("the rate follows the last 10 s of work") {
    auto admission = admission_measured_at(10, 2, 30, 100 * second_us);
    CHECK(admission.drain_bytes_per_second(100 * second_us) == Approx(2e6));
    for (int s = 1; s <= 20; ++s) admission.drained(6 * admission_mb, true, (100 + s) * second_us);
    CHECK(admission.drain_bytes_per_second(120 * second_us) == Approx(6e6).epsilon(0.15));
}

TEST_CASE("past the limit a batch is refused with Retry-After = excess / rate, rounded up") {
    const auto admission = admission_measured_at(10, 5, 10, 50 * second_us);  // 5 MB/s, limit 50 MB
    const std::int64_t now = 50 * second_us;
    CHECK(admission.judge(50 * admission_mb, now).admit);  // at the limit: still admitted
    const auto over = admission.judge(50 * admission_mb + 1, now);
    CHECK_FALSE(over.admit);
    CHECK(over.retry_after_seconds == 1);
    CHECK(over.backlog_seconds == Approx(10.0));
    const auto far = admission.judge(72 * admission_mb, now);  // 22 MB over: 4.4 s -> 5
    CHECK_FALSE(far.admit);
    CHECK(far.retry_after_seconds == 5);
    CHECK(far.backlog_seconds == Approx(14.4));
    // Far over at a slow rate: capped, the client asks again and learns the new rate.
    CHECK(admission.judge(100'000 * admission_mb, now).retry_after_seconds ==
          BacklogAdmission::max_retry_after_seconds);
}

TEST_CASE("a limit of 0 turns admission control off") {
    const auto admission = admission_measured_at(0, 5, 10, 50 * second_us);
    const auto verdict = admission.judge(10'000 * admission_mb, 50 * second_us);
    CHECK(verdict.admit);
    CHECK(verdict.backlog_seconds == Approx(2000.0));
}

TEST_CASE("while the store is unreachable nothing is refused; the outage is not measured as drain time") {
    auto admission = admission_measured_at(10, 5, 10, 50 * second_us);
    CHECK_FALSE(admission.judge(80 * admission_mb, 50 * second_us).admit);
    admission.store_unreachable();
    CHECK(admission.drain_interrupted(60 * second_us));
    CHECK(admission.judge(800 * admission_mb, 60 * second_us).admit);
    // Back after 5 minutes: the first commit ends the outage but the time
    // since its start is no sample, so the rate stays 5 MB/s.
    admission.drained(5 * admission_mb, true, 350 * second_us);
    CHECK_FALSE(admission.drain_interrupted(350 * second_us));
    CHECK(admission.drain_bytes_per_second(350 * second_us) == Approx(5e6));
    admission.drained(5 * admission_mb, true, 351 * second_us);
    CHECK(admission.drain_bytes_per_second(351 * second_us) == Approx(5e6));
    CHECK_FALSE(admission.judge(80 * admission_mb, 351 * second_us).admit);
}

TEST_CASE("a drain with work and no commit for longer than a stall counts as interrupted") {
    const auto admission = admission_measured_at(10, 5, 10, 50 * second_us);
    const std::int64_t stalled_at = 50 * second_us + BacklogAdmission::drain_stall_us + 1;
    CHECK_FALSE(admission.drain_interrupted(50 * second_us + BacklogAdmission::drain_stall_us));
    CHECK(admission.drain_interrupted(stalled_at));
    CHECK(admission.judge(800 * admission_mb, stalled_at).admit);
}

TEST_CASE("clock jumps: back, or forward past a stall, give no sample and never a negative or infinite rate") {
    auto admission = admission_measured_at(10, 5, 10, 50 * second_us);
    // Back: a commit stamped before the start of its interval.
    admission.drained(100 * admission_mb, true, 40 * second_us);
    CHECK(admission.drain_bytes_per_second(40 * second_us) == Approx(5e6));
    // Forward by an hour (a suspended machine): no sample from that interval.
    admission.drained(1 * admission_mb, true, 40 * second_us + 3600 * second_us);
    const double rate = admission.drain_bytes_per_second(40 * second_us + 3600 * second_us);
    CHECK(rate == Approx(5e6));
    // A commit at the very instant work began: zero time, no sample, no division.
    BacklogAdmission fresh(10);
    fresh.drained(0, true, 7 * second_us);
    fresh.drained(3 * admission_mb, true, 7 * second_us);
    CHECK(fresh.drain_bytes_per_second(7 * second_us) == 0);
    CHECK(fresh.judge(900 * admission_mb, 7 * second_us).admit);
}
