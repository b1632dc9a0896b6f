#!/usr/bin/python3
"""Two daemons on one PostgreSQL: each trigger queues one job, and one job
runs once. Both daemons route the same findings (the policy's cursor in
finding_cursors is taken FOR UPDATE) and claim from the same queue (FOR
UPDATE SKIP LOCKED under an advisory lock for the concurrency limit)."""

import os
import time

import harness

# A job that takes a second and reports a challenger the gate rejects.
JOB = """sleep 1
printf '{"version": 1, "challenger_version": "c", "artifact": "none", "metrics": {"accuracy": 0.5}, "champion_metrics": {"accuracy": 0.9}}' > "$MODELWATCH_REPORT"
"""

MODEL = """
  - name: credit
    prediction: {{type: binary, classes: ["yes", "no"]}}
    features: [{{name: income, type: numeric}}]
    concept_drift: {{detector: ""}}
    retrain:
      command: [/bin/sh, "{job}"]
      triggers: [{{kind: dataset_drift}}]
      cooldown: 0
      daily_budget: 100
      breaker_failures: 100
"""


class TwoDaemonsTest(harness.Environment):
    def test_one_job_per_trigger(self):
        job = os.path.join(self.tmp, "job.sh")
        with open(job, "w") as f:
            f.write(JOB)
        model = MODEL.format(job=job)
        first = self.new_daemon("first", models_yaml=model, extra_yaml="monitor: {interval: 50ms}\n")
        second = self.new_daemon("second", models_yaml=model, extra_yaml="monitor: {interval: 50ms}\n")
        first.start()
        first.wait_ready()
        second.start()
        second.wait_ready()
        triggers = 5
        for i in range(triggers):
            # A triggered dataset-drift finding, then a clean one: each pair is one trigger.
            for triggered in (True, False):
                self.pg.query(
                    "INSERT INTO findings (model, kind, subject, method, statistic, threshold, triggered, severity, "
                    "window_start, window_end) VALUES ('credit', 'dataset_drift', '', 'share', %s, 0.5, %s, 'info', "
                    "now(), now()) RETURNING id", (0.9 if triggered else 0.1, triggered))
            # The next trigger only after this one's job has ended (a queued
            # or running job absorbs new triggers with the same key).
            deadline = time.time() + 30
            while time.time() < deadline and (
                    self.pg.scalar("SELECT count(*) FROM retrain_jobs") < i + 1 or self.pg.scalar(
                        "SELECT count(*) FROM retrain_jobs WHERE state IN ('queued', 'running', 'succeeded')")):
                time.sleep(0.1)
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM retrain_jobs"), triggers,
                         first.log()[-3000:] + second.log()[-3000:])
        # Every job ran once: one transition into running each, by one of the two daemons.
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM retrain_transitions WHERE to_state = 'running'"), triggers)
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM retrain_jobs WHERE state = 'rejected'"), triggers)
        claimers = {row[0] for row in self.pg.query("SELECT claimed_by FROM retrain_jobs")}
        self.assertTrue(claimers, claimers)
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM decisions WHERE kind = 'retrain_queued'"), triggers)


if __name__ == "__main__":
    harness.main()
