#include "daemon/client_limits.h"

#include <string_view>

#include <fmt/format.h>

namespace mw::daemon {

ClientKey ClientKey::of(const boost::asio::ip::address& address) {
    ClientKey key;
    if (address.is_v4()) {
        key.bytes = boost::asio::ip::make_address_v6(boost::asio::ip::v4_mapped, address.to_v4()).to_bytes();
        key.is_v4 = true;
        return key;
    }
    const auto v6 = address.to_v6();
    key.bytes = v6.to_bytes();
    if (v6.is_v4_mapped()) {
        key.is_v4 = true;
        return key;
    }
    for (std::size_t i = 8; i < key.bytes.size(); ++i) key.bytes[i] = 0;  // the /64 prefix
    return key;
}

std::string ClientKey::to_string() const {
    const boost::asio::ip::address_v6 v6(bytes);
    if (is_v4) return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).to_string();
    return v6.to_string() + "/64";
}

std::size_t ClientLimits::Hash::operator()(const ClientKey& key) const {
    return std::hash<std::string_view>{}(
        std::string_view(reinterpret_cast<const char*>(key.bytes.data()), key.bytes.size()));
}

ClientLimits::ClientLimits(std::uint32_t max_connections, std::uint32_t max_bodies)
    : max_connections_(max_connections), max_bodies_(max_bodies) {}

bool ClientLimits::try_open(const ClientKey& client) {
    std::lock_guard lock(mutex_);
    auto& counts = counts_[client];  // a new entry starts at 0, below any limit (all are at least 1)
    if (counts.connections >= max_connections_) return false;
    ++counts.connections;
    return true;
}

void ClientLimits::close(const ClientKey& client) {
    std::lock_guard lock(mutex_);
    const auto it = counts_.find(client);
    if (it == counts_.end() || it->second.connections == 0) return;
    if (--it->second.connections == 0 && it->second.bodies == 0) counts_.erase(it);
}

bool ClientLimits::try_start_body(const ClientKey& client) {
    std::lock_guard lock(mutex_);
    auto& counts = counts_[client];
    if (counts.bodies >= max_bodies_) return false;
    ++counts.bodies;
    return true;
}

void ClientLimits::end_body(const ClientKey& client) {
    std::lock_guard lock(mutex_);
    const auto it = counts_.find(client);
    if (it == counts_.end() || it->second.bodies == 0) return;
    if (--it->second.bodies == 0 && it->second.connections == 0) counts_.erase(it);
}

std::size_t ClientLimits::clients() const {
    std::lock_guard lock(mutex_);
    return counts_.size();
}

}  // namespace mw::daemon
