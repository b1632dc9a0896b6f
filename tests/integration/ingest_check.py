"""Clients that ingest unique records at full speed and remember exactly what
each acknowledged record held, and the check that PostgreSQL holds every one
of them exactly once, equal field by field. Shared by test_reload_schema.py
and test_chaos.py (this file is not a test: ctest runs only test_*.py)."""

import datetime
import http.client
import json
import os
import threading
import time

# Feature names and types never change meaning: a reload may declare any
# subset in any order (config/reload.h), and an undeclared one is stored as
# sent. Each record's values are unique, so a value under the wrong name or
# in the wrong row cannot go unnoticed.
FEATURE_TYPES = {"x": "categorical", "c": "numeric", "z": "numeric", "w": "boolean"}


def features_yaml(names, types=FEATURE_TYPES):
    return "[" + ", ".join(f"{{name: {n}, type: {types[n]}}}" for n in names) + "]"


def model_yaml(model, names, types=FEATURE_TYPES):
    # Windows of 10,000 rows: the monitor runs, without taking the box's CPU
    # from ingest with a window every 1,000 rows.
    return (f"\n  - name: {model}\n    prediction: {{type: binary}}\n    attributes: [region]\n"
            f"    window: {{rows: 10000}}\n    features: {features_yaml(names, types)}\n")


def make_record(client, seq, now_us):
    unique = client * 1_000_000_000 + seq
    ts_us = now_us - (seq % 1000) * 1000
    return {
        "id": f"k{client}-{seq}",
        "ts": datetime.datetime.fromtimestamp(ts_us / 1e6, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "model_version": f"v{seq % 3}",
        "features": {"x": f"x{unique}", "c": unique + 0.25, "z": -unique - 0.5, "w": seq % 2 == 0},
        "prediction": "A" if seq % 2 else "B",
        "score": (seq % 997) / 997.0,
        "attributes": {"region": f"r{seq % 5}"},
    }


class Client(threading.Thread):
    """Posts batches of new records in a loop until stop(); a batch that gets
    no 200 is sent again, unchanged, until it does (a retry must be stored
    once). `acknowledged` maps each id answered 200 to the record sent.
    Every answer's status and latency is kept in `answers` as
    (start time, seconds, status)."""

    def __init__(self, port, model, client, batch=500, timeout=30):
        super().__init__(daemon=True)
        self.port = port
        self.model = model
        self.client = client
        self.batch = batch
        self.timeout = timeout
        self.acknowledged = {}
        self.first_acknowledged = None  # for tests that re-send an acknowledged id
        self.answers = []
        self.connection_errors = 0
        self.unexpected = []  # (status, body) of answers no healthy request should get
        self.running = True
        self.seq = 0

    def stop(self):
        self.running = False

    def post(self, body):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            connection.request("POST", f"/v1/models/{self.model}/predictions", body=body,
                               headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def run(self):
        pending = None
        while self.running:
            if pending is None:
                now_us = int(time.time() * 1e6)
                records = [make_record(self.client, self.seq + i, now_us) for i in range(self.batch)]
                self.seq += self.batch
                pending = (records, json.dumps(records))
            records, body = pending
            started = time.time()
            try:
                status, data = self.post(body)
            except OSError:
                self.connection_errors += 1
                time.sleep(0.05)
                continue
            self.answers.append((started, time.time() - started, status))
            if status == 200:
                answer = json.loads(data)
                if answer["accepted"] != len(records) or answer["rejected"]:
                    self.unexpected.append((status, data[:500]))
                    rejected = {r["index"] for r in answer["rejected"]}
                    records = [r for i, r in enumerate(records) if i not in rejected]
                for record in records:
                    self.acknowledged[record["id"]] = record
                if self.first_acknowledged is None and records:
                    self.first_acknowledged = records[0]
                pending = None
            elif status == 503:
                time.sleep(0.1)
            else:
                self.unexpected.append((status, data[:500]))
                pending = None


EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def to_us(value):
    return (value - EPOCH) // datetime.timedelta(microseconds=1)


def ts_us(text):
    return to_us(datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc))


def mismatches(pg, model, acknowledged, limit=20):
    """Compares what PostgreSQL holds for `model` with the acknowledged
    records. Returns (problems, stored_rows): problems lists at most `limit`
    descriptions, and is empty when every acknowledged id is stored exactly
    once and equal field by field (a declared feature the record did not
    send is stored as null, which is what it means)."""
    rows = pg.query("SELECT id, ts, model_version, features, prediction_label, prediction_value, score, attributes "
                    "FROM predictions WHERE model = %s", (model,))
    problems = []
    seen = {}
    for id_, ts, version, features, label, value, score, attributes in rows:
        seen[id_] = seen.get(id_, 0) + 1
        sent = acknowledged.get(id_)
        if sent is None:
            continue  # sent but never answered 200 (a kill -9 or an outage cut it): may or may not be stored
        stored = {
            "ts": to_us(ts),
            "model_version": version,
            "features": {k: v for k, v in features.items() if not (v is None and k not in sent["features"])},
            "prediction": label,
            "value": value,
            "score": score,
            "attributes": attributes,
        }
        expected = {
            "ts": ts_us(sent["ts"]),
            "model_version": sent["model_version"],
            "features": sent["features"],
            "prediction": sent["prediction"],
            "value": None,
            "score": sent["score"],
            "attributes": sent["attributes"],
        }
        if stored != expected and len(problems) < limit:
            differing = {k: (stored[k], expected[k]) for k in stored if stored[k] != expected[k]}
            problems.append(f"{id_}: stored != sent: {differing}")
    missing = [id_ for id_ in acknowledged if id_ not in seen]
    duplicated = [id_ for id_, count in seen.items() if count != 1]
    if missing:
        problems.append(f"{len(missing)} acknowledged records missing, e.g. {missing[:5]}")
    if duplicated:
        problems.append(f"{len(duplicated)} ids stored more than once, e.g. {duplicated[:5]}")
    return problems, len(rows)


def latency_summary(answers, healthy=lambda started: True):
    """(count, p50, p99, max) in seconds of the 2xx answers whose start time
    `healthy` accepts."""
    latencies = sorted(seconds for started, seconds, status in answers if status == 200 and healthy(started))
    if not latencies:
        return 0, 0.0, 0.0, 0.0
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
    return len(latencies), pick(0.5), pick(0.99), latencies[-1]


def write_config_atomically(daemon, dsn, models_yaml):
    """The daemon may read the file at any moment; it must never see half of it."""
    real = daemon.config_path
    daemon.config_path = real + ".new"
    try:
        daemon.write_config(dsn, models_yaml=models_yaml)
    finally:
        daemon.config_path = real
    os.replace(real + ".new", real)
