#include "core/bounded_thread.h"

#include <exception>
#include <utility>

#include <fmt/format.h>

#include "core/log.h"

namespace mw {

BoundedThread::BoundedThread(std::function<void()> body) : ended_(std::make_shared<Ended>()) {
    thread_ = std::thread([ended = ended_, body = std::move(body)] {
        try {
            body();
        } catch (const std::exception& error) {
            log::error("thread_failed error=\"{}\" (ending the process)", error.what());
            std::terminate();
        } catch (...) {
            log::error("thread_failed error=\"an exception of unknown type\" (ending the process)");
            std::terminate();
        }
        std::lock_guard lock(ended->mutex);
        ended->ended = true;
        ended->changed.notify_all();
    });
}

BoundedThread::~BoundedThread() {
    if (thread_.joinable()) thread_.join();
}

BoundedThread& BoundedThread::operator=(BoundedThread&& other) noexcept {
    if (this != &other) {
        if (thread_.joinable()) thread_.join();
        thread_ = std::move(other.thread_);
        ended_ = std::move(other.ended_);
    }
    return *this;
}

bool BoundedThread::join_until(std::chrono::steady_clock::time_point deadline) {
    if (!thread_.joinable()) return true;
    bool ended;
    {
        std::unique_lock lock(ended_->mutex);
        ended = ended_->changed.wait_until(lock, deadline, [this] { return ended_->ended; });
    }
    if (ended) thread_.join();
    else thread_.detach();
    return ended;
}

CallOutcome call_until(std::chrono::steady_clock::time_point deadline, std::function<void()> work) {
    if (std::chrono::steady_clock::now() >= deadline) return CallOutcome::not_started;
    BoundedThread thread(std::move(work));
    return thread.join_until(deadline) ? CallOutcome::returned : CallOutcome::left_running;
}

std::string unanswered_reason(CallOutcome outcome, std::chrono::steady_clock::time_point started) {
    if (outcome == CallOutcome::not_started) return "reason=\"no time left in the stop's budget\"";
    const auto waited =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    return fmt::format("reason=\"no answer from PostgreSQL by the stop's deadline\" waited_ms={}", waited.count());
}

}  // namespace mw
