#!/usr/bin/python3
"""Scheduled fairness audits in the daemon, on the bundled UCI Adult data:
predictions and outcomes go in over HTTP, the in-daemon scheduler runs the
configured audit (run_on_start), stores it with its verdicts, writes the
HTML, JSON and Markdown reports and emits fairness findings; a run on demand
through `modelwatch audit run` and the admin API adds to the history the
trend chart shows; a second run at once is refused while one is running."""

import json
import os
import subprocess
import time

import harness

MODEL = """
  - name: adult
    prediction: {type: binary, classes: [">50K", "<=50K"]}
    attributes: [sex, race]
    features:
      - {name: age, type: numeric}
      - {name: education_num, type: numeric}
    concept_drift: {detector: ""}
    audits:
      - name: daily
        schedule: "* * * * *"
        window: 24h
        sensitive: [sex, race]
        reference_groups: ["sex=Male"]
        min_group_size: 30
        run_on_start: true
"""


class AuditsTest(harness.Environment):
    def test_scheduled_and_on_demand_audits(self):
        daemon = self.new_daemon("audits", models_yaml=MODEL,
                                 extra_yaml="monitor: {interval: 200ms}\n")
        # Data first, so the run at start has something to audit.
        daemon.start()
        daemon.wait_ready()
        predictions, outcomes = harness.adult_records(0, 3000)
        for path, records in (("predictions", predictions), ("outcomes", outcomes)):
            status, body, _ = daemon.post(f"/v1/models/adult/{path}", records)
            self.assertEqual(status, 200, body)
        daemon.wait_drained()
        daemon.terminate()
        self.pg.query("DELETE FROM audits; DELETE FROM audit_schedules")
        daemon.start()
        deadline = time.time() + 60
        while time.time() < deadline and not self.pg.scalar(
                "SELECT count(*) FROM audits WHERE state IN ('passed', 'failed', 'error')"):
            time.sleep(0.2)
        audits = self.pg.query("SELECT id, trigger, state, rows, reports, error FROM audits ORDER BY id")
        self.assertTrue(audits, daemon.log())
        first = audits[0]
        self.assertEqual(first[1], "schedule")
        self.assertIn(first[2], ("passed", "failed"), first)
        self.assertEqual(first[3], 3000)
        reports = first[4]
        reports = reports if isinstance(reports, list) else reports.get("paths", reports)
        paths = json.dumps(reports)
        for extension in ("html", "json", "md"):
            self.assertIn(f".{extension}", paths)
        html = [p for p in reports if str(p).endswith(".html")] if isinstance(reports, list) else []
        for path in html:
            self.assertTrue(os.path.exists(path), path)
        # The data gives the rule-based model real gaps: violations become findings.
        self.assertGreater(self.pg.scalar("SELECT count(*) FROM findings WHERE kind = 'fairness' AND triggered"), 0)

        # On demand, from the command line, through the admin API.
        result = subprocess.run([harness.CLI, "audit", "run", "adult", "daily", "--daemon",
                                 f"http://127.0.0.1:{daemon.port}"], capture_output=True, text=True, timeout=120)
        self.assertIn(result.returncode, (0,), result.stdout + result.stderr)
        answer = json.loads(result.stdout)
        self.assertIn(answer["state"], ("passed", "failed"))
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM audits WHERE trigger = 'manual'"), 1)
        # The stored JSON of the second run carries the first run in its history.
        history = self.pg.scalar("SELECT result->'history' FROM audits WHERE trigger = 'manual'")
        self.assertTrue(history, "no history in the second audit's result")
        status, body = daemon.get("/v1/audits?model=adult")
        self.assertEqual(status, 200)
        self.assertGreaterEqual(len(json.loads(body)["audits"]), 2)
        status, body, _ = daemon.request("POST", "/v1/models/adult/audits/nosuch/run")
        self.assertEqual(status, 404)


if __name__ == "__main__":
    harness.main()
