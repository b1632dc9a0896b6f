#include "store/spool_drain.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>
#include <pqxx/except>
#include <pqxx/nontransaction>

#include "core/durable_file.h"
#include "core/log.h"
#include "core/time.h"
#include "store/database.h"
#include "store/migrations.h"
#include "store/store_writer.h"

namespace mw::store {
namespace {
// How often one batch may fail for its content before it is quarantined.
constexpr int content_error_tries = 3;
constexpr int read_wait_ms = 200;
}  // namespace

SpoolDrain::SpoolDrain(Spool& spool, const config::StoreOptions& options, std::string quarantine_dir)
    : spool_(spool), options_(options), quarantine_dir_(std::move(quarantine_dir)) {}

SpoolDrain::~SpoolDrain() { stop(); }

void SpoolDrain::start() {
    if (thread_.joinable()) return;
    stopping_ = false;
    thread_ = std::thread([this] { run(); });
}

void SpoolDrain::stop() {
    {
        // Under the mutex, so a sleep_interruptible() about to wait cannot miss it.
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wakeup_.notify_all();
    spool_.interrupt_reader();
    if (thread_.joinable()) thread_.join();
}

DrainStats SpoolDrain::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

bool SpoolDrain::wait_drained(int timeout_ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
        if (spool_.stats().oldest_undrained_us == 0) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return spool_.stats().oldest_undrained_us == 0;
}

void SpoolDrain::sleep_interruptible(std::uint32_t ms) {
    std::unique_lock lock(mutex_);
    wakeup_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopping_.load(); });
}

// The quarantine file replaces the spool's copy of acknowledged records, so it
// is durably on disk before the spool may forget them.
void SpoolDrain::quarantine(const EncodedBatch& batch, const std::string& reason) {
    const std::string path = fmt::format("{}/quarantine-{}-{}.copy", quarantine_dir_, now_us(),
                                         batch.kind == RecordKind::prediction ? "predictions" : "outcomes");
    const std::string content = "-- refused by PostgreSQL: " + reason + "\n" + batch.copy_rows;
    if (auto error = write_file_durably(path, content); !error.empty())
        throw std::runtime_error("cannot write quarantine file " + error);
    log::error("store_batch_quarantined path={} records={} error=\"{}\"", path, batch.record_count, reason);
    std::lock_guard lock(mutex_);
    ++stats_.batches_quarantined;
}

void SpoolDrain::run() {
    std::unique_ptr<pqxx::connection> connection;
    std::unique_ptr<StoreWriter> writer;
    std::uint32_t backoff_ms = options_.retry_initial_ms;
    int content_failures = 0;

    auto set_unreachable = [&](const std::string& error) {
        writer.reset();
        connection.reset();
        bool was_reachable;
        {
            std::lock_guard lock(mutex_);
            was_reachable = stats_.store_reachable;
            stats_.store_reachable = false;
            stats_.last_error = error;
            ++stats_.write_errors;
        }
        if (was_reachable) log::warning("store_unreachable error=\"{}\" retry_ms={}", error, backoff_ms);
        else log::debug("store_connect_failed error=\"{}\" retry_ms={}", error, backoff_ms);
        sleep_interruptible(backoff_ms);
        backoff_ms = std::min(options_.retry_max_ms, backoff_ms * 2);
    };

    while (!stopping_) {
        if (!writer) {
            try {
                connection = connect(options_);
                const int applied = migrate(*connection);
                if (applied > 0) log::notice("store_migrated applied={} version={}", applied, schema_version(*connection));
                {
                    // A write is tens of thousands of rows: minutes is a hang,
                    // not a slow write. Waiting on a lock is never needed.
                    pqxx::nontransaction session(*connection);
                    session.exec0("SET statement_timeout = '300s'");
                    session.exec0("SET lock_timeout = '30s'");
                }
                writer = std::make_unique<StoreWriter>(*connection, options_);
                {
                    std::lock_guard lock(mutex_);
                    stats_.store_reachable = true;
                    stats_.last_error.clear();
                }
                log::notice("store_connected dsn=\"{}\"", redact_dsn(options_.dsn));
                backoff_ms = options_.retry_initial_ms;
            } catch (const SchemaMismatchError& error) {
                // Not transient: a newer modelwatch owns this database. Keep
                // spooling (nothing is lost) and say so loudly.
                log::error("store_schema_mismatch error=\"{}\"", error.what());
                set_unreachable(error.what());
                continue;
            } catch (const std::exception& error) {
                set_unreachable(error.what());
                continue;
            }
        }

        SpoolPosition end;
        std::vector<EncodedBatch> batches;
        try {
            batches = spool_.read(options_.batch_max_records, read_wait_ms, end);
        } catch (const std::exception& error) {
            log::error("spool_read_failed error=\"{}\"", error.what());
            sleep_interruptible(1000);
            continue;
        }
        if (batches.empty()) continue;

        try {
            const auto write_started = std::chrono::steady_clock::now();
            const WriteResult result = writer->write(batches);
            spool_.commit_drained(end);
            log::debug("store_written batches={} predictions={} outcomes={} ms={:.1f}", batches.size(),
                       result.predictions_received, result.outcomes_received,
                       std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - write_started)
                           .count());
            content_failures = 0;
            std::lock_guard lock(mutex_);
            stats_.predictions_written += result.predictions_inserted;
            stats_.outcomes_written += result.outcomes_inserted;
            stats_.duplicates_ignored += (result.predictions_received - result.predictions_inserted) +
                                         (result.outcomes_received - result.outcomes_inserted);
        } catch (const pqxx::broken_connection& error) {
            set_unreachable(error.what());
        } catch (const pqxx::sql_error& error) {
            const std::string sqlstate = error.sqlstate();
            // Classes 22 (data exception) and 23 (integrity constraint) are
            // about the rows; anything else (lock timeouts, shutdowns, out of
            // disk on the server) is the server's state and worth waiting out.
            const bool about_content = sqlstate.starts_with("22") || sqlstate.starts_with("23");
            if (!about_content || ++content_failures < content_error_tries) {
                set_unreachable(fmt::format("{} (SQLSTATE {})", error.what(), sqlstate));
                continue;
            }
            // Find the culprit: write the batches one by one, quarantine the ones refused.
            content_failures = 0;
            try {
                for (const auto& batch : batches) {
                    try {
                        writer->write(std::span<const EncodedBatch>(&batch, 1));
                    } catch (const pqxx::sql_error& single) {
                        // Only a refusal of the rows themselves quarantines; a
                        // timeout or shutdown now must not cost a good batch.
                        const std::string state = single.sqlstate();
                        if (!state.starts_with("22") && !state.starts_with("23")) throw;
                        quarantine(batch, fmt::format("{} (SQLSTATE {})", single.what(), state));
                    }
                }
                spool_.commit_drained(end);
            } catch (const std::exception& isolate_error) {
                set_unreachable(isolate_error.what());
            }
        } catch (const std::exception& error) {
            set_unreachable(error.what());
        }
    }
}

}  // namespace mw::store
