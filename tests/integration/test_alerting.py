#!/usr/bin/python3
"""Alerts against a real Alertmanager (Debian's prometheus-alertmanager):
a triggered finding fires an alert, it is re-sent while it holds, and a clean
finding resolves it; with Alertmanager down and the daemon killed while the
alert is pending, nothing is lost: it arrives once both are back.

Findings are written straight into the findings table: that table is the
interface between the detectors and the alert router (DESIGN.md), so this
tests the router, the outbox and the sink without waiting for real drift."""

import json
import os
import time

import harness

MODEL = """
  - name: credit
    prediction: {type: binary, classes: [yes, no]}
    features: [{name: income, type: numeric}]
    concept_drift: {detector: ""}
"""


def insert_finding(pg, triggered, subject=""):
    pg.query("INSERT INTO findings (model, kind, subject, method, statistic, threshold, triggered, severity, "
             "window_start, window_end) VALUES ('credit', 'dataset_drift', %s, 'share', %s, 0.5, %s, %s, now(), now()) "
             "RETURNING id", (subject, 0.75 if triggered else 0.1, triggered, "warning" if triggered else "info"))


class AlertingTest(harness.Environment):
    def setUp(self):
        if not os.path.exists(harness.Alertmanager.BINARY):
            self.skipTest("prometheus-alertmanager is not installed")
        self.directory = os.path.join(self.tmp, self.id().split(".")[-1])
        os.makedirs(self.directory, exist_ok=True)
        self.alertmanager = harness.Alertmanager(os.path.join(self.directory, "am"))
        self.addCleanup(self.alertmanager.stop)
        extra = (f"monitor: {{interval: 100ms}}\n"
                 f"alerting:\n  resend_interval: 1s\n  external_url: \"http://modelwatch.test\"\n"
                 f"  runbook_url: \"https://runbooks.test/{{model}}/{{kind}}\"\n"
                 f"  receivers: [{{name: oncall, type: alertmanager, urls: [\"{self.alertmanager.url}\"]}}]\n")
        self.daemon = self.new_daemon(os.path.basename(self.directory), extra_yaml=extra, models_yaml=MODEL)
        self.pg.query("DROP SCHEMA public CASCADE; CREATE SCHEMA public")

    def credit_alerts(self, active=True):
        return [a for a in self.alertmanager.alerts(active) if a["labels"].get("model") == "credit"]

    def test_fire_resend_resolve(self):
        self.alertmanager.start()
        self.daemon.start()
        self.daemon.wait_ready()
        insert_finding(self.pg, True)
        alert = harness.wait_for(self.credit_alerts, 20, "the alert never reached Alertmanager\n" + self.daemon.log())[0]
        self.assertEqual(alert["labels"]["kind"], "dataset_drift")
        self.assertEqual(alert["labels"]["severity"], "warning")
        self.assertEqual(alert["annotations"]["runbook_url"], "https://runbooks.test/credit/dataset_drift")
        self.assertTrue(alert["generatorURL"].startswith("http://modelwatch.test/v1/findings/"))
        self.assertEqual(alert["status"]["state"], "active")
        # Re-sent while it holds: more deliveries of the same fingerprint, one alert in Alertmanager.
        harness.wait_for(lambda: self.pg.scalar("SELECT count(*) FROM alert_deliveries WHERE delivered_at IS NOT NULL") >= 3,
                 20, "no re-sends\n" + self.daemon.log())
        self.assertEqual(len(self.credit_alerts()), 1)
        # A repeat of the same state is not a new alert.
        insert_finding(self.pg, True)
        time.sleep(1)
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM alerts"), 1)
        # Clears: resolved, with endsAt in the past, so Alertmanager stops listing it as active.
        insert_finding(self.pg, False)
        harness.wait_for(lambda: not self.credit_alerts(), 20, "the alert was never resolved\n" + self.daemon.log())
        self.assertEqual(self.pg.scalar("SELECT state FROM alerts"), "resolved")

    def test_silence_through_the_admin_api(self):
        self.alertmanager.start()
        self.daemon.start()
        self.daemon.wait_ready()
        status, body, _ = self.daemon.request(
            "POST", "/v1/silences",
            json.dumps({"model": "credit", "kind": "dataset_drift", "duration_seconds": 600, "comment": "deploy"}))
        self.assertEqual(status, 201, body)
        silence = json.loads(body)["silence_id"]
        insert_finding(self.pg, True)
        harness.wait_for(lambda: self.pg.scalar("SELECT count(*) FROM decisions WHERE kind = 'alert_silenced'"), 20,
                 "the silence was not applied\n" + self.daemon.log())
        time.sleep(1)
        self.assertEqual(self.credit_alerts(), [])
        self.assertEqual(self.pg.scalar("SELECT state FROM alerts"), "firing")
        status, body = self.daemon.get("/v1/silences")
        self.assertEqual([s["id"] for s in json.loads(body)["silences"]], [silence])
        # Lifting the silence of a condition that still holds tells on-call.
        status, _, _ = self.daemon.request("DELETE", f"/v1/silences/{silence}")
        self.assertEqual(status, 200)
        harness.wait_for(self.credit_alerts, 20, "the alert did not fire after the silence ended\n" + self.daemon.log())
        status, body, _ = self.daemon.request("POST", "/v1/silences", json.dumps({"model": "credit"}))
        self.assertEqual(status, 400)
        self.assertIn("duration_seconds", json.loads(body)["error"])

    def test_alertmanager_down_and_daemon_killed_lose_nothing(self):
        self.daemon.start()
        self.daemon.wait_ready()
        insert_finding(self.pg, True, subject="outage")
        # Alertmanager is down: the delivery fails and waits in the outbox.
        harness.wait_for(lambda: self.pg.scalar("SELECT max(attempts) FROM alert_deliveries") or 0, 20,
                 "no failed attempt recorded\n" + self.daemon.log())
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM alert_deliveries WHERE delivered_at IS NOT NULL"), 0)
        # The daemon dies with the alert pending.
        self.daemon.kill()
        self.alertmanager.start()
        self.daemon.start()
        alert = harness.wait_for(self.credit_alerts, 60, "the pending alert was lost\n" + self.daemon.log())[0]
        self.assertEqual(alert["labels"]["subject"], "outage")
        self.assertGreater(self.pg.scalar("SELECT count(*) FROM alert_deliveries WHERE delivered_at IS NOT NULL"), 0)
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM alert_deliveries WHERE abandoned_at IS NOT NULL"), 0)


if __name__ == "__main__":
    harness.main()
