// Opening connections to the store's PostgreSQL.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <pqxx/connection>

#include "config/config.h"

namespace mw::store {

// Connects with the options' DSN, adding connect_timeout (libpq counts
// whole seconds, rounded up here) and application_name=modelwatch unless the
// DSN sets them. Throws pqxx::broken_connection when PostgreSQL is
// unreachable. A pqxx 6.4 connection cannot be moved, hence the pointer.
std::unique_ptr<pqxx::connection> connect(const config::StoreOptions& options);

// Sets a session's run-time parameter (lock_timeout, ...) when it differs.
// pqxx remembers what it set, so once set, the comparison asks PostgreSQL
// nothing; the connection applies it again after a reconnection.
void set_session_variable(pqxx::connection_base& connection, const std::string& name, const std::string& value);

// Bounds a session that takes row or advisory locks other daemons wait for
// (docs/scaling.md, "A frozen daemon"): PostgreSQL ends it once it stays
// idle inside a transaction for `idle_ms` (a daemon frozen mid-transaction
// then holds nobody for longer), and, when `lock_wait_ms` is not 0, a
// statement waits at most that long for a lock (then fails with SQLSTATE
// lock_not_available). For sessions whose transactions do no long work
// between their statements only: a longer pause ends the session.
void bound_lock_holding(pqxx::connection_base& connection, std::uint32_t idle_ms, std::uint32_t lock_wait_ms = 0);

// The SQLSTATE of a statement that waited lock_timeout for a lock.
inline constexpr const char* lock_not_available = "55P03";

// The DSN with the value of any password=... replaced by "***", for messages
// and logs. Handles the key=value form; a URI's password is masked too.
std::string redact_dsn(std::string_view dsn);

}  // namespace mw::store
