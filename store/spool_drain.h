// Moves what the spool holds into PostgreSQL, in order, on its own thread.
//
// PostgreSQL being down is normal operation, not an error: the drain keeps
// reconnecting with capped exponential backoff while ingest goes on filling
// the spool. The schema is migrated on every (re)connection, so a daemon that
// started while PostgreSQL was down still migrates before its first write.
//
// A batch PostgreSQL refuses for its content (a data or constraint error, not
// a lost connection) would block the drain forever if retried; after a few
// tries it is moved to a quarantine file in the spool directory, logged as an
// error and counted, so the rest keeps flowing and nothing is deleted.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "config/config.h"
#include "store/spool.h"

namespace mw::store {

struct DrainStats {
    bool store_reachable = false;
    std::string last_error;  // empty while healthy
    std::uint64_t predictions_written = 0;   // inserted (new) rows
    std::uint64_t outcomes_written = 0;
    std::uint64_t duplicates_ignored = 0;    // rows already stored (replays, repeated ids)
    std::uint64_t batches_quarantined = 0;
    std::uint64_t write_errors = 0;
};

class SpoolDrain {
public:
    SpoolDrain(Spool& spool, const config::StoreOptions& options, std::string quarantine_dir);
    ~SpoolDrain();
    SpoolDrain(const SpoolDrain&) = delete;
    SpoolDrain& operator=(const SpoolDrain&) = delete;

    void start();
    // Stops after the write in progress; what is not drained stays in the spool.
    void stop();
    // Blocks until everything durable at the time of the call is in the store,
    // or `timeout_ms` passed; true when drained. Used by the shutdown path.
    bool wait_drained(int timeout_ms);

    DrainStats stats() const;

private:
    void run();
    void sleep_interruptible(std::uint32_t ms);
    void quarantine(const EncodedBatch& batch, const std::string& reason);

    Spool& spool_;
    config::StoreOptions options_;
    std::string quarantine_dir_;
    std::atomic<bool> stopping_{false};
    std::thread thread_;

    mutable std::mutex mutex_;
    std::condition_variable wakeup_;
    DrainStats stats_;
};

}  // namespace mw::store
