// Moves what the spool holds into PostgreSQL over store.drain_connections
// connections, each on its own thread.
//
// The workers take turns reading the next range of the spool and then write
// their ranges at the same time, each in one transaction; ranges are committed
// to the spool in read order, so the spool's drain position only passes a
// range once it and every range before it are stored. A worker whose write
// fails keeps its range and retries it after reconnecting; the others go on
// with later ranges. After a crash or a stop, ranges stored past the drain
// position are read again and ignored as duplicates. Exactly-once by
// (model, id) between concurrent writers (here, or in another daemon) is the
// store's (store/store_writer.h): each day partition has a unique key on it,
// and so has each boundary's claims, and a second writer of the same key
// waits for the first to commit, then skips the row.
//
// Since a later range can commit before an earlier one, the rows in
// PostgreSQL are complete only up to the spool's watermark (store/spool.h,
// Spool::stored_before_us): the drain publishes it for its daemon
// (store/watermarks.h) after the commits and while idle, at most every
// watermark_publish_ms, so other daemons' monitors read only rows that are
// all stored.
//
// PostgreSQL being down is normal operation, not an error: the drain keeps
// reconnecting with capped exponential backoff while ingest goes on filling
// the spool. The schema is migrated on every (re)connection, so a daemon that
// started while PostgreSQL was down still migrates before its first write.
//
// A batch PostgreSQL refuses for its content (a data or constraint error, not
// a lost connection) would block the drain forever if retried; after a few
// tries it is moved to a quarantine file in the spool directory, logged as an
// error and counted, so the rest keeps flowing and nothing is deleted.
//
// The same for a batch hashed under a key PostgreSQL does not record for its
// model (store/privacy_keys.h, spooled_key_refusal): each spooled batch
// carries its model and key id (EncodedBatch), and before each write the
// drain compares them with model_privacy. Such a batch was acknowledged by a
// daemon started with a stray key while PostgreSQL was down; stored, it
// would read as the model's data while its hashes match nothing. It is
// moved to a quarantine file at once (retrying cannot help), logged and
// counted per model and key id, and the other batches are stored.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "config/config.h"
#include "core/bounded_thread.h"
#include "store/privacy_keys.h"
#include "store/quarantine.h"
#include "store/profile_writer.h"
#include "store/spool.h"

namespace mw::store {

struct DrainStats {
    bool store_reachable = false;
    std::string last_error;  // empty while healthy
    // PostgreSQL answers but this daemon may not write there (a schema newer
    // than this build: last_error says which), until a connection's checks
    // pass again. A privacy key conflict is one model's (key_conflicts).
    bool writes_refused = false;
    // Models whose key the drain's last claim found in conflict with the one
    // PostgreSQL records (model -> PrivacyKeyConflict's text): their records
    // are refused at ingest and quarantined if spooled; the other models'
    // writes go on.
    std::map<std::string, std::string> key_conflicts;
    // Records moved to quarantine files because they were hashed under a
    // key not recorded for their model, by (model, key id).
    std::map<std::pair<std::string, std::string>, std::uint64_t> records_key_refused;
    std::uint64_t predictions_written = 0;   // inserted (new) rows
    std::uint64_t outcomes_written = 0;
    std::uint64_t duplicates_ignored = 0;    // rows already stored (replays, repeated ids)
    std::uint64_t batches_quarantined = 0;
    // The quarantine files in the spool directory now (store/quarantine.h),
    // this process's and earlier ones', as last counted.
    QuarantineCount quarantine;
    std::uint64_t write_errors = 0;
    std::uint64_t write_conflicts = 0;       // writes retried after a deadlock with a concurrent writer
};

// The models' keys the drain claims before it writes (store/privacy_keys.h,
// claim_privacy_keys_per_model): on every connection, before the first
// write after set_privacy_keys() and at least every privacy_reclaim_ms
// before a write, so a daemon whose key another daemon rotated away learns
// it within that time. A model whose claim is refused is listed in
// DrainStats::key_conflicts (ingest then refuses its records) and what was
// spooled of it under the refused key is quarantined; the others' writes go on.
struct DrainPrivacy {
    std::vector<ModelKey> keys;
    std::int64_t started_us = 0;  // the daemon's start: `since` of a model recorded first
};
inline constexpr std::int64_t privacy_reclaim_ms = 5000;
// How often the watermark is published (store/watermarks.h): what another
// daemon's windows may wait for beyond the drain itself, for one small
// UPDATE per interval.
inline constexpr std::int64_t watermark_publish_ms = 250;

class SpoolDrain {
public:
    // `writer_id`: the daemon's cluster.daemon_id, under which its watermark
    // is published (store/watermarks.h); empty: not published (a drain
    // tested alone).
    SpoolDrain(Spool& spool, const config::StoreOptions& options, std::string quarantine_dir,
               DrainPrivacy privacy = {}, std::string writer_id = {});
    ~SpoolDrain();
    SpoolDrain(const SpoolDrain&) = delete;
    SpoolDrain& operator=(const SpoolDrain&) = delete;

    void start();
    // Stops after the write in progress; what is not drained stays in the
    // spool. With nothing left, the published watermark is withdrawn: a
    // stopped daemon holds nobody back. A write still waiting on PostgreSQL
    // at `writes_deadline` is left running (its range stays in the spool and
    // is stored, once, at the next start), and so is a withdrawal still
    // waiting at `deadline`; either is logged and makes this return false:
    // the caller must then exit without destroying this object.
    bool stop(std::chrono::steady_clock::time_point writes_deadline = std::chrono::steady_clock::time_point::max(),
              std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max());
    // Blocks until everything durable at the time of the call is in the store,
    // or `timeout_ms` passed; true when drained. Used by the shutdown path.
    bool wait_drained(int timeout_ms);

    DrainStats stats() const;
    // Counts the quarantine files again (done at start() and after each file
    // written): files the operator deleted drop out.
    QuarantineCount count_quarantine() { return census_.count(); }
    // The text of `model`'s key conflict (DrainStats::key_conflicts), or ""
    // when its last claim passed or it was not claimed yet.
    std::string key_conflict(const std::string& model) const;
    // The keys of the configuration in force (a reload may add a model).
    void set_privacy_keys(std::vector<ModelKey> keys);
    // The profile-only models whose features the writes turn into profiles
    // (store/profile_writer.h): set before start() and on every reload.
    void set_profile_plan(ProfilePlan plan);

private:
    // Claims the keys on `connection` and records the conflicts in stats_;
    // returns the key generation claimed.
    std::uint64_t claim_keys(pqxx::connection_base& connection);
    // Moves the batches hashed under a key PostgreSQL does not record for
    // their model out of `batches` and into quarantine files.
    void set_aside_stray_keys(pqxx::connection_base& connection, std::vector<EncodedBatch>& batches);

    void run(unsigned worker);
    // Publishes the spool's watermark when the last publication is
    // watermark_publish_ms old (one worker at a time, so they go out in the
    // order they were read); throws pqxx errors.
    void publish_watermark(pqxx::connection_base& connection);
    // False when PostgreSQL did not answer by `deadline` (logged).
    bool withdraw_watermark(std::chrono::steady_clock::time_point deadline);
    void sleep_interruptible(std::uint32_t ms);
    // `reason` heads the file, after "-- ".
    void quarantine(const EncodedBatch& batch, const std::string& reason);
    // Takes the next range of the spool; false when there was none.
    bool take_range(std::vector<EncodedBatch>& batches, SpoolPosition& end, std::uint64_t& ticket);
    // Range `ticket` is stored: commit every range stored without a gap before it.
    void range_stored(std::uint64_t ticket, SpoolPosition end);

    Spool& spool_;
    config::StoreOptions options_;
    std::string quarantine_dir_;
    QuarantineCensus census_{quarantine_dir_};
    std::string writer_id_;
    std::shared_ptr<const ProfilePlan> plan_;  // under mutex_
    std::atomic<bool> stopping_{false};
    std::vector<BoundedThread> threads_;

    // Read order: guarded by read_mutex_, which also makes the spool's reads one at a time.
    std::mutex read_mutex_;
    std::uint64_t next_ticket_ = 0;
    SpoolPosition last_read_end_;
    // Commit order: ranges stored but waiting for an earlier one, by ticket.
    std::mutex commit_mutex_;
    std::uint64_t next_commit_ = 0;
    std::map<std::uint64_t, SpoolPosition> stored_ranges_;

    std::mutex publish_mutex_;
    std::chrono::steady_clock::time_point published_at_{};  // under publish_mutex_
    bool published_ = false;                               // under publish_mutex_

    mutable std::mutex mutex_;
    std::condition_variable wakeup_;
    DrainStats stats_;
    DrainPrivacy privacy_;  // guarded by mutex_
    std::uint64_t keys_generation_ = 0;  // guarded by mutex_: one more at each set_privacy_keys()
};

}  // namespace mw::store
