"""`modelwatch migrate` against a real PostgreSQL: applies the schema and says
which versions, is a no-op the second time, exits 1 with a clear message when
PostgreSQL is unreachable and 2 without a DSN."""
import os
import subprocess
import sys
import tempfile

source = os.environ["MODELWATCH_SOURCE_DIR"]
modelwatch = os.path.join(os.environ["MODELWATCH_BUILD_DIR"], "cli", "modelwatch")
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
        first = run("--dsn", dsn)
        check(first.returncode == 0, "first migrate exits 0", first)
        check("applied 1 initial_schema" in first.stdout and "applied 2 monitoring_alerts_retraining_audits" in first.stdout
              and "applied 3 operational_series" in first.stdout,
              "first migrate names the versions applied", first)

        env = os.environ.copy()
        env["MODELWATCH_DSN"] = dsn
        second = run(env=env)
        check(second.returncode == 0, "second migrate (DSN from MODELWATCH_DSN) exits 0", second)
        check("(0 migrations applied)" in second.stdout and "applied 1" not in second.stdout,
              "second migrate applies nothing", second)

        tables = subprocess.run(["psql", "-X", "-Atc", "SELECT count(*) FROM schema_migrations", dsn],
                                check=True, capture_output=True, text=True).stdout.strip()
        if tables != "3":
            print(f"FAILED: schema_migrations holds {tables} rows, expected 3 (one per migration)")
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
