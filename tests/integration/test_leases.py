#!/usr/bin/python3
"""Three daemons on one PostgreSQL share 30 models through leases
(store/leases.h, docs/scaling.md): every daemon takes ingest for every model,
one owner per model closes its windows. kill -9 one daemon, later another,
restart both: every window of every model is closed exactly once (no daemon
ever loses a race on UNIQUE (model, sequence)), the orphaned models are
re-owned within a bound derived from the lease and heartbeat and their next
windows closed by their successors' next monitor pass, and the findings
(concept drift included, whose ADWIN state the successor resumes from the checkpoint, and
the default anomaly detector's on the series that depend on the data alone)
and the last checkpoint of every model equal those of a single daemon fed
the same records. A daemon paused past its lease (SIGSTOP, then SIGCONT)
writes no window or checkpoint after its lease expired, and the retraining
job it was running is failed by the others once it stopped heartbeating,
never run again, and its end refused when it wakes.

Alerts are the owners' work too (alerts/outbox.h): every daemon's
Alertmanager receiver points at a counting proxy in front of a real
Alertmanager, which records which daemon posted what and when. Across the
kills and the pause, each state change of each alert (first firing, and
resolved) reaches the receiver exactly once, as the outbox recorded it, none
comes from the paused daemon after its lease expired, and Alertmanager ends
with the alerts the store says fire.

Bounded to about a minute by default (short leases, conditions waited
for instead of sleeps); MODELWATCH_LEASES_ROUNDS=N feeds more windows per
model."""

import collections
import datetime
import http.client
import http.server
import json
import os
import random
import signal
import threading
import time

import psycopg2

import harness

MODELS = [f"m{i:02d}" for i in range(30)]
WINDOW = 20
ROUNDS = int(os.environ.get("MODELWATCH_LEASES_ROUNDS", "8"))
# Short leases so that the failovers take seconds (cluster.heartbeat must be
# under half of cluster.lease). The bounds below are derived from these.
LEASE_S = 3.0
HEARTBEAT_S = 0.5
MONITOR_INTERVAL_S = 0.2
CLUSTER = f"lease: {LEASE_S * 1000:.0f}ms, heartbeat: {HEARTBEAT_S * 1000:.0f}ms"
# A killed owner's leases are re-owned within TAKEOVER_BOUND_S of the kill:
# its last heartbeat renewed them before the kill, so they expire at most
# LEASE_S after it, and the daemon stops counting as live at the same moment
# (its heartbeat and renewal are one transaction), so the fair share grows;
# a successor's heartbeat begins at most HEARTBEAT_S after its previous one
# ended and claims them; a heartbeat is one short transaction, allowed one
# more HEARTBEAT_S in all for the one before and its own (a daemon whose
# heartbeats take longer than their interval is behind its own schedule).
TAKEOVER_BOUND_S = LEASE_S + 2 * HEARTBEAT_S
# How long a wait for a condition goes on before the test calls the daemons
# stuck. Not a bound of the product: what the test asserts of time is the
# takeover's bound above; windows are asserted in monitor passes
# (windows_by_pass), since how long a pass takes (a reference refit and a
# checkpoint restore per model taken over) is CPU work, not configuration.
STUCK_S = 300
BASE_TS = 1_767_225_600  # 2026-01-01T00:00:00Z: every record's ts is fixed, so both runs store the same rows

MODEL_YAML = "".join(f"""
  - name: {name}
    prediction: {{type: binary, classes: ["yes", "no"]}}
    features: [{{name: x, type: numeric}}, {{name: c, type: categorical}}]
    reference: {{rows: {WINDOW}}}
    window: {{rows: {WINDOW}}}
    performance: {{min_label_coverage: 1.0}}
""" for name in MODELS)

# The retraining job of MODELS[0], started by hand: it counts its runs in a
# file and waits for a release file (at most a minute), so it is still
# running when its daemon is paused.
JOB = """echo run >> "$1"
i=0
while [ ! -e "$2" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
printf '{"version": 1, "challenger_version": "c", "artifact": "none", "metrics": {"accuracy": 0.5}}' > "$MODELWATCH_REPORT"
"""
RETRAIN_YAML = """    retrain:
      command: [/bin/sh, "{job}", "{runs}", "{release}"]
      triggers: [{{kind: manual}}]
      timeout: 120s
      data_rows: 10
"""


def shifted_round(round_index):
    """Rounds 2, 5, 6, 9, 10, ...: an alert fires before the first kill and
    resolves after it, and fires again before the pause and resolves after it."""
    return round_index >= 2 and round_index % 4 in (1, 2)


def records(model_index, round_index):
    """Round r of a model: WINDOW predictions and their outcomes, seeded by
    (model, round). In shifted rounds x moves for even models, so dataset
    drift alerts fire and resolve across the failovers; from round 5 on
    their error rate rises, so ADWIN reports drift at positions that depend
    on everything before (and performance alerts fire). The
    scores come from a generator of their own, so the rest does not change
    with them; they make score_mean and score_sd series of the data alone."""
    rng = random.Random(model_index * 1000 + round_index)
    score_rng = random.Random(-(model_index * 1000 + round_index))
    predictions, outcomes = [], []
    for k in range(WINDOW):
        i = round_index * WINDOW + k
        shifted = shifted_round(round_index) and model_index % 2 == 0
        erring = round_index >= 5 and model_index % 2 == 0
        record_id = f"{MODELS[model_index]}-{i}"
        ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(BASE_TS + i * 60))
        predicted = "yes" if rng.random() < 0.5 else "no"
        wrong = rng.random() < (0.6 if erring else 0.1)
        predictions.append({"id": record_id, "ts": ts, "model_version": "v1",
                            "features": {"x": rng.gauss(2.0 if shifted else 0.0, 1.0), "c": rng.choice("abc")},
                            "prediction": predicted, "score": round(score_rng.random(), 6)})
        outcomes.append({"id": record_id, "ts": ts,
                         "label": ("no" if predicted == "yes" else "yes") if wrong else predicted})
    return predictions, outcomes


class CountingReceiver:
    """Alertmanager's API v2 as the daemons see it: each daemon posts to
    /<daemon>/api/v2/alerts here; every POST is recorded (the daemon, when
    it arrived, each alert in it) and forwarded to the real Alertmanager,
    whose answer goes back. Alertmanager deduplicates identical alerts, so
    only a count at this point shows whether a state change was sent twice."""

    def __init__(self, alertmanager_port):
        self.posts = []  # (daemon, arrival time.time(), alert as posted)
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                arrived = time.time()
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                daemon, _, rest = self.path.lstrip("/").partition("/")
                with receiver.lock:
                    for alert in json.loads(body):
                        receiver.posts.append((daemon, arrived, alert))
                conn = http.client.HTTPConnection("127.0.0.1", alertmanager_port, timeout=10)
                conn.request("POST", "/" + rest, body=body, headers={"Content-Type": "application/json"})
                answer = conn.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, daemon):
        return f"http://127.0.0.1:{self.server.server_address[1]}/{daemon}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def received(self):
        with self.lock:
            return list(self.posts)


def rfc3339_ms(text):
    return round(datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def state_change(labels, starts_at_ms, state):
    return (tuple(sorted(labels.items())), starts_at_ms, state)


class LeasesTest(harness.Environment):
    def setUp(self):
        super().setUp()
        self.job_runs = os.path.join(self.tmp, "job-runs")
        self.job_release = os.path.join(self.tmp, "job-release")
        job = os.path.join(self.tmp, "job.sh")
        with open(job, "w") as f:
            f.write(JOB)
        # The first model's section ends with its performance line; its retraining follows.
        first_end = MODEL_YAML.index("\n  - name:", 1) + 1
        self.models_yaml = (MODEL_YAML[:first_end] +
                            RETRAIN_YAML.format(job=job, runs=self.job_runs, release=self.job_release) +
                            MODEL_YAML[first_end:])
        if not os.path.exists(harness.Alertmanager.BINARY):
            self.skipTest("prometheus-alertmanager is not installed")
        self.alertmanager = harness.Alertmanager(os.path.join(self.tmp, "am"))
        self.alertmanager.start()
        self.addCleanup(self.alertmanager.stop)
        self.receiver = CountingReceiver(self.alertmanager.port)
        self.addCleanup(self.receiver.stop)

    def daemon(self, name, dsn=None, alerting=True):
        extra = (f"monitor: {{interval: {MONITOR_INTERVAL_S * 1000:.0f}ms}}\n"
                 f"cluster: {{daemon_id: {name}, {CLUSTER}}}\n")
        if alerting:
            # No re-sends within the test: every POST is a state change.
            extra += (f"alerting:\n  resend_interval: 1h\n  external_url: \"http://modelwatch.test\"\n"
                      f"  receivers: [{{name: am, type: alertmanager, urls: [\"{self.receiver.url(name)}\"]}}]\n")
        daemon = self.new_daemon(name, models_yaml=self.models_yaml, extra_yaml=extra)
        if dsn:
            daemon.write_config(dsn, extra, self.models_yaml)
        return daemon

    def feed_round(self, daemons, round_index, dsn):
        """One window's worth of records per model, spread over the live
        daemons; returns once PostgreSQL has them all (windows are taken in
        (ts, id) order, so a round must not overtake the previous one)."""
        for m in range(len(MODELS)):
            predictions, outcomes = records(m, round_index)
            daemon = daemons[(m + round_index) % len(daemons)]
            status, body, _ = daemon.post(f"/v1/models/{MODELS[m]}/predictions", predictions)
            self.assertEqual(status, 200, body)
            status, body, _ = daemon.post(f"/v1/models/{MODELS[m]}/outcomes", outcomes)
            self.assertEqual(status, 200, body)
        expected = (round_index + 1) * WINDOW * len(MODELS)
        harness.wait_for(lambda: scalar(dsn, "SELECT count(*) FROM outcomes") == expected, 30,
                         f"round {round_index} not stored")

    def wait_windows(self, dsn, rounds, timeout, daemons):
        # The first round is every model's reference; each later one a window.
        expected = (rounds - 1) * len(MODELS)
        harness.wait_for(lambda: scalar(dsn, "SELECT count(*) FROM monitor_windows WHERE performance_at IS NOT NULL")
                         == expected, timeout,
                         f"not every window closed and judged:\n" + "".join(d.log()[-3000:] for d in daemons))

    def wait_alerts_settled(self, dsn, daemons):
        """Every finding routed and every delivery sent. Before a kill -9 or
        a pause: a daemon stopped between claiming a delivery and recording
        the receiver's answer leaves it in doubt, and in doubt it is never
        sent again (tests/alerts/outbox_test.cpp covers that case)."""
        harness.wait_for(lambda: scalar(dsn, "SELECT (SELECT count(*) FROM findings WHERE NOT alert_routed) + "
                                             "(SELECT count(*) FROM alert_deliveries WHERE delivered_at IS NULL "
                                             "AND abandoned_at IS NULL)") == 0, 20,
                         "findings not routed or alerts not delivered:\n" + "".join(d.log()[-3000:] for d in daemons))

    def progress(self, daemon, model):
        status, body = daemon.get(f"/v1/models/{model}/progress")
        self.assertEqual(status, 200, body)
        return json.loads(body)

    def rows_visible(self, dsn):
        """Whether every stored row is below the watermark of every live
        writer (store/watermarks.h): what a monitor may close a window over.
        A writer counts while its daemon heartbeats or it publishes within a
        lease, as others_stored_before() counts it."""
        return scalar(dsn, "SELECT (SELECT min(w.stored_before) FROM store_watermarks w "
                           "  WHERE w.published_at > clock_timestamp() - %(lease)s * interval '1 second' "
                           "  OR EXISTS (SELECT 1 FROM daemons d WHERE d.id = w.writer "
                           "             AND d.heartbeat_at > clock_timestamp() - %(lease)s * interval '1 second')) "
                           "> (SELECT greatest((SELECT max(received_at) FROM predictions), "
                           "                   (SELECT max(received_at) FROM outcomes)))", {"lease": LEASE_S})

    def windows_by_pass(self, dsn, daemons, expected):
        """The product's promise for a model's windows, in monitor passes
        rather than seconds: once its owner holds the model and its rows are
        stored and visible (rows_visible), the owner's next monitor pass
        closes and judges every window they fill (up to 20 per model per
        pass, daemon/model_monitor.cpp). Of `daemons`, the one that owns each
        model answers for it: its progress answer (GET
        /v1/models/{model}/progress) names the pass that begins after it
        (next_pass), and a later answer whose monitor has ended that pass
        counts the windows as of then or later. Fails when a model has fewer
        than `expected` windows judged then."""
        owner = {}

        def ready():
            for model in MODELS:
                owner[model] = next((d for d in daemons if self.progress(d, model)["owned"]), None)
            return all(owner.values()) and self.rows_visible(dsn)

        harness.wait_for(ready, STUCK_S, "models not owned or rows not visible")
        first_pass = {model: self.progress(owner[model], model)["monitor"]["next_pass"] for model in MODELS}
        judged = {}
        for model in MODELS:
            judged[model] = harness.wait_for(
                lambda: (lambda p: p["monitor"]["passes_ended"] >= first_pass[model] and p)(
                    self.progress(owner[model], model)), STUCK_S, f"{model}'s monitor ran no pass")["windows_judged"]
        late = {model: n for model, n in judged.items() if n != expected}
        self.assertEqual(late, {}, f"windows judged after the first pass that began once the rows were visible "
                                   f"(expected {expected} each)")

    def owned(self, daemon):
        _, body = daemon.get("/readyz")
        return json.loads(body).get("models_owned", -1)

    def test_three_daemons_failover_and_pause(self):
        dsn = self.pg.dsn
        started = time.time()
        daemons = {name: self.daemon(name) for name in ("d1", "d2", "d3")}
        for daemon in daemons.values():
            daemon.start()
        for daemon in daemons.values():
            daemon.wait_ready()
        # Spread evenly: 10 each once all three heartbeat.
        harness.wait_for(lambda: [self.owned(d) for d in daemons.values()] == [10, 10, 10], 30,
                         "the models did not spread 10/10/10")
        print(f"phase: spread at {time.time() - started:.1f} s")

        live = list(daemons.values())
        rounds = 0

        def feed(daemons_now):
            nonlocal rounds
            self.feed_round(daemons_now, rounds, dsn)
            rounds += 1

        for _ in range(3):
            feed(live)
        self.wait_windows(dsn, rounds, 60, live)
        self.wait_alerts_settled(dsn, live)

        # kill -9 d1: its models move to d2 and d3, which close their next windows.
        orphans = [row[0] for row in query(dsn, "SELECT model FROM model_leases WHERE owner = 'd1'")]
        self.assertEqual(len(orphans), 10)
        print(f"phase: kill -9 d1 at {time.time() - started:.1f} s")
        daemons["d1"].kill()
        killed_at = scalar(dsn, "SELECT clock_timestamp()")
        live = [daemons["d2"], daemons["d3"]]
        feed(live)
        stored_at = scalar(dsn, "SELECT clock_timestamp()")
        # Each orphan's next window is closed by its successor's first
        # monitor pass once it holds the model and the rows are visible
        # (d1's watermark stops holding them back a lease after its last
        # heartbeat or publication).
        self.windows_by_pass(dsn, live, rounds - 1)
        self.wait_windows(dsn, rounds, 60, live)
        failover = query(dsn, "SELECT model, extract(epoch FROM min(closed_at) - %s) FROM monitor_windows "
                              "WHERE model = ANY(%s) AND lease_owner <> 'd1' AND closed_at > %s GROUP BY model",
                         (killed_at, orphans, killed_at))
        self.assertEqual(len(failover), 10, failover)
        # Every orphan re-owned within TAKEOVER_BOUND_S of the kill; the
        # windows' times are printed: they add the successor's first pass
        # over the models it took (a reference refit and a checkpoint restore
        # each), CPU work that windows_by_pass above counts in passes.
        takeover = query(dsn, "SELECT model, extract(epoch FROM acquired_at - %s) FROM model_leases "
                              "WHERE model = ANY(%s)", (killed_at, orphans))
        taken_at = scalar(dsn, "SELECT min(acquired_at) FROM model_leases WHERE model = ANY(%s)", (orphans,))
        from_data = float((max(taken_at, stored_at) - killed_at).total_seconds())
        first = float(min(seconds for _, seconds in failover)) - from_data
        slowest = float(max(seconds for _, seconds in failover))
        print(f"failover: orphans re-owned {max(s for _, s in takeover):.1f} s after kill -9 (bound "
              f"{TAKEOVER_BOUND_S:.1f} s), taken and round stored after {from_data:.1f} s, first orphaned window "
              f"closed {first:.1f} s later, the first {first + from_data:.1f} s and the slowest {slowest:.1f} s "
              f"after the kill")
        self.assertLess(max(seconds for _, seconds in takeover), TAKEOVER_BOUND_S, takeover)

        # Later kill d2 as well: d3 owns everything.
        feed(live)
        self.wait_windows(dsn, rounds, 60, live)
        self.wait_alerts_settled(dsn, live)
        daemons["d2"].kill()
        live = [daemons["d3"]]
        feed(live)
        self.wait_windows(dsn, rounds, 60, live)
        harness.wait_for(lambda: self.owned(daemons["d3"]) == 30, 15, "d3 did not take every model")
        # d3, alone, starts the retraining job; it is still running at the pause below.
        status, body = daemons["d3"].post(f"/v1/models/{MODELS[0]}/retrain", {"reason": "failover test"})[:2]
        self.assertEqual(status, 202, body)
        harness.wait_for(lambda: query(dsn, "SELECT state, claimed_by FROM retrain_jobs") == [("running", "d3")], 15,
                         "d3 did not start the job")

        # Restart both (d1 under its old name): the models spread again.
        for name in ("d1", "d2"):
            daemons[name].start()
        for name in ("d1", "d2"):
            daemons[name].wait_ready()
        live = list(daemons.values())
        harness.wait_for(lambda: [self.owned(d) for d in live] == [10, 10, 10], 30,
                         "the models did not spread again after the restarts")
        while rounds < ROUNDS - 1:
            feed(live)
        self.wait_windows(dsn, rounds, 60, live)
        self.wait_alerts_settled(dsn, live)

        # Pause d3 past its lease: it must write and send nothing once its leases expired.
        paused = daemons["d3"]
        paused_models = [row[0] for row in query(dsn, "SELECT model FROM model_leases WHERE owner = 'd3'")]
        print(f"phase: SIGSTOP d3 at {time.time() - started:.1f} s")
        paused.process.send_signal(signal.SIGSTOP)
        time.sleep(0.5)  # a heartbeat in flight when it stopped has committed
        expired_at = scalar(dsn, "SELECT max(expires_at) FROM model_leases WHERE owner = 'd3'")
        live = [daemons["d1"], daemons["d2"]]
        harness.wait_for(lambda: scalar(dsn, "SELECT count(*) FROM model_leases WHERE model = ANY(%s) "
                                             "AND owner <> 'd3' AND expires_at > clock_timestamp()",
                                        (paused_models,)) == len(paused_models), 15,
                         "the paused daemon's models were not taken over")
        feed(live)
        self.wait_windows(dsn, rounds, 60, live)
        harness.wait_for(lambda: scalar(dsn, "SELECT state FROM retrain_jobs") == "failed", 30,
                         "the paused daemon's job was not failed by the others")
        paused.process.send_signal(signal.SIGCONT)
        harness.wait_for(lambda: (paused.metric('modelwatch_lease_events_total{event="lost"}') or 0) >= 1, 15,
                         "the resumed daemon did not notice it lost its leases")
        # Its workers have run a pass or more since it woke (200 ms each).
        time.sleep(1)
        late = query(dsn, "SELECT model, sequence, closed_at FROM monitor_windows WHERE lease_owner = 'd3' "
                          "AND closed_at > %s", (expired_at,))
        self.assertEqual(late, [], "windows written by d3 after its lease expired at %s" % expired_at)
        self.assertEqual(scalar(dsn, "SELECT count(*) FROM monitor_checkpoints WHERE lease_owner = 'd3' "
                                     "AND saved_at > %s", (expired_at,)), 0)
        # The job's process ends now; its daemon's report of it is refused.
        with open(self.job_release, "w"):
            pass
        harness.wait_for(lambda: "retrain_transition_refused" in paused.log(), 15,
                         "the woken daemon did not try to end its job")
        transitions = query(dsn, "SELECT from_state, to_state, reason FROM retrain_transitions ORDER BY id")
        self.assertEqual([t[:2] for t in transitions], [(None, "queued"), ("queued", "running"),
                                                        ("running", "failed")], transitions)
        self.assertIn("its daemon d3 stopped heartbeating", transitions[-1][2])
        self.assertEqual(scalar(dsn, "SELECT state FROM retrain_jobs"), "failed")
        with open(self.job_runs) as runs:
            self.assertEqual(runs.read(), "run\n")  # ran once, never again elsewhere
        live = list(daemons.values())
        harness.wait_for(lambda: sorted(self.owned(d) for d in live) == [10, 10, 10], 30,
                         "the models did not spread again after the pause")
        self.wait_alerts_settled(dsn, live)

        self.check_alerts(dsn, expired_at)

        # Every window of every model closed exactly once, in sequence, covering every row.
        for model in MODELS:
            sequences = [row[0] for row in query(dsn, "SELECT sequence FROM monitor_windows WHERE model = %s "
                                                      "ORDER BY sequence", (model,))]
            self.assertEqual(sequences, list(range(1, rounds)), model)
        self.assertEqual(scalar(dsn, "SELECT sum(rows) FROM monitor_windows"), (rounds - 1) * WINDOW * len(MODELS))
        for name, daemon in daemons.items():
            log = daemon.log()
            self.assertNotIn("duplicate key", log, name)  # the lease decided, never the unique constraint
        owners = {row[0] for row in query(dsn, "SELECT DISTINCT lease_owner FROM monitor_windows")}
        self.assertEqual(owners, {"d1", "d2", "d3"})
        # The successors resumed d1's models from their checkpoints, ADWIN included.
        resumed = sum(daemons[name].log().count("from=checkpoint concept=restored") for name in ("d2", "d3"))
        self.assertGreaterEqual(resumed, len(orphans))
        for name, daemon in daemons.items():
            self.assertNotIn("not_restored", daemon.log(), name)  # the anomaly detectors' state too

        failover_findings = findings(dsn)
        failover_checkpoints = checkpoints(dsn)
        for daemon in daemons.values():
            daemon.terminate()
        print(f"phase: three daemons done at {time.time() - started:.1f} s")

        # The same records through one daemon on a database of its own.
        single_dsn = create_database(dsn, "single")
        single = self.daemon("single", dsn=single_dsn, alerting=False)
        single.start()
        single.wait_ready()
        for r in range(rounds):
            self.feed_round([single], r, single_dsn)
        # Whatever backlog the feeding left, the pass that begins once the
        # last round is stored and visible judges every window.
        self.windows_by_pass(single_dsn, [single], rounds - 1)
        self.wait_windows(single_dsn, rounds, STUCK_S, [single])
        print(f"phase: single daemon done at {time.time() - started:.1f} s")
        single_findings = findings(single_dsn)
        self.assertGreater(sum(1 for f in single_findings if f[2] == "concept_drift" and f[5]), 0,
                           "the data should make ADWIN report drift")
        self.assertEqual(len(failover_findings), len(single_findings))
        for a, b in zip(failover_findings, single_findings):
            self.assertEqual(a, b)
        self.assertEqual(sum(1 for f in single_findings if f[2] == "anomaly"), len(DATA_SERIES) * len(MODELS) * (rounds - 1))
        # The detectors' state after the last window, bit for bit (doubles
        # are JSON numbers with the shortest exact digits): the successors
        # resumed where the owners stopped, the anomaly detectors included.
        single_checkpoints = checkpoints(single_dsn)
        self.assertEqual(sorted(failover_checkpoints), MODELS)
        for model in MODELS:
            self.assertEqual(failover_checkpoints[model], single_checkpoints[model], model)
            self.assertGreater(failover_checkpoints[model]["anomaly"]["score_mean"]["contextual"]["calibrated"], 0)

    def check_alerts(self, dsn, expired_at):
        """Each state change the outbox recorded reached the receiver exactly
        once; none came from the paused daemon after its lease expired."""
        changes = query(dsn, "SELECT d.payload->'alert', d.lease_owner, d.delivered_at IS NOT NULL, d.last_error "
                             "FROM alert_deliveries d WHERE NOT (d.payload->>'resend')::boolean ORDER BY d.id")
        self.assertEqual([c for c in changes if not c[2]], [], "state changes not delivered")
        expected = collections.Counter(state_change(alert["labels"], alert["starts_at_us"] // 1000, alert["state"])
                                       for alert, _, _, _ in changes)
        posts = self.receiver.received()
        got = collections.Counter(
            state_change(alert["labels"], rfc3339_ms(alert["startsAt"]),
                         # A firing alert ends four re-send intervals (hours) on; a resolved one when it cleared.
                         "firing" if rfc3339_ms(alert["endsAt"]) > arrived * 1000 + 600_000 else "resolved")
            for _, arrived, alert in posts)
        self.assertEqual(max(expected.values()), 1, "the outbox holds a state change twice")
        twice = {change: n for change, n in got.items() if n > 1}
        self.assertEqual(twice, {}, "state changes posted more than once")
        self.assertEqual(set(got), set(expected), "what the receiver got differs from the outbox's state changes")
        states = collections.Counter(change[2] for change in expected)
        print(f"alerts: {states['firing']} firings and {states['resolved']} resolutions, each posted once; "
              f"{len(posts)} POSTs from {sorted({d for d, _, _ in posts})}")
        self.assertGreater(states["resolved"], 0)
        # Some alert fired under one daemon's lease and resolved under another's.
        owner_of = collections.defaultdict(set)
        for alert, owner, _, _ in changes:
            owner_of[alert["fingerprint"]].add(owner)
        self.assertTrue(any(len(owners) > 1 for owners in owner_of.values()), owner_of)
        late = [(d, arrived) for d, arrived, _ in posts if d == "d3" and arrived > expired_at.timestamp()]
        self.assertEqual(late, [], "POSTs from d3 after its lease expired")
        # Alertmanager holds as active exactly the alerts the store says fire.
        firing = {tuple(sorted(row[0].items())) for row in query(
            dsn, "SELECT DISTINCT ON (d.fingerprint) d.payload->'alert'->'labels' FROM alert_deliveries d "
                 "JOIN alerts a USING (fingerprint) WHERE a.state = 'firing' ORDER BY d.fingerprint, d.id DESC")}
        active = {tuple(sorted(a["labels"].items())) for a in self.alertmanager.alerts()}
        self.assertEqual(active, firing)


# The operational series that depend on the data alone; the others (rows
# and outcomes per minute, ingest latency, label rate) depend on when
# records arrived, which no two runs share.
DATA_SERIES = ["missing_rate", "score_mean", "score_sd"]


# Findings that depend on the data alone, in a comparable order.
def findings(dsn):
    return query(dsn, "SELECT f.model, w.sequence, f.kind, f.subject, round(f.statistic::numeric, 9), f.triggered, "
                      "f.evidence->'drift_positions' FROM findings f JOIN monitor_windows w ON w.id = f.window_id "
                      "WHERE f.kind <> 'anomaly' OR f.subject = ANY(%s) ORDER BY 1, 2, 3, 4", (DATA_SERIES,))


# Each model's last checkpoint: the concept detector's state and the anomaly
# detectors' of the data's own series.
def checkpoints(dsn):
    states = {}
    for model, state in query(dsn, "SELECT model, state FROM monitor_checkpoints"):
        series = state["anomaly"]["series"]
        states[model] = {"concept": state["concept"], "anomaly": {name: series[name] for name in DATA_SERIES}}
    return states


def query(dsn, sql, params=None):
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall() if cur.description else []
    conn.close()
    return rows


def scalar(dsn, sql, params=None):
    return query(dsn, sql, params)[0][0]


def create_database(dsn, name):
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
    conn.close()
    parts = [p for p in dsn.split() if not p.startswith("dbname=")]
    return " ".join(parts + [f"dbname={name}"])


if __name__ == "__main__":
    harness.main()
