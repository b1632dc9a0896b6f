"""Acknowledged means stored: the daemon is killed with SIGKILL while clients
ingest at full speed, and PostgreSQL is stopped mid-ingest; afterwards every
record that got a 2xx is in PostgreSQL exactly once."""

import http.client
import json
import threading
import time

from harness import Environment, main, wait_for


def batch(client, n, size):
    return [{"id": f"c{client}-{n}-{i}", "features": {"nswprice": i / size, "day": str(i % 7)},
             "prediction": "UP", "score": 0.5} for i in range(size)]


class Ingester(threading.Thread):
    """Posts batches in a loop; remembers the ids of every 2xx answer."""

    def __init__(self, daemon, client, size=200):
        super().__init__(daemon=True)
        self.daemon_under_test = daemon
        self.client = client
        self.size = size
        self.acknowledged = set()
        self.refused = 0
        self.failed = 0
        self.running = True

    def run(self):
        n = 0
        while self.running:
            records = batch(self.client, n, self.size)
            n += 1
            try:
                status, body, _ = self.daemon_under_test.post("/v1/models/elec2/predictions", records)
            except OSError:
                self.failed += 1  # the daemon is down: nothing acknowledged, try the next batch
                time.sleep(0.02)
                continue
            if status == 200:
                self.acknowledged.update(r["id"] for r in records)
            else:
                self.refused += 1
                time.sleep(0.02)


class Durability(Environment):
    def stored_ids(self):
        rows = self.pg.query("SELECT id, count(*) FROM predictions WHERE model='elec2' GROUP BY id")
        return {id_: count for id_, count in rows}

    def test_kill_9_during_ingest_loses_nothing_acknowledged(self):
        daemon = self.new_daemon("crash")
        daemon.start()
        clients = [Ingester(daemon, c) for c in range(3)]
        for c in clients:
            c.start()
        for round_ in range(4):
            time.sleep(1.0)
            acked_before = sum(len(c.acknowledged) for c in clients)
            daemon.kill()
            time.sleep(0.3)
            daemon.start()
            self.assertGreater(acked_before, 0, f"round {round_}: nothing was acknowledged")
        time.sleep(1.0)
        for c in clients:
            c.running = False
        for c in clients:
            c.join()
        daemon.wait_ready()
        daemon.wait_drained()

        acknowledged = set().union(*(c.acknowledged for c in clients))
        stored = self.stored_ids()
        missing = acknowledged - stored.keys()
        self.assertEqual(missing, set(), f"{len(missing)} acknowledged records lost")
        duplicated = {k: v for k, v in stored.items() if v != 1}
        self.assertEqual(duplicated, {})
        self.assertGreater(len(acknowledged), 1000)
        self.assertIn("spool_recovered", daemon.log())
        print(f"acknowledged={len(acknowledged)} stored={len(stored)} "
              f"connection_failures={sum(c.failed for c in clients)}")

    def test_postgres_outage_keeps_ingest_working_and_readyz_honest(self):
        daemon = self.new_daemon("outage")
        daemon.start()
        daemon.wait_ready()
        client = Ingester(daemon, 9)
        client.start()
        time.sleep(0.5)

        self.pg.stop()
        # readyz turns 503 once the drain notices; ingest keeps answering 200 into the spool.
        deadline = time.time() + 20
        while time.time() < deadline and daemon.get("/readyz")[0] == 200:
            time.sleep(0.05)
        status, body = daemon.get("/readyz")
        self.assertEqual(status, 503)
        self.assertFalse(json.loads(body)["store_reachable"])
        acked_at_outage = len(client.acknowledged)
        time.sleep(2.0)
        self.assertGreater(len(client.acknowledged), acked_at_outage, "ingest stopped while PostgreSQL was down")
        self.assertEqual(daemon.metric("modelwatch_store_up"), 0)
        self.assertGreater(daemon.metric("modelwatch_store_lag_seconds"), 0)
        # The backlog in bytes grows with what is acknowledged during the outage.
        backlog = daemon.metric("modelwatch_spool_backlog_bytes")
        self.assertGreater(backlog, 0)
        wait_for(lambda: daemon.metric("modelwatch_spool_backlog_bytes") > backlog, 10,
                 "the backlog did not grow while PostgreSQL was down")

        self.pg.start()
        client.running = False
        client.join()
        daemon.wait_ready()
        daemon.wait_drained()
        self.assertEqual(daemon.metric("modelwatch_spool_backlog_bytes"), 0)
        stored = self.stored_ids()
        mine = {k: v for k, v in stored.items() if k.startswith("c9-")}
        self.assertEqual(client.acknowledged - mine.keys(), set())
        self.assertEqual({k: v for k, v in mine.items() if v != 1}, {})
        self.assertEqual(daemon.terminate(), 0)

    def test_full_spool_answers_503_with_retry_after_and_keeps_what_it_has(self):
        daemon = self.new_daemon("full", extra_yaml="spool:\n  max_bytes: 1MiB\n  segment_bytes: 64KiB\n")
        daemon.start()
        daemon.wait_ready()
        self.pg.stop()
        try:
            acknowledged = set()
            refused = None
            for n in range(1000):
                records = batch(50, n, 200)
                status, body, headers = daemon.post("/v1/models/elec2/predictions", records)
                if status == 200:
                    acknowledged.update(r["id"] for r in records)
                else:
                    refused = (status, body, headers)
                    break
            self.assertIsNotNone(refused, "the spool never filled up")
            status, body, headers = refused
            self.assertEqual(status, 503)
            self.assertIn("Retry-After", headers)
            self.assertIn("spool is full", body["error"])
        finally:
            self.pg.start()
        daemon.wait_drained()
        stored = self.stored_ids()
        self.assertEqual(acknowledged - stored.keys(), set())
        # With room again, ingest works.
        status, _, _ = daemon.post("/v1/models/elec2/predictions", batch(51, 0, 5))
        self.assertEqual(status, 200)

    def test_backlog_past_its_limit_answers_503_with_retry_after_but_an_outage_fills_the_spool(self):
        # Admission control (store/backlog_admission.h) with a 1 s limit and a
        # drain slowed to small transactions over one connection, so that four
        # clients at full speed outrun it on any machine.
        limit_s = 1
        daemon = self.new_daemon(
            "backlog",
            extra_yaml=f"spool:\n  max_bytes: 8MiB\n  segment_bytes: 1MiB\n  max_backlog: {limit_s}s\n")
        # One small transaction per request, over one connection: a slow drain.
        with open(daemon.config_path) as f:
            text = f.read().replace("store:\n", "store:\n  drain_connections: 1\n  batch_max_records: 1\n")
        with open(daemon.config_path, "w") as f:
            f.write(text)
        daemon.start()
        daemon.wait_ready()

        size = 200
        template = json.dumps(batch("T", "N", size)).encode()
        lock = threading.Lock()
        acknowledged, refusals, samples = set(), [], []
        sequence = iter(range(10**9))
        stop_at = time.time() + 8

        def client():
            conn = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=30)
            while time.time() < stop_at:
                with lock:
                    n = next(sequence)
                body = template.replace(b'"cT-N-', f'"cb-{n}-'.encode())
                conn.request("POST", "/v1/models/elec2/predictions", body=body,
                             headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                answer = json.loads(response.read())
                with lock:
                    if response.status == 200:
                        acknowledged.update(f"cb-{n}-{i}" for i in range(size))
                    else:
                        refusals.append((response.status, response.getheader("Retry-After"), answer["error"]))
                if response.status != 200:
                    time.sleep(0.05)  # a client honouring Retry-After would wait longer; this one pushes

        def sampler():
            # One scrape computes the three from one look at the spool.
            while time.time() < stop_at:
                _, text = daemon.get("/metrics")
                values = {}
                for line in text.decode().splitlines():
                    name, _, value = line.partition(" ")
                    if name in ("modelwatch_spool_backlog_drain_seconds", "modelwatch_store_drain_bytes_per_second",
                                "modelwatch_spool_backlog_bytes"):
                        values[name] = float(value)
                samples.append(values)
                time.sleep(0.1)

        threads = [threading.Thread(target=client) for _ in range(4)] + [threading.Thread(target=sampler)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

        self.assertTrue(refusals, "four clients at full speed were never refused")
        for status, retry_after, error in refusals:
            self.assertEqual(status, 503)
            self.assertIn("ahead of PostgreSQL", error)
            self.assertTrue(retry_after and 1 <= int(retry_after) <= 60, retry_after)
        self.assertEqual(daemon.metric("modelwatch_ingest_admissions_refused_total"), len(refusals))
        # The backlog stays within the limit plus one batch: a batch is
        # admitted while the counted backlog before it is within the limit at
        # the rate measured then, so at most the limit at the highest rate seen
        # (10% above it: that rate may fall between two scrapes) plus a batch.
        batch_bytes = len(template) // 2  # the spooled COPY rows are under half the JSON
        rates = [s["modelwatch_store_drain_bytes_per_second"] for s in samples]
        counted = [s["modelwatch_spool_backlog_drain_seconds"] * s["modelwatch_store_drain_bytes_per_second"]
                   for s in samples]
        self.assertGreater(max(rates), 0)
        bound = limit_s * max(rates) * 1.1 + batch_bytes
        self.assertLessEqual(max(counted), bound, f"backlog past its limit: {samples}")
        peak = samples[counted.index(max(counted))]
        print(f"backlog: acknowledged={len(acknowledged)} refused={len(refusals)} peak={peak}")

        # An outage: the spool is the buffer up to max_bytes, whatever the backlog in seconds.
        daemon.wait_drained()
        self.pg.stop()
        try:
            outage_acked, full = 0, None
            outage_template = json.dumps(batch("T", "N", 1000)).encode()
            for n in range(10**4):
                status, body, headers = daemon.post("/v1/models/elec2/predictions",
                                                    outage_template.replace(b'"cT-N-', f'"co-{n}-'.encode()))
                if status != 200:
                    full = (status, body, headers)
                    break
                acknowledged.update(f"co-{n}-{i}" for i in range(1000))
                outage_acked += 1000
            status, body, headers = full
            self.assertEqual(status, 503)
            self.assertIn("spool is full", body["error"], "refused before the spool was full")
            self.assertGreater(daemon.metric("modelwatch_spool_backlog_bytes"), 6 * 2**20)
        finally:
            self.pg.start()
        # Back: the outage's backlog is not counted, so ingest is taken while it drains.
        full_backlog = daemon.metric("modelwatch_spool_backlog_bytes")
        wait_for(lambda: daemon.metric("modelwatch_spool_backlog_bytes") < full_backlog - 2**20, 30,
                 "the drain did not resume")
        records = batch("after", 0, size)
        status, body, _ = daemon.post("/v1/models/elec2/predictions", records)
        self.assertEqual(status, 200, body)
        acknowledged.update(r["id"] for r in records)
        print(f"outage: acknowledged={outage_acked} before the spool was full")

        daemon.wait_drained()
        stored = {k: v for k, v in self.stored_ids().items() if k.startswith(("cb-", "co-", "cafter-"))}
        self.assertEqual(acknowledged - stored.keys(), set(), "acknowledged records lost")
        self.assertEqual({k: v for k, v in stored.items() if v != 1}, {})


if __name__ == "__main__":
    main()
