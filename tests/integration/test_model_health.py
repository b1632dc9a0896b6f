#!/usr/bin/python3
"""Model health through the daemon, on the bundled UCI Adult data: a
labelled reference, then windows whose labels come late. Each window closes
with a CBPE estimate of its accuracy; the realised figures, per segment too,
are stored beside it when the outcomes arrive; segments by sex and race are
compared with the rest (a small segment is reported as too small); a window
with broken inputs raises data-quality findings that the clean window before
it stored untriggered; outcomes unlike the reference's are label drift;
rejected records and the operational series (rejected
share, ingest latency, label rate) are window metrics. Everything is read back
from PostgreSQL, the admin API and /metrics."""

import csv
import gzip
import json
import os
import signal
import time
from datetime import datetime, timedelta, timezone

import harness

MODEL = """
  - name: adult
    prediction: {type: binary, classes: [">50K", "<=50K"]}
    attributes: [sex, race]
    features:
      - {name: age, type: numeric}
      - {name: education_num, type: numeric}
      - {name: workclass, type: categorical}
    reference: {rows: 2000}
    window: {rows: 1000}
    drift: {segments: [sex, race]}
    performance:
      min_label_coverage: 0.9
      label_wait: 1h
      thresholds: [{metric: accuracy, min: 0.5, band_sd: 0}]
    concept_drift: {detector: ""}
    anomaly: {detector: robust, threshold: 0.99}
"""

LATENCY_S = 600  # predictions are logged ten minutes after they were made


def adult_rows(limit):
    with gzip.open(os.path.join(harness.SOURCE_DIR, "data", "adult", "adult.csv.gz"), "rt", newline="") as f:
        return [row for _, row in zip(range(limit), csv.DictReader(f))]


def score_of(row):
    # A proxy model that never predicts >50K for women: a gap by sex that the
    # segment comparison must find.
    if row["sex"] == "Female":
        return 0.05
    married = row["marital_status"].startswith("Married")
    return min(0.95, max(0.05, (int(row["education_num"]) - 6) / 10 + (0.25 if married else -0.25)))


def prediction(i, row, ts):
    score = score_of(row)
    return {"id": f"a{i:05d}", "ts": ts,
            "features": {"age": float(row["age"]), "education_num": float(row["education_num"]),
                         "workclass": row["workclass"]},
            "prediction": ">50K" if score >= 0.5 else "<=50K", "score": score,
            "attributes": {"sex": row["sex"], "race": row["race"]}}


def outcome(i, row):
    return {"id": f"a{i:05d}", "label": row["income"]}


class ModelHealthTest(harness.Environment):
    def post(self, daemon, path, records):
        status, body, _ = daemon.post(f"/v1/models/adult/{path}", records)
        self.assertEqual(status, 200, body)
        return body

    def metric(self, window, name, segment="", estimated=False):
        rows = self.pg.query(
            "SELECT m.value FROM window_metrics m JOIN monitor_windows w ON w.id = m.window_id "
            "WHERE w.sequence = %s AND m.name = %s AND m.segment = %s AND m.estimated = %s",
            (window, name, segment, estimated))
        return rows[0][0] if rows else None

    def findings(self, window, kind):
        return {subject: (triggered, method, json.loads(evidence) if isinstance(evidence, str) else evidence)
                for subject, triggered, method, evidence in self.pg.query(
                    "SELECT f.subject, f.triggered, f.method, f.evidence FROM findings f "
                    # By id: a window's realised finding comes after its estimate and wins.
                    "JOIN monitor_windows w ON w.id = f.window_id WHERE w.sequence = %s AND f.kind = %s ORDER BY f.id",
                    (window, kind))}

    def test_estimates_realised_performance_segments_quality_and_operations(self):
        # An exec receiver that accepts everything: the rendered alerts stay in alert_deliveries.
        daemon = self.new_daemon("health", models_yaml=MODEL,
                                 extra_yaml="monitor: {interval: 100ms}\n"
                                            "alerting:\n  receivers: [{name: pager, type: exec, command: [/bin/true]}]\n")
        daemon.start()
        daemon.wait_ready()
        rows = adult_rows(4000)
        ts = (datetime.now(timezone.utc) - timedelta(seconds=LATENCY_S)).strftime("%Y-%m-%dT%H:%M:%SZ")

        # The reference: outcomes first, so it is labelled when captured and CBPE can be fitted.
        self.post(daemon, "outcomes", [outcome(i, rows[i]) for i in range(2000)])
        daemon.wait_drained()
        self.post(daemon, "predictions", [prediction(i, rows[i], ts) for i in range(2000)])
        harness.wait_for(lambda: self.pg.query("SELECT rows FROM model_references WHERE retired_at IS NULL") == [(2000,)], 30,
                 "no reference\n" + daemon.log())

        # Window 1, no labels yet: closed with an estimate only.
        self.post(daemon, "predictions", [prediction(i, rows[i], ts) for i in range(2000, 3000)])
        harness.wait_for(lambda: self.pg.scalar("SELECT count(*) FROM monitor_windows") == 1, 30,
                 "window 1 did not close\n" + daemon.log())
        estimated = self.metric(1, "accuracy", estimated=True)
        self.assertIsNotNone(estimated, "no CBPE estimate stored\n" + daemon.log())
        self.assertIsNone(self.metric(1, "accuracy"), "realised accuracy before any label arrived")
        self.assertIsNone(self.pg.scalar("SELECT performance_at FROM monitor_windows WHERE sequence = 1"))
        status, body = daemon.get("/metrics")
        self.assertIn('modelwatch_window_accuracy{estimated="true",model="adult"}', body.decode())

        # Its labels arrive: the realised figures are stored beside the estimate.
        self.post(daemon, "outcomes", [outcome(i, rows[i]) for i in range(2000, 3000)])
        harness.wait_for(lambda: self.pg.scalar("SELECT performance_at IS NOT NULL FROM monitor_windows WHERE sequence = 1"),
                 30, "window 1 not judged after its labels\n" + daemon.log())
        realised = self.metric(1, "accuracy")
        truth = sum(prediction(i, rows[i], ts)["prediction"] == rows[i]["income"] for i in range(2000, 3000)) / 1000
        self.assertAlmostEqual(realised, truth, places=12)
        # CBPE from 2,000 labelled reference rows: its standard error on 1,000
        # rows is about 0.013; 0.05 is well beyond chance and well short of a broken estimate.
        self.assertLess(abs(estimated - realised), 0.05, (estimated, realised))
        self.assertEqual(self.metric(1, "label_coverage"), 1.0)
        self.assertIsNotNone(self.metric(1, "label_delay_p50_seconds"))
        # Per-segment metrics only for segments of performance.min_segment_rows (100) or more.
        for segment in ("sex=Female", "sex=Male", "race=White", "race=Black", "race=Other"):
            attribute, value = segment.split("=")
            size = sum(rows[i][attribute] == value for i in range(2000, 3000))
            if size >= 100:
                self.assertIsNotNone(self.metric(1, "accuracy", segment), (segment, size))
            else:
                self.assertIsNone(self.metric(1, "accuracy", segment), (segment, size))

        # Segments against the rest: women are never predicted >50K.
        gaps = self.findings(1, "segment_gap")
        female_rate = gaps["sex=Female:prediction_rate"]
        self.assertTrue(female_rate[0], female_rate)
        self.assertEqual(female_rate[1], "newcombe_wilson")
        self.assertEqual(female_rate[2]["segment_rate"], 0.0)
        self.assertLess(female_rate[2]["upper"], 0)
        # 4 of 1,000 rows are race=Other: reported as too small, not compared.
        other = gaps["race=Other:prediction_rate"]
        self.assertEqual((other[0], other[1]), (False, "too_small"), other)
        self.assertTrue(other[2]["suppressed"], other)  # named, its row count not shown
        self.assertNotIn("segment_trials", other[2])
        self.assertIn("race=White:accuracy", gaps)
        self.assertTrue(self.findings(1, "segment_drift"), "segment drift was not evaluated")

        # Window 2: broken inputs, and 100 records the API rejects in the same request.
        broken = []
        for i in range(3000, 4000):
            record = prediction(i, rows[i], ts)
            features = record["features"]
            if i % 5 == 0:
                features["age"] = None
            if i % 4 == 1:
                features["workclass"] = "Space-force"
            if i % 10 == 2:
                features["education_num"] = 99.0
            features["zip"] = "12345"
            broken.append(record)
        rejected = [dict(prediction(i, rows[i - 1000], ts), id=f"bad{i}") for i in range(100)]
        for record in rejected:
            record["features"] = dict(record["features"], age="old")
        answer = self.post(daemon, "predictions", broken + rejected)
        self.assertEqual((answer["accepted"], len(answer["rejected"])), (1000, 100), answer)
        harness.wait_for(lambda: self.pg.scalar("SELECT count(*) FROM monitor_windows") == 2, 30,
                 "window 2 did not close\n" + daemon.log())

        clean = self.findings(1, "data_quality")
        faulty = self.findings(2, "data_quality")
        for subject in ("age:missing_rate", "workclass:new_category_share", "education_num:out_of_range_share",
                        "zip:undeclared_feature"):
            self.assertIn(subject, faulty, sorted(faulty))
            self.assertTrue(faulty[subject][0], (subject, faulty[subject]))
        for subject in ("age:missing_rate", "workclass:new_category_share", "education_num:out_of_range_share"):
            self.assertFalse(clean[subject][0], (subject, clean[subject]))
        self.assertEqual(self.metric(2, "quality_missing_rate", "age"), 0.2)
        self.assertEqual(self.metric(2, "quality_new_category_share", "workclass"), 0.25)

        # Rejections, per reason, and the share over the seconds the window was received in.
        self.assertEqual(self.metric(2, "rejected", "prediction:wrong_type"), 100)
        self.assertAlmostEqual(self.metric(2, "rejected_share"), 100 / 1100, places=12)
        self.assertEqual(self.metric(1, "rejected_share"), 0)
        self.assertEqual(self.pg.scalar("SELECT sum(count) FROM rejection_counts WHERE reason = 'wrong_type'"), 100)
        # The other operational series.
        for window in (1, 2):
            latency = self.metric(window, "ingest_latency_p50_seconds")
            self.assertTrue(LATENCY_S <= latency < LATENCY_S + 120, latency)
            self.assertGreater(self.metric(window, "rows_per_minute"), 0)
            self.assertIsNotNone(self.metric(window, "label_rate"))
            self.assertIsNotNone(self.metric(window, "outcomes_per_minute"))
        scored = {subject for (subject,) in self.pg.query("SELECT DISTINCT subject FROM findings WHERE kind = 'anomaly'")}
        self.assertTrue({"rejected_share", "label_rate", "ingest_latency_p50_seconds", "rows_per_minute",
                         "score_mean", "missing_rate"} <= scored, scored)

        # Label drift: window 1's outcomes look like the reference's; window
        # 2's all say ">50K" (a broken label feed), and its accuracy falls under 0.5.
        labels = self.findings(1, "label_drift")
        self.assertEqual(list(labels), ["label"])
        self.assertFalse(labels["label"][0], labels)
        self.post(daemon, "outcomes", [{"id": f"a{i:05d}", "label": ">50K"} for i in range(3000, 4000)])
        harness.wait_for(lambda: self.pg.scalar("SELECT performance_at IS NOT NULL FROM monitor_windows WHERE sequence = 2"),
                 30, "window 2 not judged after its labels\n" + daemon.log())
        self.assertTrue(self.findings(2, "label_drift")["label"][0])
        self.assertFalse(self.findings(1, "performance")["accuracy"][0])
        self.assertTrue(self.findings(2, "performance")["accuracy"][0])

        # Root cause: window 2's drop is ranked against the reference's
        # labelled rows, by the root-cause worker after the window is stored
        # (the finding says "pending" until then).
        clean_window = self.findings(1, "performance")["accuracy"][2]
        self.assertNotIn("root_cause", clean_window, "a finding that did not trigger was explained")

        def ranked():
            realised = [evidence for subject, method, evidence in self.pg.query(
                "SELECT f.subject, f.method, f.evidence FROM findings f JOIN monitor_windows w ON w.id = f.window_id "
                "WHERE w.sequence = 2 AND f.kind = 'performance' AND f.method = 'realised'") if subject == "accuracy"]
            self.assertEqual(len(realised), 1, realised)
            ranking = (realised[0] if isinstance(realised[0], dict) else json.loads(realised[0]))["root_cause"]
            return None if ranking.get("pending") else ranking
        ranking = harness.wait_for(ranked, 30, "the drop was not ranked\n" + daemon.log())
        self.assertIn("root_cause model=adult window=2", daemon.log())
        # The recent windows' series is of the finding's own kind (realised here).
        self.assertEqual(ranking["correlation_values"], "realised")
        self.assertEqual(ranking["metric"], "accuracy")
        self.assertFalse(ranking["estimated"])
        self.assertTrue(ranking["drop_significant"], ranking)
        truth = sum(prediction(i, rows[i], ts)["prediction"] == ">50K" for i in range(3000, 4000)) / 1000
        self.assertAlmostEqual(ranking["window_value"], truth, places=12)
        names = [item["name"] for item in ranking["ranked"]]
        self.assertTrue(names, ranking)
        for item in ranking["ranked"]:
            if item["kind"] == "segment":
                self.assertGreaterEqual(item["window_rows"], 100, item)  # performance.min_segment_rows: smaller groups are never shown
                self.assertEqual(len(item["interval"]), 3, item)
        # race=Other has 4 rows of the window: suppressed, not shown.
        self.assertNotIn("segment race=Other", names)
        self.assertGreater(ranking["suppressed_segments"], 0)
        self.assertEqual({r["feature"] for r in ranking["alert_count_ranking"]}, {"age", "education_num", "workclass"})
        # The labels all say ">50K" and the model never predicts it for women:
        # they lose everything (0.87 to 0) while the rest loses less, so women
        # carry most of the drop and are named first.
        self.assertTrue(ranking["single_cause"], ranking)
        top = ranking["ranked"][0]
        self.assertEqual((top["name"], top["window_metric"]), ("segment sex=Female", 0.0), top)
        self.assertGreaterEqual(top["explained_share"], 0.5, top)
        self.assertTrue(ranking["causes"][0].startswith("segment sex=Female: accuracy 0 [0, 0.012] vs 0.871 in reference"),
                        ranking["causes"])
        finding_id = self.pg.scalar(
            "SELECT f.id FROM findings f JOIN monitor_windows w ON w.id = f.window_id "
            "WHERE w.sequence = 2 AND f.kind = 'performance' AND f.subject = 'accuracy' AND f.method = 'realised'")
        status, body = daemon.get(f"/v1/findings/{finding_id}?format=json")
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body.decode())["evidence"]["root_cause"]["summary"], ranking["summary"])
        status, body, _ = daemon.request("GET", f"/v1/findings/{finding_id}", headers={"Accept": "text/html"})
        self.assertIn("<h3>Root cause</h3>", body.decode())
        # The alert to on-call carries the named causes, one per line, as its `causes` annotation.
        payloads = harness.wait_for(lambda: [p for (p,) in self.pg.query(
            "SELECT payload FROM alert_deliveries WHERE payload->'alert'->'labels'->>'kind' = 'performance'")], 30,
            "no performance alert was enqueued\n" + daemon.log())
        annotations = (payloads[0] if isinstance(payloads[0], dict) else json.loads(payloads[0]))["alert"]["annotations"]
        self.assertEqual(annotations["causes"], "\n".join(ranking["causes"]))

        # The admin API shows the window's metrics, estimates marked as such.
        status, body = daemon.get("/v1/windows?model=adult")
        self.assertEqual(status, 200, body)
        windows = {w["sequence"]: w for w in json.loads(body.decode())["windows"]}
        self.assertIn("accuracy_estimated", json.dumps(windows[1]))
        status, body = daemon.get("/metrics")
        self.assertIn('modelwatch_records_rejected_total{kind="prediction",model="adult",reason="wrong_type"} 100', body.decode())

        # kill -9 between a window's commit and its ranking, then PostgreSQL away for longer than the
        # workers' reconnect backoff (500 ms here) while the daemon comes back: the finding is left "pending"
        # as such a crash leaves it (the mark is what the monitor commits with the window). Once PostgreSQL
        # answers, the restarted daemon ranks it exactly once, the alert already sent is not sent again, and
        # meanwhile /readyz says the store is what it waits for.
        deliveries = self.pg.scalar(
            "SELECT count(*) FROM alert_deliveries WHERE payload->'alert'->'labels'->>'kind' = 'performance'")
        daemon.kill()
        self.pg.query("UPDATE findings SET evidence = jsonb_set(evidence, '{root_cause}', "
                      "'{\"pending\": true, \"summary\": \"the causes are being ranked\"}') WHERE id = %s "
                      "RETURNING id", (finding_id,))
        before_restart = len(daemon.log())
        self.pg.stop()
        try:
            daemon.start()
            harness.wait_for(lambda: "store_connect_failed" in daemon.log()[before_restart:], 10,
                             "the restarted daemon never tried PostgreSQL\n" + daemon.log()[before_restart:])
            time.sleep(2)  # idle past the reconnect backoff's cap
            status, body = daemon.get("/readyz")
            self.assertEqual(status, 503, body)
            readiness = json.loads(body.decode())
            self.assertIn("store unreachable", readiness["not_ready"])
            self.assertIn("last_error", readiness["workers"]["causes"], readiness["workers"])
            # A reload while the finding waits, and another as PostgreSQL returns (the ranking may be running).
            daemon.process.send_signal(signal.SIGHUP)
            harness.wait_for(lambda: daemon.log()[before_restart:].count("config_reloaded") == 1, 10,
                             "the reload was not applied\n" + daemon.log()[before_restart:])
        finally:
            self.pg.start()
        daemon.process.send_signal(signal.SIGHUP)
        ranking_again = harness.wait_for(ranked, 30, "the pending drop was not ranked after the restart\n" +
                                         daemon.log()[before_restart:])
        daemon.wait_ready()
        self.assertNotIn("error", ranking_again)
        self.assertEqual(ranking_again["metric"], "accuracy")
        attached = [line for line in daemon.log()[before_restart:].splitlines()
                    if f"root_cause model=adult window=2 finding={finding_id} " in line]
        self.assertEqual(len(attached), 1, attached)
        self.assertIn("attached=true", attached[0])
        status, body = daemon.get("/readyz")
        workers = json.loads(body.decode())["workers"]
        self.assertNotIn("last_error", workers["causes"], workers["causes"])
        # Nothing pending is left, and no notification of the drop went out twice.
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM findings WHERE evidence->'root_cause' ? 'pending'"), 0)
        self.assertEqual(self.pg.scalar(
            "SELECT count(*) FROM alert_deliveries WHERE payload->'alert'->'labels'->>'kind' = 'performance'"),
            deliveries)

        # A reload that removes the model while a drop waits for its ranking (left pending as above): no
        # monitor asks for it any more, so it is answered once no live daemon configures the model (here when
        # the reload gave up its lease), instead of saying "the causes are being ranked" for ever.
        self.pg.query("UPDATE findings SET evidence = jsonb_set(evidence, '{root_cause}', "
                      "'{\"pending\": true, \"summary\": \"the causes are being ranked\"}') WHERE id = %s "
                      "RETURNING id", (finding_id,))
        daemon.write_config(self.pg.dsn, "monitor: {interval: 100ms}\n", harness.ELEC2_SCHEMA)
        daemon.process.send_signal(signal.SIGHUP)

        def answered():
            root_cause = self.pg.scalar("SELECT evidence->'root_cause' FROM findings WHERE id = %s", (finding_id,))
            return None if root_cause.get("pending") else root_cause
        removed = harness.wait_for(answered, 15, "the removed model's drop stayed pending\n" + daemon.log()[-3000:])
        answer = (r"^not ranked: the model was removed from the configuration \(no live daemon configured it at "
                  r"\S+\) before its ranking ran$")
        self.assertRegex(removed["error"], answer)
        self.assertIn('root_cause_abandoned model=adult findings=1 reason="removed from the configuration"',
                      daemon.log())

        # Removed while the daemon was stopped: the drop was pending when it stopped, and it starts without
        # the model, which it never owns again. The restarted process is a new daemon id, so the stopped one
        # might have been restarting with the model: the rankings wait until its lease ended 60 leases ago
        # (store::removed_model_grace_leases, unit-tested in root_cause_store_test), here moved into the past.
        # Then its first heartbeats answer it all the same.
        self.assertEqual(daemon.terminate(), 0)
        self.pg.query("UPDATE model_leases SET expires_at = expires_at - interval '10 minutes' "
                      "WHERE model = 'adult' RETURNING model")
        self.pg.query("UPDATE findings SET evidence = jsonb_set(evidence, '{root_cause}', "
                      "'{\"pending\": true, \"summary\": \"the causes are being ranked\"}') WHERE id = %s "
                      "RETURNING id", (finding_id,))
        before_restart = len(daemon.log())
        daemon.start()
        removed = harness.wait_for(answered, 15, "a drop of a model removed while the daemon was stopped stayed "
                                   "pending\n" + daemon.log()[before_restart:])
        self.assertRegex(removed["error"], answer)
        self.assertIn('root_cause_abandoned model=adult findings=1 reason="removed from the configuration"',
                      daemon.log()[before_restart:])


if __name__ == "__main__":
    harness.main()
