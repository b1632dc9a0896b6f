#!/usr/bin/python3
"""Ingest throughput of 1, 2 and 3 daemons on one PostgreSQL, side by side in
one run, over HTTP and over NATS JetStream (docs/scaling.md's capacity).

  /usr/bin/python3 bench/cluster_bench.py [--records 60000] [--per-message 100]
      [--clients 6] [--daemons 1,2,3] [--no-nats] [--build-dir build]

One throwaway PostgreSQL 15 (fsync on) and one nats-server -js (file
storage) for the whole run. For each count of daemons, fresh daemons (their
own spools, one database, the predictions of the previous count deleted):

HTTP: --clients clients spread round-robin over the daemons post the
records, --per-message per request; the clock runs from the first request
to the last 2xx (spooled) and to the last record in PostgreSQL.

NATS: every message is published to a stream of its own first (timed apart:
nats-server's speed); then the daemons start, all bound to the same durable
pull consumer, and the clock runs from the moment all are ready to the last
record in PostgreSQL.

The load average is printed with every figure: the machine is shared."""

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
sys.path.insert(0, HERE)
import harness  # noqa: E402
from nats_bench import MODEL, bodies, post_bodies, wait_stored  # noqa: E402
from nats_support import NatsServer  # noqa: E402

PASSWORD_ENV = "BENCH_NATS_PASSWORD"


def load():
    return f"{os.getloadavg()[0]:.1f}"


def start_daemons(tmp, pg, count, label, extra_yaml="", env=None):
    daemons = []
    for i in range(count):
        directory = os.path.join(tmp, f"{label}-{count}-{i}")
        os.makedirs(directory)
        daemon = harness.Daemon(directory, pg.dsn, models_yaml=MODEL, env=env or {})
        daemon.write_config(pg.dsn, models_yaml=MODEL,
                            extra_yaml=f"cluster: {{daemon_id: {label}{count}-{i}}}\n" + extra_yaml)
        daemons.append(daemon)
    for daemon in daemons:
        daemon.start()
    for daemon in daemons:
        daemon.wait_ready()
    return daemons


def run_http(tmp, pg, count, args):
    daemons = start_daemons(tmp, pg, count, "h")
    prefix = f"h{count}-"
    payloads = bodies(prefix, args.records, args.per_message)
    errors = []

    threads = [threading.Thread(target=post_bodies,
                                args=(daemons[i % count].port, payloads[i::args.clients], errors, 120))
               for i in range(args.clients)]
    load_before = load()
    started = time.time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    acknowledged = time.time()
    done = wait_stored(pg, prefix, args.records)
    if errors:
        raise RuntimeError(f"HTTP errors: {errors[:5]}")
    for daemon in daemons:
        daemon.terminate()
    print(f"  http daemons={count}: {args.records / (done - started):,.0f} records/s into PostgreSQL "
          f"({done - started:.2f} s), {args.records / (acknowledged - started):,.0f} records/s spooled "
          f"(all 2xx after {acknowledged - started:.2f} s)  load {load_before} -> {load()}", flush=True)


def run_nats(tmp, pg, nats, count, args):
    stream, subject = f"BENCH{count}", f"bench{count}"
    prefix = f"n{count}-"
    with nats.client() as client:
        client.add_stream(stream, [f"{subject}.predictions.*", f"{subject}.outcomes.*"])
        payloads = [(f"{subject}.predictions.bench", b) for b in bodies(prefix, args.records, args.per_message)]
        client.publish_many(payloads)
    extra = (f"nats:\n  servers: [\"{nats.url}\"]\n  stream: {stream}\n  consumer: mw\n  user: {nats.user}\n"
             f"  password_env: {PASSWORD_ENV}\n  predictions_subject: {subject}.predictions\n"
             f"  outcomes_subject: {subject}.outcomes\n  fetch_batch: {args.fetch_batch}\n")
    load_before = load()
    # The clock starts before the daemons do: the first to be ready pulls while the others start.
    started = time.time()
    daemons = start_daemons(tmp, pg, count, "n", extra, {PASSWORD_ENV: nats.password})
    ready = time.time()
    done = wait_stored(pg, prefix, args.records)
    acked = [d.metric('modelwatch_nats_messages_total{kind="prediction",result="acked"}') or 0 for d in daemons]
    for daemon in daemons:
        daemon.terminate()
    print(f"  nats daemons={count}: {args.records / (done - started):,.0f} records/s into PostgreSQL "
          f"({done - started:.2f} s from the first start; all ready after {ready - started:.2f} s), "
          f"messages acked per daemon {[int(a) for a in acked]}  load {load_before} -> {load()}", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=60000)
    parser.add_argument("--per-message", type=int, default=100)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--daemons", default="1,2,3")
    parser.add_argument("--fetch-batch", type=int, default=256)
    parser.add_argument("--no-nats", action="store_true")
    parser.add_argument("--build-dir", default=os.path.join(HERE, "..", "build"))
    args = parser.parse_args()
    harness.DAEMON = os.path.join(os.path.abspath(args.build_dir), "daemon", "modelwatchd")
    counts = [int(c) for c in args.daemons.split(",")]

    tmp = tempfile.mkdtemp(prefix="mw-cluster-bench-")
    os.chmod(tmp, 0o755)
    pg = harness.Postgres(os.path.join(tmp, "pg")).start()
    nats = None if args.no_nats else NatsServer(os.path.join(tmp, "nats"), harness.free_port()).start()
    try:
        print(f"cluster_bench records={args.records} per_message={args.per_message} clients={args.clients} "
              f"date={time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} cpus={os.cpu_count()}", flush=True)
        for count in counts:
            run_http(tmp, pg, count, args)
            if nats:
                run_nats(tmp, pg, nats, count, args)
    finally:
        if nats:
            nats.kill()
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
