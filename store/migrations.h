// The store's schema as versioned, forward-only SQL migrations compiled into
// the binary. Each is applied in its own transaction, recorded in
// schema_migrations (version, name, applied_at), under a transaction-level
// advisory lock so that several daemons starting at once apply each
// migration exactly once.
#pragma once

#include <span>
#include <stdexcept>
#include <string_view>

#include <pqxx/connection_base>

namespace mw::store {

struct Migration {
    int version;
    std::string_view name;
    std::string_view sql;
};

// The migrations this binary knows, in ascending version order (1, 2, ...).
std::span<const Migration> migrations();

// The database holds a schema this binary cannot work with: a version newer
// than it knows (a newer modelwatch migrated it) or a known version recorded
// under another name (a build from another branch).
class SchemaMismatchError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Applies every migration newer than the database's version and returns how
// many were applied (0 when the schema is current). Throws
// SchemaMismatchError as above, and pqxx exceptions for PostgreSQL errors.
int migrate(pqxx::connection_base& connection);

// The highest applied version, 0 for a database never migrated.
int schema_version(pqxx::connection_base& connection);

}  // namespace mw::store
