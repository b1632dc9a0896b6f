#include "daemon/ownership.h"

#include <unistd.h>

#include <climits>
#include <cstdio>

#include <fmt/format.h>

namespace mw::daemon {

std::optional<store::Fence> Ownership::fence(const std::string& model, Clock::time_point now) const {
    std::lock_guard lock(mutex_);
    if (now >= valid_until_) return std::nullopt;
    const auto it = epochs_.find(model);
    if (it == epochs_.end()) return std::nullopt;
    return store::Fence{daemon_id_, it->second};
}

std::size_t Ownership::owned(Clock::time_point now) const {
    std::lock_guard lock(mutex_);
    return now >= valid_until_ ? 0 : epochs_.size();
}

store::HeldLeases Ownership::held(Clock::time_point now) const {
    std::lock_guard lock(mutex_);
    store::HeldLeases leases{daemon_id_, {}};
    if (now < valid_until_) leases.epochs = epochs_;
    return leases;
}

std::vector<std::string> Ownership::update(const std::vector<store::Lease>& owned, Clock::time_point started,
                                           std::chrono::milliseconds lease_duration) {
    std::map<std::string, std::int64_t> next;
    for (const auto& lease : owned) next[lease.model] = lease.epoch;
    std::vector<std::string> gone;
    std::lock_guard lock(mutex_);
    for (const auto& [model, epoch] : epochs_) {
        const auto it = next.find(model);
        if (it == next.end() || it->second != epoch) gone.push_back(model);
    }
    epochs_ = std::move(next);
    valid_until_ = started + lease_duration;
    return gone;
}

void Ownership::clear() {
    std::lock_guard lock(mutex_);
    epochs_.clear();
    valid_until_ = {};
}

std::string cluster_daemon_id(const config::ClusterOptions& cluster) {
    if (!cluster.daemon_id.empty()) return cluster.daemon_id;
    char host[HOST_NAME_MAX + 1] = {};
    if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::snprintf(host, sizeof host, "localhost");
    return fmt::format("{}-{}", host, static_cast<long>(getpid()));
}

}  // namespace mw::daemon
