#include "daemon/periodic_worker.h"

#include <algorithm>

#include <pqxx/except>

#include "core/log.h"
#include "core/time.h"
#include "store/database.h"
#include "store/migrations.h"

namespace mw::daemon {

PeriodicWorker::PeriodicWorker(std::string name, config::StoreOptions store, std::chrono::milliseconds interval,
                               Pass pass)
    : name_(std::move(name)), store_(std::move(store)), pass_(std::move(pass)), interval_(interval) {}

PeriodicWorker::~PeriodicWorker() { stop(); }

void PeriodicWorker::start() {
    thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
}

void PeriodicWorker::stop() {
    if (!thread_.joinable()) return;
    thread_.request_stop();
    wake();
    thread_.join();
}

void PeriodicWorker::wake() {
    std::lock_guard lock(mutex_);
    woken_ = true;
    wake_.notify_all();
}

void PeriodicWorker::set_interval(std::chrono::milliseconds interval) {
    std::lock_guard lock(mutex_);
    interval_ = interval;
}

bool PeriodicWorker::sleep_for(std::chrono::milliseconds duration) {
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, thread_.get_stop_token(), duration, [this] { return woken_; });
    woken_ = false;
    return !thread_.get_stop_token().stop_requested();
}

void PeriodicWorker::run(std::stop_token stop) {
    std::unique_ptr<pqxx::connection> connection;
    auto backoff = std::chrono::milliseconds(store_.retry_initial_ms);
    std::string last_error;
    while (!stop.stop_requested()) {
        std::chrono::milliseconds next;
        {
            std::lock_guard lock(mutex_);
            next = interval_;
        }
        try {
            if (!connection || !connection->is_open()) {
                connection = store::connect(store_);
                // The drain applies migrations when it connects; work only
                // on the schema this binary knows.
                if (store::schema_version(*connection) != store::migrations().back().version) {
                    connection.reset();
                    if (!sleep_for(backoff)) break;
                    continue;
                }
            }
            pass_(*connection, now_us());
            backoff = std::chrono::milliseconds(store_.retry_initial_ms);
            if (!last_error.empty()) log::notice("{}_recovered", name_);
            last_error.clear();
        } catch (const pqxx::broken_connection& error) {
            connection.reset();
            if (last_error != error.what()) log::warning("{}_store_unreachable error=\"{}\"", name_, error.what());
            last_error = error.what();
            next = backoff;
            backoff = std::min(backoff * 2, std::chrono::milliseconds(store_.retry_max_ms));
        } catch (const std::exception& error) {
            // A failed statement leaves the connection usable; the pass is
            // retried at the next tick.
            if (last_error != error.what()) log::error("{}_pass_failed error=\"{}\"", name_, error.what());
            last_error = error.what();
        }
        if (!sleep_for(next)) break;
    }
}

}  // namespace mw::daemon
