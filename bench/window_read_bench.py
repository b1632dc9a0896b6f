#!/usr/bin/python3
"""What a window read costs as day partitions accumulate (docs/retention.md).

Predictions and outcomes are partitioned by the day they were received, and
an outcome is joined to its prediction by (model, id), which says nothing
about either's day: the window query (store/monitor_store.cpp,
`window_rows_from` and `read_window_rows`, copied below) probes the primary
key of every outcomes partition, and every earlier predictions partition for
the "first received copy" check, once per window row. This bench measures
that cost for 16 (the default 14-day retention), 90 and 400 day partitions:
the read as the daemon does it, the read as it was before this bench (every
partition probed per row), and the anchor: the same rows and the same read on
unpartitioned tables with the same primary keys (the schema before
migration 4).

Starts a throwaway PostgreSQL (scripts/pg-throwaway.sh through the tests'
harness), applies the store's migrations with the built `modelwatch migrate`,
stores --per-day predictions per day partition, each with an outcome received
an hour later, and times a --window-rows window read of the newest days
(median of 5 runs after one warm-up; the read as it was before, once, cut off
at 60 s), printing PostgreSQL's shared buffer hits
per window row from EXPLAIN (ANALYZE, BUFFERS).

  MODELWATCH_BUILD_DIR=build python3 bench/window_read_bench.py [--partitions 16,90,400]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "integration"))
import harness  # noqa: E402

# store/monitor_store.cpp's read_window_rows (window_rows_query), with its
# parameters inlined.
WINDOW_QUERY = """
SELECT p.id, p.ts, p.features::text, p.prediction_label, p.score, o.label, o.received_at
FROM (SELECT DISTINCT ON (p.ts, p.id) * FROM {predictions} p
      WHERE p.model = 'credit' AND (p.ts, p.id) >= (%(first_ts)s, %(first_id)s::text COLLATE "C")
        AND (p.ts, p.id) <= (%(last_ts)s, %(last_id)s::text COLLATE "C")
      ORDER BY p.ts, p.id, p.received_at) p
LEFT JOIN LATERAL (SELECT o.label, o.value, o.received_at FROM {outcomes} o
  WHERE o.model = p.model AND o.id = p.id AND o.received_at >= p.ts - interval '1 day'
  ORDER BY (o.received_at, o.id) LIMIT 1) o ON true
ORDER BY p.ts, p.id
"""

# The same read before bench/window_read_bench.py was written: every earlier
# predictions partition probed for a first received copy, every outcomes
# partition for the outcome.
PROBING_QUERY = """
SELECT p.id, p.ts, p.features::text, p.prediction_label, p.score, o.label, o.received_at
FROM {predictions} p LEFT JOIN LATERAL (SELECT o.label, o.value, o.received_at FROM {outcomes} o
  WHERE o.model = p.model AND o.id = p.id ORDER BY o.received_at LIMIT 1) o ON true
WHERE NOT EXISTS (SELECT 1 FROM {predictions} q WHERE q.model = p.model AND q.id = p.id
  AND q.received_at < p.received_at)
  AND p.model = 'credit' AND (p.ts, p.id) >= (%(first_ts)s, %(first_id)s::text COLLATE "C")
  AND (p.ts, p.id) <= (%(last_ts)s, %(last_id)s::text COLLATE "C")
ORDER BY p.ts, p.id
"""

FILL = """
INSERT INTO {predictions} (model, id, ts, model_version, features, prediction_label, score, attributes, received_at)
SELECT 'credit', 'r' || lpad(g::text, 9, '0'), timestamptz '2025-01-01' + g * %(step)s * interval '1 second', 'v1',
       jsonb_build_object('f0', random(), 'f1', random() * 1000, 'c0', (ARRAY['web', 'shop', 'phone'])[1 + g %% 3]),
       CASE WHEN random() < 0.3 THEN 'default' ELSE 'paid' END, random(), '{{}}'::jsonb,
       timestamptz '2025-01-01' + g * %(step)s * interval '1 second'
FROM generate_series(0, %(rows)s - 1) g;
INSERT INTO {outcomes} (model, id, ts, label, received_at)
SELECT model, id, ts, CASE WHEN random() < 0.3 THEN 'default' ELSE 'paid' END, received_at + interval '1 hour'
FROM {predictions};
"""


def measure(postgres, query, predictions, outcomes, window, runs=5, timeout_s=None):
    """Rows read, median seconds of `runs` reads after a warm-up, and shared
    buffers touched per read; None for the times past timeout_s."""
    query = query.format(predictions=predictions, outcomes=outcomes)
    conn = harness.psycopg2.connect(postgres.dsn)
    cursor = conn.cursor()
    if timeout_s:
        cursor.execute(f"SET statement_timeout = '{timeout_s}s'")
    times = []
    try:
        for attempt in range(runs + 1):
            started = time.perf_counter()
            cursor.execute(query, window)
            rows = len(cursor.fetchall())
            if attempt > 0 or runs == 0:
                times.append(time.perf_counter() - started)
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + query, window)
        plan = cursor.fetchone()[0][0]["Plan"]
    except harness.psycopg2.errors.QueryCanceled:
        return None, None, None
    finally:
        conn.close()
    return rows, statistics.median(times), plan["Shared Hit Blocks"] + plan.get("Shared Read Blocks", 0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--partitions", default="16,90,400", help="numbers of day partitions, comma separated")
    parser.add_argument("--per-day", type=int, default=2500, help="predictions received per day")
    parser.add_argument("--window-rows", type=int, default=5000)
    args = parser.parse_args()
    step = 86400 / args.per_day

    print(f"{'partitions':>10} {'rows':>9} {'window':>6} | {'read ms':>8} {'buffers/row':>11} | "
          f"{'probing ms':>10} {'buffers/row':>11} | {'anchor ms':>9} {'buffers/row':>11} | {'read/anchor':>11}")
    for days in (int(d) for d in args.partitions.split(",")):
        with tempfile.TemporaryDirectory(prefix="mw-window-bench-") as directory:
            os.chmod(directory, 0o755)  # the cluster runs as postgres when we are root
            postgres = harness.Postgres(os.path.join(directory, "pg")).start()
            try:
                subprocess.run([harness.CLI, "migrate", "--dsn", postgres.dsn], check=True, capture_output=True)
                # One more outcomes day: the newest predictions' outcomes arrive the next day.
                for table, count in (("predictions", days), ("outcomes", days + 1)):
                    postgres.query(
                        "DO $$ BEGIN FOR d IN 0.." + str(count - 1) + " LOOP EXECUTE format("
                        "'CREATE TABLE %I PARTITION OF " + table + " (PRIMARY KEY (model, id)) "
                        "FOR VALUES FROM (%L) TO (%L)', '" + table + "_p' || to_char(date '2025-01-01' + d, 'YYYYMMDD'), "
                        "date '2025-01-01' + d, date '2025-01-01' + d + 1); END LOOP; END $$")
                postgres.query("CREATE TABLE flat_predictions (LIKE predictions INCLUDING ALL, PRIMARY KEY (model, id))")
                postgres.query("CREATE INDEX ON flat_predictions (model, ts, id)")
                postgres.query("CREATE TABLE flat_outcomes (LIKE outcomes INCLUDING ALL, PRIMARY KEY (model, id))")
                rows = days * args.per_day
                for predictions, outcomes in (("predictions", "outcomes"), ("flat_predictions", "flat_outcomes")):
                    postgres.query(FILL.format(predictions=predictions, outcomes=outcomes),
                                   {"rows": rows, "step": step})
                conn = harness.psycopg2.connect(postgres.dsn)
                conn.autocommit = True  # VACUUM runs outside a transaction
                conn.cursor().execute("VACUUM ANALYZE")
                # As the daemon's sessions (store/database.cpp): LLVM compilation
                # would cost more than these reads.
                conn.cursor().execute("ALTER DATABASE modelwatch SET jit = off")
                conn.close()
                # The newest window-rows predictions, as the monitor reads a closed window.
                first = rows - args.window_rows
                window = {"first_ts": f"2025-01-01 00:00:00+00", "last_ts": "2100-01-01 00:00:00+00",
                          "first_id": "", "last_id": ""}
                edge = postgres.query("SELECT ts, id FROM flat_predictions ORDER BY ts, id OFFSET %(first)s LIMIT 1",
                                      {"first": first})
                window["first_ts"], window["first_id"] = str(edge[0][0]), edge[0][1]
                window["last_id"] = "~"
                got, read_s, read_buffers = measure(postgres, WINDOW_QUERY, "predictions", "outcomes", window)
                # Once, and cut off: at 90 partitions it takes minutes.
                got_probing, probing_s, probing_buffers = measure(postgres, PROBING_QUERY, "predictions",
                                                                  "outcomes", window, runs=0, timeout_s=60)
                got_flat, flat_s, flat_buffers = measure(postgres, WINDOW_QUERY, "flat_predictions",
                                                         "flat_outcomes", window)
                assert got == got_flat == args.window_rows and got_probing in (None, got), (got, got_probing, got_flat)
                probing = (f"{probing_s * 1e3:>10.1f} {probing_buffers / got:>11.1f}" if probing_s is not None
                           else f"{'> 60000':>10} {'':>11}")
                print(f"{days:>10} {rows:>9} {got:>6} | {read_s * 1e3:>8.1f} {read_buffers / got:>11.1f} | "
                      f"{probing} | {flat_s * 1e3:>9.1f} "
                      f"{flat_buffers / got:>11.1f} | {read_s / flat_s:>11.2f}", flush=True)
            finally:
                postgres.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
