// Writes spooled batches to PostgreSQL, idempotently: replaying the same
// batches any number of times leaves each record stored exactly once, keyed
// by (model, id) within the dedup horizon (store/migrations.cpp, version 4;
// docs/retention.md): two arrivals of one (model, id) are stored once when
// they were received in the same partition (UTC day by default) or less than
// boundary_window_seconds apart. A replay carries the received_at of its
// first acknowledgement, so it always meets the stored row.
//
// One write() is one transaction. Per kind, the common case (no id stored
// before, none repeated) COPYs the spooled rows straight into the table,
// which routes them to the partition of their received_at day, whose
// primary key (model, id) refuses a duplicate; the rows received near a
// partition boundary are first claimed by a COPY into the boundary keys. A
// duplicate (a replay after a crash, a client retry) rolls that back to its
// savepoint and the rows go through TEMP staging tables instead, which keep,
// per (model, id) and day, the one received first (then the earliest ts);
// across writes the stored one wins.
//
// Errors from PostgreSQL propagate as pqxx exceptions (broken_connection,
// sql_error, ...); nothing is committed then, and the caller retries the same
// batches with backoff. A row whose received_at is not a timestamp (a
// corrupt frame) is a pqxx::data_exception, like PostgreSQL's own refusal.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <unordered_map>

#include <pqxx/connection_base>

#include "config/config.h"
#include "store/encoded_batch.h"
#include "store/profile_writer.h"

namespace mw::store {

// pg_advisory_xact_lock key serialising partition creation (the writer) and
// dropping (retention) between daemons sharing one database ("mwpartit" in
// ASCII): two concurrent CREATE TABLE IF NOT EXISTS of the same name can both
// pass the existence check and one then fails on the catalog's unique index.
inline constexpr long long partition_lock_key = 0x6d77706172746974;

// Records received within this many seconds of a partition boundary also
// claim their (model, id) in the boundary's partition of
// <kind>_boundary_keys, so two arrivals less than this apart on either side
// of midnight are stored once. Client retries and redeliveries come within
// seconds to minutes; one hour costs a second claim for 1/12 of the rows at
// a uniform rate. Migration 4 created boundary partitions of this width:
// changing it needs a migration.
inline constexpr std::int64_t boundary_window_seconds = 3600;

// Predictions and outcomes are partitioned by the UTC day they were received:
// migration 4 created day partitions, their names are days
// (<table>_pYYYYMMDD), and the day is the horizon of exactly-once by id, so
// every daemon on one database must agree on it. It is therefore no setting
// (store.partition_days accepts only 1); changing it needs a migration.
inline constexpr std::int64_t partition_seconds = 86400;

struct WriteResult {
    std::uint64_t predictions_received = 0;
    std::uint64_t predictions_inserted = 0;  // received - inserted were already stored (or repeated)
    std::uint64_t outcomes_received = 0;
    std::uint64_t outcomes_inserted = 0;
};

class StoreWriter {
public:
    // The connection must stay open for the writer's lifetime and be used by
    // nothing else while write() runs. Its schema must be migrated.
    StoreWriter(pqxx::connection_base& connection, const config::StoreOptions& options);

    WriteResult write(std::span<const EncodedBatch> batches);
    // The profile-only models (store/profile_writer.h) the next writes strip
    // and profile; none: every row is stored as it is.
    void set_profile_plan(std::shared_ptr<const ProfilePlan> plan) { plan_ = std::move(plan); }

private:
    void ensure_staging_tables();

    pqxx::connection_base& connection_;
    // The backend that holds our TEMP staging tables: should the connection
    // be reopened under us (pqxx 6.4 may reactivate a connection implicitly),
    // the new backend has none and they are created again.
    int staging_backend_pid_ = 0;
    // Every partition (of the records' tables and of the boundary keys)
    // known to exist (true) or known not to be creatable (false), so that
    // DDL runs once per partition per process.
    std::unordered_map<std::string, bool> known_partitions_;
    std::shared_ptr<const ProfilePlan> plan_;
    // (model, attribute) whose segment profiles overflowed, logged once each.
    std::set<std::pair<std::string, std::string>> overflow_logged_;
    std::string copy_buffer_;  // COPY data on its way to libpq, reused by every write (a chunk, not a write)
};

}  // namespace mw::store
