// Connections and request bodies in flight per client address, so that one
// address cannot take every connection or the whole body budget of the
// server. Loopback is not exempt. Behind a load balancer or reverse proxy
// every connection comes from the proxy's address, so these limits then
// apply to all clients together: raise them to the server-wide limits and
// limit clients at the proxy (the limit is per TCP peer; a forwarded-for
// header cannot be trusted for this).
#pragma once

#include <utility>  // before asio: Boost 1.74 + g++ 12 C++20 needs std::exchange declared

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include <boost/asio/ip/address.hpp>

namespace mw::daemon {

// Who a limit applies to: an IPv4 address (IPv4-mapped IPv6 counts as IPv4),
// or the /64 prefix of an IPv6 address, since one subscriber is normally
// given at least a /64 (RFC 6177) and could otherwise use a new address per
// connection.
struct ClientKey {
    std::array<unsigned char, 16> bytes{};  // an IPv4 address in its IPv4-mapped IPv6 form
    bool is_v4 = false;

    static ClientKey of(const boost::asio::ip::address& address);
    std::string to_string() const;  // "192.0.2.7" or "2001:db8:1:2::/64"
    bool operator==(const ClientKey&) const = default;
};

class ClientLimits {
public:
    ClientLimits(std::uint32_t max_connections, std::uint32_t max_bodies);

    // False when the client already has max_connections open.
    bool try_open(const ClientKey& client);
    void close(const ClientKey& client);
    // False when the client already has max_bodies being received or handled.
    bool try_start_body(const ClientKey& client);
    void end_body(const ClientKey& client);
    // Clients with at least one open connection (the table's size: bounded by the connections).
    std::size_t clients() const;

private:
    struct Counts {
        std::uint32_t connections = 0;
        std::uint32_t bodies = 0;
    };
    struct Hash {
        std::size_t operator()(const ClientKey& key) const;
    };
    const std::uint32_t max_connections_;
    const std::uint32_t max_bodies_;
    mutable std::mutex mutex_;
    std::unordered_map<ClientKey, Counts, Hash> counts_;
};

}  // namespace mw::daemon
