"""A reload's privacy-key claim waits on PostgreSQL off the event loop
(daemon/reloader.h, docs/monitoring.md "Reloading").

A SIGHUP that adds a model under a privacy key claims the key in PostgreSQL
before the model is in force. With PostgreSQL hung (its postmaster stopped: a
new connection waits, the daemon's open sessions still work) that claim
waits up to store.connect_timeout, 30 s here. Meanwhile /healthz, /readyz,
/metrics and ingest answer within a few seconds, the running configuration
serves (generation 1, the new model unknown), a second SIGHUP is queued, and
once PostgreSQL is back both reloads take effect in order, the key recorded,
the last file in force. SIGTERM during a pending claim is taken at once (the
stop begins before the claim gives up), the reload is left behind after 5 s
and publishes nothing, and the process exits 0 within the unit's
TimeoutStopSec less its margin, though the leases' release and the
watermark's withdrawal find no answer either (each said in the log).

The admin reads' session metrics (modelwatch_read_session*) are exported
from the start and move with a read."""

import contextlib
import hashlib
import hmac
import json
import os
import re
import signal
import subprocess
import time

from harness import ELEC2_SCHEMA, SOURCE_DIR, Environment, main, prediction, wait_for

CLAIM_TIMEOUT_S = 30  # store.connect_timeout below: how long a hung claim waits
# The unit's own margin over the stop budget (tests/integration/test_systemd_unit.py).
STOP_MARGIN_S = 10
# An answer "within a few seconds": a small share of the claim's timeout,
# far above an answer's time on a loaded machine.
PROMPT_S = 10

KEY = b"3c9e1f7a5b2d4c6e8a0b1d3f5e7a9c2b4d6f8e0a1c3e5b7d9f2a4c6e8b0d1f3a"


def stop_limit_s():
    """How long a stop may take: the unit's TimeoutStopSec less its margin."""
    with open(os.path.join(SOURCE_DIR, "systemd", "modelwatchd.service.in")) as f:
        return int(re.search(r"^TimeoutStopSec=(\d+)s$", f.read(), re.M).group(1)) - STOP_MARGIN_S


def key_id(key):
    """core/privacy_key.h: the first 8 hex digits of HMAC-SHA256(key, "modelwatch key id")."""
    return hmac.new(key, b"modelwatch key id", hashlib.sha256).hexdigest()[:8]


def keyed_model(name, key_file):
    return f"""
  - name: {name}
    prediction: {{type: binary, classes: [UP, DOWN]}}
    features:
      - {{name: x, type: numeric}}
    privacy:
      key_file: {key_file}
      id: hash
"""


def plain_model(name):
    return f"""
  - name: {name}
    prediction: {{type: binary, classes: [UP, DOWN]}}
    features:
      - {{name: x, type: numeric}}
"""


class ReloadClaim(Environment):
    def configure(self, daemon, models_yaml):
        """The harness's file with store.connect_timeout set (the store section is the harness's)."""
        daemon.write_config(self.pg.dsn, models_yaml=models_yaml)
        with open(daemon.config_path) as f:
            text = f.read()
        text = text.replace("  retry_max: 500ms\n", f"  retry_max: 500ms\n  connect_timeout: {CLAIM_TIMEOUT_S}s\n", 1)
        with open(daemon.config_path, "w") as f:
            f.write(text)

    def key_file(self, name):
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(KEY + b"\n")
        os.chmod(path, 0o600)
        return path

    def postmaster(self):
        with open(os.path.join(self.pg.directory, "data", "postmaster.pid")) as f:
            return int(f.readline())

    @contextlib.contextmanager
    def claim_waiting(self, daemon):
        """PostgreSQL hung (its postmaster stopped), then a SIGHUP: inside, the reload's claim waits for a
        connection. PostgreSQL resumes on the way out, whatever happened inside."""
        postmaster = self.postmaster()
        os.kill(postmaster, signal.SIGSTOP)
        try:
            daemon.process.send_signal(signal.SIGHUP)
            wait_for(lambda: "config_reload_started" in daemon.log(), PROMPT_S, "the reload did not start")
            time.sleep(1)  # its claim now waits for a connection
            yield
        finally:
            os.kill(postmaster, signal.SIGCONT)

    @staticmethod
    def readyz(daemon):
        status, body, _ = daemon.request("GET", "/readyz", timeout=60)
        return status, json.loads(body)

    @staticmethod
    def timed(call):
        started = time.monotonic()
        result = call()
        return result, time.monotonic() - started

    def start(self, name):
        daemon = self.new_daemon(name)
        self.configure(daemon, ELEC2_SCHEMA)
        daemon.start()
        daemon.wait_ready()
        return daemon

    def test_hung_claim_leaves_health_ingest_and_signals_alone(self):
        daemon = self.start("hung")
        # The admin read sessions' series exist before any read, and move with one.
        sessions = 'modelwatch_read_sessions{purpose="admin"}'
        opened = 'modelwatch_read_sessions_opened_total{purpose="admin"}'
        self.assertEqual(daemon.metric(sessions), 0)
        self.assertEqual(daemon.metric(opened), 0)
        for failures in ("modelwatch_read_session_connect_failures_total", "modelwatch_read_sessions_closed_total",
                         "modelwatch_read_statement_timeouts_total"):
            self.assertEqual(daemon.metric(failures + '{purpose="admin"}'), 0, failures)
        self.assertEqual(daemon.get("/v1/models/elec2/progress")[0], 200)
        self.assertEqual(daemon.metric(sessions), 1)
        self.assertEqual(daemon.metric(opened), 1)

        key_file = self.key_file("hung.key")
        self.configure(daemon, ELEC2_SCHEMA + keyed_model("keyed", key_file))
        with self.claim_waiting(daemon):
            (status, _), took = self.timed(lambda: daemon.get("/healthz"))
            print(f"/healthz during the claim: {status} in {took:.3f} s")
            self.assertEqual(status, 200)
            self.assertLess(took, PROMPT_S, "/healthz waited for the reload's claim")
            (status, body, _), took = self.timed(
                lambda: daemon.post("/v1/models/elec2/predictions", [prediction(1, id="during-claim")]))
            print(f"ingest during the claim: {status} in {took:.3f} s")
            self.assertEqual(status, 200, body)
            self.assertLess(took, PROMPT_S, "ingest waited for the reload's claim")
            (status, state), took = self.timed(lambda: self.readyz(daemon))
            print(f"/readyz during the claim: {status} in {took:.3f} s")
            self.assertLess(took, PROMPT_S, "/readyz waited for the reload's claim")
            # Not yet in force: the running configuration serves.
            self.assertEqual(state["config_generation"], 1)
            self.assertTrue(state["config_reload_pending"])
            self.assertEqual(daemon.metric("modelwatch_config_generation"), 1)
            status, _, _ = daemon.post("/v1/models/keyed/predictions", [{"id": "k-0", "features": {"x": 1.0},
                                                                        "prediction": "UP"}])
            self.assertEqual(status, 404)

            # A second SIGHUP while the first waits: queued, and its file (one more model) is the last.
            self.configure(daemon, ELEC2_SCHEMA + keyed_model("keyed", key_file) + plain_model("later"))
            daemon.process.send_signal(signal.SIGHUP)
            wait_for(lambda: "config_reload_queued state=queued" in daemon.log(), PROMPT_S,
                     "the second SIGHUP was not taken while the first reload waited")
            self.assertEqual(self.readyz(daemon)[1]["config_generation"], 1)

        # PostgreSQL back: the claim completes, then the queued reload runs on top of it.
        wait_for(lambda: daemon.metric("modelwatch_config_generation") == 3, CLAIM_TIMEOUT_S + 30,
                 "the two reloads did not both take effect:\n" + daemon.log()[-3000:])
        applied = [int(g) for g in re.findall(r"config_reloaded .* generation=(\d+)", daemon.log())]
        self.assertEqual(applied, [2, 3])
        self.assertNotIn("privacy_keys_claim_deferred", daemon.log())
        self.assertEqual(self.pg.scalar("SELECT key_id FROM model_privacy WHERE model = 'keyed'"), key_id(KEY))
        self.assertFalse(self.readyz(daemon)[1]["config_reload_pending"])
        for model in ("keyed", "later"):
            status, body, _ = daemon.post(f"/v1/models/{model}/predictions",
                                          [{"id": f"{model}-1", "features": {"x": 1.0}, "prediction": "UP"}])
            self.assertEqual(status, 200, body)
        self.assertEqual(daemon.metric('modelwatch_config_reloads_total{result="success"}'), 2)
        self.assertEqual(daemon.terminate(), 0)

    def test_stop_during_a_pending_claim(self):
        daemon = self.start("stop")
        self.configure(daemon, ELEC2_SCHEMA + keyed_model("abandoned", self.key_file("stop.key")))
        with self.claim_waiting(daemon):
            started = time.monotonic()
            daemon.process.send_signal(signal.SIGTERM)
            wait_for(lambda: "stopping signal=SIGTERM" in daemon.log(), PROMPT_S,
                     "SIGTERM was not taken while the reload's claim waited:\n" + daemon.log()[-3000:])
            taken = time.monotonic() - started
            # The stop's other steps wait on the hung PostgreSQL too (the leases' release and the
            # watermark's withdrawal each connect, for store.connect_timeout), but none past the
            # stop's budget: the process exits within the unit's TimeoutStopSec and its margin.
            try:
                code = daemon.process.wait(timeout=stop_limit_s() + 30)
            except subprocess.TimeoutExpired:
                code = None
            took = time.monotonic() - started
        log = daemon.log()
        print(f"SIGTERM during the claim: taken after {taken:.2f} s, exit {code} after {took:.1f} s "
              f"(store.connect_timeout: {CLAIM_TIMEOUT_S} s, limit {stop_limit_s()} s)")
        self.assertIsNotNone(code, f"still running {took:.0f} s after SIGTERM:\n{log[-3000:]}")
        self.assertLess(took, stop_limit_s(), log[-3000:])
        self.assertEqual(code, 0, log[-3000:])
        # What was not done for lack of an answer is said, with what it means (the leases stay
        # because their release got no answer, or because a worker still connecting was left).
        self.assertRegex(log, r"leases_not_released daemon_id=\S+ reason=.* \(they expire after cluster\.lease")
        self.assertRegex(log, r"store_watermark_not_withdrawn writer=\S+ .*\(it expires after cluster\.lease")
        # The stop began while the claim still waited (when the process outlives the claim's timeout,
        # the claim's end is logged as deferred after it); the reload was left behind, published nothing.
        if "privacy_keys_claim_deferred" in log:
            self.assertLess(log.index("stopping signal=SIGTERM"), log.index("privacy_keys_claim_deferred"))
        self.assertIn('config_reload_abandoned reason="still waiting on PostgreSQL at the stop"', log)
        self.assertNotIn("config_reloaded", log)
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM model_privacy WHERE model = 'abandoned'"), 0)

if __name__ == "__main__":
    main()
