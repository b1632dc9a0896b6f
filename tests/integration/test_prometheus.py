"""Debian's Prometheus scrapes a real modelwatchd with the shipped rules
(contrib/prometheus/modelwatch.rules.yml; scrape and evaluation every
second), and the rule for the fault fires when PostgreSQL really stops. Also:
the live /metrics passes `promtool check metrics`.

The rules are loaded with every `for:` shortened to 5 s and their
expressions unchanged: this test is about the expressions matching a real
daemon's metrics in a real fault; how long each rule waits is checked by the
promtool unit tests (contrib/prometheus/modelwatch.rules.test.yml), and
waiting out the real `for: 1m` here cost a minute of the test command."""

import http.client
import json
import os
import re
import subprocess
import time
import urllib.parse

import harness

PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"
RULES = os.path.join(harness.SOURCE_DIR, "contrib", "prometheus", "modelwatch.rules.yml")
TEST_FOR = "5s"


def rules_with_short_waits(directory):
    with open(RULES) as f:
        text = f.read()
    shortened, count = re.subn(r"(?m)^([ \t]+for:[ \t]*)\S+[ \t]*$", lambda m: m.group(1) + TEST_FOR, text)
    assert count > 0, "no `for:` found in " + RULES
    path = os.path.join(directory, "modelwatch.rules.yml")
    with open(path, "w") as f:
        f.write(shortened)
    return path


class Prometheus:
    def __init__(self, directory, target):
        self.directory = directory
        self.port = harness.free_port()
        self.process = None
        os.makedirs(directory, exist_ok=True)
        self.config = os.path.join(directory, "prometheus.yml")
        with open(self.config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    f"rule_files:\n  - {rules_with_short_waits(directory)}\n"
                    "scrape_configs:\n  - job_name: modelwatch\n"
                    f"    static_configs:\n      - targets: [\"{target}\"]\n")
        self.log_path = os.path.join(directory, "prometheus.log")

    def start(self, timeout=30):
        with open(self.log_path, "a") as log:
            self.process = subprocess.Popen(
                [PROMETHEUS, f"--config.file={self.config}", f"--storage.tsdb.path={self.directory}/data",
                 f"--web.listen-address=127.0.0.1:{self.port}"], stdout=log, stderr=log)
        harness.wait_for(lambda: self.ready(), timeout, "prometheus did not become ready:\n" + self.log())
        return self

    def ready(self):
        try:
            return self.get("/-/ready")[0] == 200
        except OSError:
            return False

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)

    def log(self):
        with open(self.log_path) as f:
            return f.read()[-4000:]

    def get(self, path):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def query(self, expr):
        status, body = self.get("/api/v1/query?query=" + urllib.parse.quote(expr))
        data = json.loads(body)
        assert status == 200 and data["status"] == "success", body
        return data["data"]["result"]

    def alerts(self):
        status, body = self.get("/api/v1/alerts")
        assert status == 200, body
        return json.loads(body)["data"]["alerts"]

    def alert_state(self, name):
        states = [a["state"] for a in self.alerts() if a["labels"].get("alertname") == name]
        return states[0] if states else None


class PrometheusTest(harness.Environment):
    def test_metrics_lint_clean_and_store_rule_fires_when_postgres_stops(self):
        daemon = self.new_daemon("daemon").start()
        daemon.wait_ready()
        status, body, _ = daemon.post("/v1/models/elec2/predictions", [harness.prediction(i) for i in range(50)])
        self.assertEqual(status, 200, body)
        daemon.wait_drained()

        # The live exposition passes promtool's lint (names, units, help, types).
        _, text = daemon.get("/metrics")
        self.assertNotIn(b"modelwatch_window_metric", text)
        lint = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, timeout=60)
        self.assertEqual(lint.returncode, 0, lint.stdout + lint.stderr)
        self.assertEqual((lint.stdout + lint.stderr).strip(), b"")

        prometheus = Prometheus(os.path.join(self.tmp, "prometheus"), f"127.0.0.1:{daemon.port}").start()
        self.addCleanup(prometheus.stop)
        harness.wait_for(lambda: prometheus.query('modelwatch_ready{job="modelwatch"} == 1'), 30,
                         "prometheus never scraped a ready daemon:\n" + prometheus.log())
        # The rules are the shipped file, loaded and evaluated; nothing fires on a healthy daemon.
        status, body = prometheus.get("/api/v1/rules")
        names = [r["name"] for g in json.loads(body)["data"]["groups"] for r in g["rules"]]
        self.assertIn("ModelwatchStoreUnreachable", names)
        self.assertEqual(prometheus.alerts(), [])

        self.pg.stop()
        sent = [50]

        def state_while_ingesting(name):
            # Model servers keep sending: the spool takes the records and the
            # drain finds PostgreSQL gone.
            status, body, _ = daemon.post("/v1/models/elec2/predictions", [harness.prediction(sent[0])])
            self.assertEqual(status, 200, body)
            sent[0] += 1
            return prometheus.alert_state(name)

        try:
            stopped = time.time()
            harness.wait_for(lambda: state_while_ingesting("ModelwatchStoreUnreachable") == "pending", 30,
                             "the store rule never matched:\n" + daemon.log()[-3000:])
            harness.wait_for(lambda: state_while_ingesting("ModelwatchStoreUnreachable") == "firing", 60,
                             f"not firing {time.time() - stopped:.0f} s after PostgreSQL stopped:\n"
                             + json.dumps(prometheus.alerts()))
            # It fires for the store, not because the daemon went away.
            self.assertIsNone(prometheus.alert_state("ModelwatchDown"))
            self.assertEqual(daemon.get("/readyz")[0], 503)
        finally:
            self.pg.start()


if __name__ == "__main__":
    harness.main()
