#!/usr/bin/python3
"""The whole loop on a slice of real data: the example model server
(examples/elec2) streams Elec2 through modelwatchd with delayed outcomes; the
daemon stores a reference, closes windows, finds drift and decaying accuracy,
alerts a real Alertmanager, runs the example trainer as a retraining job,
validates and promotes its model, and resets the reference; the server picks
up each promoted model. Checked from the outside: PostgreSQL's tables, the
admin API, Alertmanager's API v2 and the server's own summary."""

import json
import os
import subprocess
import time

import harness

TRAINER = os.path.join(harness.BUILD_DIR, "examples", "elec2", "elec2_trainer")
SERVER = os.path.join(harness.BUILD_DIR, "examples", "elec2", "elec2_server")
DATA = os.path.join(harness.SOURCE_DIR, "data", "elec2", "elec2.csv.gz")

ROWS = 14000


def elec2_model(model_file, archive):
    return f"""
  - name: elec2
    prediction: {{type: binary, classes: [UP, DOWN]}}
    features:
      - {{name: day, type: numeric}}
      - {{name: period, type: numeric}}
      - {{name: nswprice, type: numeric}}
      - {{name: nswdemand, type: numeric}}
      - {{name: vicprice, type: numeric}}
      - {{name: vicdemand, type: numeric}}
      - {{name: transfer, type: numeric}}
    reference: {{rows: 1000}}
    window: {{rows: 1000}}
    performance:
      min_label_coverage: 0.9
      label_wait: 20s
      thresholds: [{{metric: accuracy, min: 0.72, band_sd: 0}}]
    retrain:
      command: ["{TRAINER}", train, --champion, "{model_file}", --recent-rows, "2000"]
      promote_command: ["{TRAINER}", promote, --model-file, "{model_file}", --archive, "{archive}"]
      triggers: [{{kind: performance}}, {{kind: dataset_drift}}]
      cooldown: 5s
      daily_budget: 50
      timeout: 2m
      data_rows: 4000
      probation_windows: 0
"""


class LoopTest(harness.Environment):
    def test_drift_alert_retrain_promote_and_reference_reset(self):
        for binary in (TRAINER, SERVER, harness.Alertmanager.BINARY):
            if not os.path.exists(binary):
                self.skipTest(f"{binary} is not built or installed")
        directory = os.path.join(self.tmp, "loop")
        os.makedirs(directory, exist_ok=True)
        alertmanager = harness.Alertmanager(os.path.join(directory, "am")).start()
        self.addCleanup(alertmanager.stop)
        model_file = os.path.join(directory, "models", "current.json")
        archive = os.path.join(directory, "models", "archive")
        os.makedirs(archive, exist_ok=True)
        extra = (f"monitor: {{interval: 200ms}}\n"
                 f"alerting:\n  resend_interval: 2s\n"
                 f"  receivers: [{{name: oncall, type: alertmanager, urls: [\"{alertmanager.url}\"]}}]\n")
        daemon = self.new_daemon("loop-daemon", extra_yaml=extra, models_yaml=elec2_model(model_file, archive))
        daemon.start()
        daemon.wait_ready()

        summary_path = os.path.join(directory, "summary.json")
        server = subprocess.run(
            [SERVER, "--data", DATA, "--daemon", f"http://127.0.0.1:{daemon.port}", "--model", "elec2",
             "--model-file", model_file, "--initial-rows", "2000", "--limit", str(ROWS), "--batch", "100",
             "--label-delay-rows", "200", "--rows-per-second", "0", "--lockstep-rows", "1000",
             "--summary", summary_path],
            capture_output=True, text=True, timeout=300)
        self.assertEqual(server.returncode, 0, server.stdout + server.stderr + daemon.log())
        summary = json.load(open(summary_path))
        log = daemon.log()

        # In lockstep (GET /v1/models/elec2/progress after every 1,000 rows and
        # at the end), the server returned only once the daemon had judged
        # everything: every window's performance, no job left.
        self.assertTrue(summary["lockstep"])
        self.assertEqual(summary["lockstep_waits"], (ROWS - 2000) // 1000 + 1, summary)
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM monitor_windows WHERE performance_at IS NULL"), 0, log)
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM retrain_jobs WHERE state IN "
                                        "('queued', 'running', 'succeeded', 'validated')"), 0, log)
        status, body = daemon.get("/v1/models/elec2/progress")
        self.assertEqual(status, 200, body)
        progress = json.loads(body)
        self.assertEqual(progress["jobs_unfinished"], 0, body)
        self.assertEqual(progress["findings_unrouted"], 0, body)
        self.assertEqual(progress["windows_judged"], progress["windows"], body)

        windows = self.pg.scalar("SELECT count(*) FROM monitor_windows WHERE model = 'elec2'")
        self.assertGreaterEqual(windows, 5, log)
        # Every window's verdicts are stored, triggered or not.
        self.assertGreater(self.pg.scalar("SELECT count(*) FROM findings WHERE kind = 'feature_drift'"), 7 * 5)
        # Elec2's inputs shift a few features at a time: some features drift.
        self.assertGreater(self.pg.scalar("SELECT count(*) FROM findings WHERE kind = 'feature_drift' AND triggered"), 0,
                           log)
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM findings WHERE kind = 'dataset_drift' AND subject = ''"),
                         windows)
        self.assertGreater(self.pg.scalar("SELECT count(*) FROM window_metrics WHERE name = 'accuracy'"), 0, log)
        # Elec2's concepts drift: the served model's accuracy falls below 0.72 in some window.
        self.assertGreater(self.pg.scalar("SELECT count(*) FROM findings WHERE kind = 'performance' AND triggered "
                                          "AND subject = 'accuracy'"), 0, log)
        self.assertGreater(self.pg.scalar("SELECT count(*) FROM findings WHERE kind = 'concept_drift'"), 0, log)

        # On-call heard about it: Alertmanager holds modelwatch's alerts.
        deadline = time.time() + 30
        alerts = []
        while time.time() < deadline and not alerts:
            alerts = [a for a in alertmanager.alerts() if a["labels"].get("model") == "elec2"]
            time.sleep(0.5)
        self.assertTrue(alerts, "no alert reached Alertmanager\n" + log)
        self.assertIn("summary", alerts[0]["annotations"])
        self.assertGreater(self.pg.scalar("SELECT count(*) FROM alert_deliveries WHERE delivered_at IS NOT NULL"), 0)

        # The model was retrained, validated and promoted, each step stored with its reason.
        promoted = self.pg.scalar("SELECT count(*) FROM retrain_jobs WHERE state = 'promoted'")
        self.assertGreaterEqual(promoted, 1, log)
        job = self.pg.query("SELECT id FROM retrain_jobs WHERE state = 'promoted' ORDER BY id LIMIT 1")[0][0]
        states = [row[0] for row in self.pg.query(
            "SELECT to_state FROM retrain_transitions WHERE job_id = %s ORDER BY id", (job,))]
        self.assertEqual(states, ["queued", "running", "succeeded", "validated", "promoted"])
        reasons = self.pg.query("SELECT reason FROM retrain_transitions WHERE job_id = %s AND to_state = 'validated'",
                                (job,))[0][0]
        self.assertIn("beats champion", reasons)
        # ...and the reference was reset to the new model's own predictions.
        self.assertGreater(self.pg.scalar("SELECT count(*) FROM decisions WHERE kind = 'reference_reset'"), 0)
        self.assertGreater(self.pg.scalar("SELECT count(*) FROM model_references WHERE source = 'promotion'"), 0)

        # The server picked up promoted models, and the loop beat the model never retrained.
        versions = [entry["version"] if isinstance(entry, dict) else entry for entry in summary["model_versions"]]
        self.assertGreater(len(versions), 1, summary)
        self.assertGreater(summary["served_accuracy"], summary["static_accuracy"], summary)
        # Not hundreds of retrains: the cooldown and the dedup hold them back.
        self.assertLess(self.pg.scalar("SELECT count(*) FROM retrain_jobs"), 30)

        # The admin API answers from the same tables.
        status, body = daemon.get("/v1/jobs?model=elec2")
        self.assertEqual(status, 200)
        self.assertGreaterEqual(len(json.loads(body)["jobs"]), promoted)
        status, body = daemon.get(f"/v1/jobs/{job}")
        self.assertEqual(status, 200)
        self.assertEqual(len(json.loads(body)["transitions"]), 5)
        status, body = daemon.get("/v1/findings?model=elec2&kind=dataset_drift&limit=3")
        self.assertEqual(status, 200)
        self.assertEqual(len(json.loads(body)["findings"]), 3)
        # Manual retraining through the CLI (the admin API): queued, or refused with the policy's reason.
        before = self.pg.scalar("SELECT count(*) FROM retrain_jobs")
        manual = subprocess.run([harness.CLI, "retrain", "elec2", "--reason", "test asked", "--daemon",
                                 f"http://127.0.0.1:{daemon.port}"], capture_output=True, text=True, timeout=60)
        answer = json.loads(manual.stdout)
        self.assertIn(answer["decision"], ("queued", "skipped"), manual.stdout + manual.stderr)
        self.assertTrue(answer["reason"])
        if answer["decision"] == "queued":
            self.assertEqual(self.pg.scalar("SELECT trigger FROM retrain_jobs ORDER BY id DESC LIMIT 1"), "manual")
            self.assertEqual(self.pg.scalar("SELECT count(*) FROM retrain_jobs"), before + 1)
        status, body = daemon.get("/v1/windows?model=elec2&limit=2")
        self.assertEqual(status, 200)
        self.assertIn("accuracy", json.dumps(json.loads(body)["windows"]))


if __name__ == "__main__":
    harness.main()
