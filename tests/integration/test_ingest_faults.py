"""Smaller ingest faults of issue 12, through the real daemon: an id re-sent
with another payload is answered as a conflict and counted (the first stays
stored), a NUL inside a feature string is refused with its reason, and
--check-config refuses a listen address the daemon could not bind."""

import datetime
import os
import subprocess

import ingest_check as check
from harness import DAEMON, Environment, main


# Today's time: a record older than retention.predictions (14 days by default)
# may be dropped by the retention pass the daemon runs at start, before the
# test reads it back.
NOW = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def record(id_, c):
    return {"id": id_, "ts": NOW, "features": {"x": "a", "c": c}, "prediction": "A"}


class IngestFaults(Environment):
    def test_an_id_resent_with_another_payload_is_a_conflict_and_the_first_stays(self):
        daemon = self.new_daemon("conflicts", models_yaml=check.model_yaml("m", ["x", "c"]))
        daemon.start()
        path = "/v1/models/m/predictions"
        status, body, _ = daemon.post(path, [record("a", 1.5)])
        self.assertEqual((status, body["accepted"]), (200, 1), body)

        status, body, _ = daemon.post(path, [record("a", 2.5)])
        self.assertEqual(status, 409, body)
        self.assertEqual(body["accepted"], 0)
        self.assertEqual(body["rejected"][0]["index"], 0)
        self.assertEqual(body["rejected"][0]["field"], "id")
        self.assertIn("acknowledged before with another payload", body["rejected"][0]["reason"])

        # With other records, and behind a record rejected for itself: the
        # conflict names its own index in the body.
        bad = {"id": "bad", "features": {"c": "not a number"}, "prediction": "A"}
        status, body, _ = daemon.post(path, [bad, record("b", 1.0), record("a", 3.5)], ndjson=True)
        self.assertEqual((status, body["accepted"]), (200, 1), body)
        self.assertEqual([(r["index"], r["field"]) for r in body["rejected"]], [(0, "features.c"), (2, "id")])

        # A retry of the first payload is no conflict (the store keeps one).
        status, body, _ = daemon.post(path, [record("a", 1.5)])
        self.assertEqual((status, body["accepted"], body["rejected"]), (200, 1, []), body)

        self.assertEqual(daemon.metric('modelwatch_ingest_id_conflicts_total{kind="prediction",model="m"}'), 2)
        self.assertEqual(daemon.metric(
            'modelwatch_records_rejected_total{kind="prediction",model="m",reason="id_conflict"}'), 2)
        daemon.wait_drained()
        stored = self.pg.query("SELECT id, features->>'c' FROM predictions WHERE model = 'm' ORDER BY id")
        self.assertEqual(stored, [("a", "1.5"), ("b", "1")])

    def test_a_nul_in_a_feature_string_is_refused(self):
        daemon = self.new_daemon("nul", models_yaml=check.model_yaml("m", ["x", "c"]))
        daemon.start()
        status, body, _ = daemon.post("/v1/models/m/predictions",
                                      [{"id": "n", "features": {"x": "a\u0000b"}, "prediction": "A"}])
        self.assertEqual(status, 400, body)
        self.assertEqual(body["rejected"][0]["field"], "features.x")
        self.assertIn("NUL character (U+0000)", body["rejected"][0]["reason"])
        self.assertEqual(daemon.metric(
            'modelwatch_records_rejected_total{kind="prediction",model="m",reason="control_characters"}'), 1)

    def test_check_config_refuses_a_listen_name(self):
        path = os.path.join(self.tmp, "localhost.yaml")
        with open(path, "w") as f:
            f.write("server:\n  listen: \"localhost:8470\"\nstore:\n  dsn: \"host=/tmp\"\n"
                    "models:\n  - name: m\n    prediction: {type: binary}\n")
        result = subprocess.run([DAEMON, "--check-config", path], capture_output=True, text=True)
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertIn("server.listen (line 2): \"localhost\" is not an IP address", result.stderr)
        self.assertIn("127.0.0.1:8470", result.stderr)


if __name__ == "__main__":
    main()
