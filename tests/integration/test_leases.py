#!/usr/bin/python3
"""Three daemons on one PostgreSQL share 30 models through leases
(store/leases.h, docs/scaling.md): every daemon takes ingest for every model,
one owner per model closes its windows. kill -9 one daemon, later another,
restart both: every window of every model is closed exactly once (no daemon
ever loses a race on UNIQUE (model, sequence)), each orphaned model's next
window is closed by a successor within 10 s, and the findings (concept drift
included, whose ADWIN state the successor resumes from the checkpoint, and
the default anomaly detector's on the series that depend on the data alone)
and the last checkpoint of every model equal those of a single daemon fed
the same records. A daemon paused past its lease (SIGSTOP, then SIGCONT)
writes no window or checkpoint after its lease expired, and the retraining
job it was running is failed by the others once it stopped heartbeating,
never run again, and its end refused when it wakes.

Bounded to about a minute by default; MODELWATCH_LEASES_ROUNDS=N feeds more
windows per model."""

import json
import os
import random
import signal
import time

import psycopg2

import harness

MODELS = [f"m{i:02d}" for i in range(30)]
WINDOW = 20
ROUNDS = int(os.environ.get("MODELWATCH_LEASES_ROUNDS", "8"))
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


def records(model_index, round_index):
    """Round r of a model: WINDOW predictions and their outcomes, seeded by
    (model, round). The error rate rises from round 5 on for even models, so
    ADWIN reports drift at positions that depend on everything before. The
    scores come from a generator of their own, so the rest does not change
    with them; they make score_mean and score_sd series of the data alone."""
    rng = random.Random(model_index * 1000 + round_index)
    score_rng = random.Random(-(model_index * 1000 + round_index))
    predictions, outcomes = [], []
    for k in range(WINDOW):
        i = round_index * WINDOW + k
        shifted = round_index >= 5 and model_index % 2 == 0
        record_id = f"{MODELS[model_index]}-{i}"
        ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(BASE_TS + i * 60))
        predicted = "yes" if rng.random() < 0.5 else "no"
        wrong = rng.random() < (0.6 if shifted else 0.1)
        predictions.append({"id": record_id, "ts": ts, "model_version": "v1",
                            "features": {"x": rng.gauss(2.0 if shifted else 0.0, 1.0), "c": rng.choice("abc")},
                            "prediction": predicted, "score": round(score_rng.random(), 6)})
        outcomes.append({"id": record_id, "ts": ts,
                         "label": ("no" if predicted == "yes" else "yes") if wrong else predicted})
    return predictions, outcomes


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

    def daemon(self, name, dsn=None, daemon_id=None):
        extra = f"monitor: {{interval: 200ms}}\ncluster: {{daemon_id: {daemon_id or name}}}\n"
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

    def owned(self, daemon):
        _, body = daemon.get("/readyz")
        return json.loads(body).get("models_owned", -1)

    def test_three_daemons_failover_and_pause(self):
        dsn = self.pg.dsn
        daemons = {name: self.daemon(name) for name in ("d1", "d2", "d3")}
        for daemon in daemons.values():
            daemon.start()
        for daemon in daemons.values():
            daemon.wait_ready()
        # Spread evenly: 10 each once all three heartbeat.
        harness.wait_for(lambda: [self.owned(d) for d in daemons.values()] == [10, 10, 10], 30,
                         "the models did not spread 10/10/10")

        live = list(daemons.values())
        rounds = 0
        for _ in range(3):
            self.feed_round(live, rounds, dsn)
            rounds += 1
        self.wait_windows(dsn, rounds, 30, live)

        # kill -9 d1: its models move to d2 and d3 and their next window closes within 10 s.
        orphans = [row[0] for row in query(dsn, "SELECT model FROM model_leases WHERE owner = 'd1'")]
        self.assertEqual(len(orphans), 10)
        daemons["d1"].kill()
        killed_at = scalar(dsn, "SELECT clock_timestamp()")
        live = [daemons["d2"], daemons["d3"]]
        self.feed_round(live, rounds, dsn)
        rounds += 1
        self.wait_windows(dsn, rounds, 30, live)
        failover = query(dsn, "SELECT model, extract(epoch FROM min(closed_at) - %s) FROM monitor_windows "
                              "WHERE model = ANY(%s) AND lease_owner <> 'd1' AND closed_at > %s GROUP BY model",
                         (killed_at, orphans, killed_at))
        self.assertEqual(len(failover), 10, failover)
        slowest = max(seconds for _, seconds in failover)
        print(f"failover: slowest orphaned model's next window closed {slowest:.1f} s after kill -9")
        self.assertLess(slowest, 10.0, failover)

        # Later kill d2 as well: d3 owns everything.
        self.feed_round(live, rounds, dsn)
        rounds += 1
        daemons["d2"].kill()
        live = [daemons["d3"]]
        self.feed_round(live, rounds, dsn)
        rounds += 1
        self.wait_windows(dsn, rounds, 30, live)
        harness.wait_for(lambda: self.owned(daemons["d3"]) == 30, 15, "d3 did not take every model")
        # d3, alone, starts the retraining job; it is still running at the pause below.
        status, body = daemons["d3"].post(f"/v1/models/{MODELS[0]}/retrain", {"reason": "failover test"})[:2]
        self.assertEqual(status, 202, body)
        harness.wait_for(lambda: query(dsn, "SELECT state, claimed_by FROM retrain_jobs") == [("running", "d3")], 15,
                         "d3 did not start the job")

        # Restart both (d1 under its old name): the models spread again.
        for name in ("d1", "d2"):
            daemons[name].start()
            daemons[name].wait_ready()
        live = list(daemons.values())
        harness.wait_for(lambda: [self.owned(d) for d in live] == [10, 10, 10], 30,
                         "the models did not spread again after the restarts")
        while rounds < ROUNDS - 1:
            self.feed_round(live, rounds, dsn)
            rounds += 1
        self.wait_windows(dsn, rounds, 30, live)

        # Pause d3 past its lease: it must write nothing once its leases expired.
        paused = daemons["d3"]
        paused_models = [row[0] for row in query(dsn, "SELECT model FROM model_leases WHERE owner = 'd3'")]
        paused.process.send_signal(signal.SIGSTOP)
        time.sleep(1.5)  # a heartbeat in flight when it stopped has committed
        expired_at = scalar(dsn, "SELECT max(expires_at) FROM model_leases WHERE owner = 'd3'")
        live = [daemons["d1"], daemons["d2"]]
        harness.wait_for(lambda: scalar(dsn, "SELECT count(*) FROM model_leases WHERE model = ANY(%s) "
                                             "AND owner <> 'd3' AND expires_at > clock_timestamp()",
                                        (paused_models,)) == len(paused_models), 15,
                         "the paused daemon's models were not taken over")
        self.feed_round(live, rounds, dsn)
        rounds += 1
        self.wait_windows(dsn, rounds, 30, live)
        harness.wait_for(lambda: scalar(dsn, "SELECT state FROM retrain_jobs") == "failed", 15,
                         "the paused daemon's job was not failed by the others")
        paused.process.send_signal(signal.SIGCONT)
        harness.wait_for(lambda: (paused.metric('modelwatch_lease_events_total{event="lost"}') or 0) >= 1, 15,
                         "the resumed daemon did not notice it lost its leases")
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

        # The same records through one daemon on a database of its own.
        single_dsn = create_database(dsn, "single")
        single = self.daemon("single", dsn=single_dsn)
        single.start()
        single.wait_ready()
        for r in range(rounds):
            self.feed_round([single], r, single_dsn)
        self.wait_windows(single_dsn, rounds, 60, [single])
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
