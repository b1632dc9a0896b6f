// A few read-only PostgreSQL sessions kept open for the admin API and the
// pages (daemon/api.h), instead of a connection per request: the lockstep
// client polls GET /v1/models/{model}/progress every 25 ms, and a new
// connection is a new backend process, its authentication and its catalogue
// cache each time (bench/RESULTS.md, "The admin reads' sessions").
//
// Each session is opened lazily, on the first read that finds none idle,
// with default_transaction_read_only = on (a read path cannot write, whatever
// a future query does) and a statement_timeout (a read stuck behind a lock
// or a huge table gives its thread back; the caller answers 503). Both are
// set through pqxx's set_variable, which libpqxx 6.4 sets again if it
// reconnects the session on its own.
//
// A session PostgreSQL closed (restarted, pg_terminate_backend, an idle
// timeout) is learnt of only when it is used: its read fails with
// broken_connection or with an SQL error (57P01 as the server stops) that
// leaves it closed. Such a session is dropped with every other idle one
// (a restart closed them all), and a read that found it idle is tried once
// more on a new session, so the first poll after a restart is answered
// instead of failing for sessions that died while unused.
//
// What happened to the sessions is counted (stats()), for the daemon's
// modelwatch_read_session* metrics (docs/monitoring.md).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include <pqxx/connection>

#include "config/config.h"

namespace mw::store {

// The admin reads' statement_timeout (no option: a page or a progress answer
// that takes longer is a problem to fix, not to configure around).
inline constexpr std::chrono::milliseconds admin_read_timeout{2000};

// Counts since construction, except `open`.
struct ReadSessionStats {
    std::uint64_t open = 0;                // sessions connected now, idle or reading
    std::uint64_t opened = 0;              // connections made
    std::uint64_t connect_failures = 0;    // connection attempts that failed
    std::uint64_t closed_under_read = 0;   // sessions found closed by PostgreSQL when a read used them
    std::uint64_t statement_timeouts = 0;  // reads cancelled (SQLSTATE 57014: the statement_timeout)
};

class ReadSessions {
public:
    // Keeps at most `idle_limit` sessions open while unused (the readers'
    // threads: more would never be used at once).
    ReadSessions(std::size_t idle_limit, std::chrono::milliseconds statement_timeout);
    ~ReadSessions();
    ReadSessions(const ReadSessions&) = delete;
    ReadSessions& operator=(const ReadSessions&) = delete;

    // Runs `reader` on an idle session to `options`' database, or on a new one
    // when none is idle, then keeps the session for the next read (unless it
    // was closed under the read). Exceptions from `reader` propagate; a closed
    // session's surfaces as pqxx::broken_connection. `reader` may run twice
    // (a session that died while idle), so it must only read. Thread-safe.
    void read(const config::StoreOptions& options, const std::function<void(pqxx::connection&)>& reader);

    ReadSessionStats stats() const;

private:
    struct Idle {
        config::StoreOptions options;  // what it was opened with: a reload may change the DSN
        std::unique_ptr<pqxx::connection> connection;
    };
    // An idle session to `options`' database (reused: true), or a new one.
    std::unique_ptr<pqxx::connection> take(const config::StoreOptions& options, bool& reused);
    void keep(const config::StoreOptions& options, std::unique_ptr<pqxx::connection> connection);
    // Closes every idle session; returns how many there were.
    std::size_t drop_idle();

    const std::size_t idle_limit_;
    const std::chrono::milliseconds statement_timeout_;
    mutable std::mutex mutex_;
    std::vector<Idle> idle_;
    std::uint64_t reading_ = 0;  // sessions taken by a read, not yet kept or closed
    ReadSessionStats stats_;     // `open` is idle_.size() + reading_, made by stats()
};

}  // namespace mw::store
