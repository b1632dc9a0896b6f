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
-- (Version 4 replaces predictions, prediction_keys and outcomes: see schema_v4.)
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

constexpr std::string_view schema_v2 = R"sql(
-- Windows read one model's predictions in (ts, id) order.
CREATE INDEX predictions_model_ts_id ON predictions (model, ts, id);
CREATE INDEX outcomes_model_received_at ON outcomes (model, received_at);

-- A model's reference: what "normal" means for its detectors. `sample` is the
-- capped sample the detectors fit on (detectors/reference_sample.h: JSON
-- {"columns": [{"name", "numeric", "values"}], "rows"}), so a restart refits
-- exactly the same reference. One active (retired_at IS NULL) per model.
-- A row with rows = 0 is pending: after a promotion the next reference is
-- the first predictions of the new version, collected as they arrive.
CREATE TABLE model_references (
    id bigserial PRIMARY KEY,
    model text COLLATE "C" NOT NULL,
    source text NOT NULL CHECK (source IN ('upload', 'first_n', 'time_range', 'promotion')),
    model_version text,
    rows integer NOT NULL,
    sample jsonb NOT NULL,
    data_start timestamptz,
    data_end timestamptz,
    data_end_id text COLLATE "C",  -- with data_end: the last row's (ts, id); windows start after it
    description text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    retired_at timestamptz
);
CREATE UNIQUE INDEX model_references_one_active ON model_references (model) WHERE retired_at IS NULL;

-- Closed windows of each model. A window covers the predictions after the
-- previous window's last (ts, id) up to and including its own last (ts, id).
-- Drift runs when it closes; performance once enough of its labels arrived
-- (or they stopped coming), so the two have their own timestamps.
CREATE TABLE monitor_windows (
    id bigserial PRIMARY KEY,
    model text COLLATE "C" NOT NULL,
    reference_id bigint REFERENCES model_references (id),
    sequence bigint NOT NULL,
    first_ts timestamptz NOT NULL,
    first_id text COLLATE "C" NOT NULL,
    last_ts timestamptz NOT NULL,
    last_id text COLLATE "C" NOT NULL,
    rows integer NOT NULL,
    closed_at timestamptz NOT NULL DEFAULT now(),
    performance_at timestamptz,
    label_coverage double precision,
    UNIQUE (model, sequence)
);

-- Window metrics that are values rather than verdicts (performance, label
-- coverage and delay, data quality, operational series), for trends and
-- for reference bands.
CREATE TABLE window_metrics (
    window_id bigint NOT NULL REFERENCES monitor_windows (id) ON DELETE CASCADE,
    name text NOT NULL,
    segment text NOT NULL DEFAULT '',
    value double precision,
    estimated boolean NOT NULL DEFAULT false,
    PRIMARY KEY (window_id, name, segment, estimated)
);

ALTER TABLE findings ADD COLUMN window_id bigint REFERENCES monitor_windows (id) ON DELETE SET NULL;
CREATE INDEX findings_triggered ON findings (id) WHERE triggered;
-- Consecutive clean windows of one alert, and the retrain policy's holds.
CREATE INDEX findings_model_kind_subject ON findings (model, kind, subject, id);

-- Progress of each consumer of findings (the alert router, the retrain
-- policy): the highest finding id it has handled, advanced in the same
-- transaction as what it did with them.
CREATE TABLE finding_cursors (
    consumer text PRIMARY KEY,
    last_finding_id bigint NOT NULL DEFAULT 0
);

-- Alerts: one row per fingerprint (model, kind, subject) with its state.
CREATE TABLE alerts (
    fingerprint text PRIMARY KEY,
    model text NOT NULL,
    kind text NOT NULL,
    subject text NOT NULL DEFAULT '',
    severity text NOT NULL,
    state text NOT NULL CHECK (state IN ('firing', 'resolved')),
    finding_id bigint,
    summary text NOT NULL DEFAULT '',
    description text NOT NULL DEFAULT '',
    started_at timestamptz NOT NULL,
    resolved_at timestamptz,
    last_sent_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- The outbox: one delivery per (alert state change or re-send, receiver).
-- Workers claim due rows with FOR UPDATE SKIP LOCKED.
CREATE TABLE alert_deliveries (
    id bigserial PRIMARY KEY,
    fingerprint text NOT NULL REFERENCES alerts (fingerprint),
    receiver text NOT NULL,
    state text NOT NULL CHECK (state IN ('firing', 'resolved')),
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz,
    abandoned_at timestamptz,
    last_error text
);
CREATE INDEX alert_deliveries_due ON alert_deliveries (next_attempt_at)
    WHERE delivered_at IS NULL AND abandoned_at IS NULL;
-- The per-alert ordering check of a claim (no firing after a pending resolved).
CREATE INDEX alert_deliveries_pending_by_alert ON alert_deliveries (fingerprint, receiver, id)
    WHERE delivered_at IS NULL AND abandoned_at IS NULL;

CREATE TABLE silences (
    id bigserial PRIMARY KEY,
    model text,    -- NULL matches every model
    kind text,     -- NULL matches every kind
    subject text,  -- NULL matches every subject
    starts_at timestamptz NOT NULL DEFAULT now(),
    ends_at timestamptz NOT NULL,
    created_by text NOT NULL DEFAULT '',
    comment text NOT NULL DEFAULT '',
    CHECK (ends_at > starts_at)
);

-- Retraining jobs and the queue they wait in (claimed with SKIP LOCKED).
CREATE TABLE retrain_jobs (
    id bigserial PRIMARY KEY,
    model text NOT NULL,
    dedup_key text NOT NULL,
    trigger text NOT NULL,
    reason text NOT NULL,
    finding_id bigint,
    state text NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'timed_out',
                                         'validated', 'promoted', 'rejected', 'rolled_back')),
    champion_version text,
    challenger_version text,
    context jsonb NOT NULL DEFAULT '{}',
    report jsonb,
    output text NOT NULL DEFAULT '',
    claimed_by text,
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    finished_at timestamptz,
    promoted_at timestamptz
);
CREATE UNIQUE INDEX retrain_jobs_one_active_per_key ON retrain_jobs (model, dedup_key)
    WHERE state IN ('queued', 'running');
CREATE INDEX retrain_jobs_queued ON retrain_jobs (created_at) WHERE state = 'queued';

CREATE TABLE retrain_transitions (
    id bigserial PRIMARY KEY,
    job_id bigint NOT NULL REFERENCES retrain_jobs (id),
    from_state text,
    to_state text NOT NULL,
    reason text NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
);

-- Every decision with its reason (job queued or skipped and why, breaker
-- opened, promotion, rollback, reference reset), so "why did this happen at
-- 03:12?" has an answer.
CREATE TABLE decisions (
    id bigserial PRIMARY KEY,
    model text NOT NULL,
    kind text NOT NULL,
    reason text NOT NULL,
    finding_id bigint,
    job_id bigint,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX decisions_model_at ON decisions (model, at);

-- Fairness audits: every run with its inputs, definitions, results, verdicts.
CREATE TABLE audits (
    id bigserial PRIMARY KEY,
    model text NOT NULL,
    audit text NOT NULL,
    trigger text NOT NULL CHECK (trigger IN ('schedule', 'manual')),
    scheduled_for timestamptz,
    state text NOT NULL CHECK (state IN ('running', 'passed', 'failed', 'error')),
    data_start timestamptz NOT NULL,
    data_end timestamptz NOT NULL,
    rows bigint,
    result jsonb,
    reports jsonb,
    error text,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
CREATE INDEX audits_model_audit_started ON audits (model, audit, started_at);
-- At most one running audit per (model, audit), whichever daemon runs it.
CREATE UNIQUE INDEX audits_one_running ON audits (model, audit) WHERE state = 'running';

-- The last schedule slot each audit ran for, so a restart catches up once.
CREATE TABLE audit_schedules (
    model text NOT NULL,
    audit text NOT NULL,
    last_slot timestamptz NOT NULL,
    PRIMARY KEY (model, audit)
);
)sql";

// Records rejected at ingest, counted per second, so a window's rejected
// share can be taken over the seconds its rows were received in.
constexpr std::string_view schema_v3 = R"sql(
CREATE TABLE rejection_counts (
    model text COLLATE "C" NOT NULL,
    second timestamptz NOT NULL,
    kind text NOT NULL CHECK (kind IN ('prediction', 'outcome')),
    reason text NOT NULL,
    count bigint NOT NULL CHECK (count > 0),
    PRIMARY KEY (model, second, kind, reason)
);
)sql";

// Version 4: exactly-once by (model, id) within a stated horizon, so that
// the per-row cost of uniqueness is one unique index (like a plain COPY into
// a table with a primary key) and retention drops whole partitions of
// everything raw (docs/retention.md, "Exactly once, within a horizon").
//
// - predictions and outcomes are partitioned by day of received_at: the
//   moment the daemon acknowledged the record, written into its spooled COPY
//   row at ingest (store/copy_encoding.h), so a replay after a crash carries
//   the same received_at and lands in the same partition. Every partition
//   has its own PRIMARY KEY (model, id) (the writer declares it when it
//   creates the partition; PostgreSQL cannot have one across partitions), so
//   two arrivals of one id on the same day are stored once, whatever their
//   ts, and a concurrent second writer of that id waits on the index and
//   then skips it.
// - A retry that crosses midnight lands in another day's partition. Records
//   received within boundary_window_seconds (store/store_writer.h, 1 hour)
//   of a partition boundary also claim (model, id) in a partition of
//   <kind>_boundary_keys that covers [boundary - 1 h, boundary + 1 h), so two
//   arrivals less than an hour apart always meet in one unique index: the
//   day's or the boundary's. Only about 1/12 of the rows pay that second
//   claim, instead of every row paying prediction_keys' global one.
// - prediction_keys is gone: its global uniqueness cost an index insert,
//   a heap row and their WAL for every prediction, and retention had to
//   DELETE it row by row.
// - Window queries still read predictions by (model, ts, id) through that
//   index on every partition (all partitions are scanned, no pruning by ts);
//   outcomes join by (model, id) through each partition's primary key.
//
// Existing rows are moved into the new tables: the partitions of the days
// they were received in (one day wide: store_writer.h's partition_seconds,
// which no setting changes, so every daemon and this upgrade agree) within
// the writer's creation window,
// the rest into the default partitions. The boundary claims of moved rows
// near the last boundaries are made too, so a retry just after the upgrade
// is still recognised.
constexpr std::string_view schema_v4 = R"sql(
-- Before anything is read: a daemon of the previous build still draining
-- into these tables would otherwise commit rows after the copies below were
-- taken (each statement has its own snapshot in READ COMMITTED) and before
-- DROP TABLE got its lock, and those acknowledged rows would be dropped.
-- The migration lock serialises migrations only, not writers.
LOCK TABLE predictions, prediction_keys, outcomes IN ACCESS EXCLUSIVE MODE;
CREATE TEMP TABLE upgrade_predictions ON COMMIT DROP AS SELECT * FROM predictions;
CREATE TEMP TABLE upgrade_outcomes ON COMMIT DROP AS SELECT * FROM outcomes;
DROP VIEW labelled_predictions;
DROP TABLE predictions, prediction_keys, outcomes;

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
    received_at timestamptz NOT NULL
) PARTITION BY RANGE (received_at);
CREATE TABLE predictions_default PARTITION OF predictions (PRIMARY KEY (model, id)) DEFAULT;
CREATE INDEX predictions_model_ts_id ON predictions (model, ts, id);

CREATE TABLE outcomes (
    model text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    ts timestamptz NOT NULL,
    label text,
    value double precision,
    received_at timestamptz NOT NULL
) PARTITION BY RANGE (received_at);
CREATE TABLE outcomes_default PARTITION OF outcomes (PRIMARY KEY (model, id)) DEFAULT;
CREATE INDEX outcomes_model_received_at ON outcomes (model, received_at);

-- Claims of records received within an hour of a partition boundary; no
-- default partition: the writer only sends rows whose boundary partition
-- it created.
CREATE TABLE prediction_boundary_keys (
    model text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    received_at timestamptz NOT NULL
) PARTITION BY RANGE (received_at);
CREATE TABLE outcome_boundary_keys (
    model text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    received_at timestamptz NOT NULL
) PARTITION BY RANGE (received_at);

DO $upgrade$
DECLARE
    kind record;
    day timestamptz;
BEGIN
    FOR kind IN SELECT * FROM (VALUES ('predictions', 'upgrade_predictions', 'prediction_boundary'),
                                      ('outcomes', 'upgrade_outcomes', 'outcome_boundary')) k(parent, source, boundary)
    LOOP
        FOR day IN EXECUTE format(
            'SELECT DISTINCT date_bin(interval ''1 day'', received_at, timestamptz ''1970-01-01 00:00:00+00'') d '
            'FROM %I WHERE received_at >= now() - interval ''400 days'' AND received_at < now() + interval ''2 days'' '
            'ORDER BY d', kind.source)
        LOOP
            EXECUTE format('CREATE TABLE %I PARTITION OF %I (PRIMARY KEY (model, id)) FOR VALUES FROM (%L) TO (%L)',
                           kind.parent || '_p' || to_char(day AT TIME ZONE 'UTC', 'YYYYMMDD'), kind.parent,
                           to_char(day AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS+00'),
                           to_char((day + interval '1 day') AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS+00'));
        END LOOP;
        EXECUTE format('INSERT INTO %I SELECT * FROM %I', kind.parent, kind.source);
        -- The boundary claims of the last two days' boundaries: retries of
        -- older records than that are not expected any more.
        FOR day IN SELECT generate_series(date_bin(interval '1 day', now(), timestamptz '1970-01-01 00:00:00+00')
                                              - interval '1 day',
                                          date_bin(interval '1 day', now(), timestamptz '1970-01-01 00:00:00+00'),
                                          interval '1 day')
        LOOP
            EXECUTE format('CREATE TABLE %I PARTITION OF %I (PRIMARY KEY (model, id)) FOR VALUES FROM (%L) TO (%L)',
                           kind.boundary || '_p' || to_char(day AT TIME ZONE 'UTC', 'YYYYMMDD'),
                           kind.boundary || '_keys',
                           to_char((day - interval '1 hour') AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS+00'),
                           to_char((day + interval '1 hour') AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS+00'));
            EXECUTE format('INSERT INTO %I SELECT DISTINCT ON (model, id) model, id, received_at FROM %I '
                           'WHERE received_at >= %L::timestamptz - interval ''1 hour'' '
                           'AND received_at < %L::timestamptz + interval ''1 hour'' ORDER BY model, id, received_at',
                           kind.boundary || '_keys', kind.source, day, day);
        END LOOP;
    END LOOP;
END
$upgrade$;

-- As in version 1, each (model, id) once: uniqueness holds only within the
-- horizon, so an id stored twice (arrivals days apart) is read as its first
-- received prediction, and an id labelled on several days as its first
-- received outcome ("the first outcome stored wins", as before version 4).
-- store/monitor_store.cpp's window reads apply the same rule.
CREATE VIEW labelled_predictions AS
SELECT p.model, p.id, p.ts, p.model_version, p.features,
       p.prediction_label, p.prediction_value, p.score, p.attributes,
       p.received_at,
       o.ts AS outcome_ts, o.label, o.value,
       o.received_at AS outcome_received_at,
       extract(epoch FROM o.received_at - p.ts) AS label_delay_seconds
FROM predictions p
JOIN LATERAL (SELECT o.ts, o.label, o.value, o.received_at FROM outcomes o
              WHERE o.model = p.model AND o.id = p.id ORDER BY o.received_at LIMIT 1) o ON true
WHERE NOT EXISTS (SELECT 1 FROM predictions q
                  WHERE q.model = p.model AND q.id = p.id AND q.received_at < p.received_at);
)sql";

// Several daemons on one database (docs/scaling.md, store/leases.h): each
// daemon's heartbeat, each model's lease (the only daemon that may close its
// windows, run its detectors and audits), the lease a window was written
// under, and the detector state a successor resumes from. Expiry is always
// compared with the database's clock, never a daemon's.
constexpr std::string_view schema_v5 = R"sql(
CREATE TABLE daemons (
    id text PRIMARY KEY,
    started_at timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL
);

-- One row per model ever configured. A lease is held while expires_at is in
-- the future; every new holder (a takeover, or the same daemon after its own
-- lease lapsed) increments epoch, so a write carrying an older epoch is refused.
CREATE TABLE model_leases (
    model text COLLATE "C" PRIMARY KEY,
    owner text,
    epoch bigint NOT NULL DEFAULT 0,
    acquired_at timestamptz,
    expires_at timestamptz NOT NULL
);

ALTER TABLE monitor_windows ADD COLUMN lease_owner text, ADD COLUMN lease_epoch bigint;

-- The detectors' state after the model's last write (a window closed or
-- judged), written in the same transaction, against the reference it was
-- fitted on: the daemon that owns the model next resumes from it.
CREATE TABLE monitor_checkpoints (
    model text COLLATE "C" PRIMARY KEY,
    reference_id bigint NOT NULL,
    state jsonb NOT NULL,
    lease_owner text,
    lease_epoch bigint,
    saved_at timestamptz NOT NULL DEFAULT now()
);
)sql";

// Reads of labelled predictions without a lookup in every day partition:
// copies of a record (a replay days later; same ts and id) are dropped by
// DISTINCT ON instead of probing every earlier predictions partition, and the
// outcome is looked for only among outcomes received at most a day before the
// prediction's ts, which PostgreSQL prunes to those partitions at run time.
// store/monitor_store.cpp's window reads apply the same rules (and say why);
// bench/window_read_bench.py measures both.
constexpr std::string_view schema_v6 = R"sql(
CREATE OR REPLACE VIEW labelled_predictions AS
SELECT p.model, p.id, p.ts, p.model_version, p.features,
       p.prediction_label, p.prediction_value, p.score, p.attributes,
       p.received_at,
       o.ts AS outcome_ts, o.label, o.value,
       o.received_at AS outcome_received_at,
       extract(epoch FROM o.received_at - p.ts) AS label_delay_seconds
FROM (SELECT DISTINCT ON (model, ts, id) * FROM predictions ORDER BY model, ts, id, received_at) p
JOIN LATERAL (SELECT o.ts, o.label, o.value, o.received_at FROM outcomes o
              WHERE o.model = p.model AND o.id = p.id AND o.received_at >= p.ts - interval '1 day'
              ORDER BY (o.received_at, o.id) LIMIT 1) o ON true;
)sql";

// A scheduled audit is its model's owner's work (docs/scaling.md): the run
// records the lease it was begun under, and its finish is refused once that
// lease is gone. Manual runs (the daemon asked) have none.
constexpr std::string_view schema_v7 = R"sql(
ALTER TABLE audits ADD COLUMN lease_owner text, ADD COLUMN lease_epoch bigint;
)sql";

// Which privacy policy and key records were accepted under
// (collectors/privacy.h, privacy_fingerprint; docs/privacy.md): a reference
// records the fingerprint it was captured or uploaded under (NULL: before
// fingerprints were recorded), and model_privacy the fingerprint a daemon
// last ran the model under and since when; a reference under another one is
// not used, and a new one is taken only from rows received since.
constexpr std::string_view schema_v8 = R"sql(
ALTER TABLE model_references ADD COLUMN privacy_fingerprint text;
CREATE TABLE model_privacy (
    model text COLLATE "C" PRIMARY KEY,
    fingerprint text NOT NULL,
    since timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
)sql";

// Alerts are their model's owner's work (docs/scaling.md): each finding is
// routed once, by the owner of its model under its lease, instead of under
// one cursor over all findings (alert_routed: findings routed before this
// version read true, later ones start false); alert states and deliveries
// record the lease they were decided under, and a delivery the lease it was
// claimed under, so that a claim is sent by one lease only.
constexpr std::string_view schema_v9 = R"sql(
ALTER TABLE findings ADD COLUMN alert_routed boolean NOT NULL DEFAULT true;
ALTER TABLE findings ALTER COLUMN alert_routed SET DEFAULT false;
UPDATE findings SET alert_routed = false
    WHERE id > coalesce((SELECT last_finding_id FROM finding_cursors WHERE consumer = 'alert_router'), 0);
DELETE FROM finding_cursors WHERE consumer = 'alert_router';
CREATE INDEX findings_unrouted ON findings (model, id) WHERE NOT alert_routed;

ALTER TABLE alerts ADD COLUMN lease_owner text, ADD COLUMN lease_epoch bigint;
ALTER TABLE alert_deliveries ADD COLUMN lease_owner text, ADD COLUMN lease_epoch bigint,
    ADD COLUMN claimed_by text, ADD COLUMN claim_epoch bigint;
)sql";

// The HMAC key each model's values are hashed under (store/privacy_keys.h):
// its id (core/privacy_key.h, never the key), recorded by the first daemon
// that writes the model and checked by every other before it writes; NULL
// until a daemon with a key claims the model.
constexpr std::string_view schema_v10 = R"sql(
ALTER TABLE model_privacy ADD COLUMN key_id text, ADD COLUMN key_recorded_at timestamptz;
)sql";

// Each writer's watermark (store/watermarks.h): every record the daemon
// `writer` received before stored_before (its spool's receipts, the rows'
// received_at) is stored. published_at is the database's clock: a writer
// whose daemon stopped heartbeating and that stopped publishing stops
// counting after cluster.lease, as a lease.
constexpr std::string_view schema_v11 = R"sql(
CREATE TABLE store_watermarks (
    writer text PRIMARY KEY,
    stored_before timestamptz NOT NULL,
    published_at timestamptz NOT NULL
);
)sql";

// The findings whose root-cause ranking is pending (daemon/performance_causes.h,
// store::pending_root_causes), by model in id order: a handful at any time,
// where the model's performance findings, which the ranking worker read
// through otherwise on every request, grow by several per window. The
// predicate is the query's own clause, so the planner can use it.
constexpr std::string_view schema_v12 = R"sql(
CREATE INDEX findings_root_cause_pending ON findings (model, id) WHERE evidence->'root_cause' ? 'pending';
)sql";

// Profile-only models (store_raw: false, docs/privacy.md): their feature
// values are never stored; the writer folds each new prediction's features
// into profiles (stats/feature_profile.h, ProfileSet) in the transaction that
// stores the prediction, one chunk per write, model version and time bucket
// (the model's window length, so a window is the merge of its bucket's
// chunks). A chunk exists exactly when its rows were stored: a replayed
// spool range stores no row again and so writes no chunk. A reference keeps
// the merge of its chunks (reference_profiles), so retention may drop chunks.
constexpr std::string_view schema_v13 = R"sql(
CREATE TABLE profile_chunks (
    id bigserial PRIMARY KEY,
    model text COLLATE "C" NOT NULL,
    model_version text NOT NULL,
    bucket_start timestamptz NOT NULL,
    bucket_end timestamptz NOT NULL,
    received_from timestamptz NOT NULL,
    rows bigint NOT NULL CHECK (rows > 0),
    profiles bytea NOT NULL
);
CREATE INDEX profile_chunks_bucket ON profile_chunks (model, bucket_start);
CREATE INDEX profile_chunks_age ON profile_chunks (bucket_end);

CREATE TABLE reference_profiles (
    reference_id bigint PRIMARY KEY REFERENCES model_references (id) ON DELETE CASCADE,
    rows bigint NOT NULL,
    profiles bytea NOT NULL
);
)sql";

// The keys a model's values were hashed under before its running one
// (store/privacy_keys.h): a declared rotation moves the replaced key id
// here. The drain stores a spooled batch only when the key it was hashed
// under is the model's recorded key or one of these (a batch acknowledged
// under the old key before the rotation), and quarantines one hashed under
// a key never recorded for the model (docs/privacy.md, "Spooled records and
// their key").
constexpr std::string_view schema_v14 = R"sql(
ALTER TABLE model_privacy ADD COLUMN retired_key_ids text[] NOT NULL DEFAULT '{}';
)sql";

// retrain.rebase_on_rejection (docs/retraining.md): after the gate rejects a
// challenger, the served model's reference value of the gate's metric (the
// base of performance.thresholds[].max_drop) is the champion's figure the job
// measured on the newest labelled rows. Kept with the reference, so a
// restarted daemon judges against the same value, and gone with it: a
// promotion or rollback starts a new reference. No foreign key to the job:
// retention may delete jobs long before the reference is retired.
constexpr std::string_view schema_v15 = R"sql(
ALTER TABLE model_references
    ADD COLUMN rebased_metric text,
    ADD COLUMN rebased_value double precision,
    ADD COLUMN rebased_job_id bigint,
    ADD CONSTRAINT model_references_rebased_whole
        CHECK ((rebased_metric IS NULL) = (rebased_value IS NULL) AND (rebased_value IS NULL) = (rebased_job_id IS NULL));
)sql";

// The models each daemon's configuration names, recorded with its
// heartbeat (store/leases.h): a model that no live daemon names is removed
// from the configuration everywhere, and its findings' pending root-cause
// rankings are answered (store::answer_unconfigured_root_causes). NULL for a
// daemon of a build before this migration: it may configure any model.
constexpr std::string_view schema_v16 = R"sql(
ALTER TABLE daemons ADD COLUMN models text[];
)sql";

constexpr Migration all_migrations[] = {
    {1, "initial_schema", schema_v1},
    {2, "monitoring_alerts_retraining_audits", schema_v2},
    {3, "operational_series", schema_v3},
    {4, "partitions_by_arrival_day", schema_v4},
    {5, "model_leases", schema_v5},
    {6, "labelled_reads_without_probes", schema_v6},
    {7, "fenced_audits", schema_v7},
    {8, "privacy_fingerprints", schema_v8},
    {9, "fenced_alerts", schema_v9},
    {10, "privacy_key_ids", schema_v10},
    {11, "store_watermarks", schema_v11},
    {12, "pending_root_cause_index", schema_v12},
    {13, "feature_profiles", schema_v13},
    {14, "retired_privacy_key_ids", schema_v14},
    {15, "reference_rebase", schema_v15},
    {16, "daemon_models", schema_v16},
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
