// A background thread that runs one pass of some work every interval on its
// own PostgreSQL connection: the monitor, the alert dispatcher, the retrain
// runner and the audit scheduler are each one of these. It connects lazily,
// waits until the store's schema is current (the drain migrates it), and on
// a lost connection reconnects with backoff; an exception in a pass is
// logged and the pass is retried at the next tick, so a bad model or an
// unreachable receiver never takes the thread down.
//
// Progress: a pass calls PassControl::checkpoint() at its safe points (between
// windows, between the stages of one window, before anything is written).
// Each checkpoint is a heartbeat; a pass that has not reached one for
// `progress_timeout` is *stuck* (a slow pass that keeps reaching checkpoints
// is not). status() says which, for /readyz and for the thread that feeds
// systemd's watchdog.
//
// Stopping: request_stop() returns at once; the pass ends at its next
// checkpoint (PassInterrupted unwinds it; the open transaction, if any, is
// rolled back, so nothing is half-written). stop() waits for that, cancels
// a statement the pass is blocked in after a grace period, and gives up after
// a bound, so a hung worker cannot hold up the daemon's exit.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include <pqxx/connection>

#include "config/config.h"

namespace mw::daemon {

// Thrown by PassControl::checkpoint() when the worker is stopping; the
// worker catches it. A pass never needs to catch it itself.
struct PassInterrupted : std::runtime_error {
    PassInterrupted() : std::runtime_error("pass interrupted: the worker is stopping") {}
};

class PeriodicWorker;

// What a pass sees of its worker.
class PassControl {
public:
    explicit PassControl(PeriodicWorker& worker) : worker_(worker) {}
    // A safe point: records progress; throws PassInterrupted when stopping.
    void checkpoint();
    // The configuration generation this pass works with (shown in /readyz).
    void set_config_generation(std::uint64_t generation);
    // The interval to the next pass (a reload may change it).
    void set_interval(std::chrono::milliseconds interval);

private:
    PeriodicWorker& worker_;
};

enum class WorkerState { starting, idle, running, stuck, stopped };
const char* to_string(WorkerState state);

struct WorkerStatus {
    std::string name;
    WorkerState state = WorkerState::starting;
    std::uint64_t passes = 0;              // passes finished (successfully or not)
    // Passes that ran (a failed connection attempt is none), counted apart
    // from `passes` and read together, so a reader can name the first pass
    // that begins after it (passes_begun + 1) and later see it ended
    // (passes_ended): the daemon's progress answer (GET /v1/models/{model}/progress).
    std::uint64_t passes_begun = 0;
    std::uint64_t passes_ended = 0;
    std::uint64_t config_generation = 0;   // the configuration the worker last picked up
    std::int64_t last_pass_end_us = 0;     // wall clock, 0 before the first pass ended
    std::int64_t last_pass_ms = 0;         // how long that pass took
    std::int64_t current_pass_ms = 0;      // while running: how long the pass has been running
    std::int64_t since_progress_ms = 0;    // while running: time since its last checkpoint
    std::string last_error;                // of the last pass; empty when it succeeded
};

class PeriodicWorker {
public:
    using Pass = std::function<void(pqxx::connection& connection, std::int64_t now_us, PassControl& control)>;

    PeriodicWorker(std::string name, config::StoreOptions store, std::chrono::milliseconds interval,
                   std::chrono::milliseconds progress_timeout, Pass pass);
    ~PeriodicWorker();  // stops (bounded) and joins; detaches a thread stop() gave up on
    PeriodicWorker(const PeriodicWorker&) = delete;
    PeriodicWorker& operator=(const PeriodicWorker&) = delete;

    void start();
    // Asks the pass to end at its next checkpoint; does not wait.
    void request_stop();
    // request_stop(), then waits up to `timeout` for the thread to end. After
    // `cancel_after` a statement the pass is blocked in is cancelled. False
    // when the thread is still running at the end (it is then left alone:
    // the caller must exit the process without destroying the worker's owner).
    bool stop(std::chrono::milliseconds timeout = std::chrono::seconds(5),
              std::chrono::milliseconds cancel_after = std::chrono::seconds(1));
    // stop()'s steps, for stopping several workers against one deadline:
    // waits until the thread has ended (and joins it) or `deadline` passed.
    bool wait_stopped(std::chrono::steady_clock::time_point deadline);
    // Cancels the statement a pass is blocked in, if any.
    void cancel_statement();
    // Runs the next pass now rather than at the next tick.
    void wake();
    void set_interval(std::chrono::milliseconds interval);
    void set_progress_timeout(std::chrono::milliseconds timeout);

    const std::string& name() const { return name_; }
    // `now` is injected so tests control time.
    WorkerStatus status(std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now()) const;

private:
    friend class PassControl;
    void run(std::stop_token stop);
    bool sleep_for(std::chrono::milliseconds duration);  // false when stopping
    void heartbeat();

    static std::int64_t ticks(std::chrono::steady_clock::time_point t) { return t.time_since_epoch().count(); }

    const std::string name_;
    const config::StoreOptions store_;
    const Pass pass_;

    mutable std::mutex mutex_;  // guards what follows, up to the atomics
    std::condition_variable_any wake_;
    std::chrono::milliseconds interval_;
    std::chrono::milliseconds progress_timeout_;
    bool woken_ = false;
    bool finished_ = false;  // run() returned
    std::condition_variable finished_cv_;
    // While open, for cancel_query() from stop(); shared so that a cancel in
    // flight keeps it alive whatever the worker does meanwhile.
    std::shared_ptr<pqxx::connection> connection_;
    std::uint64_t passes_ = 0;
    std::uint64_t passes_begun_ = 0;
    std::uint64_t passes_ended_ = 0;
    std::int64_t last_pass_end_us_ = 0;
    std::int64_t last_pass_ms_ = 0;
    std::string last_error_;

    // Written by the pass's thread at every checkpoint, read by status().
    std::atomic<std::int64_t> pass_started_ticks_{0};  // 0 while no pass runs
    std::atomic<std::int64_t> progress_ticks_{0};
    std::atomic<std::uint64_t> config_generation_{0};

    std::jthread thread_;
};

}  // namespace mw::daemon
