#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>

#include "daemon/sd_notify.h"

namespace {

std::int64_t monotonic_now_us() {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<std::int64_t>(now.tv_sec) * 1'000'000 + now.tv_nsec / 1000;
}

// A bound datagram socket standing in for systemd's notify socket.
class Listener {
public:
    // `abstract`: bind in the Linux abstract namespace instead of a temp dir.
    explicit Listener(bool abstract) {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        socklen_t length = 0;
        if (abstract) {
            std::string name = "modelwatch-sd-notify-test-" + std::to_string(::getpid());
            name_ = "@" + name;
            std::memcpy(address.sun_path + 1, name.data(), name.size());
            length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
        } else {
            char pattern[] = "/tmp/modelwatch-sd-notify-XXXXXX";
            REQUIRE(::mkdtemp(pattern) != nullptr);
            dir_ = pattern;
            name_ = dir_ + "/notify";
            std::memcpy(address.sun_path, name_.data(), name_.size());
            length = static_cast<socklen_t>(sizeof address);
        }
        REQUIRE(::bind(fd_, reinterpret_cast<const sockaddr*>(&address), length) == 0);
    }
    ~Listener() {
        ::close(fd_);
        if (!dir_.empty()) std::filesystem::remove_all(dir_);
    }
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

    const std::string& name() const { return name_; }

    // The next datagram, or nullopt when none is queued. The sender's
    // sendto() has returned, so its datagram is already queued: no waiting.
    std::optional<std::string> receive() {
        char buffer[4096];
        ssize_t received = ::recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT);
        if (received < 0) return std::nullopt;
        return std::string(buffer, static_cast<std::size_t>(received));
    }

private:
    int fd_ = -1;
    std::string dir_;
    std::string name_;
};

void check_every_message(Listener& listener, mw::SystemdNotifier& notifier) {
    REQUIRE(notifier.enabled());
    CHECK(notifier.configuration_error().empty());

    REQUIRE(notifier.ready().ok);
    CHECK(listener.receive() == "READY=1");

    REQUIRE(notifier.stopping().ok);
    CHECK(listener.receive() == "STOPPING=1");

    REQUIRE(notifier.watchdog().ok);
    CHECK(listener.receive() == "WATCHDOG=1");

    REQUIRE(notifier.status("replaying spool: 3 segments").ok);
    CHECK(listener.receive() == "STATUS=replaying spool: 3 segments");

    REQUIRE(notifier.status("two\nlines").ok);
    CHECK(listener.receive() == "STATUS=two lines");

    const std::int64_t before_us = monotonic_now_us();
    REQUIRE(notifier.reloading().ok);
    const std::int64_t after_us = monotonic_now_us();
    auto reloading = listener.receive();
    REQUIRE(reloading);
    const std::string prefix = "RELOADING=1\nMONOTONIC_USEC=";
    REQUIRE(reloading->rfind(prefix, 0) == 0);
    const std::string digits = reloading->substr(prefix.size());
    REQUIRE(!digits.empty());
    CHECK(digits.find_first_not_of("0123456789") == std::string::npos);
    const std::int64_t stamp_us = std::stoll(digits);
    CHECK(stamp_us >= before_us);
    CHECK(stamp_us <= after_us);

    CHECK_FALSE(listener.receive());
}

}  // namespace

TEST_CASE("notifications reach a socket bound to a path") {
    Listener listener(false);
    mw::SystemdNotifier notifier(listener.name(), std::nullopt, std::nullopt, ::getpid());
    check_every_message(listener, notifier);
}

TEST_CASE("notifications reach a socket in the abstract namespace") {
    Listener listener(true);
    mw::SystemdNotifier notifier(listener.name(), std::nullopt, std::nullopt, ::getpid());
    check_every_message(listener, notifier);
}

TEST_CASE("from_environment reads NOTIFY_SOCKET and the watchdog variables") {
    Listener listener(false);
    REQUIRE(::setenv("NOTIFY_SOCKET", listener.name().c_str(), 1) == 0);
    REQUIRE(::setenv("WATCHDOG_USEC", "30000000", 1) == 0);
    REQUIRE(::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1) == 0);
    auto notifier = mw::SystemdNotifier::from_environment();
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");
    ::unsetenv("WATCHDOG_PID");

    CHECK(notifier.watchdog_interval() == std::chrono::microseconds(15'000'000));
    check_every_message(listener, notifier);
}

TEST_CASE("without NOTIFY_SOCKET every call is a successful no-op") {
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");
    ::unsetenv("WATCHDOG_PID");
    auto notifier = mw::SystemdNotifier::from_environment();
    CHECK_FALSE(notifier.enabled());
    CHECK(notifier.configuration_error().empty());
    CHECK(notifier.ready().ok);
    CHECK(notifier.reloading().ok);
    CHECK(notifier.status("x").ok);
    CHECK(notifier.watchdog().ok);
    CHECK(notifier.stopping().ok);
    CHECK_FALSE(notifier.watchdog_interval());
}

TEST_CASE("unusable NOTIFY_SOCKET values disable notification and say why") {
    mw::SystemdNotifier relative("run/notify", std::nullopt, std::nullopt, 1);
    CHECK_FALSE(relative.enabled());
    CHECK(relative.configuration_error().find("run/notify") != std::string::npos);

    mw::SystemdNotifier bare_at("@", std::nullopt, std::nullopt, 1);
    CHECK_FALSE(bare_at.enabled());

    mw::SystemdNotifier too_long("/" + std::string(200, 'x'), std::nullopt, std::nullopt, 1);
    CHECK_FALSE(too_long.enabled());
    CHECK(too_long.configuration_error().find("longer than 107 bytes") != std::string::npos);
}

TEST_CASE("a send to a socket nobody listens on fails with the socket named") {
    char pattern[] = "/tmp/modelwatch-sd-notify-XXXXXX";
    REQUIRE(::mkdtemp(pattern) != nullptr);
    const std::string path = std::string(pattern) + "/absent";
    mw::SystemdNotifier notifier(path, std::nullopt, std::nullopt, 1);
    REQUIRE(notifier.enabled());
    auto result = notifier.ready();
    CHECK_FALSE(result.ok);
    CHECK(result.error.find(path) != std::string::npos);
    std::filesystem::remove_all(pattern);
}

TEST_CASE("watchdog_interval is half of WATCHDOG_USEC, only for our pid") {
    const pid_t self = 4242;
    SECTION("no WATCHDOG_PID: applies to us") {
        mw::SystemdNotifier notifier(std::nullopt, "30000000", std::nullopt, self);
        CHECK(notifier.watchdog_interval() == std::chrono::microseconds(15'000'000));
    }
    SECTION("WATCHDOG_PID names us") {
        mw::SystemdNotifier notifier(std::nullopt, "1000001", "4242", self);
        CHECK(notifier.watchdog_interval() == std::chrono::microseconds(500'000));
    }
    SECTION("WATCHDOG_PID names another process") {
        mw::SystemdNotifier notifier(std::nullopt, "30000000", "4243", self);
        CHECK_FALSE(notifier.watchdog_interval());
        CHECK(notifier.configuration_error().empty());
    }
    SECTION("WATCHDOG_USEC unset") {
        mw::SystemdNotifier notifier(std::nullopt, std::nullopt, "4242", self);
        CHECK_FALSE(notifier.watchdog_interval());
    }
    SECTION("WATCHDOG_USEC malformed or zero") {
        for (const char* bad : {"", "0", "30s", "-5", "12 "}) {
            mw::SystemdNotifier notifier(std::nullopt, bad, std::nullopt, self);
            CHECK_FALSE(notifier.watchdog_interval());
            CHECK(notifier.configuration_error().find("WATCHDOG_USEC") != std::string::npos);
        }
    }
    SECTION("WATCHDOG_PID malformed") {
        mw::SystemdNotifier notifier(std::nullopt, "30000000", "self", self);
        CHECK_FALSE(notifier.watchdog_interval());
        CHECK(notifier.configuration_error().find("WATCHDOG_PID") != std::string::npos);
    }
}
