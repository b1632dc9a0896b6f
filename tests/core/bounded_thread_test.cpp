#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>

#include <csignal>
#include <sys/wait.h>
#include <unistd.h>

#include "core/bounded_thread.h"

using Clock = std::chrono::steady_clock;

TEST_CASE("a thread that ends is joined", "[bounded_thread]") {
    std::atomic<int> runs{0};
    mw::BoundedThread thread([&] { ++runs; });
    CHECK(thread.join_until(Clock::time_point::max()));
    CHECK_FALSE(thread.joinable());
    CHECK(runs == 1);
    CHECK(thread.join_until(Clock::now()));  // nothing left to join
}

TEST_CASE("a thread still blocked at the deadline is left running, detached", "[bounded_thread]") {
    // Shared, so the detached thread may outlive this test case.
    auto release = std::make_shared<std::promise<void>>();
    auto ended = std::make_shared<std::promise<void>>();
    mw::BoundedThread thread([release_future = release->get_future().share(), ended] {
        release_future.wait();
        ended->set_value();
    });
    CHECK_FALSE(thread.join_until(Clock::now() + std::chrono::milliseconds(20)));
    CHECK_FALSE(thread.joinable());
    release->set_value();
    ended->get_future().wait();  // it ran on, and ended on its own
}

TEST_CASE("an exception out of the body ends the process (SIGABRT), never the thread alone", "[bounded_thread]") {
    // In a child process: the exception must take the process with it, as
    // it would out of a std::thread, not leave it running without the thread.
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        mw::BoundedThread thread([] { throw std::runtime_error("no answer"); });
        thread.join_until(Clock::now() + std::chrono::seconds(10));
        ::_exit(0);  // reached only if the exception ended the thread alone
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFSIGNALED(status));
    if (WIFSIGNALED(status)) CHECK(WTERMSIG(status) == SIGABRT);
}

TEST_CASE("call_until", "[bounded_thread]") {
    std::atomic<int> runs{0};
    SECTION("a call that returns in time") {
        CHECK(mw::call_until(Clock::time_point::max(), [&] { ++runs; }) == mw::CallOutcome::returned);
        CHECK(runs == 1);
    }
    SECTION("a deadline already passed starts nothing") {
        CHECK(mw::call_until(Clock::now() - std::chrono::milliseconds(1), [&] { ++runs; }) ==
              mw::CallOutcome::not_started);
        CHECK(runs == 0);
    }
    SECTION("a call still blocked at the deadline") {
        auto release = std::make_shared<std::promise<void>>();
        CHECK(mw::call_until(Clock::now() + std::chrono::milliseconds(20),
                             [release_future = release->get_future().share()] { release_future.wait(); }) ==
              mw::CallOutcome::left_running);
        release->set_value();
    }
}

TEST_CASE("unanswered_reason says which way a stop step's call did not return", "[bounded_thread]") {
    const auto started = Clock::now() - std::chrono::milliseconds(1500);
    CHECK(mw::unanswered_reason(mw::CallOutcome::not_started, started) ==
          "reason=\"no time left in the stop's budget\"");
    const auto left = mw::unanswered_reason(mw::CallOutcome::left_running, started);
    CHECK_THAT(left, Catch::StartsWith("reason=\"no answer from PostgreSQL by the stop's deadline\" waited_ms="));
    CHECK(std::stoi(left.substr(left.rfind('=') + 1)) >= 1500);
}
