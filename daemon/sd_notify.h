// Talks to the service manager over the sd_notify datagram protocol
// (https://www.freedesktop.org/software/systemd/man/sd_notify.html, "Notes"
// describes the wire format: newline-separated VAR=value assignments in one
// AF_UNIX datagram sent to $NOTIFY_SOCKET). Written against the protocol so
// the daemon does not link libsystemd.
//
// Outside systemd (NOTIFY_SOCKET unset) every call is a no-op that succeeds,
// so the daemon calls these unconditionally.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace mw {

// The outcome of one notification. A failure is not fatal to the daemon (it
// logs it); the message names the socket and the errno text.
struct NotifyResult {
    bool ok = true;
    std::string error;  // empty when ok
};

class SystemdNotifier {
public:
    // `notify_socket`, `watchdog_usec` and `watchdog_pid` are the values of
    // NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID (nullopt when unset);
    // `own_pid` is compared with WATCHDOG_PID, which names the process the
    // watchdog applies to.
    SystemdNotifier(std::optional<std::string_view> notify_socket, std::optional<std::string_view> watchdog_usec,
                    std::optional<std::string_view> watchdog_pid, pid_t own_pid);

    // Reads the three variables from the process environment and getpid().
    static SystemdNotifier from_environment();

    // True when NOTIFY_SOCKET named a usable address.
    bool enabled() const { return enabled_; }

    // Why NOTIFY_SOCKET or WATCHDOG_USEC was ignored (relative path, too long,
    // not a number, ...); empty when they were accepted or unset.
    const std::string& configuration_error() const { return configuration_error_; }

    NotifyResult ready();
    // RELOADING=1 plus MONOTONIC_USEC: systemd 253+ uses the timestamp to
    // match the reload with the READY=1 that ends it; 252 ignores the field.
    NotifyResult reloading();
    NotifyResult stopping();
    // Newlines in `text` become spaces: a newline would start a new assignment.
    NotifyResult status(std::string_view text);
    NotifyResult watchdog();

    // How often to call watchdog(): half of WATCHDOG_USEC, as sd_watchdog_enabled(3)
    // recommends, or nullopt when the watchdog is off or applies to another pid.
    std::optional<std::chrono::microseconds> watchdog_interval() const { return watchdog_interval_; }

    // Sends one datagram with `assignments` verbatim (e.g. "READY=1\nSTATUS=up").
    NotifyResult send(std::string_view assignments);

private:
    bool enabled_ = false;
    std::string address_;  // sun_path bytes; a leading '\0' marks the abstract namespace
    std::string socket_name_;  // as given, for messages
    std::string configuration_error_;
    std::optional<std::chrono::microseconds> watchdog_interval_;
};

}  // namespace mw
