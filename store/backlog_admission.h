// Admission control below the spool's disk budget (issue 12, item 4): under
// sustained overload the HTTP side acknowledges faster than PostgreSQL's COPY
// stores on the same cores, so without a brake the backlog grows until
// spool.max_bytes. This bounds it in seconds of drain instead: a batch is
// refused (503 with Retry-After, NATS stops pulling) while the counted
// backlog exceeds spool.max_backlog_seconds times the drain's measured rate,
// so the acknowledged rate converges to the drain rate.
//
// The rule during an outage (docs/monitoring.md, "Admission control"):
// the spool is the buffer while PostgreSQL is down, so nothing is refused
// then but by spool.max_bytes. The drain is "interrupted" while the store is
// unreachable (the drain says so) or while it has had work but committed
// nothing for drain_stall_us (a hung server). Batches acknowledged while the
// drain is interrupted, and batches recovered at start (acknowledged before a
// stop), are exempt: they are not counted against the limit, neither then nor
// after the store is back, so the end of an outage does not turn into a wall
// of 503s while its backlog drains; only what is acknowledged with the drain
// working counts. The spool is drained in order, so the exempt bytes go first.
//
// The drain rate is what the drain stores while it has work: bytes committed
// over the time the backlog was non-empty, over the last rate_window_us. Idle
// time does not dilute it (a light load would otherwise measure a drain far
// slower than it is and refuse a burst it could store in a second). No
// measurement yet means no refusal: a rate of zero is "unknown", never a
// division.
//
// Plain arithmetic on times passed in (microseconds of a monotonic clock), so
// the tests control time; the spool calls it under its own lock.
#pragma once

#include <cstdint>
#include <deque>

namespace mw::store {

struct AdmissionVerdict {
    bool admit = true;
    // When refused: seconds until the counted backlog is back at the limit at
    // the measured rate, rounded up, within [1, max_retry_after_seconds].
    std::uint32_t retry_after_seconds = 0;
    double backlog_seconds = 0;  // counted backlog over the drain rate (0 when the rate is unknown)
};

class BacklogAdmission {
public:
    // The time over which the drain rate is measured: long enough to span a
    // few of the drain's transactions (50,000 rows take seconds under load),
    // short enough to follow a change of load.
    static constexpr std::int64_t rate_window_us = 10'000'000;
    // No commit for this long while there is work: the drain is stalled (a
    // hung server; statement_timeout is 300 s) and counts as interrupted. A
    // write of batch_max_records takes a few seconds on a loaded machine.
    static constexpr std::int64_t drain_stall_us = 30'000'000;
    // A Retry-After longer than this only delays clients past the moment the
    // drain's rate could have changed; they ask again and learn the new one.
    static constexpr std::uint32_t max_retry_after_seconds = 60;

    // max_backlog_seconds 0 turns admission control off (spool.max_bytes alone).
    explicit BacklogAdmission(std::uint32_t max_backlog_seconds) : max_backlog_seconds_(max_backlog_seconds) {}

    // Records became durable while nothing was waiting: the drain has work from now.
    void backlog_began(std::int64_t now_us);
    // The drain committed `bytes` to the store; `backlog_left`: is anything still waiting.
    void drained(std::uint64_t bytes, bool backlog_left, std::int64_t now_us);
    // The store is unreachable: until the next commit the drain is interrupted,
    // and the time until then measures the outage, not the drain.
    void store_unreachable();

    // While interrupted, nothing is refused and new batches are exempt.
    bool drain_interrupted(std::int64_t now_us) const;
    // Bytes per second the drain stores while it has work; 0 when unknown.
    double drain_bytes_per_second(std::int64_t now_us) const;
    // Whether a batch may be added to a counted backlog of `counted_backlog_bytes`
    // (acknowledged or queued, not exempt). The batch itself is not counted, so
    // one larger than the whole limit still passes when nothing is waiting: the
    // backlog stays within the limit plus one batch.
    AdmissionVerdict judge(std::uint64_t counted_backlog_bytes, std::int64_t now_us) const;

    std::uint32_t max_backlog_seconds() const { return max_backlog_seconds_; }

private:
    struct Sample {
        std::int64_t end_us;
        std::uint64_t bytes;
        std::int64_t busy_us;
    };

    std::uint32_t max_backlog_seconds_;
    // The drain has had work since then without a commit; 0 when idle or interrupted.
    std::int64_t busy_since_us_ = 0;
    // Until the first commit the store has not been seen working: at start,
    // batches recovered or acknowledged before then are exempt.
    bool store_unreachable_ = true;
    std::deque<Sample> samples_;  // oldest first, pruned to rate_window_us (the newest always kept)
};

}  // namespace mw::store
