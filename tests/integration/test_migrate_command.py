"""`modelwatch migrate` against a real PostgreSQL: applies the schema and says
which versions, is a no-op the second time, exits 1 with a clear message when
PostgreSQL is unreachable and 2 without a DSN. Before that, on the empty
database: a configuration with several bad values (issue 13) is refused by
`modelwatchd --check-config` and by `modelwatchd --config` alike, every
problem named with its key path and line, and the refused daemon leaves the
database untouched (no table)."""
import os
import subprocess
import sys
import tempfile

source = os.environ["MODELWATCH_SOURCE_DIR"]
modelwatch = os.path.join(os.environ["MODELWATCH_BUILD_DIR"], "cli", "modelwatch")
modelwatchd = os.path.join(os.environ["MODELWATCH_BUILD_DIR"], "daemon", "modelwatchd")

# Each bad value, and what the daemon must say about it (key path and line).
BAD_CONFIG = """state_dir: {state}
store:
  dsn: "{dsn}"
models:
  - name: credit
    prediction: {{type: binary, classes: ["1", "0"]}}
    attributes: [sex]
    features: [{{name: amount, type: numeric}}]
    concept_drift: {{detector: adwin, params: ["delt=0.1"]}}
    anomaly: {{detector: robst}}
    performance: {{thresholds: [{{metric: pr_auc, min: 0.99}}]}}
    retrain:
      command: ["/bin/true"]
      triggers: [{{kind: label_drift}}]
      schedule: "61 * * * *"
      schedule_time_zone: Mars/Olympus
alerting:
  kinds: [label_drift]
"""
EXPECTED_PROBLEMS = [
    'models[0].concept_drift.params (line 9): adwin: unknown option "delt"; did you mean "delta"?',
    'models[0].anomaly.detector (line 10): unknown anomaly detector "robst" (did you mean "robust"?); known: ',
    'models[0].performance.thresholds[0].metric (line 11): unknown performance metric "pr_auc"; known: ',
    'models[0].retrain.schedule (line 15): "61 * * * *" is not a cron expression',
    "models[0].retrain.schedule_time_zone (line 16): time zone 'Mars/Olympus': not found",
]
pg = os.path.join(source, "scripts", "pg-throwaway.sh")


def run(*args, env=None):
    return subprocess.run([modelwatch, "migrate", *args], capture_output=True, text=True, timeout=60,
                          env=env if env is not None else os.environ.copy())


def check(condition, what, result):
    if not condition:
        print(f"FAILED: {what}\nexit={result.returncode}\nstdout={result.stdout}\nstderr={result.stderr}")
        sys.exit(1)


with tempfile.TemporaryDirectory(prefix="mw-migrate-") as directory:
    dsn = subprocess.run([pg, "start", directory], check=True, capture_output=True, text=True).stdout.strip()
    try:
        config_path = os.path.join(directory, "bad.yaml")
        with open(config_path, "w") as f:
            f.write(BAD_CONFIG.format(state=os.path.join(directory, "state"), dsn=dsn))
        for flag in ("--check-config", "--config"):
            refused = subprocess.run([modelwatchd, flag, config_path], capture_output=True, text=True, timeout=60)
            check(refused.returncode == 1, f"modelwatchd {flag} with bad values exits 1", refused)
            for problem in EXPECTED_PROBLEMS:
                check(problem in refused.stderr, f"modelwatchd {flag} names: {problem}", refused)
            # label_drift is a finding kind both alerting.kinds and the triggers take.
            check("label_drift" not in refused.stderr, f"modelwatchd {flag} accepts label_drift", refused)
        tables = subprocess.run(["psql", "-X", "-Atc", "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
                                 dsn], check=True, capture_output=True, text=True).stdout.strip()
        if tables != "0":
            print(f"FAILED: the refused daemon left {tables} tables in the database, expected none")
            sys.exit(1)

        first = run("--dsn", dsn)
        check(first.returncode == 0, "first migrate exits 0", first)
        check("applied 1 initial_schema" in first.stdout and "applied 2 monitoring_alerts_retraining_audits" in first.stdout
              and "applied 3 operational_series" in first.stdout and "applied 4 partitions_by_arrival_day" in first.stdout,
              "first migrate names the versions applied", first)

        env = os.environ.copy()
        env["MODELWATCH_DSN"] = dsn
        second = run(env=env)
        check(second.returncode == 0, "second migrate (DSN from MODELWATCH_DSN) exits 0", second)
        check("(0 migrations applied)" in second.stdout and "applied 1" not in second.stdout,
              "second migrate applies nothing", second)

        tables = subprocess.run(["psql", "-X", "-Atc", "SELECT count(*) FROM schema_migrations", dsn],
                                check=True, capture_output=True, text=True).stdout.strip()
        # One row per migration the first run applied (every one this build knows).
        applied = sum(1 for line in first.stdout.splitlines() if line.lstrip().startswith("applied "))
        if tables != str(applied):
            print(f"FAILED: schema_migrations holds {tables} rows, expected {applied} (one per migration)")
            sys.exit(1)
    finally:
        subprocess.run([pg, "stop", directory], check=False)

    env = os.environ.copy()
    env.pop("MODELWATCH_DSN", None)
    down = run("--dsn", f"host={directory} port=1 dbname=modelwatch user=postgres password=hunter2", env=env)
    check(down.returncode == 3, "unreachable PostgreSQL exits 3 (cli/exit_status.h: unreachable)", down)
    check("cannot connect to PostgreSQL" in down.stderr, "unreachable PostgreSQL is named", down)
    check("hunter2" not in down.stderr, "the password is not printed", down)

    missing = run(env=env)
    check(missing.returncode == 2 and "MODELWATCH_DSN" in missing.stderr, "no DSN is a usage error", missing)

print("ok")
