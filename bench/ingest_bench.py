#!/usr/bin/python3
"""Durable ingest rate over HTTP into PostgreSQL, side by side with psql's
\\copy of the same rows into the same table and indexes, in one run.

  /usr/bin/python3 bench/ingest_bench.py [--rows 500000] [--connections 4] [--build-dir build]

Both sides start from an empty, freshly migrated database on one throwaway
cluster (fsync on). The daemon side is timed from the first request to the
moment the last row is in PostgreSQL (HTTP parse, spool fdatasync, COPY into
staging, insert with the duplicate check); the COPY side is psql's \\copy of a
file holding the same rows as COPY text. Request bodies are built before the
clock starts, so the client's JSON encoding is not measured."""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import harness  # noqa: E402

FEATURES = [f"f{i}" for i in range(10)]
MODEL = "\n  - name: bench\n    prediction: {type: binary, classes: ['0', '1']}\n    features:\n" + "".join(
    f"      - {{name: {name}, type: numeric}}\n" for name in FEATURES)


def make_rows(count, seed=7):
    rng = random.Random(seed)
    ts = "2026-01-01T00:00:00Z"
    return [{"id": f"r{i}", "ts": ts, "model_version": "v1",
             "features": {name: round(rng.random(), 6) for name in FEATURES},
             "prediction": str(i % 2), "score": round(rng.random(), 6)} for i in range(count)]


def copy_text(rows):
    lines = []
    for r in rows:
        features = json.dumps(r["features"], separators=(",", ":"))
        lines.append("\t".join(["bench", r["id"], r["ts"], r["model_version"], features, r["prediction"], "\\N",
                                repr(r["score"]), "{}", r["ts"]]))
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=500000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--build-dir", default=os.path.join(HERE, "..", "build"))
    args = parser.parse_args()
    harness.DAEMON = os.path.join(os.path.abspath(args.build_dir), "daemon", "modelwatchd")

    tmp = tempfile.mkdtemp(prefix="mw-bench-")
    os.chmod(tmp, 0o755)
    pg = harness.Postgres(os.path.join(tmp, "pg")).start()
    try:
        rows = make_rows(args.rows)
        bodies = [json.dumps(rows[i:i + args.batch]).encode() for i in range(0, len(rows), args.batch)]

        # The daemon: HTTP -> spool (fdatasync) -> PostgreSQL.
        os.makedirs(os.path.join(tmp, "d"))
        daemon = harness.Daemon(os.path.join(tmp, "d"), pg.dsn, models_yaml=MODEL)
        with open(daemon.config_path) as f:
            text = f.read().replace("level: debug", os.environ.get("BENCH_LOG_LEVEL", "level: info"))
        with open(daemon.config_path, "w") as f:
            f.write(text)
        daemon.start()
        daemon.wait_ready()
        # Warm up: partition creation and the first connection are not the subject.
        daemon.post("/v1/models/bench/predictions", json.dumps([dict(rows[0], id="warmup")]).encode())
        daemon.wait_drained()

        queue = list(enumerate(bodies))
        lock = threading.Lock()
        failures = []

        def client():
            import http.client
            conn = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=120)
            while True:
                with lock:
                    if not queue:
                        return
                    _, body = queue.pop()
                conn.request("POST", "/v1/models/bench/predictions", body=body,
                             headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    failures.append(response.status)

        started = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(args.connections)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        acknowledged = time.perf_counter() - started
        while pg.scalar("SELECT count(*) FROM predictions WHERE model='bench'") < args.rows + 1:
            time.sleep(0.02)
        daemon_seconds = time.perf_counter() - started
        daemon.terminate()
        if failures:
            raise SystemExit(f"{len(failures)} requests failed: {failures[:5]}")

        # psql \copy of the same rows into the same, freshly migrated table.
        subprocess.run(["psql", pg.dsn, "-qc", "CREATE DATABASE copybench"], check=True)
        copy_dsn = pg.dsn.replace("dbname=modelwatch", "dbname=copybench")
        subprocess.run([os.path.join(os.path.dirname(harness.DAEMON), "..", "cli", "modelwatch"), "migrate",
                        "--dsn", copy_dsn], check=True, capture_output=True)
        copy_file = os.path.join(tmp, "rows.copy")
        with open(copy_file, "w") as f:
            f.write(copy_text(rows[:1]).replace("\tr0\t", "\twarmup\t"))
        subprocess.run(["psql", copy_dsn, "-qc", f"\\copy predictions(model,id,ts,model_version,features,"
                        f"prediction_label,prediction_value,score,attributes,received_at) from '{copy_file}'"],
                       check=True)
        with open(copy_file, "w") as f:
            f.write(copy_text(rows))
        started = time.perf_counter()
        subprocess.run(["psql", copy_dsn, "-qc", f"\\copy predictions(model,id,ts,model_version,features,"
                        f"prediction_label,prediction_value,score,attributes,received_at) from '{copy_file}'"],
                       check=True)
        copy_seconds = time.perf_counter() - started

        daemon_rate = args.rows / daemon_seconds
        copy_rate = args.rows / copy_seconds
        print(f"rows={args.rows} batch={args.batch} connections={args.connections} features=10")
        daemon_label = "modelwatchd (HTTP, durable, into PostgreSQL)"
        copy_label = "psql \\copy (same rows, same table and indexes)"
        print(f"{daemon_label:<48} {daemon_seconds:8.2f} s {daemon_rate:12,.0f} rows/s"
              f"   (all acknowledged after {acknowledged:.2f} s)")
        print(f"{copy_label:<48} {copy_seconds:8.2f} s {copy_rate:12,.0f} rows/s")
        print(f"ratio modelwatchd / copy: {daemon_rate / copy_rate:.2f}")
    finally:
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
