"""Acknowledged means stored: the daemon is killed with SIGKILL while clients
ingest at full speed, and PostgreSQL is stopped mid-ingest; afterwards every
record that got a 2xx is in PostgreSQL exactly once."""

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


if __name__ == "__main__":
    main()
