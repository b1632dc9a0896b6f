#include "store/database.h"

#include <algorithm>

#include <fmt/format.h>

namespace mw::store {
namespace {

bool dsn_is_uri(std::string_view dsn) {
    return dsn.starts_with("postgresql://") || dsn.starts_with("postgres://");
}

// Whether a key=value DSN sets `key` (keys are lowercase words in libpq's
// connection string syntax, so a plain search for "key=" at a word start is
// enough for the keys checked here).
bool dsn_sets(std::string_view dsn, std::string_view key) {
    for (auto at = dsn.find(key); at != std::string_view::npos; at = dsn.find(key, at + 1)) {
        const bool starts_word = at == 0 || dsn[at - 1] == ' ' || dsn[at - 1] == '\t';
        auto after = at + key.size();
        while (after < dsn.size() && dsn[after] == ' ') ++after;
        if (starts_word && after < dsn.size() && dsn[after] == '=') return true;
    }
    return false;
}

}  // namespace

std::unique_ptr<pqxx::connection> connect(const config::StoreOptions& options) {
    std::string dsn = options.dsn;
    const unsigned timeout_seconds = (options.connect_timeout_ms + 999) / 1000;
    const bool uri = dsn_is_uri(dsn);
    auto add_unless_set = [&](std::string_view key, const std::string& value) {
        if (uri) {
            if (dsn.find(fmt::format("{}=", key)) != std::string::npos) return;
            // URI parameters go after '?', joined by '&'.
            dsn += fmt::format("{}{}={}", dsn.find('?') == std::string::npos ? '?' : '&', key, value);
        } else if (!dsn_sets(dsn, key)) {
            dsn += fmt::format(" {}={}", key, value);
        }
    };
    add_unless_set("connect_timeout", std::to_string(timeout_seconds));
    add_unless_set("application_name", "modelwatch");
    // A half-open TCP connection (a server that vanished without a FIN) must
    // not hang the drain for the kernel's default of hours: probe idle
    // connections and give up on unacknowledged data after a minute. libpq
    // ignores these for Unix sockets, where they are not needed.
    add_unless_set("keepalives", "1");
    add_unless_set("keepalives_idle", "30");
    add_unless_set("keepalives_interval", "10");
    add_unless_set("keepalives_count", "3");
    add_unless_set("tcp_user_timeout", "60000");
    // PostgreSQL compiles a query with LLVM once its estimated cost passes
    // jit_above_cost, which the daemon's window reads and batch writes pass
    // at a few thousand rows; the compilation then costs more than the query
    // (7.3 s against 0.46 s for a 5,000-row window on a busy 2-core machine:
    // bench/window_read_bench.py). A DSN with its own options keeps them.
    add_unless_set("options", uri ? "-c%20jit%3Doff" : "'-c jit=off'");
    return std::make_unique<pqxx::connection>(dsn);
}

void set_session_variable(pqxx::connection_base& connection, const std::string& name, const std::string& value) {
    if (connection.get_variable(name) != value) connection.set_variable(name, value);
}

void bound_lock_holding(pqxx::connection_base& connection, std::uint32_t idle_ms, std::uint32_t lock_wait_ms) {
    set_session_variable(connection, "idle_in_transaction_session_timeout", std::to_string(idle_ms));
    if (lock_wait_ms != 0) set_session_variable(connection, "lock_timeout", std::to_string(lock_wait_ms));
}

std::string redact_dsn(std::string_view dsn) {
    std::string out(dsn);
    if (dsn_is_uri(dsn)) {
        // postgresql://user:password@host/...: mask between the first ':'
        // after the scheme and the '@'.
        const auto authority = out.find("://") + 3;
        const auto at = out.find('@', authority);
        const auto colon = out.find(':', authority);
        if (at != std::string::npos && colon != std::string::npos && colon < at)
            out.replace(colon + 1, at - colon - 1, "***");
        const auto query_password = out.find("password=");
        if (query_password != std::string::npos) {
            const auto value = query_password + 9;
            const auto end = out.find('&', value);
            out.replace(value, (end == std::string::npos ? out.size() : end) - value, "***");
        }
        return out;
    }
    for (auto at = out.find("password"); at != std::string::npos; at = out.find("password", at + 1)) {
        if (at > 0 && out[at - 1] != ' ' && out[at - 1] != '\t') continue;
        auto value = at + 8;
        while (value < out.size() && out[value] == ' ') ++value;
        if (value >= out.size() || out[value] != '=') continue;
        ++value;
        while (value < out.size() && out[value] == ' ') ++value;
        auto end = value;
        if (end < out.size() && out[end] == '\'') {
            // A quoted value: up to the closing quote, skipping \' escapes.
            ++end;
            while (end < out.size() && out[end] != '\'') end += out[end] == '\\' ? 2 : 1;
            end = std::min(end + 1, out.size());
        } else {
            while (end < out.size() && out[end] != ' ' && out[end] != '\t') ++end;
        }
        out.replace(value, end - value, "***");
    }
    return out;
}

}  // namespace mw::store
