// Writes spooled batches to PostgreSQL, idempotently: replaying the same
// batches any number of times leaves each record stored exactly once, keyed
// by (model, id).
//
// One write() is one transaction: the COPY rows go into per-connection
// TEMP staging tables, the predictions partitions for the days present are
// created if missing, then each kind is moved into its table keeping only
// records whose (model, id) is not stored yet. Within one write, two rows
// with the same (model, id) keep the one received first (then the earliest
// ts); across writes the stored one wins.
//
// Errors from PostgreSQL propagate as pqxx exceptions (broken_connection,
// sql_error, ...); nothing is committed then, and the caller retries the same
// batches with backoff.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <unordered_set>

#include <pqxx/connection_base>

#include "config/config.h"
#include "store/encoded_batch.h"

namespace mw::store {

// pg_advisory_xact_lock key serialising partition creation (the writer) and
// dropping (retention) between daemons sharing one database ("mwpartit" in
// ASCII): two concurrent CREATE TABLE IF NOT EXISTS of the same name can both
// pass the existence check and one then fails on the catalog's unique index.
inline constexpr long long partition_lock_key = 0x6d77706172746974;

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

private:
    void ensure_staging_tables();

    pqxx::connection_base& connection_;
    std::int64_t partition_seconds_;
    // The backend that holds our TEMP staging tables: should the connection
    // be reopened under us (pqxx 6.4 may reactivate a connection implicitly),
    // the new backend has none and they are created again.
    int staging_backend_pid_ = 0;
    // Start (epoch seconds) of every partition range known to exist or known
    // not to be creatable, so that DDL runs once per partition per process.
    std::unordered_set<std::int64_t> known_partitions_;
    std::string line_buffer_;  // reused for every COPY line, so a write does not allocate per batch
};

}  // namespace mw::store
