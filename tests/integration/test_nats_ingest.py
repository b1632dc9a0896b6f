"""The NATS JetStream collector against Debian's nats-server (JetStream, file
storage, user and password) and a real PostgreSQL: every valid record
published is stored exactly once, whatever is malformed is counted and never
redelivered, across kill -9 of the daemon and a restart of nats-server while
records flow, and across kill -9 of one of two daemons sharing the durable
consumers; a full spool stops the pulls until there is room again, a
missing stream is named in /readyz until the operator creates it, and a
reload storm that reorders, adds and removes features while messages flow
stores every record as it was sent.

About 90 s; NATS_INGEST_RECORDS=<n> publishes more in the mid-stream tests, NATS_STORM_MESSAGES=<n>
in the reload storm."""

import json
import os
import threading
import time

import signal

import ingest_check as check
from harness import Environment, free_port, main, prediction, wait_for
from nats_support import NatsError, NatsServer

STREAM = "MW"
PREDICTIONS = "modelwatch.predictions"
OUTCOMES = "modelwatch.outcomes"
PASSWORD_ENV = "MW_TEST_NATS_PASSWORD"


def nats_yaml(server, **overrides):
    options = {"fetch_batch": 64, "fetch_timeout": "200ms", "ack_wait": "3s", "retry_delay": "500ms"}
    options.update(overrides)
    text = (f"nats:\n  servers: [\"{server.url}\"]\n  stream: {STREAM}\n  consumer: mw\n"
            f"  user: {server.user}\n  password_env: {PASSWORD_ENV}\n")
    return text + "".join(f"  {key}: {value}\n" for key, value in options.items())


def record(record_id, n=0, **overrides):
    return prediction(n, id=record_id, **overrides)


def body(records):
    return json.dumps(records).encode()


class NatsIngest(Environment):
    def setUp(self):
        self.nats = NatsServer(os.path.join(self.tmp, f"nats-{self._testMethodName}"), free_port())
        self.nats.start()
        self.addCleanup(self.nats.kill)
        with self.nats.client() as client:
            client.add_stream(STREAM, [f"{PREDICTIONS}.*", f"{OUTCOMES}.*"])

    def nats_daemon(self, name, extra_yaml="", **overrides):
        daemon = self.new_daemon(name, env={PASSWORD_ENV: self.nats.password})
        daemon.write_config(self.pg.dsn, extra_yaml=extra_yaml + nats_yaml(self.nats, **overrides))
        return daemon

    def stored(self, prefix, table="predictions"):
        return {r[0] for r in self.pg.query(f"SELECT id FROM {table} WHERE id LIKE %s", (prefix + "%",))}

    def messages(self, daemon, kind, result):
        return daemon.metric(f'modelwatch_nats_messages_total{{kind="{kind}",result="{result}"}}') or 0

    def consumer(self, name):
        with self.nats.client() as client:
            return client.consumer_info(STREAM, name)

    def test_valid_records_stored_once_and_rejects_terminated(self):
        daemon = self.nats_daemon("once")
        daemon.start()
        daemon.wait_ready()
        good = [[record(f"a{m}-{i}", i) for i in range(5)] for m in range(60)]
        payloads = [(f"{PREDICTIONS}.elec2", body(records)) for records in good]
        # A client's retry: ten messages published twice.
        payloads += payloads[:10]
        # NDJSON works as over HTTP.
        payloads.append((f"{PREDICTIONS}.elec2",
                         "\n".join(json.dumps(record(f"nd-{i}", i)) for i in range(3)).encode()))
        # Refused whole: not JSON, an unknown model, a subject without a model's token.
        rejected = [(f"{PREDICTIONS}.elec2", b"this is not json"),
                    (f"{PREDICTIONS}.elec2", b"[{\"id\": \"half"),
                    (f"{PREDICTIONS}.nosuch", body([record("nosuch-1")])),
                    (f"{PREDICTIONS}.elec2", body([record("bad-1", prediction="SIDEWAYS")]))]
        payloads += rejected
        # Partly valid: the good record is kept, the bad one counted.
        payloads.append((f"{PREDICTIONS}.elec2",
                         body([record("mixed-ok"), record("mixed-bad", features={"nswprice": "high"})])))
        outcomes = [(f"{OUTCOMES}.elec2", body([{"id": f"a{m}-{i}", "label": "UP"} for i in range(5)]))
                    for m in range(20)]
        with self.nats.client() as client:
            client.publish_many(payloads + outcomes)

        expected = {f"a{m}-{i}" for m in range(60) for i in range(5)} | {f"nd-{i}" for i in range(3)} | {"mixed-ok"}
        wait_for(lambda: self.stored("a") | self.stored("nd-") | self.stored("mixed") == expected, 30,
                 f"predictions missing:\n{daemon.log()[-3000:]}")
        wait_for(lambda: len(self.stored("a", "outcomes")) == 100, 30, "outcomes missing")
        daemon.wait_drained()
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM predictions WHERE id ~ '^(a|nd-|mixed)'"),
                         len(expected))
        self.assertEqual(self.stored("bad") | self.stored("nosuch"), set())

        # Everything acknowledged or terminated; after AckWait (3 s) nothing
        # is pending, and the terminated messages were not delivered again
        # (each would have been rejected, and counted, once more).
        time.sleep(3.5)
        for name in ("mw-predictions", "mw-outcomes"):
            info = self.consumer(name)
            self.assertEqual(info["num_pending"], 0, name)
            self.assertEqual(info["num_ack_pending"], 0, name)
        self.assertEqual(self.messages(daemon, "prediction", "rejected"), len(rejected))
        self.assertEqual(self.messages(daemon, "prediction", "acked"), len(payloads) - len(rejected))
        # A redelivery (a pull answered after its request expired, on a loaded
        # machine) is fetched twice and handled once.
        self.assertEqual(self.messages(daemon, "prediction", "fetched") -
                         self.messages(daemon, "prediction", "redelivered"), len(payloads))
        self.assertEqual(self.messages(daemon, "outcome", "acked"), 20)
        # The same reasons as HTTP, in the same counter.
        self.assertEqual(daemon.metric(
            'modelwatch_records_rejected_total{kind="prediction",model="elec2",reason="body"}'), 2)
        self.assertGreaterEqual(daemon.metric(
            'modelwatch_records_accepted_total{kind="prediction",model="elec2"}'), len(expected))
        self.assertEqual(daemon.metric("modelwatch_nats_connected"), 1)
        status, ready = daemon.get("/readyz")
        self.assertEqual(status, 200)
        self.assertEqual(daemon.terminate(), 0)

    def test_missing_stream_is_named_and_keeps_the_daemon_unready(self):
        daemon = self.new_daemon("nostream", env={PASSWORD_ENV: self.nats.password})
        yaml = nats_yaml(self.nats, predictions_subject="other.predictions", outcomes_subject="other.outcomes")
        daemon.write_config(self.pg.dsn, extra_yaml=yaml.replace(f"stream: {STREAM}", "stream: NOPE"))
        daemon.start()

        def refused():
            status, text = daemon.get("/readyz")
            details = json.loads(text)
            return status == 503 and "does not exist" in details.get("nats", {}).get("error", "") and details
        details = wait_for(refused, 20, f"no clear error for a missing stream:\n{daemon.log()[-2000:]}")
        self.assertIn('stream "NOPE" does not exist', details["nats"]["error"])
        self.assertIn("nats consumers not bound", details["not_ready"])
        self.assertIn("nats_subscribe_failed", daemon.log())
        # Once the operator creates it, the daemon binds on its next attempt (every 2 s).
        with self.nats.client() as client:
            client.add_stream("NOPE", ["other.predictions.*", "other.outcomes.*"])
        daemon.wait_ready()
        self.assertEqual(daemon.terminate(), 0)

    def test_kill_daemon_and_restart_nats_server_mid_stream(self):
        daemon = self.nats_daemon("midstream", fetch_batch=16)
        daemon.start()
        daemon.wait_ready()
        total = int(os.environ.get("NATS_INGEST_RECORDS", "3000"))
        per_message, per_round = 10, 5
        published = threading.Event()
        errors = []
        reconnects = [0]

        def publish():
            # Publishes round after round; a round the server did not
            # acknowledge (it was down) is published again, as a client would.
            client = None
            i = 0
            try:
                while i < total:
                    round_payloads = []
                    for m in range(per_round):
                        first = i + m * per_message
                        records = [record(f"s-{n}", n) for n in range(first, min(first + per_message, total))]
                        if records:
                            round_payloads.append((f"{PREDICTIONS}.elec2", body(records)))
                    deadline = time.time() + 30
                    while True:
                        try:
                            client = client or self.nats.client()
                            answers = client.publish_many(round_payloads)
                            if all("seq" in a for a in answers):
                                break
                        except (OSError, NatsError):
                            if client:
                                client.close()
                                reconnects[0] += 1
                            client = None
                        if time.time() > deadline:
                            raise AssertionError("could not publish for 30 s")
                        time.sleep(0.1)
                    i += per_message * per_round
                    time.sleep(0.1)  # about 6 s of publishing: the kill and the restart fall inside it
            except Exception as error:  # reported by the main thread
                errors.append(error)
            finally:
                if client:
                    client.close()
                published.set()

        publisher = threading.Thread(target=publish)
        publisher.start()
        wait_for(lambda: len(self.stored("s-")) > total // 10, 20, "nothing stored before the kill")
        daemon.kill()
        time.sleep(0.5)
        daemon.start()
        wait_for(lambda: self.messages(daemon, "prediction", "acked") > 0, 20, "no ack after the restart")
        self.assertFalse(published.is_set(), "the publisher finished before nats-server was restarted")
        self.nats.kill()
        # Configured but not pulling: not ready, and says why.
        wait_for(lambda: daemon.get("/readyz")[0] == 503, 10, "ready while nats-server was down")
        self.assertIn("nats disconnected", json.loads(daemon.get("/readyz")[1])["not_ready"])
        self.assertEqual(daemon.metric("modelwatch_nats_connected"), 0)
        self.nats.start()
        publisher.join(timeout=60)
        self.assertFalse(errors, errors)
        self.assertTrue(published.is_set())
        self.assertGreaterEqual(reconnects[0], 1, "the publisher never saw the server go away")

        expected = {f"s-{n}" for n in range(total)}
        wait_for(lambda: self.stored("s-") == expected, 40,
                 f"{len(expected - self.stored('s-'))} records missing:\n{daemon.log()[-3000:]}")
        daemon.wait_drained()
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM predictions WHERE id LIKE 's-%%'"), total)
        wait_for(lambda: self.consumer("mw-predictions")["num_ack_pending"] == 0, 20, "messages left unacknowledged")
        self.assertEqual(self.consumer("mw-predictions")["num_pending"], 0)
        # The daemon came back on its own after the server did.
        wait_for(lambda: daemon.get("/readyz")[0] == 200, 20, "not ready after the nats-server restart")
        self.assertIn("nats_reconnected", daemon.log())
        self.assertEqual(daemon.terminate(), 0)

    def test_reload_storm_stores_every_record_as_sent(self):
        # One pull's messages are parsed one by one, each under the schema in
        # force then; a reload between two of them must not put the second's
        # values under the first's feature order (issue 12, item 1).
        variants = [["x", "c"], ["c", "x"], ["x", "c", "z"], ["z", "c", "x"], ["c"]]
        extra = nats_yaml(self.nats, fetch_batch=256)
        daemon = self.new_daemon("storm", env={PASSWORD_ENV: self.nats.password})

        def configure(names):
            real = daemon.config_path
            daemon.config_path = real + ".new"
            try:
                daemon.write_config(self.pg.dsn, extra_yaml=extra, models_yaml=check.model_yaml("m", names))
            finally:
                daemon.config_path = real
            os.replace(real + ".new", real)

        configure(variants[0])
        daemon.start()
        daemon.wait_ready()
        now_us = int(time.time() * 1e6)
        per_message, messages = 50, int(os.environ.get("NATS_STORM_MESSAGES", "2000"))
        sent = {}
        payloads = []
        for m in range(messages):
            records = [check.make_record(0, m * per_message + i, now_us) for i in range(per_message)]
            sent.update((r["id"], r) for r in records)
            payloads.append((f"{PREDICTIONS}.m", body(records)))
        # Published while the daemon is stopped, so that its pulls come back
        # full (256 messages, 12,800 records to parse one after the other)
        # while the configuration changes under them every few milliseconds.
        daemon.process.send_signal(signal.SIGSTOP)
        try:
            with self.nats.client() as client:
                client.publish_many(payloads)
        finally:
            daemon.process.send_signal(signal.SIGCONT)
        stored = lambda: self.pg.scalar("SELECT count(*) FROM predictions WHERE model = 'm'")
        reloads = 0
        deadline = time.time() + 60
        while stored() < len(sent) and time.time() < deadline:
            configure(variants[(reloads + 1) % len(variants)])
            daemon.process.send_signal(signal.SIGHUP)
            reloads += 1
            time.sleep(0.01)
        wait_for(lambda: stored() >= len(sent), 30, f"records missing:\n{daemon.log()[-3000:]}")
        daemon.wait_drained()
        problems, rows = check.mismatches(self.pg, "m", sent)
        self.assertEqual(problems, [], f"after {reloads} reloads")
        self.assertEqual(rows, len(sent))
        self.assertGreaterEqual(reloads, 10)
        self.assertEqual(daemon.terminate(), 0)

    def test_two_daemons_share_the_consumer_across_kill_of_one(self):
        # Both pull from the same durable consumers (docs/scaling.md). The
        # killed one's fetched but unacknowledged messages go to the other
        # after ack_wait (3 s); what it had acknowledged is in its spool, which
        # it replays when it starts again, as an operator restarts a dead unit.
        daemons = [self.nats_daemon(name, fetch_batch=16) for name in ("pair-a", "pair-b")]
        for daemon in daemons:
            daemon.start()
        for daemon in daemons:
            daemon.wait_ready()
        total = int(os.environ.get("NATS_INGEST_RECORDS", "3000"))
        per_message = 10
        messages = [(f"{PREDICTIONS}.elec2", body([record(f"p-{n}", n) for n in range(first, first + per_message)]))
                     for first in range(0, total, per_message)]
        done = threading.Event()
        errors = []

        def publish():
            try:
                with self.nats.client() as client:
                    for start in range(0, len(messages), 10):
                        answers = client.publish_many(messages[start:start + 10])
                        if not all("seq" in a for a in answers):
                            raise AssertionError(f"not stored by JetStream: {answers}")
                        time.sleep(0.02)  # about 6 s of publishing at the default 3000 records
            except Exception as error:  # reported by the main thread
                errors.append(error)
            finally:
                done.set()

        publisher = threading.Thread(target=publish)
        publisher.start()
        victim, survivor = daemons
        wait_for(lambda: self.messages(victim, "prediction", "acked") > 0 and
                 self.messages(survivor, "prediction", "acked") > 0, 20, "both daemons should pull")
        victim.kill()
        publisher.join(timeout=60)
        self.assertFalse(errors, errors)
        self.assertTrue(done.is_set())
        # The survivor alone takes the rest, and the killed daemon's pulls in flight after ack_wait.
        wait_for(lambda: self.consumer("mw-predictions")["num_pending"] == 0 and
                 self.consumer("mw-predictions")["num_ack_pending"] == 0, 30,
                 f"the survivor did not take over the consumer:\n{survivor.log()[-3000:]}")
        victim.start()  # replays what it had acknowledged and not yet stored
        expected = {f"p-{n}" for n in range(total)}
        wait_for(lambda: self.stored("p-") == expected, 30,
                 f"{len(expected - self.stored('p-'))} records missing:\n{victim.log()[-2000:]}")
        for daemon in daemons:
            daemon.wait_drained()
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM predictions WHERE id LIKE 'p-%%'"), total)
        for daemon in daemons:
            self.assertEqual(daemon.terminate(), 0)

    def test_full_spool_pauses_pulls_until_there_is_room(self):
        daemon = self.nats_daemon("full", extra_yaml="spool:\n  max_bytes: 1MiB\n  segment_bytes: 64KiB\n",
                                  fetch_batch=8)
        daemon.start()
        daemon.wait_ready()
        self.pg.stop()  # the drain cannot empty the spool
        try:
            messages = 150
            with self.nats.client() as client:
                client.publish_many([(f"{PREDICTIONS}.elec2",
                                      body([record(f"f-{m}-{i}", i) for i in range(100)])) for m in range(messages)])
            wait_for(lambda: daemon.metric("modelwatch_nats_fetch_paused") == 1, 30,
                     f"pulls did not pause:\n{daemon.log()[-3000:]}")
            fetched = self.messages(daemon, "prediction", "fetched")
            time.sleep(2)
            # Paused: no pull, so nothing more delivered, and at most one
            # pull's messages handed back (no redelivery storm).
            self.assertEqual(self.messages(daemon, "prediction", "fetched"), fetched)
            self.assertLessEqual(self.messages(daemon, "prediction", "deferred"), 8)
            self.assertLess(fetched, messages)
            self.assertGreater(self.consumer("mw-predictions")["num_pending"], 0)
        finally:
            self.pg.start()
        wait_for(lambda: daemon.metric("modelwatch_nats_fetch_paused") == 0, 30, "pulls did not resume")
        expected = {f"f-{m}-{i}" for m in range(messages) for i in range(100)}
        wait_for(lambda: self.stored("f-") == expected, 40,
                 f"{len(expected - self.stored('f-'))} records missing:\n{daemon.log()[-3000:]}")
        # Redelivered: what was handed back, plus at most a pull or two whose
        # answer came after its request expired on a loaded machine (the
        # client drops those; JetStream sends them again after ack_wait).
        self.assertLessEqual(self.messages(daemon, "prediction", "redelivered"),
                             self.messages(daemon, "prediction", "deferred") + 2 * 8)
        self.assertEqual(daemon.terminate(), 0)


if __name__ == "__main__":
    main()
