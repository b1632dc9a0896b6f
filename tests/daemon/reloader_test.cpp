// The reloads' thread (daemon/reloader.h): one reload at a time, requests
// during one coalesced into one more after it, a stop that drops the queued
// one and tells the running one. The reloads here wait for the test, not for
// a clock.
#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stop_token>
#include <thread>
#include <vector>

#include "daemon/reloader.h"

using mw::daemon::Reloader;
using namespace std::chrono_literals;

namespace {

// A reload that records itself and then waits until the test lets it end
// (or its stop is asked).
struct HeldReloads {
    std::mutex mutex;
    std::condition_variable_any changed;
    int started = 0;
    int ended = 0;
    int released = 0;  // reloads the test let end
    bool saw_stop = false;

    void operator()(std::stop_token stop) {
        std::unique_lock lock(mutex);
        const int mine = ++started;
        changed.notify_all();
        changed.wait(lock, stop, [&] { return released >= mine; });
        saw_stop = stop.stop_requested();
        ++ended;
        changed.notify_all();
    }
    // Waits (bounded) until `condition` holds under the lock.
    template <typename Condition>
    bool wait(Condition condition) {
        std::unique_lock lock(mutex);
        return changed.wait_for(lock, 30s, condition);
    }
    void release() {
        std::lock_guard lock(mutex);
        ++released;
        changed.notify_all();
    }
};

// Polled every 10 ms for 30 s at most.
template <typename Condition>
bool eventually(Condition condition) {
    for (int i = 0; i < 3000 && !condition(); ++i) std::this_thread::sleep_for(10ms);
    return condition();
}

}  // namespace

TEST_CASE("requests during a reload coalesce into one more, run after it", "[reloader]") {
    HeldReloads reloads;
    Reloader reloader([&](std::stop_token stop) { reloads(stop); });
    reloader.start();
    CHECK_FALSE(reloader.busy());
    CHECK(reloader.request() == Reloader::Requested::started);
    REQUIRE(reloads.wait([&] { return reloads.started == 1; }));
    CHECK(reloader.busy());
    CHECK(reloader.request() == Reloader::Requested::queued);
    CHECK(reloader.request() == Reloader::Requested::already_queued);
    CHECK(reloader.request() == Reloader::Requested::already_queued);
    {
        std::lock_guard lock(reloads.mutex);
        CHECK(reloads.started == 1);  // the second waits for the first
    }
    reloads.release();
    REQUIRE(reloads.wait([&] { return reloads.started == 2; }));
    CHECK(reloads.ended == 1);
    reloads.release();
    REQUIRE(reloads.wait([&] { return reloads.ended == 2; }));
    // Idle again: the next request starts at once.
    REQUIRE(eventually([&] { return !reloader.busy(); }));
    CHECK(reloader.request() == Reloader::Requested::started);
    REQUIRE(reloads.wait([&] { return reloads.started == 3; }));
    reloads.release();
    REQUIRE(reloads.wait([&] { return reloads.ended == 3; }));
    CHECK(reloader.stop(30'000ms));
    std::lock_guard lock(reloads.mutex);
    CHECK(reloads.started == 3);  // three requests coalesced into one
    CHECK(reloads.ended == 3);
    CHECK_FALSE(reloads.saw_stop);
}

TEST_CASE("a stop drops the queued reload and tells the running one; later requests are refused", "[reloader]") {
    HeldReloads reloads;
    Reloader reloader([&](std::stop_token stop) { reloads(stop); });
    reloader.start();
    CHECK(reloader.request() == Reloader::Requested::started);
    REQUIRE(reloads.wait([&] { return reloads.started == 1; }));
    CHECK(reloader.request() == Reloader::Requested::queued);
    // Never released: the running reload ends because it was told to stop.
    CHECK(reloader.stop(30'000ms));
    CHECK_FALSE(reloader.busy());
    CHECK(reloader.request() == Reloader::Requested::stopping);
    std::lock_guard lock(reloads.mutex);
    CHECK(reloads.started == 1);
    CHECK(reloads.ended == 1);
    CHECK(reloads.saw_stop);
}

TEST_CASE("a reloader stopped while idle ends at once", "[reloader]") {
    int runs = 0;
    Reloader reloader([&](std::stop_token) { ++runs; });
    reloader.start();
    CHECK(reloader.stop(30'000ms));
    CHECK(runs == 0);
}

// Constructors start no work (STYLE.md, section 3); destruction is clean in
// every state, which the sanitizer build checks (leaks, a thread left
// joinable: std::terminate, a use after free by the thread).
TEST_CASE("a reloader runs nothing until started; a request before start() waits for it", "[reloader]") {
    HeldReloads reloads;
    Reloader reloader([&](std::stop_token stop) { reloads(stop); });
    CHECK(reloader.request() == Reloader::Requested::queued);
    CHECK(reloader.request() == Reloader::Requested::already_queued);
    {
        std::lock_guard lock(reloads.mutex);
        CHECK(reloads.started == 0);
    }
    reloader.start();
    REQUIRE(reloads.wait([&] { return reloads.started == 1; }));
    reloader.start();  // once
    reloads.release();
    REQUIRE(reloads.wait([&] { return reloads.ended == 1; }));
    CHECK(reloader.stop(30'000ms));
    std::lock_guard lock(reloads.mutex);
    CHECK(reloads.started == 1);
}

TEST_CASE("a reloader never started is destroyed or stopped without a thread", "[reloader]") {
    int runs = 0;
    {
        Reloader reloader([&](std::stop_token) { ++runs; });
        CHECK(reloader.request() == Reloader::Requested::queued);
    }
    {
        Reloader reloader([&](std::stop_token) { ++runs; });
        CHECK(reloader.request() == Reloader::Requested::queued);
        CHECK(reloader.stop(30'000ms));
        reloader.start();  // after a stop: nothing
        CHECK(reloader.request() == Reloader::Requested::stopping);
    }
    CHECK(runs == 0);
}

TEST_CASE("a started reloader is destroyed cleanly without stop(), idle or with a reload running", "[reloader]") {
    int runs = 0;
    {
        Reloader reloader([&](std::stop_token) { ++runs; });
        reloader.start();
    }
    CHECK(runs == 0);
    HeldReloads reloads;
    {
        Reloader reloader([&](std::stop_token stop) { reloads(stop); });
        reloader.start();
        CHECK(reloader.request() == Reloader::Requested::started);
        REQUIRE(reloads.wait([&] { return reloads.started == 1; }));
        CHECK(reloader.request() == Reloader::Requested::queued);
    }  // never released: the destructor's stop ends it, and drops the queued one
    std::lock_guard lock(reloads.mutex);
    CHECK(reloads.started == 1);
    CHECK(reloads.ended == 1);
    CHECK(reloads.saw_stop);
}
