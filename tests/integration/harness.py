"""Real processes for integration tests: a throwaway PostgreSQL cluster, the
modelwatchd binary, and a small HTTP client. Nothing here is a mock: tests talk
to the daemon over TCP and read PostgreSQL with psycopg2.

Used as a library by tests/integration/test_*.py, each of which ctest runs as
one test (exit code 0 = pass)."""

import csv
import gzip
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
from datetime import datetime, timedelta, timezone

import psycopg2

SOURCE_DIR = os.environ.get("MODELWATCH_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD_DIR = os.environ.get("MODELWATCH_BUILD_DIR", os.path.join(SOURCE_DIR, "build"))
DAEMON = os.path.join(BUILD_DIR, "daemon", "modelwatchd")
CLI = os.path.join(BUILD_DIR, "cli", "modelwatch")
PG_SCRIPT = os.path.join(SOURCE_DIR, "scripts", "pg-throwaway.sh")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Postgres:
    """A throwaway cluster in its own directory; stop() and start() keep its data."""

    def __init__(self, directory):
        self.directory = directory
        self.dsn = None

    def start(self):
        out = subprocess.run([PG_SCRIPT, "start", self.directory], check=True, capture_output=True, text=True)
        self.dsn = out.stdout.strip().splitlines()[-1]
        return self

    def stop(self):
        subprocess.run([PG_SCRIPT, "stop", self.directory], check=True, capture_output=True)

    def query(self, sql, params=None):
        with psycopg2.connect(self.dsn) as conn, conn.cursor() as cur:
            cur.execute(sql, params)
            rows = cur.fetchall() if cur.description else []
        conn.close()
        return rows

    def scalar(self, sql, params=None):
        return self.query(sql, params)[0][0]


ELEC2_SCHEMA = """
  - name: elec2
    prediction: {type: binary, classes: [UP, DOWN]}
    attributes: [region]
    features:
      - {name: nswprice, type: numeric}
      - {name: nswdemand, type: numeric}
      - {name: day, type: categorical}
      - {name: weekend, type: boolean}
"""


class Alertmanager:
    """Debian's prometheus-alertmanager on 127.0.0.1, with a receiver that
    sends nowhere: tests read what it holds through its API v2."""

    BINARY = "/usr/bin/prometheus-alertmanager"

    def __init__(self, directory, port=None):
        self.directory = directory
        self.port = port or free_port()
        self.process = None
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "am.yml"), "w") as f:
            f.write("route:\n  receiver: \"null\"\n  group_wait: 1s\nreceivers:\n  - name: \"null\"\n")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout=30):
        with open(os.path.join(self.directory, "alertmanager.log"), "a") as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                [self.BINARY, f"--config.file={os.path.join(self.directory, 'am.yml')}",
                 f"--storage.path={os.path.join(self.directory, 'data')}",
                 f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address="],
                stdout=log, stderr=log)
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/-/ready")
                if conn.getresponse().status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("alertmanager did not become ready")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def alerts(self, active=True):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.request("GET", "/api/v2/alerts?active=%s&silenced=true&inhibited=true&unprocessed=true" %
                     ("true" if active else "false"))
        return json.loads(conn.getresponse().read())


class Daemon:
    """modelwatchd with a generated config in a temp state directory."""

    def __init__(self, directory, dsn, port=None, extra_yaml="", models_yaml=ELEC2_SCHEMA, env=None):
        self.directory = directory
        self.port = port or free_port()
        self.config_path = os.path.join(directory, "modelwatch.yaml")
        self.log_path = os.path.join(directory, "daemon.log")
        self.process = None
        self.env = env or {}
        self.write_config(dsn, extra_yaml, models_yaml)

    def write_config(self, dsn, extra_yaml="", models_yaml=ELEC2_SCHEMA):
        state = os.path.join(self.directory, "state")
        text = (
            f"state_dir: {state}\n"
            f"server:\n  listen: \"127.0.0.1:{self.port}\"\n"
            f"store:\n  dsn: \"{dsn}\"\n  retry_initial: 50ms\n  retry_max: 500ms\n"
            f"log:\n  level: debug\n"
            f"{extra_yaml}"
            f"models:{models_yaml}"
        )
        with open(self.config_path, "w") as f:
            f.write(text)

    def start(self, wait=True):
        env = dict(os.environ)
        env.update(self.env)
        with open(self.log_path, "a") as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen([DAEMON, "--config", self.config_path], stdout=log, stderr=log, env=env)
        if wait:
            self.wait_healthy()
        return self

    def wait_healthy(self, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"modelwatchd exited with {self.process.returncode}:\n{self.log()}")
            try:
                status, _ = self.get("/healthz")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("modelwatchd did not become healthy:\n" + self.log())

    def wait_ready(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            status, _ = self.get("/readyz")
            if status == 200:
                return
            time.sleep(0.05)
        raise RuntimeError("modelwatchd did not become ready:\n" + self.log())

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def terminate(self, timeout=30):
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def request(self, method, path, body=None, headers=None, timeout=30):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            data = response.read()
            return response.status, data, dict(response.getheaders())
        finally:
            conn.close()

    def get(self, path):
        status, data, _ = self.request("GET", path)
        return status, data

    def post(self, path, records, ndjson=False, headers=None):
        if isinstance(records, (bytes, str)):
            body = records
        elif ndjson:
            body = "\n".join(json.dumps(r) for r in records)
        else:
            body = json.dumps(records)
        status, data, response_headers = self.request("POST", path, body=body, headers=headers)
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = data
        return status, parsed, response_headers

    def metric(self, name_with_labels):
        _, text = self.get("/metrics")
        for line in text.decode().splitlines():
            if line.startswith(name_with_labels + " "):
                return float(line.split()[-1])
        return None

    def wait_drained(self, timeout=60):
        """Until the spool has nothing left that PostgreSQL lacks."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.metric("modelwatch_store_lag_seconds") == 0 and self.metric("modelwatch_store_up") == 1:
                return
            time.sleep(0.1)
        raise RuntimeError("spool did not drain:\n" + self.log()[-4000:])


def wait_for(condition, timeout, message):
    """condition()'s first truthy value within `timeout` seconds, polled every
    0.2 s; otherwise the test fails with `message`."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(message)


def adult_records(first, count, shift=0.0):
    """Predictions and outcomes of the bundled Adult rows first..first+count-1
    (ids a00000...), stamped ten minutes ago (inside the window of an audit
    slot that starts this minute), scored by a rule-based "model": the kind of
    proxy that produces group gaps. `shift` is added to every age (drift)."""
    ts = (datetime.now(timezone.utc) - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with gzip.open(os.path.join(SOURCE_DIR, "data", "adult", "adult.csv.gz"), "rt", newline="") as f:
        rows = [row for _, row in zip(range(first + count), csv.DictReader(f))][first:]
    predictions, outcomes = [], []
    for i, row in enumerate(rows, start=first):
        positive = int(row["education_num"]) >= 13 and row["marital_status"].startswith("Married")
        predictions.append({"id": f"a{i:05d}", "ts": ts,
                            "features": {"age": float(row["age"]) + shift, "education_num": float(row["education_num"])},
                            "prediction": ">50K" if positive else "<=50K",
                            "score": min(1.0, int(row["education_num"]) / 16),
                            "attributes": {"sex": row["sex"], "race": row["race"]}})
        outcomes.append({"id": f"a{i:05d}", "label": row["income"]})
    return predictions, outcomes


class Checks:
    """Checks of a script that runs on past a failed one, so one run shows
    every failure: check(condition, message) prints "ok: message" or
    "FAIL: message" (on stderr) and returns condition; exit_status() prints
    how many failed and returns the script's exit status (0 or 1)."""

    def __init__(self):
        self.failures = []

    def __call__(self, condition, message):
        if condition:
            print("ok: " + message)
        else:
            print("FAIL: " + message, file=sys.stderr)
            self.failures.append(message)
        return condition

    def exit_status(self):
        if self.failures:
            print(f"{len(self.failures)} check(s) failed", file=sys.stderr)
            return 1
        print("all checks passed")
        return 0


CHROMIUM = "/usr/bin/chromium"


def chromium(args, workdir, timeout=120):
    """Headless Chromium with a fresh profile in `workdir` and nothing it
    would fetch or update on its own; `args` say what to do (--dump-dom URL,
    --screenshot=PATH URL, ...). The finished process (text output)."""
    profile = tempfile.mkdtemp(dir=workdir, prefix="chromium-profile-")
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--user-data-dir=" + profile] + args
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def prediction(i, **overrides):
    record = {
        "id": f"p-{i}",
        "model_version": "v1",
        "features": {"nswprice": (i % 100) / 100.0, "nswdemand": 0.5, "day": str(i % 7), "weekend": i % 7 >= 5},
        "prediction": "UP" if i % 2 else "DOWN",
        "score": (i % 10) / 10.0,
        "attributes": {"region": "NSW" if i % 3 else "VIC"},
    }
    record.update(overrides)
    return record


# MODELWATCH_KEEP_TMP=1: a test class with a failed or erring test keeps its
# temp dir (the daemons' logs and configs, PostgreSQL's data directory and
# log, and database-activity.txt: what every session of the cluster was doing
# when the test failed) and prints its path; a passing one removes it as usual.
KEEP_TMP = os.environ.get("MODELWATCH_KEEP_TMP") == "1"

# Every session of the cluster but the query's own, with what it waits for
# and the locks it waits for or holds: a blocked daemon, and who blocks it.
ACTIVITY_SQL = """
SELECT a.pid, a.application_name, a.state, a.wait_event_type, a.wait_event,
       pg_blocking_pids(a.pid) AS blocked_by,
       round(extract(epoch FROM clock_timestamp() - a.xact_start)::numeric, 1) AS xact_seconds,
       round(extract(epoch FROM clock_timestamp() - a.state_change)::numeric, 1) AS state_seconds,
       (SELECT string_agg(l.locktype || coalesce(' ' || l.relation::regclass::text, '') ||
                          coalesce(' objid=' || l.objid, '') || ' ' || l.mode ||
                          CASE WHEN l.granted THEN '' ELSE ' (waiting)' END, '; ')
          FROM pg_locks l WHERE l.pid = a.pid AND l.locktype <> 'virtualxid') AS locks,
       left(regexp_replace(a.query, '\\s+', ' ', 'g'), 300) AS query
FROM pg_stat_activity a WHERE a.backend_type = 'client backend' AND a.pid <> pg_backend_pid()
ORDER BY a.pid
"""


class Environment(unittest.TestCase):
    """A test case with a temp dir and a PostgreSQL cluster per test class."""

    @classmethod
    def setUpClass(cls):
        if not os.path.exists(DAEMON):
            raise unittest.SkipTest(f"{DAEMON} is not built")
        cls.failed = False
        cls.tmp = tempfile.mkdtemp(prefix="mw-it-")
        os.chmod(cls.tmp, 0o755)
        cls.pg = Postgres(os.path.join(cls.tmp, "pg")).start()

    @classmethod
    def tearDownClass(cls):
        cls.pg.stop()
        if KEEP_TMP and cls.failed:
            print(f"MODELWATCH_KEEP_TMP: kept {cls.tmp}", file=sys.stderr)
        else:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def tearDown(self):
        # Before the cleanups stop the daemons, so their sessions and locks
        # are still there to see. unittest (3.11) has recorded a failure or
        # error of the test method in its result by now.
        result = getattr(getattr(self, "_outcome", None), "result", None)
        if result is not None and any(test is self for test, _ in result.failures + result.errors):
            type(self).failed = True
            if KEEP_TMP:
                self.record_database_activity()
        super().tearDown()

    def record_database_activity(self):
        path = os.path.join(self.tmp, "database-activity.txt")
        try:
            with psycopg2.connect(self.pg.dsn) as conn, conn.cursor() as cur:
                cur.execute(ACTIVITY_SQL)
                columns = [c.name for c in cur.description]
                rows = cur.fetchall()
            conn.close()
            with open(path, "w") as f:
                f.write(f"{self.id()} failed; sessions at {datetime.now(timezone.utc).isoformat()}:\n")
                for row in rows:
                    f.write(" ".join(f"{k}={v}" for k, v in zip(columns, row)) + "\n")
        except (OSError, psycopg2.Error) as failure:
            print(f"MODELWATCH_KEEP_TMP: database activity not recorded: {failure}", file=sys.stderr)

    def new_daemon(self, name, **kwargs):
        directory = os.path.join(self.tmp, name)
        os.makedirs(directory, exist_ok=True)
        daemon = Daemon(directory, self.pg.dsn, **kwargs)
        self.addCleanup(self.stop_quietly, daemon)
        return daemon

    @staticmethod
    def stop_quietly(daemon):
        if daemon.process and daemon.process.poll() is None:
            daemon.process.kill()
            daemon.process.wait()


def main():
    result = unittest.main(exit=False, verbosity=2).result
    sys.exit(0 if result.wasSuccessful() else 1)
