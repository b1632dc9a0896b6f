#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>

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

TEST_CASE("an exception ends the thread as a return does", "[bounded_thread]") {
    mw::BoundedThread thread([] { throw std::runtime_error("no answer"); });
    CHECK(thread.join_until(Clock::time_point::max()));
}

TEST_CASE("call_until", "[bounded_thread]") {
    std::atomic<int> runs{0};
    SECTION("a call that returns in time") {
        CHECK(mw::call_until(Clock::time_point::max(), [&] { ++runs; }));
        CHECK(runs == 1);
    }
    SECTION("a deadline already passed starts nothing") {
        CHECK_FALSE(mw::call_until(Clock::now() - std::chrono::milliseconds(1), [&] { ++runs; }));
        CHECK(runs == 0);
    }
    SECTION("a call still blocked at the deadline") {
        auto release = std::make_shared<std::promise<void>>();
        CHECK_FALSE(mw::call_until(Clock::now() + std::chrono::milliseconds(20),
                                   [release_future = release->get_future().share()] { release_future.wait(); }));
        release->set_value();
    }
}
