"""Reloads, ingest and shutdown never wait on a slow monitor pass (issue 19).

A wide model with large count windows makes each monitor pass take seconds.
While it runs: 50 SIGHUPs, each changing the configuration, all take effect
in order without waiting for the pass (the generation in /readyz and
modelwatch_config_generation, the model list, the log), and the monitor picks
the newest up at its next pass; a client ingesting meanwhile sees p99 latency
under 100 ms; SIGTERM in the middle of a pass interrupts it at a safe point
and the daemon exits within the drain time with every acknowledged record
stored.

MODELWATCH_SLOW_PASS_RELOADS (default 50) sets the number of reloads."""

import http.client
import json
import os
import random
import re
import threading
import time

import psycopg2

from harness import Environment, main, wait_for

FEATURES = 60
WINDOW_ROWS = 4000
RELOADS = int(os.environ.get("MODELWATCH_SLOW_PASS_RELOADS", "50"))
SEGMENTS = 6
NOISE_RESAMPLES = 1000
STOP_DRAIN_S = 20


def wide_model(extra_models=""):
    features = "".join(f"      - {{name: f{i}, type: numeric}}\n" for i in range(FEATURES))
    # Drift per segment repeats the evaluation for each region, and many
    # noise resamples per feature make each evaluation slow: windows take
    # longer to judge than to ingest, so a backlog builds and passes are long
    # (the default 50 resamples became too fast for that in session 8).
    return (f"\n  - name: wide\n    prediction: {{type: binary, classes: [a, b]}}\n"
            f"    reference: {{rows: {WINDOW_ROWS}}}\n    window: {{rows: {WINDOW_ROWS}}}\n"
            f"    attributes: [region]\n"
            f"    drift: {{multivariate: true, segments: [region], noise_resamples: {NOISE_RESAMPLES}}}\n"
            f"    features:\n{features}{extra_models}")


def marker_model(generation):
    # A tiny model whose name says which file is in force.
    return (f"  - name: gen{generation}\n    prediction: {{type: score}}\n"
            f"    features:\n      - {{name: x, type: numeric}}\n")


def records(start, count, shift=0.0, prefix="w"):
    rng = random.Random(start)
    out = []
    for i in range(start, start + count):
        out.append({"id": f"{prefix}-{i}", "prediction": "a" if i % 2 else "b", "score": rng.random(),
                    "attributes": {"region": f"r{i % SEGMENTS}"},
                    "features": {f"f{j}": rng.gauss(shift, 1.0) for j in range(FEATURES)}})
    return out


class Ingest(threading.Thread):
    """Small requests at a steady pace, as a model server sends them; every
    acknowledged id is remembered, every request's latency measured."""

    def __init__(self, daemon, first_id):
        super().__init__(daemon=True)
        self.daemon_ = daemon
        self.next_id = first_id
        self.acknowledged = []
        self.latencies = []  # (monotonic start, seconds)
        self.failures = []
        self.stop = threading.Event()

    def run(self):
        # One keep-alive connection, as a model server's client holds one: the
        # latency is the daemon's answer (its event loop's pick-up included),
        # not a TCP handshake of the client's own queued behind the machine's
        # other work (of the slow requests analysed in bench/RESULTS.md,
        # "Ingest latency during reloads", 18 of 119 spent their time in the
        # client's connect()).
        connection = http.client.HTTPConnection("127.0.0.1", self.daemon_.port, timeout=30)
        try:
            self.send_steadily(connection)
        finally:
            connection.close()

    def send_steadily(self, connection):
        while not self.stop.is_set():
            batch = records(self.next_id, 10, prefix="steady")
            self.next_id += 10
            payload = json.dumps(batch)
            started = time.monotonic()
            try:
                connection.request("POST", "/v1/models/wide/predictions", body=payload,
                                   headers={"Content-Type": "application/json"})
                response = connection.getresponse()
                status, body = response.status, json.loads(response.read() or b"{}")
            except (OSError, http.client.HTTPException) as error:
                self.failures.append(str(error))
                return  # the daemon stopped accepting
            took = time.monotonic() - started
            if status == 200 and body.get("accepted") == len(batch):
                self.acknowledged.extend(r["id"] for r in batch)
                self.latencies.append((started, took))
            else:
                self.failures.append(f"{status} {body}")
            time.sleep(0.02)


# The daemon's own latency histogram of the route the client posts to: the
# time from the request read to the answer handed back (daemon/api.cpp).
INGEST_BUCKET = 'modelwatch_http_request_duration_seconds_bucket{route="/v1/models/{model}/predictions",le="%s"}'


def ingest_answered(daemon):
    """(all, within 100 ms) ingest answers the daemon has counted so far."""
    return daemon.metric(INGEST_BUCKET % "+Inf") or 0, daemon.metric(INGEST_BUCKET % "0.1") or 0


def p99(values):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


class SlowPass(Environment):
    def readyz(self, daemon):
        status, body, _ = daemon.request("GET", "/readyz", timeout=5)
        return json.loads(body)

    def monitor(self, daemon):
        return self.readyz(daemon)["workers"]["monitor"]

    def write_config(self, daemon, generation):
        daemon.write_config(self.pg.dsn, extra_yaml=self.extra_yaml, models_yaml=wide_model(marker_model(generation)))

    def preload(self, daemon, start, windows, shift):
        count = windows * WINDOW_ROWS
        for offset in range(0, count, 1000):
            status, body, _ = daemon.post("/v1/models/wide/predictions", records(start + offset, 1000, shift))
            self.assertEqual(status, 200, body)
        return start + count

    def backlog_windows(self):
        """Full windows stored but not judged yet."""
        rows = self.pg.scalar("SELECT count(*) FROM predictions WHERE model = 'wide'")
        judged = self.pg.scalar("SELECT count(*) FROM monitor_windows WHERE model = 'wide'")
        return (rows - WINDOW_ROWS) // WINDOW_ROWS - judged

    def wait_mid_pass(self, daemon, timeout=60):
        """Until the monitor has been in one pass for over a second with at
        least two more windows to judge in it."""
        wait_for(lambda: self.monitor(daemon).get("pass_running_ms", 0) > 1000 and self.backlog_windows() >= 2,
                 timeout, "the monitor never ran a long pass:\n" + daemon.log()[-3000:])

    def test_reloads_ingest_and_stop_during_a_slow_pass(self):
        self.extra_yaml = (f"monitor:\n  interval: 100ms\nspool:\n  stop_drain_timeout: {STOP_DRAIN_S}s\n"
)
        daemon = self.new_daemon("slow")
        self.write_config(daemon, 1)
        daemon.start()
        daemon.wait_ready()

        # A reference and a backlog of windows: the next passes take seconds.
        next_id = self.preload(daemon, 0, 1, 0.0)
        next_id = self.preload(daemon, next_id, 4, 0.3)
        self.wait_mid_pass(daemon)

        ingest = Ingest(daemon, 0)
        ingest.start()
        time.sleep(0.5)

        # 50 reloads while the pass runs; each must take effect on its own.
        answered_before = ingest_answered(daemon)
        reload_started = time.monotonic()
        reload_seconds = []
        lagging = 0  # reloads seen in force while the monitor was still on an older generation
        for generation in range(2, RELOADS + 2):
            self.write_config(daemon, generation)
            sent = time.monotonic()
            daemon.process.send_signal(1)
            while self.readyz(daemon)["config_generation"] != generation:  # polled every 10 ms, for 5 s at most
                self.assertLess(time.monotonic() - sent, 5, f"reload {generation} did not take effect within 5 s")
                time.sleep(0.01)
            reload_seconds.append(time.monotonic() - sent)
            state = self.readyz(daemon)
            if state["workers"]["monitor"]["config_generation"] < generation:
                lagging += 1
            _, models = daemon.get("/v1/models")
            names = {m["name"] for m in json.loads(models)["models"]}
            self.assertEqual(names, {"wide", f"gen{generation}"})
            time.sleep(0.1)  # an operator's pace, not a burst: the ingest client gets a fair sample
        reload_ended = time.monotonic()
        answered_after = ingest_answered(daemon)
        pass_started = reload_started
        self.assertEqual(daemon.metric("modelwatch_config_generation"), RELOADS + 1)
        self.assertEqual(daemon.metric('modelwatch_config_reloads_total{result="success"}'), RELOADS)
        applied = [int(g) for g in re.findall(r"config_reloaded .* generation=(\d+)", daemon.log())]
        self.assertEqual(applied, list(range(2, RELOADS + 2)))
        print(f"{RELOADS} reloads in {reload_ended - reload_started:.1f}s; each took effect in at most "
              f"{max(reload_seconds) * 1000:.0f} ms (median {sorted(reload_seconds)[len(reload_seconds) // 2] * 1000:.0f} ms); "
              f"{lagging} while the monitor was still in an older pass")
        # The reloads did not wait for the pass: most landed while it was running.
        self.assertGreater(lagging, RELOADS // 2)

        # Ingest meanwhile: the healthy path's latency.
        during = [took for started, took in ingest.latencies if reload_started <= started <= reload_ended]
        self.assertGreater(len(during), 20)
        # Over the same time, the daemon's own count of the answers that took
        # over 100 ms from the request read: a spool fdatasync stall shows
        # there, a wait outside the daemon's handling (the client's, or
        # before an event-loop thread read the request) does not. Printed,
        # not asserted: it tells which side a failure of the bound came from
        # (bench/RESULTS.md, "Ingest latency during reloads").
        answered = answered_after[0] - answered_before[0]
        slow_in_daemon = answered - (answered_after[1] - answered_before[1])
        figures = (f"ingest during the reloads: {len(during)} requests, p99 {p99(during) * 1000:.1f} ms, "
                   f"max {max(during) * 1000:.1f} ms, over 100 ms {sum(took > 0.100 for took in during)}; "
                   f"the daemon's own histogram: {slow_in_daemon:.0f} of {answered:.0f} answers over 100 ms")
        print(figures)
        self.assertLess(p99(during), 0.100, figures)
        self.assertEqual(ingest.failures, [])

        # The monitor picks the newest configuration up at its next pass.
        wait_for(lambda: self.monitor(daemon)["config_generation"] == RELOADS + 1, 240,
                 "the monitor never picked up the last configuration")
        print(f"monitor on generation {RELOADS + 1} {time.monotonic() - pass_started:.1f}s after the reloads began "
              f"(its previous pass took {self.monitor(daemon)['last_pass_ms'] / 1000:.1f}s)")

        # SIGTERM in the middle of a pass.
        # On a quiet machine the monitor judges a window in a fraction of a
        # second and keeps up with the preload, so no pass would be long: hold
        # its window writes (EXCLUSIVE lets reads through) while the backlog
        # builds, then let go; SIGTERM then lands while it works through it.
        lock = psycopg2.connect(self.pg.dsn)
        lock.cursor().execute("LOCK TABLE monitor_windows IN EXCLUSIVE MODE")
        try:
            next_id = self.preload(daemon, next_id, 6, -0.3)
            self.wait_mid_pass(daemon)
        finally:
            lock.rollback()
            lock.close()
        windows_before = self.pg.scalar("SELECT count(*) FROM monitor_windows")
        started = time.monotonic()
        daemon.process.send_signal(15)
        code = daemon.process.wait(timeout=STOP_DRAIN_S + 30)
        took = time.monotonic() - started
        ingest.stop.set()
        ingest.join(timeout=10)
        print(f"SIGTERM mid-pass: exit {code} after {took:.2f}s; {len(ingest.acknowledged)} records acknowledged "
              f"by the steady client")
        self.assertEqual(code, 0)
        self.assertLess(took, STOP_DRAIN_S)
        log = daemon.log()
        self.assertIn("worker_interrupted worker=monitor", log)
        self.assertIn("stopped drained=true", log)

        # Every acknowledged record is stored; windows are whole (one transaction each).
        acknowledged = ingest.acknowledged
        stored = self.pg.scalar("SELECT count(*) FROM predictions WHERE model = 'wide' AND id = ANY(%s)",
                                (acknowledged,))
        self.assertEqual(stored, len(acknowledged))
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM predictions WHERE model = 'wide' AND id LIKE 'w-%%'"),
                         next_id)
        # A window is stored with its findings and metrics in one transaction,
        # so an interrupted pass leaves none without them.
        self.assertGreaterEqual(self.pg.scalar("SELECT count(*) FROM monitor_windows"), windows_before)
        self.assertEqual(self.pg.scalar(
            "SELECT count(*) FROM monitor_windows w WHERE NOT EXISTS "
            "(SELECT 1 FROM findings f WHERE f.window_id = w.id AND f.kind = 'dataset_drift') "
            "OR NOT EXISTS (SELECT 1 FROM window_metrics m WHERE m.window_id = w.id)"), 0)


if __name__ == "__main__":
    main()
