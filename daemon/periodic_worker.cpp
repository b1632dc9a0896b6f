#include "daemon/periodic_worker.h"

#include <algorithm>

#include <pqxx/except>

#include "core/log.h"
#include "core/time.h"
#include "store/database.h"
#include "store/migrations.h"

namespace mw::daemon {

const char* to_string(WorkerState state) {
    switch (state) {
        case WorkerState::starting: return "starting";
        case WorkerState::idle: return "idle";
        case WorkerState::running: return "running";
        case WorkerState::stuck: return "stuck";
        case WorkerState::stopped: return "stopped";
    }
    return "unknown";
}

void PassControl::checkpoint() {
    worker_.heartbeat();
    if (worker_.thread_.get_stop_token().stop_requested()) throw PassInterrupted();
}

void PassControl::set_config_generation(std::uint64_t generation) { worker_.config_generation_ = generation; }

void PassControl::set_interval(std::chrono::milliseconds interval) { worker_.set_interval(interval); }

PeriodicWorker::PeriodicWorker(std::string name, config::StoreOptions store, std::chrono::milliseconds interval,
                               std::chrono::milliseconds progress_timeout, Pass pass)
    : name_(std::move(name)),
      store_(std::move(store)),
      pass_(std::move(pass)),
      interval_(interval),
      progress_timeout_(progress_timeout) {}

PeriodicWorker::~PeriodicWorker() {
    // An abandoned thread is left running: the process is on its way out
    // (daemon.cpp exits without unwinding then), and joining would hang it.
    if (!stop()) thread_.detach();
}

void PeriodicWorker::start() {
    thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
}

void PeriodicWorker::request_stop() {
    if (!thread_.joinable()) return;
    thread_.request_stop();
    wake();
}

bool PeriodicWorker::stop(std::chrono::milliseconds timeout, std::chrono::milliseconds cancel_after) {
    const auto started = std::chrono::steady_clock::now();
    request_stop();
    if (wait_stopped(started + std::min(cancel_after, timeout))) return true;
    cancel_statement();
    if (wait_stopped(started + timeout)) return true;
    log::error("worker_abandoned worker={} waited_ms={} reason=\"no safe point reached\"", name_, timeout.count());
    return false;
}

bool PeriodicWorker::wait_stopped(std::chrono::steady_clock::time_point deadline) {
    if (!thread_.joinable()) return true;
    {
        std::unique_lock lock(mutex_);
        if (!finished_cv_.wait_until(lock, deadline, [this] { return finished_; })) return false;
    }
    thread_.join();
    return true;
}

void PeriodicWorker::cancel_statement() {
    // Blocked in a statement (a lock wait, a slow query): cancel it. The
    // statement fails, the pass unwinds, its transaction rolls back.
    // libpq's cancel request is made for use from another thread; it opens a
    // connection of its own, which has no timeout (libpq 15), so it runs on a
    // thread of its own and cannot hold up the caller's bound.
    std::shared_ptr<pqxx::connection> connection;
    {
        std::lock_guard lock(mutex_);
        if (finished_) return;
        connection = connection_;
    }
    if (!connection) return;
    log::warning("worker_cancelling_statement worker={} reason=stopping", name_);
    std::thread([connection, name = name_] {
        try {
            connection->cancel_query();
        } catch (const std::exception& error) {
            log::warning("worker_cancel_failed worker={} error=\"{}\"", name, error.what());
        }
    }).detach();
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

void PeriodicWorker::set_progress_timeout(std::chrono::milliseconds timeout) {
    std::lock_guard lock(mutex_);
    progress_timeout_ = timeout;
}

void PeriodicWorker::heartbeat() { progress_ticks_ = ticks(std::chrono::steady_clock::now()); }

WorkerStatus PeriodicWorker::status(std::chrono::steady_clock::time_point now) const {
    WorkerStatus status;
    status.name = name_;
    std::chrono::milliseconds progress_timeout;
    {
        std::lock_guard lock(mutex_);
        status.passes = passes_;
        status.passes_begun = passes_begun_;
        status.passes_ended = passes_ended_;
        status.last_pass_end_us = last_pass_end_us_;
        status.last_pass_ms = last_pass_ms_;
        status.last_error = last_error_;
        progress_timeout = progress_timeout_;
        if (finished_) status.state = WorkerState::stopped;
    }
    status.config_generation = config_generation_;
    if (status.state == WorkerState::stopped) return status;
    const auto to_ms = [&](std::int64_t since_ticks) {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   now - std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(since_ticks)))
            .count();
    };
    const std::int64_t pass_started = pass_started_ticks_;
    if (pass_started != 0) {
        status.current_pass_ms = to_ms(pass_started);
        status.since_progress_ms = to_ms(std::max<std::int64_t>(progress_ticks_, pass_started));
        status.state = status.since_progress_ms > progress_timeout.count() ? WorkerState::stuck : WorkerState::running;
    } else {
        status.state = status.passes == 0 ? WorkerState::starting : WorkerState::idle;
    }
    return status;
}

bool PeriodicWorker::sleep_for(std::chrono::milliseconds duration) {
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, thread_.get_stop_token(), duration, [this] { return woken_; });
    woken_ = false;
    return !thread_.get_stop_token().stop_requested();
}

void PeriodicWorker::run(std::stop_token stop) {
    std::shared_ptr<pqxx::connection> connection;
    auto backoff = std::chrono::milliseconds(store_.retry_initial_ms);
    std::string last_error;
    const auto set_connection = [&](std::shared_ptr<pqxx::connection> next) {
        std::shared_ptr<pqxx::connection> previous;  // closed outside the lock
        std::lock_guard lock(mutex_);
        previous = std::exchange(connection, std::move(next));
        connection_ = connection;
    };
    while (!stop.stop_requested()) {
        std::chrono::milliseconds next;
        {
            std::lock_guard lock(mutex_);
            next = interval_;
        }
        std::string error_text;
        bool interrupted = false;
        bool began = false;
        const auto pass_started = std::chrono::steady_clock::now();
        try {
            if (!connection || !connection->is_open()) {
                set_connection(store::connect(store_));
                // The drain applies migrations when it connects; work only
                // on the schema this binary knows.
                if (store::schema_version(*connection) != store::migrations().back().version) {
                    set_connection(nullptr);
                    if (!sleep_for(backoff)) break;
                    continue;
                }
            }
            progress_ticks_ = ticks(pass_started);
            pass_started_ticks_ = ticks(pass_started);
            {
                std::lock_guard lock(mutex_);
                ++passes_begun_;
            }
            began = true;
            PassControl control(*this);
            pass_(*connection, now_us(), control);
            backoff = std::chrono::milliseconds(store_.retry_initial_ms);
            if (!last_error.empty()) log::notice("{}_recovered", name_);
            last_error.clear();
        } catch (const PassInterrupted&) {
            interrupted = true;
        } catch (const pqxx::broken_connection& error) {
            set_connection(nullptr);
            if (last_error != error.what()) log::warning("{}_store_unreachable error=\"{}\"", name_, error.what());
            last_error = error_text = error.what();
            next = backoff;
            backoff = std::min(backoff * 2, std::chrono::milliseconds(store_.retry_max_ms));
        } catch (const std::exception& error) {
            if (stop.stop_requested()) {
                interrupted = true;  // a statement cancelled by stop()
            } else {
                // A failed statement leaves the connection usable; the pass is
                // retried at the next tick.
                if (last_error != error.what()) log::error("{}_pass_failed error=\"{}\"", name_, error.what());
                last_error = error_text = error.what();
            }
        }
        const auto pass_ended = std::chrono::steady_clock::now();
        pass_started_ticks_ = 0;
        {
            std::lock_guard lock(mutex_);
            ++passes_;
            if (began) ++passes_ended_;
            last_pass_end_us_ = now_us();
            last_pass_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(pass_ended - pass_started).count();
            if (!interrupted) last_error_ = error_text;
        }
        if (interrupted) {
            log::notice("worker_interrupted worker={} pass_ms={} reason=stopping", name_, last_pass_ms_);
            break;
        }
        if (!sleep_for(next)) break;
    }
    set_connection(nullptr);
    std::lock_guard lock(mutex_);
    finished_ = true;
    finished_cv_.notify_all();
}

}  // namespace mw::daemon
