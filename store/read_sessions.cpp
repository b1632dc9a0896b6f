#include "store/read_sessions.h"

#include <utility>

#include <pqxx/except>

#include "core/log.h"
#include "store/database.h"

namespace mw::store {

ReadSessions::ReadSessions(std::size_t idle_limit, std::chrono::milliseconds statement_timeout)
    : idle_limit_(idle_limit), statement_timeout_(statement_timeout) {}

ReadSessions::~ReadSessions() = default;

std::unique_ptr<pqxx::connection> ReadSessions::take(const config::StoreOptions& options, bool& reused) {
    std::vector<Idle> stale;  // closed outside the lock
    {
        std::lock_guard lock(mutex_);
        // Sessions opened with other options (a reload changed them) are closed.
        for (auto it = idle_.begin(); it != idle_.end();) {
            if (it->options == options) {
                ++it;
                continue;
            }
            stale.push_back(std::move(*it));
            it = idle_.erase(it);
        }
        if (!idle_.empty()) {
            auto connection = std::move(idle_.back().connection);
            idle_.pop_back();
            ++reading_;
            reused = true;
            return connection;
        }
    }
    reused = false;
    // Outside the lock: connecting may take store.connect_timeout, and the
    // other readers need not wait for it.
    std::unique_ptr<pqxx::connection> connection;
    try {
        connection = connect(options);
        connection->set_variable("default_transaction_read_only", "on");
        connection->set_variable("statement_timeout", std::to_string(statement_timeout_.count()));
    } catch (const std::exception&) {
        std::lock_guard lock(mutex_);
        ++stats_.connect_failures;
        throw;
    }
    std::lock_guard lock(mutex_);
    ++stats_.opened;
    ++reading_;
    return connection;
}

void ReadSessions::keep(const config::StoreOptions& options, std::unique_ptr<pqxx::connection> connection) {
    std::unique_ptr<pqxx::connection> closed;  // past the limit: closed outside the lock
    std::lock_guard lock(mutex_);
    --reading_;
    if (idle_.size() >= idle_limit_)
        closed = std::move(connection);
    else
        idle_.push_back({options, std::move(connection)});
}

void ReadSessions::read(const config::StoreOptions& options, const std::function<void(pqxx::connection&)>& reader) {
    for (bool retried = false;; retried = true) {
        bool reused = false;
        auto connection = take(options, reused);
        try {
            reader(*connection);
        } catch (const std::exception& failure) {
            const bool broken = dynamic_cast<const pqxx::broken_connection*>(&failure) != nullptr;
            const auto* sql_failure = dynamic_cast<const pqxx::sql_error*>(&failure);
            if (sql_failure != nullptr && sql_failure->sqlstate() == "57014") {
                std::lock_guard lock(mutex_);
                ++stats_.statement_timeouts;
            }
            if (!broken && connection->is_open()) {
                // A failed statement (a timeout, an error) leaves the session
                // usable: its transaction was rolled back as it unwound.
                keep(options, std::move(connection));
                throw;
            }
            // Closed under the read: the session is not kept.
            connection.reset();
            {
                std::lock_guard lock(mutex_);
                --reading_;
                ++stats_.closed_under_read;
            }
            if (reused && !retried) {
                // What closed it (a restart) closed the other idle sessions
                // too, as far as can be told: the retry opens a new one.
                const auto dropped = drop_idle();
                log::notice("admin_read_session_closed action=reconnect idle_dropped={} error=\"{}\"", dropped,
                            failure.what());
                continue;
            }
            if (broken) throw;
            throw pqxx::broken_connection(failure.what());
        }
        keep(options, std::move(connection));
        return;
    }
}

std::size_t ReadSessions::drop_idle() {
    std::vector<Idle> dropped;  // closed outside the lock
    {
        std::lock_guard lock(mutex_);
        dropped.swap(idle_);
    }
    return dropped.size();
}

ReadSessionStats ReadSessions::stats() const {
    std::lock_guard lock(mutex_);
    ReadSessionStats stats = stats_;
    stats.open = idle_.size() + reading_;
    return stats;
}

}  // namespace mw::store
