#!/usr/bin/python3
"""Time from a window closing to its alert reaching Alertmanager and to the
retraining job it triggers starting (p50, p99), against real PostgreSQL,
Alertmanager and modelwatchd, side by side with the monitor's polling
interval, the floor that any store-driven loop pays.

  /usr/bin/python3 bench/loop_latency_bench.py [--windows 40] [--interval 100ms] [--build-dir build]

Windows alternate between the reference distribution and a shifted one, so
every other window fires a new alert (the clean one in between resolves it)
and, with no cooldown, queues a new job. Every time comes from PostgreSQL's
own clock: monitor_windows.closed_at, alert_deliveries.delivered_at,
retrain_jobs.started_at. The job is a one-line shell script that writes a
report the gate rejects, so nothing is promoted and the reference stays."""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import harness  # noqa: E402

ROWS = 200
JOB = """printf '{"version": 1, "challenger_version": "c", "artifact": "none", "metrics": {"accuracy": 0.5}, "champion_metrics": {"accuracy": 0.9}}' > "$MODELWATCH_REPORT"
"""


def model_yaml(job):
    return f"""
  - name: bench
    prediction: {{type: binary, classes: ['1', '0']}}
    features: [{{name: x, type: numeric}}, {{name: y, type: numeric}}]
    reference: {{rows: {ROWS}}}
    window: {{rows: {ROWS}}}
    drift: {{noise_resamples: 0}}
    concept_drift: {{detector: ""}}
    anomaly: {{detector: ""}}
    retrain:
      command: [/bin/sh, "{job}"]
      triggers: [{{kind: dataset_drift}}]
      cooldown: 0
      daily_budget: 1000
      breaker_failures: 100
"""


def rows(start, count, shift):
    return [{"id": f"b{start + i:07d}", "features": {"x": ((i * 37) % 100) / 100 + shift,
                                                      "y": ((i * 53) % 100) / 100 + shift},
             "prediction": "1", "score": 0.5} for i in range(count)]


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--windows", type=int, default=40)
    parser.add_argument("--interval", default="100ms")
    parser.add_argument("--build-dir", default=os.path.join(HERE, "..", "build"))
    args = parser.parse_args()
    harness.DAEMON = os.path.join(os.path.abspath(args.build_dir), "daemon", "modelwatchd")
    tmp = tempfile.mkdtemp(prefix="mw-loop-bench-")
    os.chmod(tmp, 0o755)
    pg = harness.Postgres(os.path.join(tmp, "pg")).start()
    alertmanager = harness.Alertmanager(os.path.join(tmp, "am")).start()
    os.makedirs(os.path.join(tmp, "daemon"))
    extra = (f"monitor: {{interval: {args.interval}}}\n"
             f"alerting:\n  kinds: [dataset_drift]\n"
             f"  receivers: [{{name: oncall, type: alertmanager, urls: [\"{alertmanager.url}\"]}}]\n")
    job = os.path.join(tmp, "job.sh")
    with open(job, "w") as f:
        f.write(JOB)
    daemon = harness.Daemon(os.path.join(tmp, "daemon"), pg.dsn, extra_yaml=extra, models_yaml=model_yaml(job))
    try:
        daemon.start()
        daemon.wait_ready()
        daemon.post("/v1/models/bench/predictions", rows(0, ROWS, 0.0))
        for w in range(args.windows):
            daemon.post("/v1/models/bench/predictions", rows(ROWS * (w + 1), ROWS, 0.5 if w % 2 == 0 else 0.0))
            # One window at a time, as traffic would close them.
            deadline = time.time() + 30
            while time.time() < deadline and pg.scalar("SELECT count(*) FROM monitor_windows") < w + 1:
                time.sleep(0.02)
        time.sleep(3)
        # A firing delivery is enqueued by the pass after its window closed:
        # pair it with the last window closed before it was created.
        alert_ms = [r[0] for r in pg.query(
            "SELECT extract(epoch FROM d.delivered_at - (SELECT max(w.closed_at) FROM monitor_windows w "
            "WHERE w.closed_at <= d.created_at)) * 1000 FROM alert_deliveries d "
            "WHERE d.state = 'firing' AND d.delivered_at IS NOT NULL "
            "AND (d.payload->>'resend')::boolean IS NOT TRUE")]
        job_ms = [r[0] for r in pg.query(
            "SELECT extract(epoch FROM j.started_at - w.closed_at) * 1000 FROM retrain_jobs j "
            "JOIN findings f ON f.id = j.finding_id JOIN monitor_windows w ON w.id = f.window_id "
            "WHERE j.started_at IS NOT NULL")]
        interval_ms = float(args.interval.rstrip("ms")) if args.interval.endswith("ms") else float(args.interval) * 1000
        print(f"windows closed: {pg.scalar('SELECT count(*) FROM monitor_windows')}, monitor interval {interval_ms:.0f} ms")
        print(f"{'':34} {'n':>4} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
        for name, values in (("window closed -> alert delivered", alert_ms), ("window closed -> job started", job_ms)):
            values = [float(v) for v in values]
            if values:
                print(f"{name:34} {len(values):>4} {percentile(values, 0.5):>8.1f} {percentile(values, 0.99):>8.1f} "
                      f"{max(values):>8.1f}")
            else:
                print(f"{name:34} none measured (see {daemon.log_path})")
        print(f"{'polling floor: one interval':34} {'':>4} {interval_ms / 2:>8.1f} {interval_ms:>8.1f}   "
              "(a stage waits up to one interval for the next pass)")
    finally:
        harness.Environment.stop_quietly(daemon)
        alertmanager.stop()
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
