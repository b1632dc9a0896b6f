// The models this daemon owns, as its last lease heartbeat left them
// (store/leases.h): written by the lease worker, read by the monitor and
// audit workers before they touch a model. A lease is trusted locally only
// until the heartbeat that renewed it started plus the lease duration, so a
// daemon whose heartbeats fail stops working on its models by itself; the
// store's fence refuses its writes in any case.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "store/leases.h"

namespace mw::daemon {

class Ownership {
public:
    using Clock = std::chrono::steady_clock;

    explicit Ownership(std::string daemon_id) : daemon_id_(std::move(daemon_id)) {}

    const std::string& daemon_id() const { return daemon_id_; }
    // The lease to write `model` under, when this daemon holds it now.
    std::optional<store::Fence> fence(const std::string& model, Clock::time_point now = Clock::now()) const;
    std::size_t owned(Clock::time_point now = Clock::now()) const;
    // Every lease held now (none once they are no longer trusted locally).
    store::HeldLeases held(Clock::time_point now = Clock::now()) const;
    // After a heartbeat that started at `started`: returns the leases held
    // before and not after (lost or released), for the caller to count.
    std::vector<std::string> update(const std::vector<store::Lease>& owned, Clock::time_point started,
                                    std::chrono::milliseconds lease_duration);
    // Nothing is owned any more (a clean stop released everything).
    void clear();

private:
    const std::string daemon_id_;
    mutable std::mutex mutex_;
    std::map<std::string, std::int64_t> epochs_;  // model -> epoch
    Clock::time_point valid_until_{};
};

// The daemon's id among those sharing the database: cluster.daemon_id, or
// <hostname>-<pid> (a new identity per process) when it is empty.
std::string cluster_daemon_id(const config::ClusterOptions& cluster);

}  // namespace mw::daemon
