#!/usr/bin/python3
"""PostgreSQL sessions opened and latency of GET /v1/models/{model}/progress
polled back to back, as the lockstep client polls it, for one or two builds
of modelwatchd against the same throwaway PostgreSQL 15 (side by side: each
round runs every build, the order alternating).

  /usr/bin/python3 bench/admin_reads_bench.py [--polls 1000] [--rounds 2] [--build-dir build]
                                              [--baseline-build DIR]

Sessions are PostgreSQL's own count (pg_stat_database.sessions of the
daemon's database, read before and after the polls, less the two sessions
of those reads). Latency is the client's, per request on a fresh HTTP
connection (http.client, as the harness), after 20 polls of warm-up; the
daemon is idle (no ingest), so this is the read path's cost, not queueing."""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import harness  # noqa: E402
import psycopg2  # noqa: E402


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def fresh_database(pg, name):
    """The DSN of a new database of the cluster: each run migrates its own (builds may differ in schema)."""
    conn = psycopg2.connect(pg.dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
    conn.close()
    return pg.dsn.replace("dbname=modelwatch", f"dbname={name}")


def run_one(pg, build_dir, directory, polls):
    binary = os.path.join(build_dir, "daemon", "modelwatchd")
    dsn = fresh_database(pg, os.path.basename(directory))
    daemon = harness.Daemon(directory, dsn)
    with open(daemon.log_path, "a") as log:
        daemon.process = subprocess.Popen([binary, "--config", daemon.config_path], stdout=log, stderr=log)
    try:
        daemon.wait_healthy()
        daemon.wait_ready()
        time.sleep(2.0)  # every worker past its first pass: their sessions counted before ours
        def sessions():
            with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
                cur.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
                value = cur.fetchone()[0]
            conn.close()
            return value
        for _ in range(20):
            assert daemon.get("/v1/models/elec2/progress")[0] == 200
        before = sessions()
        latencies = []
        for _ in range(polls):
            started = time.perf_counter()
            status, body = daemon.get("/v1/models/elec2/progress")
            latencies.append(time.perf_counter() - started)
            assert status == 200, body
        time.sleep(0.5)  # a backend reports its session by the time it has exited: let the last ones exit
        opened = sessions() - before - 1  # less the reading session of `before` (the one of `after` is not yet counted)
        return opened, latencies
    finally:
        daemon.process.terminate()
        daemon.process.wait(timeout=30)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--polls", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--build-dir", default=os.path.join(HERE, "..", "build"))
    parser.add_argument("--baseline-build", help="another build's daemon, run beside this one in every round")
    args = parser.parse_args()
    if not 1 <= args.polls <= 100_000 or not 1 <= args.rounds <= 20:
        parser.error("--polls must be 1-100000 and --rounds 1-20")
    builds = [("this build", os.path.abspath(args.build_dir))]
    if args.baseline_build:
        builds.append(("baseline", os.path.abspath(args.baseline_build)))
    for _, build in builds:
        if not os.access(os.path.join(build, "daemon", "modelwatchd"), os.X_OK):
            parser.error(f"no daemon/modelwatchd in {build}")

    tmp = tempfile.mkdtemp(prefix="mw-admin-reads-")
    os.chmod(tmp, 0o755)
    pg = harness.Postgres(os.path.join(tmp, "pg")).start()
    results = {name: {"opened": [], "latencies": []} for name, _ in builds}
    try:
        for round_number in range(args.rounds):
            order = builds if round_number % 2 == 0 else list(reversed(builds))
            for name, build in order:
                directory = os.path.join(tmp, f"bench_{name.replace(' ', '_')}_{round_number}")
                os.makedirs(directory)
                opened, latencies = run_one(pg, build, directory, args.polls)
                results[name]["opened"].append(opened)
                results[name]["latencies"].extend(latencies)
                print(f"round {round_number + 1} {name}: {opened} sessions opened for {args.polls} polls, "
                      f"p50 {statistics.median(latencies) * 1e3:.2f} ms", flush=True)
    finally:
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"\n| build | polls per round | sessions opened per round | p50 | p99 | max |")
    print("|---|---|---|---|---|---|")
    for name, _ in builds:
        latencies = results[name]["latencies"]
        print(f"| {name} | {args.polls} | {', '.join(str(n) for n in results[name]['opened'])} | "
              f"{percentile(latencies, 0.5) * 1e3:.2f} ms | {percentile(latencies, 0.99) * 1e3:.2f} ms | "
              f"{max(latencies) * 1e3:.2f} ms |")


if __name__ == "__main__":
    main()
