"""A hung PostgreSQL never stalls a stop or an admin call (daemon/daemon.cpp's
stop budget, docs/scaling.md "A frozen daemon").

Stop: PostgreSQL frozen whole (SIGSTOP of the postmaster and every backend:
open sessions hang in their statements, new connections wait for
store.connect_timeout) under a daemon that holds its lease and has
acknowledged records only in its spool. SIGTERM: the daemon exits 0 within
the unit's TimeoutStopSec less a margin (read from systemd/modelwatchd.service.in),
saying what it left (leases, the spool); PostgreSQL resumed and the daemon
started again, every acknowledged record is stored exactly once.

Admin calls that take the retraining policy's lock answer within
cluster.lease and a margin: 503 with Retry-After naming the policy while a
session PostgreSQL does not end holds the lock, success once it lets go;
and a second daemon frozen (SIGSTOP) in the middle of such a call holds the
lock no longer than a lease (PostgreSQL ends its session idle in a
transaction), so the first daemon's call succeeds meanwhile."""

import contextlib
import os
import re
import signal
import subprocess
import threading
import time

import psycopg2

from harness import ELEC2_SCHEMA, SOURCE_DIR, Environment, main, prediction, wait_for

# The unit's own margin over the stop budget (tests/integration/test_systemd_unit.py).
STOP_MARGIN_S = 10
LEASE_S = 5  # cluster.lease's default, which the daemons below keep
# Time for an answer beyond the waits it is allowed, on a loaded machine.
ANSWER_MARGIN_S = 10


def unit_stop_timeout_s():
    with open(os.path.join(SOURCE_DIR, "systemd", "modelwatchd.service.in")) as f:
        match = re.search(r"^TimeoutStopSec=(\d+)s$", f.read(), re.M)
    assert match, "the unit sets TimeoutStopSec in seconds"
    return int(match.group(1))


def policy_lock_key():
    """retrain/policy_store.h's advisory lock key."""
    with open(os.path.join(SOURCE_DIR, "retrain", "policy_store.h")) as f:
        match = re.search(r"policy_lock_key = (0x[0-9a-f]+);", f.read())
    assert match, "retrain/policy_store.h declares policy_lock_key"
    return int(match.group(1), 16)


RETRAIN_SCHEMA = ELEC2_SCHEMA + """    retrain:
      command: [/bin/true]
      triggers: [{kind: manual}]
"""


class Cluster:
    """The throwaway cluster's processes: the postmaster and its children."""

    def __init__(self, pg):
        with open(os.path.join(pg.directory, "data", "postmaster.pid")) as f:
            self.postmaster = int(f.readline())

    def processes(self):
        children = subprocess.run(["pgrep", "-P", str(self.postmaster)], capture_output=True, text=True).stdout
        return [self.postmaster] + [int(pid) for pid in children.split()]

    @contextlib.contextmanager
    def frozen(self):
        """Every process stopped (the postmaster first, so it starts no other); resumed on the way out."""
        stopped = []
        try:
            for pid in self.processes():
                os.kill(pid, signal.SIGSTOP)
                stopped.append(pid)
            yield
        finally:
            for pid in reversed(stopped):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)


class HungStore(Environment):
    def start_daemon(self, name, models_yaml=ELEC2_SCHEMA):
        daemon = self.new_daemon(name, models_yaml=models_yaml,
                                 extra_yaml=f"monitor: {{interval: 200ms}}\ncluster: {{daemon_id: {name}}}\n")
        daemon.start()
        daemon.wait_ready()
        return daemon

    def stored_ids(self):
        return dict(self.pg.query("SELECT id, count(*) FROM predictions WHERE model = 'elec2' GROUP BY id"))

    def test_stop_with_the_store_frozen(self):
        limit_s = unit_stop_timeout_s() - STOP_MARGIN_S
        daemon = self.start_daemon("frozen-stop")
        wait_for(lambda: daemon.metric("modelwatch_models_owned") == 1, 30, "the daemon took no lease")
        acknowledged = []

        def send(first, count):
            for i in range(first, first + count, 10):
                records = [prediction(j, id=f"s-{j}") for j in range(i, i + 10)]
                status, body, _ = daemon.post("/v1/models/elec2/predictions", records)
                self.assertEqual(status, 200, body)
                acknowledged.extend(r["id"] for r in records)

        send(0, 50)
        daemon.wait_drained()
        with Cluster(self.pg).frozen():
            send(50, 50)  # acknowledged: in the spool only
            time.sleep(2)  # the workers' next statements, the drain's and the probe's now wait on the frozen server
            started = time.monotonic()
            daemon.process.send_signal(signal.SIGTERM)
            try:
                code = daemon.process.wait(timeout=limit_s + 30)
            except subprocess.TimeoutExpired:
                code = None
            took = time.monotonic() - started
        log = daemon.log()
        print(f"SIGTERM with PostgreSQL frozen: exit {code} after {took:.1f} s "
              f"(TimeoutStopSec - {STOP_MARGIN_S} s = {limit_s} s)")
        self.assertIsNotNone(code, f"still running {took:.0f} s after SIGTERM:\n{log[-3000:]}")
        self.assertLess(took, limit_s, log[-3000:])
        self.assertEqual(code, 0, log[-3000:])
        self.assertRegex(log, r"stopping signal=SIGTERM budget_ms=50000")
        # What was left, and what it means, is said.
        self.assertRegex(log, r"leases_not_released daemon_id=frozen-stop reason=.* \(they expire after cluster\.lease")
        self.assertRegex(log, r"stopped drained=false spool_left_batches=[1-9]")
        self.assertIn("stopped_leaving_threads", log)

        # PostgreSQL back, the daemon again: what the spool kept is stored,
        # each record once (within an arrival day the (model, id) key allows
        # no second copy; the count checks across days too).
        daemon.start()
        daemon.wait_ready()
        daemon.wait_drained()
        stored = self.stored_ids()
        self.assertEqual(sorted(stored), sorted(acknowledged))
        self.assertEqual({count for count in stored.values()}, {1})
        self.assertEqual(daemon.terminate(), 0)
        self.assertIn("stopped drained=true", daemon.log())

    def post_timed(self, daemon, path):
        started = time.monotonic()
        status, body, headers = daemon.request("POST", path, body="{}", timeout=LEASE_S + 2 * ANSWER_MARGIN_S)
        return status, body.decode(), headers, time.monotonic() - started

    def test_policy_lock_held_past_a_lease(self):
        """A holder PostgreSQL does not end (a session with no idle timeout, as an older daemon's
        or an operator's psql): the call answers 503 within a lease, then succeeds."""
        daemon = self.start_daemon("api", RETRAIN_SCHEMA)
        holder = psycopg2.connect(self.pg.dsn)
        self.addCleanup(holder.close)
        with holder.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (policy_lock_key(),))
        for path in ("/v1/models/elec2/breaker/reset", "/v1/models/elec2/retrain"):
            status, body, headers, took = self.post_timed(daemon, path)
            print(f"POST {path} with the policy lock held: {status} in {took:.1f} s")
            self.assertEqual(status, 503, body)
            self.assertLess(took, LEASE_S + ANSWER_MARGIN_S)
            self.assertIn("the retraining policy is busy", body)
            self.assertEqual(headers.get("Retry-After"), str(LEASE_S))
        holder.rollback()
        status, body, _, _ = self.post_timed(daemon, "/v1/models/elec2/breaker/reset")
        self.assertEqual(status, 200, body)
        status, body, _, _ = self.post_timed(daemon, "/v1/models/elec2/retrain")
        self.assertEqual(status, 202, body)

    def test_frozen_daemon_inside_a_policy_call(self):
        # No retraining configured: only the admin calls take the policy's lock (a breaker
        # reset does whether or not the model retrains), so the test knows who waits for it.
        first = self.start_daemon("first")
        frozen = self.start_daemon("frozen")
        watcher = psycopg2.connect(self.pg.dsn)
        watcher.autocommit = True
        self.addCleanup(watcher.close)
        key = policy_lock_key()

        def policy_lock(granted):
            """Sessions holding (granted) or waiting for the policy's lock."""
            with watcher.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s "
                               "AND objid = %s AND objsubid = 1 AND granted = %s", (key >> 32, key & 0xFFFFFFFF, granted))
                return cursor.fetchone()[0]

        # The test takes the lock, the second daemon's call waits for it, that daemon is
        # stopped, and the lock goes to its session: held by a frozen daemon, idle in a transaction.
        holder = psycopg2.connect(self.pg.dsn)
        self.addCleanup(holder.close)
        with holder.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
        answers = {}

        def call_frozen():
            try:
                answers["frozen"] = frozen.request("POST", "/v1/models/elec2/breaker/reset", body="{}", timeout=120)
            except OSError as failure:
                answers["frozen"] = (repr(failure), b"")

        call = threading.Thread(target=call_frozen)
        call.start()
        wait_for(lambda: policy_lock(False) == 1, LEASE_S, "the second daemon's call did not wait for the lock")
        os.kill(frozen.process.pid, signal.SIGSTOP)
        try:
            holder.rollback()
            wait_for(lambda: policy_lock(True) == 1, LEASE_S, "the frozen daemon's session did not take the lock")
            # Its session idles in its transaction until 2 s before its
            # idle_in_transaction_session_timeout (a lease) ends it, then the
            # first daemon asks: its lock wait (lock_timeout, also a lease)
            # then outlasts the holder by 3 s, a margin for a loaded
            # PostgreSQL's late timeout, and still shows the bound.
            time.sleep(LEASE_S - 2)
            status, body, _, took = self.post_timed(first, "/v1/models/elec2/breaker/reset")
            print(f"POST on the first daemon while the frozen one holds the policy lock: {status} in {took:.1f} s")
            self.assertEqual(status, 200, body)
            self.assertLess(took, LEASE_S + ANSWER_MARGIN_S)
            self.assertEqual(policy_lock(True), 0, "the frozen daemon still holds the lock")
        finally:
            os.kill(frozen.process.pid, signal.SIGCONT)
        call.join(timeout=60)
        self.assertFalse(call.is_alive(), "the frozen daemon's call did not end after SIGCONT")
        print(f"the frozen daemon's call, after SIGCONT: {answers['frozen'][0]} {answers['frozen'][1][:200]}")
        # Both daemons serve such calls again.
        for daemon in (first, frozen):
            status, body, _, _ = self.post_timed(daemon, "/v1/models/elec2/breaker/reset")
            self.assertEqual(status, 200, body)
        self.assertEqual(frozen.terminate(), 0)
        self.assertEqual(first.terminate(), 0)


if __name__ == "__main__":
    main()
