#include "alerts/dispatcher.h"

#include <algorithm>
#include <cmath>
#include <exception>

#include "core/log.h"

namespace mw::alerts {
namespace {

constexpr double microseconds_per_minute = 60e6;

}  // namespace

Dispatcher::Dispatcher(AlertOutbox& outbox, std::vector<ReceiverPolicy> receivers, DispatcherOptions options)
    : outbox_(outbox), options_(options) {
    for (const auto& receiver : receivers)
        if (receiver.max_per_minute > 0) max_per_minute_[receiver.name] = receiver.max_per_minute;
}

int Dispatcher::allowance(const std::string& receiver, std::int64_t now_us) {
    const auto limit = max_per_minute_.find(receiver);
    if (limit == max_per_minute_.end()) return options_.claim_limit_per_receiver;
    const double capacity = limit->second;
    auto [bucket, created] = buckets_.try_emplace(receiver, TokenBucket{capacity, now_us});
    if (!created) {
        // A clock that went backwards refills nothing rather than draining the bucket.
        const auto elapsed_us = std::max<std::int64_t>(now_us - bucket->second.refilled_at_us, 0);
        bucket->second.tokens =
            std::min(capacity, bucket->second.tokens + capacity * static_cast<double>(elapsed_us) /
                                                           microseconds_per_minute);
        bucket->second.refilled_at_us = std::max(bucket->second.refilled_at_us, now_us);
    }
    return std::min(options_.claim_limit_per_receiver, static_cast<int>(std::floor(bucket->second.tokens)));
}

void Dispatcher::spend(const std::string& receiver, std::size_t deliveries) {
    const auto bucket = buckets_.find(receiver);
    if (bucket != buckets_.end()) bucket->second.tokens -= static_cast<double>(deliveries);
}

DispatchCounts Dispatcher::run_once(pqxx::connection_base& connection, std::span<AlertSink* const> sinks,
                                    const store::HeldLeases& leases, const LeaseStillHeld& still_held,
                                    std::int64_t now_us) {
    DispatchCounts counts;
    for (AlertSink* sink : sinks) {
        const std::string& receiver = sink->name();
        const int limit = allowance(receiver, now_us);
        if (limit <= 0) {
            log::debug("alert_dispatch_rate_limited receiver={}", receiver);
            continue;
        }
        const auto claimed = outbox_.claim_due(connection, receiver, leases, limit, now_us);
        spend(receiver, claimed.size());
        for (const auto& delivery : claimed) {
            if (!still_held(delivery.model, delivery.claimed_under)) {
                // Not sent: the model's next owner sends it (or, if it already
                // gave the claim up as in doubt, nobody does).
                const bool released = outbox_.release_claim(connection, delivery, now_us);
                log::warning("alert_delivery_withheld id={} receiver={} model={} epoch={} released={} "
                             "reason=\"lease lost between claim and send\"",
                             delivery.id, receiver, delivery.model, delivery.claimed_under.epoch, released);
                ++counts.withheld;
                continue;
            }
            DeliveryResult result;
            try {
                result = sink->deliver(delivery.alert);
            } catch (const std::exception& error) {
                // Sinks report failures as values; one that throws anyway
                // must not stop the other receivers' deliveries.
                result = DeliveryResult{false, true, std::string("sink threw: ") + error.what(), {}};
            }
            if (result.delivered) {
                outbox_.mark_delivered(connection, delivery.id, now_us);
                ++counts.delivered;
                continue;
            }
            const auto outcome = outbox_.mark_failed(connection, delivery.id, result.error, result.retryable,
                                                     result.retry_after, now_us);
            if (!outcome.found) continue;  // another worker finished it after our lease ran out
            if (outcome.abandoned)
                ++counts.abandoned;
            else
                ++counts.failed;
        }
    }
    return counts;
}

}  // namespace mw::alerts
