// A background thread that runs one pass of some work every interval on its
// own PostgreSQL connection: the monitor, the alert dispatcher, the retrain
// runner and the audit scheduler are each one of these. It connects lazily,
// waits until the store's schema is current (the drain migrates it), and on
// a lost connection reconnects with backoff; an exception in a pass is
// logged and the pass is retried at the next tick, so a bad model or an
// unreachable receiver never takes the thread down.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <pqxx/connection>

#include "config/config.h"

namespace mw::daemon {

class PeriodicWorker {
public:
    using Pass = std::function<void(pqxx::connection& connection, std::int64_t now_us)>;

    PeriodicWorker(std::string name, config::StoreOptions store, std::chrono::milliseconds interval, Pass pass);
    ~PeriodicWorker();  // stops and joins
    PeriodicWorker(const PeriodicWorker&) = delete;
    PeriodicWorker& operator=(const PeriodicWorker&) = delete;

    void start();
    // Asks the thread to stop after the current pass and waits for it.
    void stop();
    // Runs the next pass now rather than at the next tick.
    void wake();
    void set_interval(std::chrono::milliseconds interval);

private:
    void run(std::stop_token stop);
    bool sleep_for(std::chrono::milliseconds duration);  // false when stopping

    std::string name_;
    config::StoreOptions store_;
    Pass pass_;
    std::mutex mutex_;
    std::condition_variable_any wake_;
    std::chrono::milliseconds interval_;
    bool woken_ = false;
    std::jthread thread_;
};

}  // namespace mw::daemon
