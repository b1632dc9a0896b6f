// A thread whose end can be waited for until a deadline, which
// std::thread::join cannot do. The daemon's stop has one time budget
// (daemon/daemon.cpp): a thread blocked in a call to a PostgreSQL that does
// not answer (its processes stopped, a network partition that drops packets)
// must not hold the stop past it. Such a thread is left running, detached;
// the process then exits without destructors, so nothing it uses goes away
// under it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace mw {

class BoundedThread {
public:
    BoundedThread() = default;
    // Starts `body` on a new thread. An exception out of `body` is logged
    // (thread_failed) and ends the process, as std::thread would end it
    // without the log line: a drain or probe thread that ended silently
    // would leave ingest acknowledging into a spool nothing drains. A body
    // that can fail in a way it understands catches that itself.
    explicit BoundedThread(std::function<void()> body);
    // Joins a thread still joinable (as std::jthread does, without a stop request).
    ~BoundedThread();
    BoundedThread(BoundedThread&&) noexcept = default;
    BoundedThread& operator=(BoundedThread&& other) noexcept;

    bool joinable() const { return thread_.joinable(); }
    // Joins the thread if it ends before `deadline` and returns true;
    // otherwise detaches it and returns false. True when not joinable.
    bool join_until(std::chrono::steady_clock::time_point deadline);

private:
    struct Ended {
        std::mutex mutex;
        std::condition_variable changed;
        bool ended = false;
    };
    std::shared_ptr<Ended> ended_;
    std::thread thread_;
};

enum class CallOutcome { returned, not_started, left_running };

// Runs `work` on a thread of its own and waits for it until `deadline`:
// returned when it returned in time, left_running when it was left running
// (what it captured must then outlive the process: capture values, and exit
// without destructors); starts nothing (not_started) when `deadline` has
// passed.
CallOutcome call_until(std::chrono::steady_clock::time_point deadline, std::function<void()> work);

// The log's reason for a stop step's call to PostgreSQL that did not return,
// begun at `started`: reason="no time left in the stop's budget", or
// reason="no answer from PostgreSQL by the stop's deadline" waited_ms=N.
std::string unanswered_reason(CallOutcome outcome, std::chrono::steady_clock::time_point started);

}  // namespace mw
