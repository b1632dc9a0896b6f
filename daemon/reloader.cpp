#include "daemon/reloader.h"

#include <exception>

#include "core/log.h"

namespace mw::daemon {

Reloader::Reloader(Reload reload) : reload_(std::move(reload)) {}

Reloader::~Reloader() {
    if (!thread_.joinable()) return;  // never started, joined by stop(), or left behind by it
    request_stop();
    thread_.join();
}

void Reloader::start() {
    std::lock_guard lock(mutex_);  // the thread's run() waits for it
    if (started_ || stop_.stop_requested()) return;
    thread_ = std::thread([this] { run(stop_.get_token()); });
    started_ = true;
}

Reloader::Requested Reloader::request() {
    std::lock_guard lock(mutex_);
    if (stop_.stop_requested()) return Requested::stopping;
    if (queued_) return Requested::already_queued;
    queued_ = true;
    wake_.notify_all();
    return running_ || !started_ ? Requested::queued : Requested::started;
}

bool Reloader::busy() const {
    std::lock_guard lock(mutex_);
    return queued_ || running_;
}

void Reloader::request_stop() {
    std::lock_guard lock(mutex_);  // no request() between the two
    queued_ = false;
    stop_.request_stop();  // wakes the thread's wait
}

bool Reloader::stop(std::chrono::milliseconds timeout) {
    request_stop();
    if (!thread_.joinable()) return true;
    std::unique_lock lock(mutex_);
    if (!wake_.wait_for(lock, timeout, [this] { return finished_; })) {
        lock.unlock();
        thread_.detach();
        return false;
    }
    lock.unlock();
    thread_.join();
    return true;
}

void Reloader::run(std::stop_token stop) {
    std::unique_lock lock(mutex_);
    while (wake_.wait(lock, stop, [this] { return queued_; }) && !stop.stop_requested()) {
        queued_ = false;
        running_ = true;
        lock.unlock();
        try {
            reload_(stop);
        } catch (const std::exception& error) {
            // reload() reports its own failures; this is one it did not expect.
            log::error("config_reload_failed error=\"{}\" keeping=previous", error.what());
        }
        lock.lock();
        running_ = false;
    }
    finished_ = true;
    wake_.notify_all();
}

const char* to_string(Reloader::Requested requested) {
    switch (requested) {
        case Reloader::Requested::started: return "started";
        case Reloader::Requested::queued: return "queued";
        case Reloader::Requested::already_queued: return "already_queued";
        case Reloader::Requested::stopping: return "stopping";
    }
    return "unknown";
}

}  // namespace mw::daemon
