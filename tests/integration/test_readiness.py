"""/readyz tells the truth whether or not the daemon is busy: PostgreSQL
stopped under an idle daemon turns it 503 within 2 s and back to 200 within
2 s of its return (the progress endpoint's polls share a few PostgreSQL
sessions, and the first poll after the return is answered); details (worker
states, store errors naming sockets) only with the admin token; a worker
stuck in a pass (here: blocked on a table lock the test holds) is reported,
stops the systemd watchdog, and is interrupted by SIGTERM."""

import hashlib
import json
import os
import signal
import threading
import time

import psycopg2

from harness import Environment, main, prediction, wait_for
from test_lifecycle import NotifySocket

WORKERS = {"leases", "monitor", "causes", "alerts", "retrain", "audits", "retention"}


def ready(daemon, headers=None):
    status, body, _ = daemon.request("GET", "/readyz", headers=headers, timeout=5)
    return status, json.loads(body)


def seconds_until(condition, limit):
    """Seconds until condition() holds, polled every 50 ms; fails past `limit` (bounded loop)."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if condition():
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"not within {limit}s")


class Readiness(Environment):
    def test_postgres_stopped_while_idle(self):
        daemon = self.new_daemon("idle")
        daemon.start()
        daemon.wait_ready()
        # Each worker finishes a first pass (they wait for the drain's migrations).
        wait_for(lambda: all(w["state"] in ("idle", "running") for w in ready(daemon)[1]["workers"].values()), 10,
                 "workers never finished a pass")
        status, body = ready(daemon)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["not_ready"], [])
        self.assertEqual(set(body["workers"]), WORKERS)
        self.assertEqual(body["models_owned"], 1)  # the one model's lease, after the leases worker's first pass
        for name, worker in body["workers"].items():
            self.assertIn(worker["state"], ("idle", "running"), (name, worker))
            self.assertEqual(worker["config_generation"], 1, name)
        self.assertEqual(body["config_generation"], 1)

        # The progress endpoint polled as the lockstep client polls it: its reads share the admin threads'
        # read-only sessions (store/read_sessions.h) instead of a new PostgreSQL connection per poll.
        def sessions():
            return self.pg.scalar("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        before = sessions()
        for _ in range(200):
            status, answer = daemon.get("/v1/models/elec2/progress")
            self.assertEqual(status, 200, answer)
        opened = sessions() - before
        print(f"{opened} PostgreSQL sessions began during 200 progress polls (one of them the count's own)")
        self.assertLess(opened, 10)

        # Idle: nothing to drain, no window to close. Only the probe notices.
        stop_called = time.monotonic()
        self.pg.stop()
        print(f"pg_ctl stop took {time.monotonic() - stop_called:.2f}s")
        try:
            took = seconds_until(lambda: ready(daemon)[0] == 503, 5)
            print(f"503 {took:.2f}s after PostgreSQL stopped")
            self.assertLess(took, 2.0)
            status, body = ready(daemon)
            self.assertFalse(body["store_reachable"])
            self.assertIn("store unreachable", body["not_ready"])
            self.assertIn("store_error", body)
            self.assertEqual(daemon.metric("modelwatch_store_up"), 0)
        finally:
            self.pg.start()
        took = seconds_until(lambda: ready(daemon)[0] == 200, 5)
        print(f"200 {took:.2f}s after PostgreSQL started")
        self.assertLess(took, 2.0)
        self.assertEqual(daemon.metric("modelwatch_store_up"), 1)
        # The admin sessions died with PostgreSQL while idle: the first poll after its return is answered
        # on a new one, not failed for the dead one.
        status, answer = daemon.get("/v1/models/elec2/progress")
        self.assertEqual(status, 200, answer)
        self.assertIn("admin_read_session_closed action=reconnect", daemon.log())
        self.assertEqual(daemon.terminate(), 0)

    def test_details_only_with_the_admin_token(self):
        admin, ingest = "admin-secret", "model-secret"
        sha = lambda secret: hashlib.sha256(secret.encode()).hexdigest()
        daemon = self.new_daemon("auth")
        schema = ("\n  - name: elec2\n    prediction: {type: binary, classes: [UP, DOWN]}\n"
                  f"    tokens:\n      - sha256: {sha(ingest)}\n"
                  "    features:\n      - {name: nswprice, type: numeric}\n")
        daemon.write_config(self.pg.dsn, extra_yaml="", models_yaml=schema)
        with open(daemon.config_path) as f:
            text = f.read()
        with open(daemon.config_path, "w") as f:
            f.write(text.replace("server:\n", f"server:\n  tokens:\n    - sha256: {sha(admin)}\n", 1))
        daemon.start()
        wait_for(lambda: ready(daemon)[0] == 200, 20, "not ready")

        for headers in (None, {"Authorization": f"Bearer {ingest}"}, {"Authorization": "Bearer wrong"}):
            status, body, _ = daemon.request("GET", "/readyz", headers=headers)
            self.assertEqual(status, 200)
            self.assertEqual(json.loads(body), {"ready": True}, headers)
            self.assertNotIn(self.pg.directory.encode(), body)

        status, body = ready(daemon, {"Authorization": f"Bearer {admin}"})
        self.assertEqual(status, 200)
        self.assertEqual(set(body["workers"]), WORKERS)

        # Down: the verdict for everyone, the reason (which names the socket) for the admin only.
        self.pg.stop()
        try:
            wait_for(lambda: ready(daemon)[0] == 503, 5, "readyz stayed 200 with PostgreSQL stopped")
            status, body, _ = daemon.request("GET", "/readyz")
            self.assertEqual(json.loads(body), {"ready": False})
            status, body = ready(daemon, {"Authorization": f"Bearer {admin}"})
            self.assertIn("store_error", body)
        finally:
            self.pg.start()
        self.assertEqual(daemon.terminate(), 0)

    def test_postgres_hanging_stalls_neither_health_nor_ingest(self):
        # A PostgreSQL that accepts connections and never answers them (its postmaster stopped: a hung host
        # or a network black hole) while admin clients poll progress, as the lockstep replay does: each waits
        # up to store.connect_timeout (5 s) for its connection, on threads of its own, and is told 503;
        # /healthz and ingest are answered meanwhile (on the event loop they had waited behind them).
        daemon = self.new_daemon("hang")
        daemon.start()
        wait_for(lambda: ready(daemon)[0] == 200, 20, "not ready")
        with open(os.path.join(self.pg.directory, "data", "postmaster.pid")) as f:
            postmaster = int(f.readline())
        answers = []

        def ask():
            status, body, _ = daemon.request("GET", "/v1/models/elec2/progress", timeout=60)
            answers.append((status, body))
        # Two: as many as the event loop has threads on a 2-core machine (and the admin API here).
        askers = [threading.Thread(target=ask) for _ in range(2)]
        os.kill(postmaster, signal.SIGSTOP)
        try:
            for asker in askers:
                asker.start()
            time.sleep(0.5)  # the askers wait on PostgreSQL now
            started = time.monotonic()
            self.assertEqual(daemon.request("GET", "/healthz", timeout=30)[0], 200)
            status, body, _ = daemon.post("/v1/models/elec2/predictions", [prediction(1, id="hang-1")])
            took = time.monotonic() - started
            self.assertEqual(status, 200, body)
            print(f"/healthz and an ingest answered in {took:.2f}s while 2 admin requests waited on PostgreSQL")
            self.assertLess(took, 2.0, "health and ingest waited for the admin requests' PostgreSQL")
            for asker in askers:
                asker.join(60)
        finally:
            os.kill(postmaster, signal.SIGCONT)
        self.assertEqual(len(answers), 2)
        for status, body in answers:
            self.assertEqual(status, 503, body)
            self.assertIn(b"the store is unreachable", body)
        wait_for(lambda: ready(daemon)[0] == 200, 20, "not ready after PostgreSQL resumed")
        self.assertEqual(daemon.get("/v1/models/elec2/progress")[0], 200)
        self.assertEqual(daemon.terminate(), 0)

    def test_stuck_worker_is_reported_and_starves_the_watchdog(self):
        daemon = self.new_daemon("stuck", extra_yaml="monitor:\n  interval: 100ms\n  progress_timeout: 1s\n")
        notify = NotifySocket(os.path.join(daemon.directory, "notify.sock"))
        self.addCleanup(notify.sock.close)
        daemon.env = {"NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "1000000"}
        daemon.start(wait=False)
        notify.collect("READY=1")
        notify.collect("WATCHDOG=1", timeout=5)
        daemon.wait_ready()

        def hold_lock():
            # The monitor reads model_references on every pass (waiting for its
            # reference); with the table locked its statement blocks: no progress.
            conn = psycopg2.connect(self.pg.dsn)
            conn.cursor().execute("LOCK TABLE model_references IN ACCESS EXCLUSIVE MODE")
            return conn

        lock = hold_lock()
        try:
            took = seconds_until(lambda: ready(daemon)[0] == 503, 10)
            print(f"stuck reported {took:.2f}s after the lock was taken (progress_timeout 1s)")
            status, body = ready(daemon)
            self.assertEqual(body["workers"]["monitor"]["state"], "stuck")
            self.assertGreater(body["workers"]["monitor"]["since_progress_ms"], 1000)
            self.assertIn("worker monitor stuck", body["not_ready"])
            self.assertEqual(body["workers"]["retrain"]["state"], "idle")  # the others go on
            wait_for(lambda: "worker_stuck worker=monitor" in daemon.log(), 5, "worker_stuck not logged")
            self.assertIn("watchdog_withheld", daemon.log())
            self.assertEqual(daemon.metric('modelwatch_worker_stuck{worker="monitor"}'), 1)
            # No WATCHDOG=1 while stuck: systemd would restart the daemon after
            # WatchdogSec. (Pings queued before the watchdog's check saw it are drained first.)
            def pending():
                messages = []
                while True:
                    try:
                        messages.append(notify.sock.recv(4096).decode())
                    except OSError:
                        return messages
            time.sleep(0.6)
            pending()
            time.sleep(2.0)
            self.assertNotIn("WATCHDOG=1", "".join(pending()))
        finally:
            lock.rollback()
            lock.close()
        # Released: the pass goes on, the watchdog is fed again.
        notify.collect("WATCHDOG=1", timeout=5)
        wait_for(lambda: ready(daemon)[0] == 200, 5, "still not ready after the lock was released")
        self.assertIn("worker_unstuck worker=monitor", daemon.log())

        # SIGTERM while stuck: the blocked statement is cancelled, the daemon exits in time.
        lock = hold_lock()
        try:
            wait_for(lambda: ready(daemon)[1]["workers"]["monitor"]["state"] == "stuck", 10, "not stuck again")
            started = time.monotonic()
            daemon.process.send_signal(15)
            self.assertEqual(daemon.process.wait(timeout=30), 0)
            took = time.monotonic() - started
        finally:
            lock.rollback()
            lock.close()
        print(f"exit {took:.2f}s after SIGTERM with the monitor blocked")
        self.assertLess(took, 5.0)
        log = daemon.log()
        self.assertIn("worker_cancelling_statement worker=monitor", log)
        self.assertIn("worker_interrupted worker=monitor", log)
        self.assertIn("stopped drained=true", log)


if __name__ == "__main__":
    main()
