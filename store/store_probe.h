// Is PostgreSQL there, with the schema this binary knows? A thread asks it
// every probe_interval on a connection of its own (the schema's version,
// bounded by probe_timeout), whatever the rest of the daemon is doing: the
// drain talks to PostgreSQL only while the spool holds data and the workers
// only once per pass, so neither can say "reachable" for an idle daemon.
// /readyz and modelwatch_store_up read this.
//
// A probe that hangs (a server that vanished without closing the socket)
// cannot report itself, so reachability also goes stale: the store counts as
// reachable only while the last successful probe is younger than
// probe_interval + probe_timeout.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <stop_token>

#include "config/config.h"
#include "core/bounded_thread.h"

namespace mw::store {

struct ProbeStatus {
    bool reachable = false;
    std::string error;                 // of the last failed probe; empty once one succeeds
    std::int64_t since_success_ms = -1;  // -1 before the first success
};

class StoreProbe {
public:
    explicit StoreProbe(config::StoreOptions options);
    ~StoreProbe();
    StoreProbe(const StoreProbe&) = delete;
    StoreProbe& operator=(const StoreProbe&) = delete;

    void start();
    // Ends the probe in progress, if any, by `deadline`: false when it still
    // waits on PostgreSQL then (the thread is left running, so the caller
    // must exit without destroying this object).
    bool stop(std::chrono::steady_clock::time_point deadline);
    // `now` is injected so tests control time.
    ProbeStatus status(std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now()) const;

private:
    void run(std::stop_token stop);

    const config::StoreOptions options_;
    mutable std::mutex mutex_;
    std::condition_variable_any wake_;
    bool last_ok_ = false;
    std::string last_error_ = "not probed yet";
    std::chrono::steady_clock::time_point last_success_{};
    bool succeeded_once_ = false;
    std::stop_source stop_;
    BoundedThread thread_;
};

}  // namespace mw::store
