// Opening connections to the store's PostgreSQL.
#pragma once

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

// The DSN with the value of any password=... replaced by "***", for messages
// and logs. Handles the key=value form; a URI's password is masked too.
std::string redact_dsn(std::string_view dsn);

}  // namespace mw::store
