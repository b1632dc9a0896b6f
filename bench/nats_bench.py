#!/usr/bin/python3
"""One daemon's ingest over NATS JetStream beside the same records over HTTP,
in one run, on one throwaway PostgreSQL and one nats-server -js (file storage).

  /usr/bin/python3 bench/nats_bench.py [--records 100000] [--per-message 100]
      [--connections 4] [--fetch-batch 256] [--build-dir build]

NATS: every message is published to the stream first (timed apart: that is
nats-server's speed, not the daemon's); then the daemon starts with its
consumer at the start of the stream and is timed from ready to the last ack
(pull, parse, spool fdatasync, ack; polled on modelwatch_nats_messages_total
every 20 ms) and to the moment the last record is in PostgreSQL (the drain).
HTTP: the same records, --per-message per request, posted by --connections
clients to a fresh daemon, timed from the first request to the last 2xx and
to the last record in PostgreSQL. Ids differ between the sides; each side starts from an empty
predictions table. Bodies are encoded before the clock starts."""

import argparse
import http.client
import json
import os
import shutil
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import harness  # noqa: E402
from nats_support import NatsServer  # noqa: E402

FEATURES = [f"f{i}" for i in range(10)]
MODEL = ("\n  - name: bench\n    prediction: {type: binary, classes: ['0', '1']}\n    window: {rows: 1000000}\n"
         "    features:\n" + "".join(f"      - {{name: {name}, type: numeric}}\n" for name in FEATURES))


def bodies(prefix, records, per_message):
    ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    out = []
    for start in range(0, records, per_message):
        rows = [{"id": f"{prefix}{i}", "ts": ts, "model_version": "v1",
                 "features": {name: ((i * 7 + k) % 1000) / 1000 for k, name in enumerate(FEATURES)},
                 "prediction": str(i % 2), "score": (i % 100) / 100}
                for i in range(start, min(start + per_message, records))]
        out.append(json.dumps(rows).encode())
    return out


def post_bodies(port, payloads, errors, timeout):
    """Posts each payload to the bench model on one connection; a status
    other than 200 goes to `errors`."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    for payload in payloads:
        conn.request("POST", "/v1/models/bench/predictions", body=payload,
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            errors.append(response.status)
    conn.close()


def wait_stored(pg, prefix, count, timeout=600):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pg.scalar("SELECT count(*) FROM predictions WHERE id LIKE %s", (prefix + "%",)) >= count:
            return time.time()
        time.sleep(0.05)
    raise RuntimeError(f"{prefix}: not all {count} records stored")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100000)
    parser.add_argument("--per-message", type=int, default=100)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--fetch-batch", type=int, default=256)
    parser.add_argument("--build-dir", default=os.path.join(HERE, "..", "build"))
    args = parser.parse_args()
    harness.DAEMON = os.path.join(os.path.abspath(args.build_dir), "daemon", "modelwatchd")

    tmp = tempfile.mkdtemp(prefix="mw-nats-bench-")
    os.chmod(tmp, 0o755)
    pg = harness.Postgres(os.path.join(tmp, "pg")).start()
    nats = NatsServer(os.path.join(tmp, "nats"), harness.free_port()).start()
    daemons = []
    try:
        print(f"nats_bench records={args.records} per_message={args.per_message} "
              f"fetch_batch={args.fetch_batch} connections={args.connections} "
              f"date={time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} load={os.getloadavg()[0]:.1f}")
        # NATS: publish everything, then let one daemon pull it.
        with nats.client() as client:
            client.add_stream("BENCH", ["modelwatch.predictions.*", "modelwatch.outcomes.*"])
            payloads = [("modelwatch.predictions.bench", b) for b in bodies("n", args.records, args.per_message)]
            started = time.time()
            client.publish_many(payloads)
            published = time.time() - started
        print(f"  nats publish: {args.records / published:,.0f} records/s into the stream ({published:.2f} s)")
        directory = os.path.join(tmp, "d-nats")
        os.makedirs(directory)
        daemon = harness.Daemon(directory, pg.dsn, models_yaml=MODEL, env={"BENCH_NATS_PASSWORD": nats.password})
        daemon.write_config(pg.dsn, models_yaml=MODEL, extra_yaml=(
            f"nats:\n  servers: [\"{nats.url}\"]\n  stream: BENCH\n  user: {nats.user}\n"
            f"  password_env: BENCH_NATS_PASSWORD\n  fetch_batch: {args.fetch_batch}\n"))
        daemons.append(daemon)
        daemon.start()
        daemon.wait_ready()
        started = time.time()
        acked_name = 'modelwatch_nats_messages_total{kind="prediction",result="acked"}'
        while (daemon.metric(acked_name) or 0) < len(payloads):
            time.sleep(0.02)
        acknowledged = time.time()
        done = wait_stored(pg, "n", args.records)
        nats_rate = args.records / (done - started)
        print(f"  nats -> PostgreSQL: {nats_rate:,.0f} records/s ({done - started:.2f} s; all acked after "
              f"{acknowledged - started:.2f} s: {args.records / (acknowledged - started):,.0f} records/s spooled)")
        daemon.terminate()

        # HTTP: the same records posted by --connections clients.
        directory = os.path.join(tmp, "d-http")
        os.makedirs(directory)
        daemon = harness.Daemon(directory, pg.dsn, models_yaml=MODEL)
        daemons.append(daemon)
        daemon.start()
        daemon.wait_ready()
        http_bodies = bodies("h", args.records, args.per_message)
        errors = []

        threads = [threading.Thread(target=post_bodies,
                                    args=(daemon.port, http_bodies[i::args.connections], errors, 60))
                   for i in range(args.connections)]
        started = time.time()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        acknowledged = time.time()
        done = wait_stored(pg, "h", args.records)
        if errors:
            raise RuntimeError(f"HTTP errors: {errors[:5]}")
        http_rate = args.records / (done - started)
        print(f"  http -> PostgreSQL: {http_rate:,.0f} records/s ({done - started:.2f} s; all 2xx after "
              f"{acknowledged - started:.2f} s: {args.records / (acknowledged - started):,.0f} records/s spooled)")
        print(f"  nats / http: {nats_rate / http_rate:.2f}  load_after={os.getloadavg()[0]:.1f}")
        daemon.terminate()
    finally:
        for daemon in daemons:
            if daemon.process and daemon.process.poll() is None:
                daemon.process.kill()
        nats.kill()
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
