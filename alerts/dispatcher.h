// Delivers what the outbox holds: per call, for each sink, claims the
// receiver's due deliveries (as many as its rate limit allows), hands them
// to the sink, and records each result. The claim is committed with a
// lease before the sink runs, so no database lock is held across a network
// call. Claims are made only for the models whose leases the caller holds
// (alerts/outbox.h); a worker dying mid-delivery leaves the delivery in
// doubt, never sent again by another lease. Right before each send the
// caller's own view of its leases is asked again (`still_held`): a daemon
// paused or cut off between the claim and the send gives the claim back
// unsent instead of sending after its lease ended.
//
// Not thread-safe: one owning thread calls run_once (the rate limiters are
// its state). Several dispatchers, in one process or many, may share the
// outbox: claims never overlap.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include <pqxx/connection_base>

#include "alerts/alert_rules.h"
#include "alerts/alert_sink.h"
#include "alerts/outbox.h"

namespace mw::alerts {

struct DispatcherOptions {
    // Deliveries claimed per receiver and call, whatever the rate limit allows.
    int claim_limit_per_receiver = 100;
};

// What one run_once did.
struct DispatchCounts {
    std::size_t delivered = 0;
    std::size_t failed = 0;     // retryable failures, due again after backoff
    std::size_t abandoned = 0;  // non-retryable failures
    std::size_t withheld = 0;   // claims given back unsent: the lease was lost before the send
};

// Whether the caller still holds `fence` for `model` at this instant, by its
// own clock (daemon/ownership.h: a lease is trusted only until its last
// renewal's start plus the lease duration, before the database expires it).
using LeaseStillHeld = std::function<bool(const std::string& model, const store::Fence& fence)>;

class Dispatcher {
public:
    // `receivers` gives each receiver's max_per_minute (ReceiverPolicy); a
    // sink whose name is not listed is not rate limited.
    Dispatcher(AlertOutbox& outbox, std::vector<ReceiverPolicy> receivers, DispatcherOptions options = {});

    DispatchCounts run_once(pqxx::connection_base& connection, std::span<AlertSink* const> sinks,
                            const store::HeldLeases& leases, const LeaseStillHeld& still_held, std::int64_t now_us);

private:
    // Token bucket (capacity max_per_minute, refilled at max_per_minute per
    // 60 s): bursts of up to a minute's allowance, and max_per_minute per
    // minute sustained. Starts full.
    struct TokenBucket {
        double tokens = 0;
        std::int64_t refilled_at_us = 0;
    };

    // Deliveries the receiver may get now (refills its bucket first).
    int allowance(const std::string& receiver, std::int64_t now_us);
    void spend(const std::string& receiver, std::size_t deliveries);

    AlertOutbox& outbox_;
    std::map<std::string, int> max_per_minute_;
    DispatcherOptions options_;
    std::map<std::string, TokenBucket> buckets_;
};

}  // namespace mw::alerts
