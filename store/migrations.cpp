#include "store/migrations.h"

#include <algorithm>
#include <iterator>
#include <string>

#include <fmt/format.h>
#include <pqxx/result>
#include <pqxx/transaction>

#include "core/log.h"

namespace mw::store {
namespace {

// pg_advisory_xact_lock key of schema migration: an arbitrary constant
// ("mwmigrat" in ASCII) that no other modelwatch lock uses.
constexpr long long migration_lock_key = 0x6d776d6967726174;

constexpr std::string_view schema_v1 = R"sql(
-- model and id use the "C" collation in every table: they are opaque
-- identifiers, so byte order is the right order, and it lets the writer's
-- sorts and every (model, id) index compare with memcmp instead of the
-- database locale's strcoll.
--
-- Predictions, partitioned by time so that retention drops whole partitions
-- and window queries touch only the days they read. PostgreSQL requires the
-- partition key in every unique constraint, hence (model, id, ts); the
-- uniqueness of (model, id) alone is kept by prediction_keys below.
-- Partitions predictions_pYYYYMMDD are created by the writer (StoreWriter)
-- for the days present in each write within [now - 400 days, now + 2 days];
-- rows outside that window land in predictions_default.
CREATE TABLE predictions (
    model text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    ts timestamptz NOT NULL,
    model_version text,
    features jsonb NOT NULL,
    prediction_label text,
    prediction_value double precision,
    score double precision,
    attributes jsonb NOT NULL,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (model, id, ts)
) PARTITION BY RANGE (ts);

CREATE TABLE predictions_default PARTITION OF predictions DEFAULT;

-- One row per prediction ever stored: the writer claims (model, id) here
-- first and inserts into predictions only the rows it claimed. PostgreSQL has
-- no unique index across partitions, and checking every partition with
-- NOT EXISTS would cost one index probe per partition and row (hundreds
-- with a year of daily partitions) and would still let two concurrent writes
-- of the same id with different ts both pass; a unique key in one table
-- costs one probe and serialises concurrent claims. Whatever deletes
-- predictions (retention) must delete their keys in the same transaction.
CREATE TABLE prediction_keys (
    model text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    ts timestamptz NOT NULL,
    PRIMARY KEY (model, id)
);

-- Ground truth. The first outcome stored for an id wins (the writer inserts
-- with ON CONFLICT DO NOTHING): a replay of the spool must not change what
-- was stored, and performance windows and label delays already computed
-- from the first outcome must not silently change under them; correcting a
-- label is a deliberate operation, not a side effect of ingest.
CREATE TABLE outcomes (
    model text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    ts timestamptz NOT NULL,
    label text,
    value double precision,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (model, id)
);

-- Predictions with their outcome, whichever arrived first.
-- label_delay_seconds is the time from the prediction to its ground truth
-- reaching us (negative when the outcome was received before the moment of
-- the prediction it labels, e.g. a prediction logged late with its original ts).
CREATE VIEW labelled_predictions AS
SELECT p.model, p.id, p.ts, p.model_version, p.features,
       p.prediction_label, p.prediction_value, p.score, p.attributes,
       p.received_at,
       o.ts AS outcome_ts, o.label, o.value,
       o.received_at AS outcome_received_at,
       extract(epoch FROM o.received_at - p.ts) AS label_delay_seconds
FROM predictions p
JOIN outcomes o ON o.model = p.model AND o.id = p.id;

-- What detectors concluded (core/finding.h), stored as is.
CREATE TABLE findings (
    id bigserial PRIMARY KEY,
    model text NOT NULL,
    kind text NOT NULL,
    subject text NOT NULL DEFAULT '',
    method text NOT NULL,
    statistic double precision NOT NULL,
    threshold double precision NOT NULL,
    p_value double precision,  -- NULL when the method has none
    triggered boolean NOT NULL,
    severity text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    window_start timestamptz NOT NULL,
    window_end timestamptz NOT NULL,
    evidence jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX findings_model_created_at ON findings (model, created_at);
)sql";

constexpr Migration all_migrations[] = {
    {1, "initial_schema", schema_v1},
};

// migrate() finds a migration by version - 1.
constexpr bool versions_are_consecutive() {
    for (std::size_t i = 0; i < std::size(all_migrations); ++i)
        if (all_migrations[i].version != static_cast<int>(i) + 1) return false;
    return true;
}
static_assert(versions_are_consecutive(), "migration versions must be 1, 2, 3, ... in order");

constexpr std::string_view create_migrations_table = R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
))sql";

// Checks what the database recorded against what this binary knows and
// returns the database's version.
int check_recorded(const pqxx::result& recorded) {
    const auto known = migrations();
    int version = 0;
    for (const auto& row : recorded) {
        const int recorded_version = row[0].as<int>();
        const std::string recorded_name = row[1].as<std::string>();
        if (recorded_version > known.back().version)
            throw SchemaMismatchError(fmt::format(
                "the database schema is at version {} ({}), newer than this modelwatch knows (up to {}): "
                "run a modelwatch at least as new as the one that migrated it",
                recorded_version, recorded_name, known.back().version));
        const std::string_view expected_name =
            recorded_version < 1 ? "nothing" : known[static_cast<std::size_t>(recorded_version - 1)].name;
        if (expected_name != recorded_name)
            throw SchemaMismatchError(fmt::format(
                "schema_migrations records version {} as '{}' but this modelwatch knows it as '{}': "
                "the database was migrated by a different build",
                recorded_version, recorded_name, expected_name));
        version = std::max(version, recorded_version);
    }
    return version;
}

}  // namespace

std::span<const Migration> migrations() { return all_migrations; }

int migrate(pqxx::connection_base& connection) {
    int applied = 0;
    for (;;) {
        pqxx::work transaction(connection, "migrate");
        transaction.exec(fmt::format("SELECT pg_advisory_xact_lock({})", migration_lock_key));
        transaction.exec0(std::string(create_migrations_table));
        const int version = check_recorded(transaction.exec("SELECT version, name FROM schema_migrations"));
        if (version == migrations().back().version) {
            transaction.commit();
            return applied;
        }
        const auto& next = migrations()[static_cast<std::size_t>(version)];
        transaction.exec0(std::string(next.sql));
        transaction.exec_params0("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", next.version,
                                 std::string(next.name));
        transaction.commit();
        ++applied;
        log::notice("schema_migrated version={} name={}", next.version, next.name);
    }
}

int schema_version(pqxx::connection_base& connection) {
    pqxx::read_transaction transaction(connection, "schema_version");
    const auto exists = transaction.exec1("SELECT to_regclass('schema_migrations') IS NOT NULL");
    if (!exists[0].as<bool>()) return 0;
    return transaction.exec1("SELECT coalesce(max(version), 0) FROM schema_migrations")[0].as<int>();
}

}  // namespace mw::store
