#!/usr/bin/python3
"""Disk used by stored predictions, for sizing retention (docs/retention.md).

Starts a throwaway PostgreSQL (scripts/pg-throwaway.sh), applies the store's
migrations with the built `modelwatch migrate`, and stores N predictions of
10 features (8 numeric, 2 categorical, a 36-character id, a class label, a
score and one attribute) received over one day, in that day's partition with
its primary key (model, id) and, for half of them, an outcome in the
outcomes' partition of that day, as the writer stores them
(store/store_writer.cpp; the boundary claims of the rows received within an
hour of midnight, 1/12 of a day's keys, are left out). It then reports the bytes per million
predictions (table, TOAST and indexes, after VACUUM) and the steady-state size
at the default retention for a given rate: a day partition is dropped once
its whole day is older than retention.predictions, so up to
(retention days + 1) days of predictions are on disk.

  MODELWATCH_BUILD_DIR=build python3 bench/retention_disk_bench.py [--rows 1000000] [--rate 100]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "integration"))
import harness  # noqa: E402

INSERT = """
INSERT INTO predictions (model, id, ts, model_version, features, prediction_label, score, attributes, received_at)
SELECT 'credit', gen_random_uuid()::text, timestamptz '2026-12-01' + (g * interval '1 second') / %(per_second)s,
       'v1',
       jsonb_build_object('f0', random(), 'f1', random() * 1000, 'f2', random() * 1e6, 'f3', round(random() * 100),
                          'f4', random(), 'f5', random() * 10, 'f6', random() - 0.5, 'f7', round(random() * 5000),
                          'c0', (ARRAY['web', 'shop', 'phone', 'partner'])[1 + g %% 4],
                          'c1', 'region-' || (g %% 37)),
       CASE WHEN random() < 0.3 THEN 'default' ELSE 'paid' END, random(),
       jsonb_build_object('segment', 'band-' || (g %% 5)),
       timestamptz '2026-12-01' + (g * interval '1 second') / %(per_second)s
FROM generate_series(%(start)s, %(end)s - 1) g
"""

SIZE = """
SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)
FROM pg_class c WHERE c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = %(parent)s::regclass)
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=100.0, help="predictions per second for the steady state")
    parser.add_argument("--retention-days", type=int, default=14, help="retention.predictions (default 14d)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="mw-disk-bench-") as directory:
        os.chmod(directory, 0o755)  # the cluster runs as postgres when we are root
        postgres = harness.Postgres(os.path.join(directory, "pg")).start()
        try:
            subprocess.run([harness.CLI, "migrate", "--dsn", postgres.dsn], check=True, capture_output=True)
            for table in ("predictions", "outcomes"):
                postgres.query(f"CREATE TABLE {table}_p20261201 PARTITION OF {table} (PRIMARY KEY (model, id)) "
                               "FOR VALUES FROM ('2026-12-01') TO ('2026-12-02')")
            started = time.time()
            chunk = 100_000
            per_second = max(1, args.rows // 86400 + 1)
            for start in range(0, args.rows, chunk):
                end = min(args.rows, start + chunk)
                postgres.query(INSERT, {"start": start, "end": end, "per_second": per_second})
            postgres.query("INSERT INTO outcomes (model, id, ts, label, received_at) "
                           "SELECT model, id, ts + interval '1 hour', 'paid', least(ts + interval '1 hour', "
                           "timestamptz '2026-12-01 23:59:59+00') FROM predictions WHERE score < 0.5")
            outcomes = postgres.scalar("SELECT count(*) FROM outcomes")
            conn = harness.psycopg2.connect(postgres.dsn)
            conn.autocommit = True  # VACUUM runs outside a transaction
            conn.cursor().execute("VACUUM ANALYZE")
            conn.close()
            predictions_bytes = float(postgres.scalar(SIZE, {"parent": "predictions"}))
            outcomes_bytes = float(postgres.scalar(SIZE, {"parent": "outcomes"}))
            elapsed = time.time() - started
        finally:
            postgres.stop()

    per_million = predictions_bytes / args.rows * 1e6
    outcome_per_million = outcomes_bytes / outcomes * 1e6 if outcomes else 0
    days = args.retention_days + 1
    steady_rows = args.rate * 86400 * days
    # Every prediction labelled: the worst case for outcomes.
    steady_bytes = steady_rows / 1e6 * (per_million + outcome_per_million)
    print(f"rows={args.rows} outcomes={outcomes} loaded_in_s={elapsed:.1f}")
    print(f"prediction bytes per million predictions: {per_million / 2**30:.2f} GiB")
    print(f"outcome bytes per million outcomes: {outcome_per_million / 2**30:.2f} GiB")
    print(f"steady state at {args.rate:g}/s, retention {args.retention_days}d (up to {days} days on disk, "
          f"{steady_rows / 1e6:.0f}M predictions, each with an outcome): {steady_bytes / 2**30:.0f} GiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
