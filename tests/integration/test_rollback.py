#!/usr/bin/python3
"""Probation through the daemon: a job's challenger passes the gate on its
own report, is promoted, then does worse on live labelled windows than the
champion's validated figure; the daemon rolls it back (the rollback hook runs
with the version to restore), records why, and resets the reference again."""

import os
import time

import harness

JOB = """printf '{"version": 1, "challenger_version": "v2", "artifact": "/nonexistent", "metrics": {"accuracy": 0.95}, \
"champion_metrics": {"accuracy": 0.9}}' > "$MODELWATCH_REPORT"
"""
HOOK = """printf '%s %s\\n' "$MODELWATCH_HOOK" "$MODELWATCH_ROLLBACK_TO_VERSION$MODELWATCH_CHALLENGER_VERSION" >> "{log}"
"""

MODEL = """
  - name: credit
    prediction: {{type: binary, classes: ["yes", "no"]}}
    features: [{{name: x, type: numeric}}]
    concept_drift: {{detector: ""}}
    anomaly: {{detector: ""}}
    reference: {{rows: 100}}
    window: {{rows: 100}}
    drift: {{noise_resamples: 0}}
    performance:
      min_label_coverage: 0.9
      thresholds: [{{metric: accuracy, min: 0.99, band_sd: 0}}]
    retrain:
      command: [/bin/sh, "{job}"]
      promote_command: [/bin/sh, "{hook}"]
      rollback_command: [/bin/sh, "{hook}"]
      triggers: [{{kind: performance}}]
      cooldown: 0
      daily_budget: 1
      probation_windows: 2
      probation_max_drop: 0.02
"""


def batch(start, count, version, accuracy_every=2):
    predictions = [{"id": f"c{i:05d}", "model_version": version, "features": {"x": (i * 37 % 100) / 100},
                    "prediction": "yes"} for i in range(start, start + count)]
    # Every other prediction is wrong: accuracy 0.5.
    outcomes = [{"id": f"c{i:05d}", "label": "yes" if i % accuracy_every else "no"}
                for i in range(start, start + count)]
    return predictions, outcomes


class RollbackTest(harness.Environment):
    def test_underperforming_promotion_is_rolled_back(self):
        paths = {name: os.path.join(self.tmp, name) for name in ("job.sh", "hook.sh", "hooks.log")}
        with open(paths["job.sh"], "w") as f:
            f.write(JOB)
        with open(paths["hook.sh"], "w") as f:
            f.write(HOOK.replace("{log}", paths["hooks.log"]))
        daemon = self.new_daemon("rollback", extra_yaml="monitor: {interval: 100ms}\n",
                                 models_yaml=MODEL.format(job=paths["job.sh"], hook=paths["hook.sh"]))
        daemon.start()
        daemon.wait_ready()

        def send(start, count, version):
            predictions, outcomes = batch(start, count, version)
            self.assertEqual(daemon.post("/v1/models/credit/predictions", predictions)[0], 200)
            self.assertEqual(daemon.post("/v1/models/credit/outcomes", outcomes)[0], 200)

        def wait_for(sql, message, timeout=60):
            deadline = time.time() + timeout
            while time.time() < deadline:
                if self.pg.scalar(sql):
                    return
                time.sleep(0.2)
            raise AssertionError(message + "\n" + daemon.log()[-5000:])

        # v1's reference, then a window at accuracy 0.5: below 0.99, a job, promoted on its report.
        send(0, 200, "v1")
        wait_for("SELECT count(*) FROM retrain_jobs WHERE state = 'promoted'", "no promotion")
        # v2 serves: its first 100 predictions are its reference, then two judged windows at 0.5.
        send(200, 300, "v2")
        wait_for("SELECT count(*) FROM retrain_jobs WHERE state = 'rolled_back'", "no rollback")
        states = [r[0] for r in self.pg.query("SELECT to_state FROM retrain_transitions ORDER BY id")]
        self.assertEqual(states, ["queued", "running", "succeeded", "validated", "promoted", "rolled_back"])
        reason = self.pg.scalar("SELECT reason FROM retrain_transitions WHERE to_state = 'rolled_back'")
        self.assertIn("rollback hook succeeded", reason)
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM decisions WHERE kind = 'probation_failed'"), 1)
        with open(paths["hooks.log"]) as f:
            hooks = f.read().split("\n")
        self.assertEqual(hooks[0], "promotion v2")
        self.assertTrue(hooks[1].startswith("rollback"), hooks)
        # The reference was reset twice: after the promotion and after the rollback.
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM decisions WHERE kind = 'reference_reset'"), 1)
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM model_references WHERE source = 'promotion'"), 2)


if __name__ == "__main__":
    harness.main()
