#include "daemon/sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "core/unique_fd.h"

namespace mw {
namespace {

// A stuck service manager must not hang the daemon: a send that cannot be
// queued within this time fails (SO_SNDTIMEO bounds the wait for queue space).
constexpr long send_timeout_ms = 2000;

std::optional<std::string_view> environment_value(const char* name) {
    const char* value = std::getenv(name);
    if (value == nullptr) return std::nullopt;
    return std::string_view(value);
}

std::optional<std::uint64_t> parse_unsigned(std::string_view text) {
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
    return value;
}

}  // namespace

SystemdNotifier::SystemdNotifier(std::optional<std::string_view> notify_socket,
                                 std::optional<std::string_view> watchdog_usec,
                                 std::optional<std::string_view> watchdog_pid, pid_t own_pid) {
    if (notify_socket && !notify_socket->empty()) {
        socket_name_ = std::string(*notify_socket);
        // sd_notify(3): an absolute path, or '@' for the Linux abstract
        // namespace, whose address starts with a NUL byte instead.
        std::string address;
        if (notify_socket->front() == '/') {
            address = socket_name_;
        } else if (notify_socket->front() == '@' && notify_socket->size() > 1) {
            address = socket_name_;
            address[0] = '\0';
        }
        if (address.empty()) {
            configuration_error_ =
                fmt::format("NOTIFY_SOCKET={} is neither an absolute path nor an abstract name (@...)", socket_name_);
        } else if (address.size() >= sizeof(sockaddr_un::sun_path)) {
            configuration_error_ = fmt::format("NOTIFY_SOCKET={} is longer than {} bytes", socket_name_,
                                               sizeof(sockaddr_un::sun_path) - 1);
        } else {
            address_ = std::move(address);
            enabled_ = true;
        }
    }

    if (!watchdog_usec) return;
    // sd_watchdog_enabled(3): WATCHDOG_PID, when set, names the only process
    // the watchdog applies to (a forked child must not ping for its parent).
    if (watchdog_pid) {
        auto pid = parse_unsigned(*watchdog_pid);
        if (!pid) {
            configuration_error_ = fmt::format("WATCHDOG_PID={} is not a process id", *watchdog_pid);
            return;
        }
        if (*pid != static_cast<std::uint64_t>(own_pid)) return;
    }
    auto usec = parse_unsigned(*watchdog_usec);
    if (!usec || *usec == 0) {
        configuration_error_ = fmt::format("WATCHDOG_USEC={} is not a positive number of microseconds", *watchdog_usec);
        return;
    }
    watchdog_interval_ = std::chrono::microseconds(static_cast<std::int64_t>(*usec / 2));
}

SystemdNotifier SystemdNotifier::from_environment() {
    return SystemdNotifier(environment_value("NOTIFY_SOCKET"), environment_value("WATCHDOG_USEC"),
                           environment_value("WATCHDOG_PID"), ::getpid());
}

NotifyResult SystemdNotifier::ready() { return send("READY=1"); }

NotifyResult SystemdNotifier::reloading() {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    const std::int64_t now_us = static_cast<std::int64_t>(now.tv_sec) * 1'000'000 + now.tv_nsec / 1000;
    return send(fmt::format("RELOADING=1\nMONOTONIC_USEC={}", now_us));
}

NotifyResult SystemdNotifier::stopping() { return send("STOPPING=1"); }

NotifyResult SystemdNotifier::status(std::string_view text) {
    std::string message = "STATUS=";
    for (char c : text) message += c == '\n' ? ' ' : c;
    return send(message);
}

NotifyResult SystemdNotifier::watchdog() { return send("WATCHDOG=1"); }

NotifyResult SystemdNotifier::send(std::string_view assignments) {
    if (!enabled_) return {};

    // A socket per message, as libsystemd does: no state shared between the
    // threads that notify (watchdog timer, lifecycle), nothing to reconnect.
    UniqueFd socket_fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (socket_fd.get() < 0)
        return {false, fmt::format("notify socket {}: socket: {}", socket_name_, std::strerror(errno))};

    timeval timeout{};
    timeout.tv_sec = send_timeout_ms / 1000;
    timeout.tv_usec = (send_timeout_ms % 1000) * 1000;
    ::setsockopt(socket_fd.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);

    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, address_.data(), address_.size());
    // The abstract namespace counts every byte of the given length, so the
    // length must end exactly at the name; a path socket may include the NUL.
    const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address_.size());

    ssize_t sent = ::sendto(socket_fd.get(), assignments.data(), assignments.size(), MSG_NOSIGNAL,
                            reinterpret_cast<const sockaddr*>(&address), length);
    if (sent < 0) return {false, fmt::format("notify socket {}: sendto: {}", socket_name_, std::strerror(errno))};
    if (static_cast<std::size_t>(sent) != assignments.size())
        return {false, fmt::format("notify socket {}: sent {} of {} bytes", socket_name_, sent, assignments.size())};
    return {};
}

}  // namespace mw
