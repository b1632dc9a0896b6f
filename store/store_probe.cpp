#include "store/store_probe.h"

#include <stdexcept>

#include <fmt/format.h>
#include <pqxx/except>
#include <pqxx/nontransaction>

#include "core/log.h"
#include "store/database.h"
#include "store/migrations.h"

namespace mw::store {

StoreProbe::StoreProbe(config::StoreOptions options) : options_(std::move(options)) {}

StoreProbe::~StoreProbe() { stop(std::chrono::steady_clock::time_point::max()); }

void StoreProbe::start() {
    thread_ = BoundedThread([this, stop = stop_.get_token()] { run(stop); });
}

bool StoreProbe::stop(std::chrono::steady_clock::time_point deadline) {
    stop_.request_stop();  // wakes the wait between probes
    return thread_.join_until(deadline);
}

ProbeStatus StoreProbe::status(std::chrono::steady_clock::time_point now) const {
    std::lock_guard lock(mutex_);
    ProbeStatus status;
    status.error = last_error_;
    if (!succeeded_once_) return status;
    status.since_success_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - last_success_).count();
    const auto fresh_ms = static_cast<std::int64_t>(options_.probe_interval_ms) + options_.probe_timeout_ms;
    status.reachable = last_ok_ && status.since_success_ms <= fresh_ms;
    if (last_ok_ && !status.reachable)
        status.error = "no answer from PostgreSQL for " + std::to_string(status.since_success_ms) + " ms";
    return status;
}

void StoreProbe::run(std::stop_token stop) {
    auto connect_options = options_;
    connect_options.connect_timeout_ms = options_.probe_timeout_ms;
    std::unique_ptr<pqxx::connection> connection;
    bool was_reachable = true;  // so that a first failure is logged
    while (!stop.stop_requested()) {
        try {
            if (!connection || !connection->is_open()) {
                connection = connect(connect_options);
                pqxx::nontransaction session(*connection);
                session.exec0("SET statement_timeout = " + std::to_string(options_.probe_timeout_ms));
            }
            // The schema's version, not just "SELECT 1": the store is usable
            // once the drain has migrated it to what this binary knows.
            const int version = schema_version(*connection);
            const int wanted = migrations().back().version;
            if (version != wanted)
                throw std::runtime_error(fmt::format("schema at version {}, this modelwatchd needs {}{}", version,
                                                     wanted, version < wanted ? " (migrating)" : ""));
            {
                std::lock_guard lock(mutex_);
                last_ok_ = true;
                last_error_.clear();
                last_success_ = std::chrono::steady_clock::now();
                succeeded_once_ = true;
            }
            if (!was_reachable) log::notice("store_probe_ok");
            was_reachable = true;
        } catch (const std::exception& error) {
            // A lost connection is reopened; one that answered (an old schema,
            // a statement timeout) is asked again.
            if (dynamic_cast<const pqxx::broken_connection*>(&error) != nullptr || !connection ||
                !connection->is_open())
                connection.reset();
            {
                std::lock_guard lock(mutex_);
                last_ok_ = false;
                last_error_ = error.what();
            }
            if (was_reachable) log::warning("store_probe_failed error=\"{}\"", error.what());
            was_reachable = false;
        }
        std::unique_lock lock(mutex_);
        wake_.wait_for(lock, stop, std::chrono::milliseconds(options_.probe_interval_ms), [] { return false; });
    }
}

}  // namespace mw::store
