#!/usr/bin/python3
"""Windows and references in the daemon, seen from PostgreSQL: sliding count
windows, time windows, a reference uploaded over HTTP (CSV), a reference
that survives a restart, and a shifted window that drifts while an unshifted
one does not. Predictions go in over HTTP; everything is read back from the
store and the admin API."""

import json
import time
from datetime import datetime, timedelta, timezone

import harness

MODEL = """
  - name: elec2
    prediction: {type: binary, classes: [UP, DOWN]}
    attributes: [region]
    features:
      - {name: nswprice, type: numeric}
      - {name: nswdemand, type: numeric}
      - {name: day, type: categorical}
      - {name: weekend, type: boolean}
"""


def record(i, shift=0.0, ts=None):
    r = harness.prediction(i)
    r["id"] = f"w-{i:06d}"
    # A smooth, varied distribution so tests have something to compare.
    r["features"]["nswprice"] = ((i * 37) % 1000) / 1000.0 + shift
    r["features"]["nswdemand"] = ((i * 53) % 1000) / 1000.0
    if ts:
        r["ts"] = ts
    return r


class WindowsTest(harness.Environment):
    def setUp(self):
        self.pg.query("DROP SCHEMA public CASCADE; CREATE SCHEMA public")

    def start(self, name, model_extra):
        daemon = self.new_daemon(name, extra_yaml="monitor: {interval: 100ms}\n", models_yaml=MODEL + model_extra)
        daemon.start()
        daemon.wait_ready()
        return daemon

    def post(self, daemon, records):
        status, body, _ = daemon.post("/v1/models/elec2/predictions", records)
        self.assertEqual(status, 200, body)

    def test_sliding_count_windows_after_the_reference(self):
        daemon = self.start("sliding", "    reference: {rows: 200}\n    window: {rows: 100, step: 50}\n")
        self.post(daemon, [record(i) for i in range(500)])
        # 300 predictions after the reference: windows start at 200, 250, ..., 400.
        harness.wait_for(lambda: self.pg.scalar("SELECT count(*) FROM monitor_windows") == 5, 30,
                 "expected 5 sliding windows\n" + daemon.log())
        time.sleep(1)
        rows = self.pg.query("SELECT sequence, first_id, last_id, rows FROM monitor_windows ORDER BY sequence")
        self.assertEqual([(r[1], r[2], r[3]) for r in rows],
                         [(f"w-{s:06d}", f"w-{s + 99:06d}", 100) for s in (200, 250, 300, 350, 400)])
        reference = self.pg.query("SELECT source, rows, data_end_id FROM model_references WHERE retired_at IS NULL")
        self.assertEqual(reference, [("first_n", 200, "w-000199")])

    def test_time_windows_close_after_their_end(self):
        daemon = self.start("time", "    reference: {rows: 100}\n    window: {duration: 1m, lateness: 0}\n")
        now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
        old = now - timedelta(minutes=30)
        ts = lambda minute, second: (old + timedelta(minutes=minute, seconds=second)).strftime("%Y-%m-%dT%H:%M:%SZ")
        # The reference, then 3 full minutes of 60 predictions each.
        self.post(daemon, [record(i, ts=ts(0, i * 0.5)) for i in range(100)])
        self.post(daemon, [record(100 + m * 60 + s, ts=ts(2 + m, s)) for m in range(3) for s in range(60)])
        harness.wait_for(lambda: self.pg.scalar("SELECT count(*) FROM monitor_windows") == 3, 30,
                 "expected 3 time windows\n" + daemon.log())
        sizes = [r[0] for r in self.pg.query("SELECT rows FROM monitor_windows ORDER BY sequence")]
        self.assertEqual(sizes, [60, 60, 60])
        starts = [r[0] for r in self.pg.query(
            "SELECT extract(second FROM first_ts)::int FROM monitor_windows ORDER BY sequence")]
        self.assertEqual(starts, [0, 0, 0])

    def test_reference_from_a_time_range(self):
        now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
        start = now - timedelta(minutes=20)
        at = lambda seconds: (start + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
        iso = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")
        daemon = self.start("range", f"    reference: {{source: time_range, start: \"{iso(start)}\", "
                                     f"end: \"{iso(start + timedelta(minutes=5))}\", rows: 5000}}\n"
                                     f"    window: {{rows: 100}}\n")
        # 150 predictions inside the range (one every 2 s), 200 after it.
        self.post(daemon, [record(i, ts=at(2 * i)) for i in range(150)])
        self.post(daemon, [record(150 + i, ts=at(600 + i)) for i in range(200)])
        harness.wait_for(lambda: self.pg.scalar("SELECT count(*) FROM monitor_windows") == 2, 30,
                 "expected 2 windows after the time-range reference\n" + daemon.log())
        reference = self.pg.query("SELECT source, rows, data_end_id FROM model_references")
        self.assertEqual(reference, [("time_range", 150, "w-000149")])
        self.assertEqual(self.pg.scalar("SELECT first_id FROM monitor_windows WHERE sequence = 1"), "w-000150")

    def test_uploaded_reference_drift_and_restart(self):
        daemon = self.start("upload", "    reference: {source: upload, rows: 5000}\n    window: {rows: 400}\n")
        # No reference yet: nothing is judged.
        self.post(daemon, [record(i) for i in range(400)])
        time.sleep(1)
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM monitor_windows"), 0)
        lines = ["nswprice,nswdemand,day,weekend,region,prediction,score,label"]
        for i in range(1000):
            r = record(i)
            f = r["features"]
            lines.append(f"{f['nswprice']},{f['nswdemand']},{f['day']},{str(f['weekend']).lower()},"
                         f"{r['attributes']['region']},{r['prediction']},{r['score']},UP")
        status, body, _ = daemon.request("POST", "/v1/models/elec2/reference", "\n".join(lines) + "\n",
                                      {"Content-Type": "text/csv"})
        self.assertEqual(status, 201, body)
        self.assertEqual(json.loads(body)["rows"], 1000)
        # A bad upload names the column at fault and changes nothing.
        status, body, _ = daemon.request("POST", "/v1/models/elec2/reference", "nswprise\n1\n2\n",
                                      {"Content-Type": "text/csv"})
        self.assertEqual(status, 400)
        self.assertIn("nswprise", json.loads(body)["error"])
        harness.wait_for(lambda: self.pg.scalar("SELECT count(*) FROM monitor_windows") == 1, 30,
                 "the window after the upload was not judged\n" + daemon.log())
        # The same distribution: no dataset drift.
        self.assertFalse(self.pg.scalar(
            "SELECT triggered FROM findings WHERE kind = 'dataset_drift' AND subject = '' ORDER BY id LIMIT 1"))
        # Restart: the stored reference is refitted, not collected again.
        daemon.terminate()
        daemon.start()
        daemon.wait_ready()
        self.post(daemon, [record(1000 + i, shift=0.4) for i in range(400)])
        harness.wait_for(lambda: self.pg.scalar("SELECT count(*) FROM monitor_windows") == 2, 30,
                 "the shifted window was not judged\n" + daemon.log())
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM model_references"), 1)
        drifted = self.pg.query("SELECT subject, method, triggered FROM findings WHERE kind = 'feature_drift' "
                                "AND window_id = (SELECT max(id) FROM monitor_windows) AND subject = 'nswprice'")
        self.assertEqual(drifted[0][2], True, drifted)
        self.assertEqual(self.pg.scalar(
            "SELECT count(*) FROM findings WHERE kind = 'feature_drift' AND triggered AND subject = 'nswdemand' "
            "AND window_id = (SELECT max(id) FROM monitor_windows)"), 0)
        metrics = daemon.get("/metrics")[1].decode()
        # nswprice is numeric: its effect size is the normalised Wasserstein distance.
        self.assertIn('modelwatch_feature_drift_wasserstein_normalised{feature="nswprice",model="elec2"}', metrics)
        self.assertIn('modelwatch_dataset_drift{model="elec2"}', metrics)


if __name__ == "__main__":
    harness.main()
