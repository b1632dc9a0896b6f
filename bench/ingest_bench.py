#!/usr/bin/python3
"""Durable ingest over HTTP into PostgreSQL, side by side with psql's \\copy of
the same rows into the same schema, in one run; then the spool backlog under
sustained full-speed clients.

  /usr/bin/python3 bench/ingest_bench.py [--rows 500000] [--connections 4]
      [--drain-connections 1,2] [--batch-max-records 50000] [--pairs 2]
      [--sustain-seconds 60] [--max-backlog 20s,0] [--build-dir build]
      [--baseline-build DIR] [--midnight SECONDS] [--statements N] [--autovacuum on|off]

Burst (per pair, alternating: modelwatchd with each --drain-connections
value, then \\copy): each side starts from an empty, freshly migrated
database on one throwaway cluster (fsync on). The daemon side is timed from
the first request to the moment the last row is in PostgreSQL (HTTP parse,
spool fdatasync, the drain's COPY and duplicate check); the copy side is
psql's \\copy of a file holding the same rows as COPY text into the same
predictions table (partitions by day received, each with its primary key
(model, id) and the (model, ts, id) index: the daemon's exactly-once cost is
that key plus the boundary claims of rows received within an hour of
midnight, store/store_writer.h, so a run near midnight measures those too).
Request bodies are built before the clock starts, so the client's JSON
encoding is not measured. Beside each: PostgreSQL's CPU per row (every
process of the cluster, live and exited, from /proc) and WAL bytes per row
(pg_stat_wal), over the same interval, then where that CPU went by process
(sessions that ran COPY, sessions that read windows, other sessions,
autovacuum, the background processes; sampled every 0.25 s, so a process
that exits is counted to its last sample), the checkpoints begun and the
full-page images written; and the daemon's own CPU. --statements N also prints the N statements
that took PostgreSQL longest (pg_stat_statements; the cluster is restarted
with it loaded, which costs both sides alike).

--autovacuum off turns the cluster's autovacuum off: with it on, a worker
vacuuming or analysing one run's rows may run, and count, in the next (the
rows are the same on both sides, so their vacuum is too).

--baseline-build DIR adds, to every pair, the daemon of another build
(e.g. main's) on the same rows, so a change is measured against what it
changes in one run; the order of the two daemons alternates between pairs.
--midnight SECONDS runs every daemon with its clock moved (libfaketime, the
Debian package faketime) to SECONDS from the next UTC midnight at its start
(-1800: half an hour before), and gives \\copy's rows the same received_at,
so the boundary claims of rows received near midnight
(store/store_writer.h) are measured without waiting for midnight.

Sustained: clients post new ids at full speed for --sustain-seconds while
the daemon drains, once per --max-backlog value (spool.max_backlog: admission
control, 0 = off); a client answered 503 waits as its Retry-After says, as a
well-behaved client does. Every second the spool backlog
(modelwatch_spool_backlog_bytes, modelwatch_store_lag_seconds,
modelwatch_spool_backlog_drain_seconds) and the acknowledged and stored rates
are printed. A drain that keeps up holds the backlog bounded; one that does
not grows it until 503, unless admission control holds the clients to the
drain's rate."""

import argparse
import http.client
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
import psycopg2  # noqa: E402

FEATURES = [f"f{i}" for i in range(10)]
# Windows of a million rows: the monitor's window queries (one per 1,000 rows
# at the default) are PostgreSQL work of their own, not ingest's.
MODEL = ("\n  - name: bench\n    prediction: {type: binary, classes: ['0', '1']}\n    window: {rows: 1000000}\n"
         "    features:\n" + "".join(f"      - {{name: {name}, type: numeric}}\n" for name in FEATURES))
COLUMNS = "predictions(model,id,ts,model_version,features,prediction_label,prediction_value,score,attributes,received_at)"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
FAKETIME_LIBRARY = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"


def rfc3339(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def clock_offset(midnight):
    """Seconds to add to this machine's clock for it to read `midnight`
    seconds from the next UTC midnight (None: the clock as it is)."""
    if midnight is None:
        return 0
    now = time.time()
    return (int(now) // 86400 + 1) * 86400 + midnight - now


def make_rows(count, prefix="r", seed=7, ts=None):
    rng = random.Random(seed)
    ts = ts or rfc3339(time.time())
    return [{"id": f"{prefix}{i}", "ts": ts, "model_version": "v1",
             "features": {name: round(rng.random(), 6) for name in FEATURES},
             "prediction": str(i % 2), "score": round(rng.random(), 6)} for i in range(count)]


def copy_text(rows, received_at):
    lines = []
    for r in rows:
        features = json.dumps(r["features"], separators=(",", ":"))
        lines.append("\t".join(["bench", r["id"], r["ts"], r["model_version"], features, r["prediction"], "\\N",
                                repr(r["score"]), "{}", received_at]))
    return "\n".join(lines) + "\n"


def read_stat(pid):
    """(ppid, utime + stime, cutime + cstime) of /proc/PID/stat in clock
    ticks (proc(5): fields 4 and 14-17, after the command's parenthesis)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])


def process_kind(pid):
    """What a child of the postmaster is, from its title (postgres: checkpointer,
    postgres: autovacuum worker d0, postgres: USER DB [local] idle, ...)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            title = f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "exited"
    if "autovacuum worker" in title:
        return "autovacuum"
    if any(name in title for name in ("checkpointer", "background writer", "walwriter", "launcher")):
        return "background"
    return "other sessions"


class ClusterCpu:
    """PostgreSQL's CPU over one interval, in total and by process. The
    total is the postmaster with its exited children (cutime, cstime) plus
    every live child. By process: every child is read from /proc every 0.25 s,
    so one that exits during the interval (an autovacuum worker) counts up to
    its last sample; a session is "COPY sessions" once it was seen running a
    COPY and "window reads" once seen reading predictions with their
    outcomes (store/monitor_store.cpp), in pg_stat_activity, read through one
    session of the bench's own ("bench")."""

    PERIOD = 0.25

    def __init__(self, pg):
        with open(os.path.join(pg.directory, "data", "postmaster.pid")) as f:
            self.postmaster = int(f.readline())
        self.activity = psycopg2.connect(pg.dsn)
        self.activity.autocommit = True
        with self.activity.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            self.own_backend = cur.fetchone()[0]

    def close(self):
        self.activity.close()

    def children(self):
        ticks = {}
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                ppid, own, _ = read_stat(pid)
            except (OSError, IndexError, ValueError):
                continue
            if ppid == self.postmaster:
                ticks[int(pid)] = own
        return ticks

    def wait_reaped(self, timeout=2.0):
        """Until the postmaster has reaped its exited children (a session that
        ended with the action, psql's): a zombie's CPU is in neither its own
        /proc entry nor the postmaster's cutime yet."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            zombies = False
            for pid in self.children():
                try:
                    with open(f"/proc/{pid}/stat") as f:
                        zombies = zombies or f.read().rsplit(")", 1)[1].split()[0] == "Z"
                except OSError:
                    pass
            if not zombies:
                return
            time.sleep(0.01)

    def total(self):
        _, own, exited = read_stat(self.postmaster)
        return own + exited + sum(self.children().values())

    def sample(self):
        for pid, ticks in self.children().items():
            self.last[pid] = ticks
            if pid not in self.kinds:
                self.kinds[pid] = process_kind(pid)
        with self.activity.cursor() as cur:
            cur.execute("SELECT pid, query FROM pg_stat_activity WHERE state = 'active'")
            for pid, text in cur.fetchall():
                text = text or ""
                if pid == self.own_backend:
                    self.kinds[pid] = "bench"
                elif text.lstrip().upper().startswith("COPY"):
                    self.kinds[pid] = "COPY sessions"
                elif "DISTINCT ON (p.ts, p.id)" in text and self.kinds.get(pid) != "COPY sessions":
                    self.kinds[pid] = "window reads"

    def measure(self, action):
        """Runs action(); returns (its result, total CPU seconds, CPU seconds by kind)."""
        self.start_ticks, self.last, self.kinds = self.children(), {}, {}
        total_start = self.total()
        done = threading.Event()

        def sampler():
            while not done.wait(self.PERIOD):
                self.sample()

        thread = threading.Thread(target=sampler)
        thread.start()
        try:
            result = action()
        finally:
            done.set()
            thread.join()
        self.wait_reaped()
        self.sample()
        total = self.total() - total_start
        by_kind = {}
        for pid, ticks in self.last.items():
            kind = self.kinds.get(pid, "other sessions")
            by_kind[kind] = by_kind.get(kind, 0) + ticks - self.start_ticks.get(pid, 0)
        by_kind["exited, unsampled"] = total - sum(by_kind.values())
        return result, total / CLOCK_TICKS, {k: v / CLOCK_TICKS for k, v in by_kind.items()}


def cluster_counters(dsn):
    """WAL bytes, full-page images and checkpoints begun, cluster-wide."""
    wal, fpi, checkpoints = query(
        dsn, "SELECT wal_bytes, wal_fpi, (SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter) "
             "FROM pg_stat_wal").split("|")
    return int(wal), int(fpi), int(checkpoints)


def query(dsn, sql):
    return subprocess.run(["psql", dsn, "-Atqc", sql], check=True, capture_output=True, text=True).stdout.strip()


def new_database(pg, name, build_dir):
    query(pg.dsn, f"CREATE DATABASE {name}")
    dsn = pg.dsn.replace("dbname=modelwatch", f"dbname={name}")
    subprocess.run([os.path.join(build_dir, "cli", "modelwatch"), "migrate", "--dsn", dsn], check=True,
                   capture_output=True)
    return dsn


def start_daemon(tmp, name, dsn, drain_connections, batch_max_records=50000, max_backlog="20s", binary=None,
                 midnight=None):
    directory = os.path.join(tmp, name)
    os.makedirs(directory)
    env = {}
    if midnight is not None:
        # The daemon's wall clock only: steady_clock (timeouts, rates) runs as it is.
        env = {"LD_PRELOAD": FAKETIME_LIBRARY, "FAKETIME": f"{clock_offset(midnight):+.0f}",
               "DONT_FAKE_MONOTONIC": "1"}
    daemon = harness.Daemon(directory, dsn, models_yaml=MODEL, env=env)
    with open(daemon.config_path) as f:
        text = f.read().replace("level: debug", os.environ.get("BENCH_LOG_LEVEL", "level: info"))
        text = text.replace("store:\n", f"store:\n  drain_connections: {drain_connections}\n"
                                         f"  batch_max_records: {batch_max_records}\n")
        text = text.replace("models:", f"spool:\n  max_backlog: {max_backlog}\nmodels:", 1)
    with open(daemon.config_path, "w") as f:
        f.write(text)
    saved, harness.DAEMON = harness.DAEMON, binary or harness.DAEMON
    try:
        daemon.start()
    finally:
        harness.DAEMON = saved
    daemon.wait_ready()
    return daemon


def post_all(daemon, next_body, connections, stop_at=None):
    """Posts next_body()'s bodies (until it gives None, or stop_at) over
    `connections` keep-alive connections; returns the failures (status
    codes) and the number of requests answered. A 503 with Retry-After is
    waited out (up to stop_at); its body is not sent again."""
    lock = threading.Lock()
    failures = []
    answered = [0]

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=120)
        while True:
            with lock:
                body = None if stop_at and time.perf_counter() >= stop_at else next_body()
            if body is None:
                return
            conn.request("POST", "/v1/models/bench/predictions", body=body,
                         headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            with lock:
                answered[0] += 1
                if response.status != 200:
                    failures.append(response.status)
            retry_after = response.getheader("Retry-After")
            if response.status == 503 and retry_after:
                wait = float(retry_after)
                if stop_at:
                    wait = min(wait, max(0.0, stop_at - time.perf_counter()))
                time.sleep(wait)

    threads = [threading.Thread(target=client) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return failures, answered[0]


class Measure:
    def __init__(self, seconds, cpu, by_kind, wal, fpi, checkpoints, extra):
        self.seconds, self.cpu, self.by_kind, self.extra = seconds, cpu, by_kind, extra
        self.wal, self.fpi, self.checkpoints = wal, fpi, checkpoints


def measured(cluster, dsn, action):
    wal, fpi, checkpoints = cluster_counters(dsn)

    def timed():
        started = time.perf_counter()
        extra = action()
        return time.perf_counter() - started, extra

    (seconds, extra), cpu, by_kind = cluster.measure(timed)
    wal_after, fpi_after, checkpoints_after = cluster_counters(dsn)
    return Measure(seconds, cpu, by_kind, wal_after - wal, fpi_after - fpi, checkpoints_after - checkpoints, extra)


def daemon_burst(pg, cluster, tmp, run, rows, bodies, args, binary=None):
    dsn = new_database(pg, f"d{run}", args.build_dir)
    # Admission control off: the burst measures the drain against \copy, and
    # a burst of many seconds of drain would be held back by it.
    daemon = start_daemon(tmp, f"d{run}", dsn, args.drain, args.batch_max_records, max_backlog="0", binary=binary,
                          midnight=args.midnight)
    try:
        # Warm up: partition creation and the first connections are not the subject.
        daemon.post("/v1/models/bench/predictions", json.dumps([dict(rows[0], id="warmup")]).encode())
        daemon.wait_drained()

        def action():
            started = time.perf_counter()
            queue = list(bodies)
            failures, _ = post_all(daemon, lambda: queue.pop() if queue else None, args.connections)
            acknowledged = time.perf_counter() - started
            if failures:
                raise SystemExit(f"{len(failures)} requests failed: {failures[:5]}")
            # Polled on the daemon's counter (incremented once a write has
            # committed), not with count(*): a psql per poll costs PostgreSQL
            # a backend start and a scan, which would be charged to the drain.
            written = 'modelwatch_store_rows_written_total{kind="prediction"}'
            while (daemon.metric(written) or 0) < len(rows) + 1:
                time.sleep(0.02)
            return acknowledged

        daemon_cpu = read_stat(daemon.process.pid)[1]
        result = measured(cluster, dsn, action)
        daemon_cpu = (read_stat(daemon.process.pid)[1] - daemon_cpu) / CLOCK_TICKS
        stored = int(query(dsn, "SELECT count(*) FROM predictions WHERE model='bench'"))
        if stored != len(rows) + 1:
            raise SystemExit(f"{stored} rows stored, {len(rows) + 1} sent")
        claims = int(query(dsn, "SELECT count(*) FROM prediction_boundary_keys"))
        result.extra = (result.extra, claims, daemon_cpu)
        return result
    finally:
        daemon.terminate()


def copy_burst(pg, cluster, tmp, run, rows, args):
    dsn = new_database(pg, f"c{run}", args.build_dir)
    copy_file = os.path.join(tmp, f"rows{run}.copy")
    # received_at as the daemon would write it: its clock, moved by --midnight.
    received_at = rfc3339(time.time() + clock_offset(args.midnight))
    with open(copy_file, "w") as f:
        f.write(copy_text(rows[:1], received_at).replace("\tr0\t", "\twarmup\t"))
    query(dsn, f"\\copy {COLUMNS} from '{copy_file}'")
    with open(copy_file, "w") as f:
        f.write(copy_text(rows, received_at))
    result = measured(cluster, dsn, lambda: query(dsn, f"\\copy {COLUMNS} from '{copy_file}'"))
    os.unlink(copy_file)
    return result


def print_measure(label, measure, rows, note=""):
    print(f"{label:<50} {measure.seconds:7.2f} {rows / measure.seconds:10,.0f} {measure.cpu / rows * 1e6:14.1f} "
          f"{measure.wal / rows:10.0f}{note}", flush=True)
    kinds = ", ".join(f"{kind} {seconds / rows * 1e6:.1f}" for kind, seconds in
                      sorted(measure.by_kind.items(), key=lambda item: -item[1]) if abs(seconds) >= 0.0005)
    print(f"    PG cpu us/row by process: {kinds}; checkpoints {measure.checkpoints}, "
          f"full-page images {measure.fpi:,}", flush=True)


def print_statements(pg, count):
    """The `count` statements PostgreSQL spent longest on since the last call."""
    for calls, total_ms, rows, text in pg.query(
            "SELECT calls, total_exec_time, rows, regexp_replace(left(query, 90), '\\s+', ' ', 'g') "
            "FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT %s", (count,)):
        print(f"    {total_ms:9.0f} ms {calls:6} calls {rows:9} rows  {text}")
    pg.query("SELECT pg_stat_statements_reset()")


def sustained(pg, tmp, args, max_backlog):
    name = f"sustained{max_backlog.replace('.', '_')}"
    dsn = new_database(pg, name, args.build_dir)
    drain = int(args.drain_connections.split(",")[-1])
    daemon = start_daemon(tmp, name, dsn, drain, args.batch_max_records, max_backlog)
    try:
        # One encoded body; each request gets its own ids by a bytes replace.
        template = json.dumps(make_rows(args.batch, prefix="t")).encode()
        sequence = iter(range(10**9))

        def next_body():
            return template.replace(b'"id": "t', f'"id": "s{next(sequence)}-'.encode())

        samples = []
        stop_at = time.perf_counter() + args.sustain_seconds
        done = threading.Event()

        def sample():
            started = time.perf_counter()
            while not done.is_set():
                _, text = daemon.get("/metrics")  # one scrape: the figures of one moment
                values = {}
                for line in text.decode().splitlines():
                    if line and not line.startswith("#"):
                        key, _, value = line.rpartition(" ")
                        values[key] = float(value)
                samples.append((time.perf_counter() - started, values.get("modelwatch_spool_backlog_bytes", 0),
                                values.get("modelwatch_store_lag_seconds", 0),
                                values.get('modelwatch_records_accepted_total{kind="prediction",model="bench"}', 0),
                                values.get('modelwatch_store_rows_written_total{kind="prediction"}', 0),
                                values.get("modelwatch_spool_backlog_drain_seconds", 0)))
                time.sleep(1)

        sampler = threading.Thread(target=sample)
        sampler.start()
        failures, posted = post_all(daemon, next_body, args.connections, stop_at)
        acked_at = time.perf_counter()
        daemon.wait_drained(timeout=600)
        drained_after = time.perf_counter() - acked_at
        done.set()
        sampler.join()
        stored = int(query(dsn, "SELECT count(*) FROM predictions WHERE model='bench'"))
    finally:
        daemon.terminate()
    print(f"\nsustained: {args.connections} clients at full speed for {args.sustain_seconds} s, "
          f"drain_connections={drain} batch_max_records={args.batch_max_records} max_backlog={max_backlog} "
          f"load={os.getloadavg()[0]:.2f}")
    print(f"{'t (s)':>6} {'acked rows':>11} {'acked/s':>8} {'stored/s':>8} {'backlog MB':>11} {'lag (s)':>8} "
          f"{'drain s':>8}")
    previous = (0, 0, 0)
    for t, backlog, lag, accepted, written, drain_seconds in samples:
        span = t - previous[0]
        acked_rate = (accepted - previous[1]) / span if span > 0 else 0
        stored_rate = (written - previous[2]) / span if span > 0 else 0
        previous = (t, accepted, written)
        print(f"{t:6.1f} {accepted:11,.0f} {acked_rate:8,.0f} {stored_rate:8,.0f} {backlog / 1e6:11.1f} {lag:8.2f} "
              f"{drain_seconds:8.2f}")
    period = [s for s in samples if s[0] <= args.sustain_seconds]
    half = [s for s in period if s[0] >= args.sustain_seconds / 2]
    acked_rows = posted * args.batch - args.batch * len(failures)
    print(f"acknowledged {acked_rows:,} rows ({acked_rows / args.sustain_seconds:,.0f}/s), {len(failures)} refused "
          f"({sorted(set(failures))}); stored {stored:,}; drained {drained_after:.1f} s after the clients stopped")
    if half and len(half) > 1:
        span = half[-1][0] - half[0][0]
        print(f"second half: acknowledged {(half[-1][3] - half[0][3]) / span:,.0f} rows/s, stored "
              f"{(half[-1][4] - half[0][4]) / span:,.0f} rows/s")
    if period:
        print(f"backlog max {max(s[1] for s in period) / 1e6:.1f} MB, {max(s[5] for s in period):.1f} s of drain; "
              f"second half: max {max(s[1] for s in half) / 1e6 if half else 0:.1f} MB, lag max "
              f"{max(s[2] for s in half) if half else 0:.2f} s")
    if stored != acked_rows:
        raise SystemExit(f"{acked_rows} rows acknowledged, {stored} stored")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=500000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--drain-connections", default="2", help="comma-separated store.drain_connections to compare")
    parser.add_argument("--batch-max-records", type=int, default=50000, help="store.batch_max_records")
    parser.add_argument("--max-backlog", default="20s,0",
                        help="comma-separated spool.max_backlog values for the sustained phase (0 = off)")
    parser.add_argument("--pairs", type=int, default=1, help="alternating runs of each side")
    parser.add_argument("--sustain-seconds", type=int, default=60, help="0 skips the sustained phase")
    parser.add_argument("--build-dir", default=os.path.join(HERE, "..", "build"))
    parser.add_argument("--baseline-build", help="also run this build's modelwatchd in every pair (before/after)")
    parser.add_argument("--midnight", type=int, help="the daemons' clock at SECONDS from the next UTC midnight")
    parser.add_argument("--statements", type=int, default=0, help="print the N longest statements of each run")
    parser.add_argument("--autovacuum", choices=["on", "off"], default="on",
                        help="off: the cluster's autovacuum is off, so no run pays for an earlier run's rows")
    args = parser.parse_args()
    args.build_dir = os.path.abspath(args.build_dir)
    harness.DAEMON = os.path.join(args.build_dir, "daemon", "modelwatchd")
    daemons = [("", None)]
    if args.baseline_build:
        daemons.append((f" ({os.path.basename(os.path.abspath(args.baseline_build))})",
                        os.path.join(os.path.abspath(args.baseline_build), "daemon", "modelwatchd")))
    if args.midnight is not None and not os.path.exists(FAKETIME_LIBRARY):
        raise SystemExit(f"--midnight needs {FAKETIME_LIBRARY} (apt-get install faketime)")

    tmp = tempfile.mkdtemp(prefix="mw-bench-")
    os.chmod(tmp, 0o755)
    pg = harness.Postgres(os.path.join(tmp, "pg")).start()
    cluster = None
    try:
        if args.statements:
            query(pg.dsn, "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
            pg.stop()
            pg.start()
            pg.query("CREATE EXTENSION pg_stat_statements")
        if args.autovacuum == "off":
            query(pg.dsn, "ALTER SYSTEM SET autovacuum = off")
            query(pg.dsn, "SELECT pg_reload_conf()")
        cluster = ClusterCpu(pg)
        start = time.time() + clock_offset(args.midnight)
        # A minute before the daemons' clock: ingest refuses a ts ahead of arrival.
        rows = make_rows(args.rows, ts=rfc3339(start - 60))
        bodies = [json.dumps(rows[i:i + args.batch]).encode() for i in range(0, len(rows), args.batch)]
        clock = "" if args.midnight is None else f" daemon_clock={rfc3339(start)} (midnight{args.midnight:+d}s)"
        print(f"rows={args.rows} batch={args.batch} connections={args.connections} features=10 "
              f"load={os.getloadavg()[0]:.2f} date={time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}{clock} "
              f"autovacuum={args.autovacuum}")
        print(f"{'':<50} {'s':>7} {'rows/s':>10} {'PG cpu us/row':>14} {'WAL B/row':>10}")
        run = 0
        for pair in range(args.pairs):
            daemon_rates = {}
            # The daemons' order alternates between pairs, so that neither
            # always runs right after \copy (or its autovacuum).
            for name, binary in (daemons if pair % 2 == 0 else daemons[::-1]):
                for drain in args.drain_connections.split(","):
                    args.drain = int(drain)
                    if args.statements:
                        pg.query("SELECT pg_stat_statements_reset()")
                    measure = daemon_burst(pg, cluster, tmp, run, rows, bodies, args, binary)
                    run += 1
                    acked, claims, daemon_cpu = measure.extra
                    print_measure(f"modelwatchd{name}, {drain} drain connection(s)", measure, args.rows,
                                  f"   (acknowledged after {acked:.2f} s, {claims:,} boundary claims, "
                                  f"the daemon's own cpu {daemon_cpu / args.rows * 1e6:.1f} us/row)")
                    if args.statements:
                        print_statements(pg, args.statements)
                    daemon_rates[f"{drain} drain connection(s){name}"] = args.rows / measure.seconds
            if args.statements:
                pg.query("SELECT pg_stat_statements_reset()")
            measure = copy_burst(pg, cluster, tmp, run, rows, args)
            run += 1
            copy_rate = args.rows / measure.seconds
            print_measure("psql \\copy (same rows, same table)", measure, args.rows)
            if args.statements:
                print_statements(pg, args.statements)
            ratios = ", ".join(f"{label} {rate / copy_rate:.2f}" for label, rate in daemon_rates.items())
            print(f"ratio modelwatchd / copy: {ratios}   load={os.getloadavg()[0]:.2f}", flush=True)
        if args.sustain_seconds > 0:
            for max_backlog in args.max_backlog.split(","):
                sustained(pg, tmp, args, max_backlog)
    finally:
        if cluster:
            cluster.close()
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
