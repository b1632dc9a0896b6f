// Runs SIGHUP's reloads on a thread of their own, one at a time. A reload
// reads the file and claims the new models' privacy keys in PostgreSQL
// before anything of it is published (daemon/daemon.cpp, reload()); that
// claim waits up to store.connect_timeout for a PostgreSQL that is down or
// hung, and on the event loop it held a thread that health, readiness,
// ingest and metrics are answered on, and the signal handler: a SIGTERM sent
// meanwhile waited for it.
//
// Requests made while a reload runs are coalesced into one more reload after
// it, which reads the file as it is then: the last file written wins, each
// reload is checked against the configuration the one before it put in
// force. A stop abandons the queued reload; the one running is told through
// its stop_token (it publishes nothing once a stop was asked) and is waited
// for within a bound.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <stop_token>
#include <thread>

namespace mw::daemon {

class Reloader {
public:
    using Reload = std::function<void(std::stop_token)>;

    // Starts nothing (STYLE.md, section 3): start() does.
    explicit Reloader(Reload reload);
    // Asks for a stop and waits for the thread, when one was started: call
    // stop() first where the reload in progress may take long.
    ~Reloader();
    Reloader(const Reloader&) = delete;
    Reloader& operator=(const Reloader&) = delete;

    // Starts the thread, which waits for request(); once, and not after a
    // stop was asked (then it does nothing).
    void start();

    enum class Requested { started, queued, already_queued, stopping };
    // Asks for a reload: it starts at once when none runs, else after the
    // one running (queued; a request while one is queued adds nothing), or
    // before start() when the thread starts (queued). Thread-safe; never
    // blocks on a reload.
    Requested request();

    // Whether a reload runs or is queued (/readyz's detail).
    bool busy() const;

    // Drops the queued reload and asks the running one to stop; returns at
    // once. Thread-safe (the signal handler's).
    void request_stop();
    // request_stop(), then waits up to `timeout` for the running reload to
    // end. False when it did not: the thread is left behind (detached),
    // blocked in PostgreSQL; the process must then exit without destructors
    // (it still references the daemon's objects).
    bool stop(std::chrono::milliseconds timeout);

private:
    void run(std::stop_token stop);

    const Reload reload_;
    mutable std::mutex mutex_;
    std::condition_variable_any wake_;
    bool started_ = false;  // start() made the thread
    bool queued_ = false;
    bool running_ = false;
    bool finished_ = false;  // the thread has returned
    std::stop_source stop_;
    std::thread thread_;
};

const char* to_string(Reloader::Requested requested);

}  // namespace mw::daemon
