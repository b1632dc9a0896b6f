#include "store/spool_drain.h"

#include <algorithm>
#include <chrono>
#include <optional>

#include <fmt/format.h>
#include <pqxx/except>
#include <pqxx/nontransaction>

#include "core/durable_file.h"
#include "core/log.h"
#include "core/time.h"
#include "store/database.h"
#include "store/migrations.h"
#include "store/store_writer.h"
#include "store/watermarks.h"

namespace mw::store {
namespace {
// How often one batch may fail for its content before it is quarantined.
constexpr int content_error_tries = 3;
constexpr int read_wait_ms = 200;
// Tells apart quarantine files written within one microsecond (a range's
// batches set aside one after the other), which would replace each other.
std::atomic<std::uint64_t> quarantine_sequence{0};
}  // namespace

SpoolDrain::SpoolDrain(Spool& spool, const config::StoreOptions& options, std::string quarantine_dir,
                       DrainPrivacy privacy, std::string writer_id)
    : spool_(spool),
      options_(options),
      quarantine_dir_(std::move(quarantine_dir)),
      writer_id_(std::move(writer_id)),
      privacy_(std::move(privacy)) {}

void SpoolDrain::set_privacy_keys(std::vector<ModelKey> keys) {
    std::lock_guard lock(mutex_);
    privacy_.keys = std::move(keys);
    ++keys_generation_;  // claimed before the next write: a model added now may have records on their way
}

std::uint64_t SpoolDrain::claim_keys(pqxx::connection_base& connection) {
    DrainPrivacy privacy;
    std::uint64_t generation;
    {
        std::lock_guard lock(mutex_);
        privacy = privacy_;
        generation = keys_generation_;
    }
    const auto refused = claim_privacy_keys_per_model(connection, privacy.keys, privacy.started_us);
    std::map<std::string, std::string> conflicts;
    for (const auto& conflict : refused) conflicts[conflict.model] = conflict.text;
    std::vector<std::string> new_conflicts;
    std::vector<std::string> cleared;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [model, text] : conflicts) {
            const auto known = stats_.key_conflicts.find(model);
            if (known == stats_.key_conflicts.end() || known->second != text) new_conflicts.push_back(text);
        }
        for (const auto& [model, text] : stats_.key_conflicts)
            if (!conflicts.contains(model)) cleared.push_back(model);
        stats_.key_conflicts = std::move(conflicts);
    }
    // Once per conflict (claims repeat every privacy_reclaim_ms).
    for (const auto& text : new_conflicts)
        log::error("{} (this model's records are refused at ingest; the other models' are stored)", text);
    for (const auto& model : cleared) log::notice("privacy_key_conflict_cleared model={}", model);
    return generation;
}

void SpoolDrain::set_aside_stray_keys(pqxx::connection_base& connection, std::vector<EncodedBatch>& batches) {
    std::vector<std::string> models;
    for (const auto& batch : batches)
        if (!batch.model.empty() && !batch.privacy_key_id.empty()) models.push_back(batch.model);
    if (models.empty()) return;  // nothing hashed (or spooled before key ids were): one query saved
    std::sort(models.begin(), models.end());
    models.erase(std::unique(models.begin(), models.end()), models.end());
    const auto recorded = recorded_privacy_keys(connection, models);
    std::vector<EncodedBatch> kept;
    kept.reserve(batches.size());
    for (auto& batch : batches) {
        const std::string refusal = batch.model.empty()
                                        ? std::string()
                                        : spooled_key_refusal(batch.model, batch.privacy_key_id, recorded);
        if (refusal.empty()) {
            kept.push_back(std::move(batch));
            continue;
        }
        // Durably in its file before the range can be committed (quarantine()).
        quarantine(batch, "not stored: " + refusal);
        std::lock_guard lock(mutex_);
        stats_.records_key_refused[{batch.model, batch.privacy_key_id}] += batch.record_count;
    }
    batches = std::move(kept);
}

SpoolDrain::~SpoolDrain() { stop(); }

void SpoolDrain::start() {
    if (!threads_.empty()) return;
    const auto quarantined = census_.count();
    if (quarantined.files > 0)
        log::warning("quarantine_present dir={} files={} records={} oldest={} (docs/privacy.md, \"Quarantine files\")",
                     quarantine_dir_, quarantined.files, quarantined.records,
                     format_rfc3339_us(quarantined.oldest_us));
    stopping_ = false;
    const unsigned workers = std::max<std::uint32_t>(options_.drain_connections, 1);
    for (unsigned worker = 0; worker < workers; ++worker) threads_.emplace_back([this, worker] { run(worker); });
}

bool SpoolDrain::stop(std::chrono::steady_clock::time_point writes_deadline,
                      std::chrono::steady_clock::time_point deadline) {
    {
        // Under the mutex, so a sleep_interruptible() about to wait cannot miss it.
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wakeup_.notify_all();
    spool_.interrupt_reader();
    const bool were_running = !threads_.empty();
    std::size_t left_running = 0;
    for (auto& thread : threads_)
        if (!thread.join_until(writes_deadline)) ++left_running;
    threads_.clear();
    if (left_running > 0) {
        // A write waiting on a PostgreSQL that does not answer: a write
        // committed after all is harmless (its range stays in the spool
        // and is written again at the next start, where the rows already
        // stored are skipped by their ids).
        log::warning("store_writes_abandoned workers={} reason=\"no answer from PostgreSQL by the stop's "
                     "deadline\" (their ranges stay in the spool and are stored at the next start)",
                     left_running);
        return false;
    }
    return !were_running || withdraw_watermark(deadline);
}

void SpoolDrain::publish_watermark(pqxx::connection_base& connection) {
    if (writer_id_.empty()) return;
    // Another worker publishing now makes this one's turn needless.
    std::unique_lock lock(publish_mutex_, std::try_to_lock);
    if (!lock.owns_lock()) return;
    const auto now = std::chrono::steady_clock::now();
    if (published_ && now - published_at_ < std::chrono::milliseconds(watermark_publish_ms)) return;
    store::publish_watermark(connection, writer_id_, spool_.stored_before_us());
    published_at_ = now;
    published_ = true;
}

// Only with the spool empty: a row left behind would otherwise let the
// others pass records still in it. Left there, it expires after
// cluster.lease (store/watermarks.h); until then the other daemons' monitors
// close no window past it.
bool SpoolDrain::withdraw_watermark(std::chrono::steady_clock::time_point deadline) {
    {
        std::lock_guard lock(publish_mutex_);
        if (writer_id_.empty() || !published_) return true;
        published_ = false;
    }
    if (spool_.stats().oldest_undrained_us != 0) return true;
    const auto meaning = "(it expires after cluster.lease; until then the other daemons' monitors close no window "
                         "past this daemon's last watermark)";
    const auto started = std::chrono::steady_clock::now();
    // Values only: the call may outlive this object (see BoundedThread).
    const auto outcome = call_until(deadline, [options = options_, writer = writer_id_, meaning] {
        try {
            auto connection = connect(options);
            store::withdraw_watermark(*connection, writer);
        } catch (const std::exception& error) {
            log::warning("store_watermark_not_withdrawn writer={} error=\"{}\" {}", writer, error.what(), meaning);
        }
    });
    if (outcome == CallOutcome::returned) return true;
    log::warning("store_watermark_not_withdrawn writer={} {} {}", writer_id_, unanswered_reason(outcome, started),
                 meaning);
    return false;
}

bool SpoolDrain::take_range(std::vector<EncodedBatch>& batches, SpoolPosition& end, std::uint64_t& ticket) {
    std::lock_guard lock(read_mutex_);
    if (stopping_) return false;
    batches = spool_.read(options_.batch_max_records, read_wait_ms, end);
    // A read may move past drained-out segments without a frame: still a
    // range, so that its end is committed in order with the others.
    if (batches.empty() && end <= last_read_end_) return false;
    last_read_end_ = end;
    ticket = next_ticket_++;
    return true;
}

void SpoolDrain::range_stored(std::uint64_t ticket, SpoolPosition end) {
    std::lock_guard lock(commit_mutex_);
    stored_ranges_.emplace(ticket, end);
    std::optional<SpoolPosition> commit;
    while (!stored_ranges_.empty() && stored_ranges_.begin()->first == next_commit_) {
        commit = stored_ranges_.begin()->second;
        stored_ranges_.erase(stored_ranges_.begin());
        ++next_commit_;
    }
    if (commit) spool_.commit_drained(*commit);
}

DrainStats SpoolDrain::stats() const {
    DrainStats stats;
    {
        std::lock_guard lock(mutex_);
        stats = stats_;
    }
    stats.quarantine = census_.last();
    return stats;
}

std::string SpoolDrain::key_conflict(const std::string& model) const {
    std::lock_guard lock(mutex_);
    const auto found = stats_.key_conflicts.find(model);
    return found == stats_.key_conflicts.end() ? std::string() : found->second;
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
    const std::string path =
        quarantine_dir_ + "/" +
        quarantine_file_name(now_us(), quarantine_sequence.fetch_add(1),
                             batch.kind == RecordKind::prediction ? "predictions" : "outcomes");
    const std::string content = quarantine_header(reason) + batch.copy_rows;
    if (auto error = write_file_durably(path, content); !error.empty())
        throw std::runtime_error("cannot write quarantine file " + error);
    // A frame spooled before key ids has neither (store/encoded_batch.h).
    log::error("store_batch_quarantined path={} model={} key_id={} records={} error=\"{}\"", path,
               batch.model.empty() ? "unknown" : batch.model,
               batch.privacy_key_id.empty() ? "none" : batch.privacy_key_id, batch.record_count, reason);
    {
        std::lock_guard lock(mutex_);
        ++stats_.batches_quarantined;
    }
    census_.count();
}

void SpoolDrain::set_profile_plan(ProfilePlan plan) {
    auto shared = std::make_shared<const ProfilePlan>(std::move(plan));
    std::lock_guard lock(mutex_);
    plan_ = std::move(shared);
}

void SpoolDrain::run(unsigned worker) {
    std::unique_ptr<pqxx::connection> connection;
    std::unique_ptr<StoreWriter> writer;
    std::uint32_t backoff_ms = options_.retry_initial_ms;
    int content_failures = 0;
    auto keys_claimed = std::chrono::steady_clock::now();  // set again at each connection, which claims
    std::uint64_t keys_claimed_generation = 0;
    // The range this worker holds until it is stored (kept across reconnections).
    std::vector<EncodedBatch> batches;
    SpoolPosition end;
    std::uint64_t ticket = 0;
    bool holding = false;

    auto set_unreachable = [&](const std::string& error) {
        writer.reset();
        connection.reset();
        spool_.store_unreachable();
        bool was_reachable;
        {
            std::lock_guard lock(mutex_);
            was_reachable = stats_.store_reachable;
            stats_.store_reachable = false;
            stats_.last_error = error;
            ++stats_.write_errors;
        }
        if (was_reachable)
            log::warning("store_unreachable worker={} error=\"{}\" retry_ms={}", worker, error, backoff_ms);
        else log::debug("store_connect_failed worker={} error=\"{}\" retry_ms={}", worker, error, backoff_ms);
        sleep_interruptible(backoff_ms);
        backoff_ms = std::min(options_.retry_max_ms, backoff_ms * 2);
    };

    // Readiness turns (daemon/api.h): a daemon whose writes are refused
    // must not look healthy while it acknowledges what it cannot store.
    auto refuse_writes = [&] {
        std::lock_guard lock(mutex_);
        stats_.writes_refused = true;
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
                keys_claimed_generation = claim_keys(*connection);
                keys_claimed = std::chrono::steady_clock::now();
                writer = std::make_unique<StoreWriter>(*connection, options_);
                {
                    std::lock_guard lock(mutex_);
                    stats_.store_reachable = true;
                    stats_.last_error.clear();
                    stats_.writes_refused = false;
                }
                log::notice("store_connected worker={} dsn=\"{}\"", worker, redact_dsn(options_.dsn));
                backoff_ms = options_.retry_initial_ms;
            } catch (const SchemaMismatchError& error) {
                // Not transient: a newer modelwatch owns this database. Keep
                // spooling (nothing is lost) and say so loudly.
                log::error("store_schema_mismatch error=\"{}\"", error.what());
                refuse_writes();
                set_unreachable(error.what());
                continue;
            } catch (const std::exception& error) {
                set_unreachable(error.what());
                continue;
            }
        }

        if (!holding) {
            // Between ranges: after the last commit, and every turn while idle.
            try {
                publish_watermark(*connection);
            } catch (const pqxx::broken_connection& error) {
                set_unreachable(error.what());
                continue;
            } catch (const std::exception& error) {
                set_unreachable(fmt::format("publishing the watermark: {}", error.what()));
                continue;
            }
            try {
                holding = take_range(batches, end, ticket);
            } catch (const std::exception& error) {
                log::error("spool_read_failed error=\"{}\"", error.what());
                sleep_interruptible(1000);
                continue;
            }
            if (!holding) continue;
            if (batches.empty()) {
                range_stored(ticket, end);
                holding = false;
                continue;
            }
        }

        try {
            const auto write_started = std::chrono::steady_clock::now();
            bool keys_changed;
            {
                std::lock_guard lock(mutex_);
                keys_changed = keys_generation_ != keys_claimed_generation;
            }
            if (keys_changed || write_started - keys_claimed >= std::chrono::milliseconds(privacy_reclaim_ms)) {
                keys_claimed_generation = claim_keys(*connection);
                keys_claimed = write_started;
            }
            set_aside_stray_keys(*connection, batches);
            if (batches.empty()) {  // every batch of the range was quarantined
                range_stored(ticket, end);
                holding = false;
                continue;
            }
            {
                std::lock_guard lock(mutex_);
                writer->set_profile_plan(plan_);
            }
            const WriteResult result = writer->write(batches);
            range_stored(ticket, end);
            holding = false;
            log::debug("store_written worker={} batches={} predictions={} outcomes={} ms={:.1f}", worker,
                       batches.size(),
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
            if (sqlstate == "40P01") {
                // A deadlock with a concurrent writer of the same keys (the
                // same ids in two ranges, or another daemon): PostgreSQL
                // rolled this write back, the connection is fine; again.
                log::info("store_write_conflict worker={} error=\"{}\"", worker, error.what());
                std::lock_guard lock(mutex_);
                ++stats_.write_conflicts;
                ++stats_.write_errors;
                continue;
            }
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
                        quarantine(batch,
                                   fmt::format("refused by PostgreSQL: {} (SQLSTATE {})", single.what(), state));
                    }
                }
                range_stored(ticket, end);
                holding = false;
            } catch (const std::exception& isolate_error) {
                set_unreachable(isolate_error.what());
            }
        } catch (const std::exception& error) {
            set_unreachable(error.what());
        }
    }
}

}  // namespace mw::store
