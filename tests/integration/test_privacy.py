#!/usr/bin/python3
"""Privacy controls at ingest (issue 18), through the real daemon and
PostgreSQL: records carry a canary in a dropped field, in a hashed feature, in
a hashed attribute, in a generalised audited attribute and in a hashed id,
over HTTP, a file tail and reference uploads (CSV and NDJSON); afterwards the
canary's bytes are nowhere: not in the spool files, not in PostgreSQL's data
directory after a CHECKPOINT (tables and WAL) nor in any text or jsonb value
of any table as SQL reads it (TOAST-compressed values included), not in the
daemon's log, not in the admin API, the status page, findings or the audit
reports. And what the policy promises still works: outcomes join their hashed
ids (realised performance is judged), a hashed category drifts, an undeclared
field's name still raises its data-quality check, the audit's group below the
minimum size is named but not described and cannot be recovered by
subtraction, a re-uploaded stored reference is not hashed twice.

The key (issue 18's review leftovers): a second daemon with another key file
refuses to start, naming the model, both key ids and the file, while one with
the same key under another daemon id starts; a reload that changes the policy
while ingest runs is refused; a restart under a new key is refused until the
rotation is declared, and then the old reference is retired, outcomes hashed
under the new key do not join the old key's predictions, and the log says how
many predictions that leaves without an outcome. The canary also rides in a
refused label, an unknown key's name and a malformed NDJSON line.

Keys and reloads (issue 18's session-11 defects): a reload adding a model under
a key PostgreSQL records another id for is refused and the running
configuration keeps serving; records a daemon acknowledged under a stray key
while PostgreSQL was down are quarantined, never stored as the model's, both
after a restart with the right key and while the stray key still runs, and
then only that model's ingest is refused."""

import csv
import gzip
import hashlib
import hmac
import json
import os
import signal
import threading
import time
from datetime import datetime, timedelta, timezone

import psycopg2

import harness

CANARY = b"Zq9CANARY"
KEY = b"6f1d0a9c3b7e4f2a8d5c1e0b9a7f3d2c4e6b8a0d1f3c5e7a9b2d4f6a8c0e1b3d"

MODEL = """
  - name: adult
    prediction: {{type: binary, classes: [">50K", "<=50K"]}}
    attributes: [sex, race, country]
    features:
      - {{name: age, type: numeric}}
      - {{name: education_num, type: numeric}}
      - {{name: workclass, type: categorical}}
    reference: {{rows: 200}}
    window: {{rows: 200}}
    drift: {{multivariate: false, noise_resamples: 10, segments: [race]}}
    performance:
      min_label_coverage: 0.9
      thresholds: [{{metric: accuracy, min: 0.99, band_sd: 0}}]
    concept_drift: {{detector: ""}}
    anomaly: {{detector: ""}}
    privacy:
      key_file: {key_file}
      previous_key_id: "{previous}"
      id: hash
      undeclared: drop
      fields:
        - {{name: workclass, action: hash}}
        - {{name: race, action: hash}}
        - {{name: age, action: generalise, width: 10}}
        - {{name: email, action: drop}}
        - {{name: country, action: generalise, max_chars: 2}}
    audits: [{{name: weekly, schedule: "0 6 * * 1", window: 1h, sensitive: [sex, country], min_group_size: 30}}]
"""


def key_id(key):
    """The key's id (core/privacy_key.h): the first 8 hex digits of HMAC-SHA256(key, "modelwatch key id")."""
    return hmac.new(key, b"modelwatch key id", hashlib.sha256).hexdigest()[:8]


def hashed(domain, value, key=KEY):
    """What the daemon stores: the key id and HMAC-SHA256 of model NUL domain NUL value."""
    digest = hmac.new(key, b"\0".join([b"adult", domain.encode(), value.encode()]), hashlib.sha256).hexdigest()
    return f"hmac:{key_id(key)}:{digest}"


def write_key(path, key):
    with open(path, "wb") as f:
        f.write(key + b"\n")
    os.chmod(path, 0o600)


def canary_hits(pg):
    """(table, rows) of every table whose rows hold the canary in any column, as SQL reads them: values
    PostgreSQL stored compressed (TOAST, pglz) are decompressed, which a grep of its files cannot do."""
    tables = [r[0] for r in pg.query(
        "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
        "AND n.nspname NOT LIKE 'pg_toast%'")]
    hits = []
    for table in tables:
        count = pg.scalar(f"SELECT count(*) FROM {table} t WHERE t::text LIKE %s", (f"%{CANARY.decode()}%",))
        if count:
            hits.append((table, count))
    return hits, tables


def adult_rows(limit):
    with gzip.open(os.path.join(harness.SOURCE_DIR, "data", "adult", "adult.csv.gz"), "rt", newline="") as f:
        return [row for _, row in zip(range(limit), csv.DictReader(f))]


def record_id(i):
    return f"{CANARY.decode()}-id-{i:05d}"


def prediction(i, row, base, drifted=False):
    # One second apart: windows follow (ts, id), and hashed ids sort in no
    # particular order among records of one timestamp.
    ts = (base + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
    married = row["marital_status"].startswith("Married")
    score = min(0.95, max(0.05, (int(row["education_num"]) - 6) / 10 + (0.25 if married else -0.25)))
    # Four rows of a tiny group: the audit must name it and show nothing else of it.
    sex = "Tiny" if i % 180 == 7 else row["sex"]
    race = f"{CANARY.decode()}-race" if i % 50 == 0 else row["race"]
    # Audited, generalised to its first two characters: the canary after them never reaches a report.
    country = row["native_country"] + (CANARY.decode() if i % 7 == 0 else "")
    # An undeclared field (undeclared: drop): its value goes, its name still counts.
    extra = {"phone": f"{CANARY.decode()}-555-{i}"} if i % 10 == 3 else {}
    workclass = f"{CANARY.decode()}-{row['workclass']}" if drifted else row["workclass"]
    return {"id": record_id(i), "ts": ts,
            "features": {"age": float(row["age"]), "education_num": float(row["education_num"]),
                         "workclass": workclass, "email": f"{CANARY.decode()}-{i}@example.org", **extra},
            "prediction": ">50K" if score >= 0.5 else "<=50K", "score": score,
            "attributes": {"sex": sex, "race": race, "country": country}}


def files_holding(directory, needle):
    """Paths under `directory` whose bytes contain `needle`, and how many files were read."""
    hits, read = [], 0
    for root, _, names in os.walk(directory):
        for name in names:
            path = os.path.join(root, name)
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except OSError:
                continue  # a socket, or a file removed meanwhile
            read += 1
            if needle in data:
                hits.append(path)
    return hits, read


class PrivacyTest(harness.Environment):
    def post(self, daemon, path, records):
        status, body, _ = daemon.post(f"/v1/models/adult/{path}", records)
        self.assertEqual(status, 200, body)
        return body

    def test_canary_reaches_no_disk_log_or_output_and_hashes_still_join_and_drift(self):
        started = time.time()
        key_file = os.path.join(self.tmp, "privacy.key")
        write_key(key_file, KEY)
        tail_path = os.path.join(self.tmp, "tail.ndjson")
        open(tail_path, "w").close()
        extra_yaml = (f"monitor: {{interval: 100ms}}\nfile_tails: [{{path: {tail_path}, model: adult, "
                      f"poll_interval: 100ms}}]\n")
        daemon = self.new_daemon("privacy", models_yaml=MODEL.format(key_file=key_file, previous=""),
                                 extra_yaml=extra_yaml)
        daemon.start()
        daemon.wait_ready()
        self.assertRegex(daemon.log(), f"privacy_key_loaded model=adult key_id={key_id(KEY)} .* not_dumped=true")
        self.assertEqual(self.pg.scalar("SELECT key_id FROM model_privacy WHERE model = 'adult'"), key_id(KEY))

        # A second daemon on the same PostgreSQL with another key file: refused at start, before it accepts
        # anything, naming the model, both key ids and the file; one with the same key (another daemon id) starts.
        key2 = bytes(reversed(KEY))
        stray_key = os.path.join(self.tmp, "stray.key")
        write_key(stray_key, key2)
        stray = self.new_daemon("privacy-stray", models_yaml=MODEL.format(key_file=stray_key, previous=""))
        stray.start(wait=False)
        self.assertEqual(stray.process.wait(timeout=30), 1, stray.log())
        self.assertIn(f"privacy_key_conflict model=adult key_id={key_id(key2)} recorded_key_id={key_id(KEY)} "
                      f"key_file={stray_key}", stray.log())
        self.assertEqual(self.pg.scalar("SELECT key_id FROM model_privacy WHERE model = 'adult'"), key_id(KEY))
        peer = self.new_daemon("privacy-peer", models_yaml=MODEL.format(key_file=key_file, previous=""),
                               extra_yaml="cluster: {daemon_id: privacy-peer}\n")
        peer.start()
        self.assertEqual(peer.terminate(), 0)
        self.assertNotIn("privacy_key_conflict", peer.log())
        rows = adult_rows(600)
        ts = datetime.now(timezone.utc) - timedelta(minutes=20)

        # Outcomes first (raw ids, hashed alike at ingest), then the reference and two windows;
        # the second window's workclass values are all new categories.
        self.post(daemon, "outcomes", [{"id": record_id(i), "label": rows[i]["income"]} for i in range(600)])
        self.post(daemon, "predictions", [prediction(i, rows[i], ts) for i in range(400)])
        self.post(daemon, "predictions", [prediction(i, rows[i], ts, drifted=True) for i in range(400, 600)])
        # A record refused for its hashed id's feature: the answer names the field, not the value.
        status, body, _ = daemon.post("/v1/models/adult/predictions", [
            {"id": f"{CANARY.decode()}-refused", "features": {"age": f"{CANARY.decode()}-age"}, "prediction": ">50K"}])
        self.assertEqual(status, 400, body)
        self.assertNotIn(CANARY.decode(), json.dumps(body))
        self.assertEqual(body["rejected"][0]["field"], "features.age")
        # The adversarial pass: the canary in a refused label, in an unknown key's name and in a malformed
        # NDJSON line; none is echoed (the log and every table are searched at the end).
        status, body, _ = daemon.post("/v1/models/adult/outcomes", [{"id": "label-1", "label": f"{CANARY.decode()}"}])
        self.assertEqual(status, 400, body)
        self.assertNotIn(CANARY.decode(), json.dumps(body))
        status, body, _ = daemon.post("/v1/models/adult/predictions", [
            {"id": "key-1", "prediction": ">50K", f"{CANARY.decode()}_key": 1}])
        self.assertEqual(status, 400, body)
        self.assertNotIn(CANARY.decode(), json.dumps(body))
        status, data, _ = daemon.request("POST", "/v1/models/adult/predictions",
                                         f'{{"id": "{CANARY.decode()}-bad", "features": {{"age": 3\n',
                                         headers={"Content-Type": "application/x-ndjson"})
        self.assertGreaterEqual(status, 400, data)
        self.assertNotIn(CANARY, data)
        # The file tail: one record accepted, one refused and logged.
        with open(tail_path, "w") as f:
            f.write(json.dumps(prediction(950, rows[0], ts)) + "\n")
            f.write(json.dumps({"id": "t2", "features": {"age": f"{CANARY.decode()}-tail"}, "prediction": ">50K"}) + "\n")
            f.write(f'{{"id": "{CANARY.decode()}-tail-bad", "features": {{\n')
        harness.wait_for(lambda: "file_tail_line_rejected" in daemon.log(), 10, "the tail did not read its file")

        # The spool, now: the segment holding every record is still on disk (drained
        # segments are deleted only once rolled), so this reads what was acknowledged.
        spool = os.path.join(daemon.directory, "state", "spool")
        hits, read = files_holding(spool, CANARY)
        self.assertEqual(hits, [], "the canary reached the spool")
        self.assertGreater(read, 0)
        self.assertTrue(files_holding(spool, hashed("record-id", record_id(1)).encode())[0],
                        "the spool holds no hashed id")

        # The positive side: ids joined (realised performance judged on window 1), the hashed category drifted.
        harness.wait_for(lambda: self.pg.scalar(
            "SELECT count(*) FROM monitor_windows WHERE model = 'adult' AND performance_at IS NOT NULL") >= 2, 90,
            "windows were not judged with their outcomes\n" + daemon.log()[-3000:] + str(self.pg.query(
                "SELECT model, fingerprint, since, key_id, "
                "(SELECT min(received_at) FROM predictions WHERE model = 'adult') "
                "FROM model_privacy")))
        harness.wait_for(lambda: self.pg.scalar(
            "SELECT count(*) FROM predictions WHERE model = 'adult' AND id LIKE 'hmac:%'") == 601,
                         10, "not every prediction (600 over HTTP, 1 from the tail) was stored with a hashed id")
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM predictions WHERE model = 'adult'"), 601)
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM predictions WHERE id = %s",
                                        (hashed("record-id", record_id(1)),)), 1)
        realised = self.pg.query("SELECT triggered FROM findings WHERE model = 'adult' AND kind = 'performance' "
                                 "AND method = 'realised'")
        self.assertTrue(realised, "no realised performance finding: hashed ids did not join")
        accuracy = self.pg.scalar(
            "SELECT m.value FROM window_metrics m JOIN monitor_windows w ON w.id = m.window_id "
            "WHERE w.model = 'adult' AND w.sequence = 1 AND m.name = 'accuracy' AND m.segment = '' AND NOT m.estimated")
        self.assertIsNotNone(accuracy)
        drift = dict(self.pg.query(
            "SELECT w.sequence, f.triggered FROM findings f JOIN monitor_windows w ON w.id = f.window_id "
            "WHERE f.model = 'adult' AND f.kind = 'feature_drift' AND f.subject = 'workclass'"))
        self.assertTrue(drift.get(2), f"the hashed category did not drift: {drift}")
        ages = {r[0] for r in self.pg.query(
            "SELECT DISTINCT (features->>'age')::float FROM predictions WHERE model = 'adult'")}
        self.assertTrue(all(age % 10 == 0 for age in ages), ages)
        keys = {k for r in self.pg.query(
            "SELECT DISTINCT jsonb_object_keys(features) FROM predictions WHERE model = 'adult'") for k in r}
        self.assertNotIn("email", keys)  # its own row drops it whole
        # undeclared: drop keeps the name with a null value, and the data-quality check of undeclared fields fires.
        self.assertEqual(self.pg.scalar(
            "SELECT count(*) FROM predictions WHERE model = 'adult' AND features->'phone' = 'null'::jsonb"), 60)
        undeclared = self.pg.query("SELECT triggered FROM findings WHERE model = 'adult' AND kind = 'data_quality' "
                                   "AND method = 'undeclared_feature' AND subject LIKE '%%phone%%'")
        self.assertTrue(undeclared and all(r[0] for r in undeclared), undeclared)

        # An audit, on demand: its reports name the tiny group and show nothing of it.
        status, body, _ = daemon.request("POST", "/v1/models/adult/audits/weekly/run", timeout=60)
        self.assertIn(status, (200, 202), body)
        harness.wait_for(lambda: self.pg.scalar(
            "SELECT count(*) FROM audits WHERE model = 'adult' AND state IN ('passed', 'failed')"), 60,
            "the audit did not finish\n" + daemon.log()[-3000:])
        reports = os.path.join(daemon.directory, "state", "reports")
        report_json = [os.path.join(root, n) for root, _, names in os.walk(reports) for n in names
                       if n.endswith(".json") and not os.path.islink(os.path.join(root, n))]
        self.assertTrue(report_json, "no JSON report")
        with open(report_json[0]) as f:
            report = json.load(f)
        groups = {g["label"]: g for g in report["groupings"][0]["groups"]}
        self.assertTrue(groups["Tiny"]["suppressed"], groups["Tiny"])
        self.assertIsNone(groups["Tiny"]["count"])
        self.assertIsNone(groups["Tiny"]["rates"])
        self.assertIsNotNone(groups["Male"]["count"])
        # The hidden count cannot be recovered by subtraction: in every grouping, the overall count minus the
        # shown groups leaves at least the minimum size (Female is hidden with Tiny), and so do its true positives'
        # neighbours in the confusion matrix (the hidden groups' sum, never Tiny's alone).
        self.assertTrue(groups["Female"]["complementary"], groups["Female"])
        overall = report["overall"]["count"]
        for grouping in report["groupings"]:
            shown = [g for g in grouping["groups"] if g["count"] is not None]
            hidden = [g for g in grouping["groups"] if g["count"] is None]
            if hidden:
                self.assertGreaterEqual(len(hidden), 2, grouping["name"] if "name" in grouping else grouping)
                self.assertGreaterEqual(overall - sum(g["count"] for g in shown), 30, grouping.get("attributes"))
        countries = {g["label"] for g in report["groupings"][1]["groups"]}
        self.assertIn("Un", countries)  # United-States, generalised to two characters

        # Everything a person can read: the admin API, the status page, each finding's JSON and page.
        outputs = []
        for path in ("/", "/v1/models", "/v1/findings?limit=1000", "/v1/windows?model=adult", "/v1/audits?model=adult",
                     "/v1/decisions?model=adult", "/metrics", "/readyz"):
            status, data = daemon.get(path)
            self.assertEqual(status, 200, path)
            outputs.append((path, data))
        for finding in json.loads(dict(outputs)["/v1/findings?limit=1000"])["findings"]:
            for headers in ({}, {"Accept": "text/html"}):
                status, data, _ = daemon.request("GET", f"/v1/findings/{finding['id']}", headers=headers)
                self.assertEqual(status, 200)
                outputs.append((f"/v1/findings/{finding['id']}", data))
        audit_id = self.pg.scalar("SELECT max(id) FROM audits WHERE model = 'adult'")
        status, data = daemon.get(f"/audits/{audit_id}/report")
        self.assertEqual(status, 200)
        outputs.append(("report", data))
        self.assertGreater(len(outputs), 20)
        self.assertEqual([path for path, data in outputs if CANARY in data], [], "the canary in an output")
        self.assertEqual(files_holding(reports, CANARY)[0], [], "the canary in a report file")

        # Reference uploads go through the policy: the canary in a hashed feature, a hashed attribute and an
        # undeclared field, as CSV and as NDJSON.
        upload_rows = adult_rows(40)
        csv_lines = ["age,education_num,workclass,sex,race,country,prediction,score"]
        for i, row in enumerate(upload_rows):
            csv_lines.append(f"{row['age']},{row['education_num']},{CANARY.decode()}-{row['workclass']},{row['sex']},"
                             f"{CANARY.decode()}-race,{row['native_country']}{CANARY.decode()},>50K,0.5")
        status, body, _ = daemon.request("POST", "/v1/models/adult/reference", "\n".join(csv_lines) + "\n",
                                         headers={"Content-Type": "text/csv"})
        self.assertEqual(status, 201, body)
        csv_reference = json.loads(body)["reference_id"]
        ndjson = [json.dumps({"features": {"age": float(row["age"]), "education_num": float(row["education_num"]),
                                           "workclass": f"{CANARY.decode()}-{row['workclass']}",
                                           "phone": f"{CANARY.decode()}-555"},
                              "attributes": {"sex": row["sex"], "race": f"{CANARY.decode()}-race"},
                              "prediction": "<=50K", "score": 0.2}) for row in upload_rows]
        status, body, _ = daemon.request("POST", "/v1/models/adult/reference", "\n".join(ndjson) + "\n",
                                         headers={"Content-Type": "application/x-ndjson"})
        self.assertEqual(status, 201, body)
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM model_references WHERE id >= %s AND sample::text LIKE %s",
                                        (csv_reference, f"%{CANARY.decode()}%")), 0)
        hashed_canary = hashed("field:workclass", f"{CANARY.decode()}-{upload_rows[0]['workclass']}")
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM model_references WHERE id = %s AND sample::text LIKE %s",
                                        (csv_reference, f"%{hashed_canary}%")), 1, "the upload's workclass is not hashed")
        # Rows read back from the store (already hashed) are uploaded as they are, not hashed twice.
        stored = self.pg.query("SELECT features::text, attributes::text FROM predictions WHERE model = 'adult' "
                               "ORDER BY ts LIMIT 40")
        status, body, _ = daemon.request(
            "POST", "/v1/models/adult/reference",
            "\n".join(json.dumps({"features": json.loads(f), "attributes": json.loads(a), "prediction": ">50K"})
                      for f, a in stored) + "\n", headers={"Content-Type": "application/x-ndjson"})
        self.assertEqual(status, 201, body)
        reupload = json.loads(body)["reference_id"]
        stored_workclass = {json.loads(f)["workclass"] for f, _ in stored}
        sample = json.loads(self.pg.scalar("SELECT sample::text FROM model_references WHERE id = %s", (reupload,)))
        column = next(c for c in sample["columns"] if c["name"] == "workclass")
        self.assertTrue(set(column["values"]) <= stored_workclass, "a re-uploaded hash was hashed again")
        fingerprint = self.pg.scalar("SELECT privacy_fingerprint FROM model_references WHERE id = %s", (reupload,))
        self.assertRegex(fingerprint or "", "^[0-9a-f]{16}$")
        self.assertEqual(self.pg.scalar("SELECT fingerprint FROM model_privacy WHERE model = 'adult'"), fingerprint)

        # A reload that changes the policy while ingest runs: refused with the model and the reason, and
        # ingest goes on under the running policy.
        pending = [dict(prediction(j, rows[j], ts), id=f"pending-{j}") for j in range(20)]
        posted = []
        poster = threading.Thread(target=lambda: posted.append(daemon.post("/v1/models/adult/predictions", pending)))
        daemon.write_config(self.pg.dsn, extra_yaml,
                            MODEL.format(key_file=key_file, previous="").replace("id: hash", "id: keep"))
        poster.start()
        daemon.process.send_signal(signal.SIGHUP)
        poster.join(30)
        harness.wait_for(lambda: "config_reload_refused" in daemon.log(), 10, "the policy change was not refused")
        self.assertIn('models[0].privacy: the privacy policy of model "adult"', daemon.log())
        self.assertEqual(posted[0][0], 200, posted)
        daemon.wait_drained()
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM predictions WHERE id = %s",
                                        (hashed("record-id", "pending-0"),)), 1, "ingest stopped or changed policy")

        # A restart under another key without a declared rotation is refused; declared, the key id recorded
        # moves, and the log says how many predictions under the old key will never meet their outcome.
        self.assertEqual(daemon.terminate(), 0)
        write_key(key_file, key2)
        daemon.write_config(self.pg.dsn, extra_yaml, MODEL.format(key_file=key_file, previous=""))
        daemon.start(wait=False)
        self.assertEqual(daemon.process.wait(timeout=30), 1)
        self.assertIn(f"privacy_key_conflict model=adult key_id={key_id(key2)} recorded_key_id={key_id(KEY)}",
                      daemon.log())
        daemon.write_config(self.pg.dsn, extra_yaml, MODEL.format(key_file=key_file, previous=key_id(KEY)))
        daemon.start()
        daemon.wait_ready()
        self.assertEqual(self.pg.scalar("SELECT key_id FROM model_privacy WHERE model = 'adult'"), key_id(key2))
        rotated = [line for line in daemon.log().splitlines() if "privacy_key_rotated" in line]
        self.assertEqual(len(rotated), 1, daemon.log()[-3000:])
        self.assertIn(f"model=adult key_id={key_id(key2)} previous_key_id={key_id(KEY)} "
                      f"predictions_without_outcome=", rotated[0])
        without_outcome = int(rotated[0].split("predictions_without_outcome=")[1].split(":")[0])
        self.assertGreaterEqual(without_outcome, 21)  # the 20 pending and the tail's record
        # Their outcomes now arrive, hashed under the new key: stored, joined to nothing.
        self.post(daemon, "outcomes", [{"id": f"pending-{j}", "label": rows[j]["income"]} for j in range(20)])
        daemon.wait_drained()
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM outcomes WHERE model = 'adult' AND id LIKE %s",
                                        (f"hmac:{key_id(key2)}:%",)), 20)
        self.assertEqual(self.pg.scalar(
            "SELECT count(*) FROM predictions p JOIN outcomes o ON o.model = p.model AND o.id = p.id "
            "WHERE p.model = 'adult' AND p.id LIKE %s", (f"hmac:{key_id(KEY)}:%",)), 600,
            "an outcome under the new key joined")

        # The reference stored under the old key is retired, never used again, and the next one is taken only
        # from predictions received since.
        harness.wait_for(lambda: "reference_policy_mismatch" in daemon.log(), 20,
                         "the old key's reference was not refused\n" + daemon.log()[-3000:])
        self.assertIn("privacy_policy_changed", daemon.log())
        self.assertIsNotNone(self.pg.scalar("SELECT retired_at FROM model_references WHERE id = %s", (reupload,)))
        new_fingerprint = self.pg.scalar("SELECT fingerprint FROM model_privacy WHERE model = 'adult'")
        self.assertNotEqual(new_fingerprint, fingerprint)
        later = datetime.now(timezone.utc) - timedelta(minutes=10)
        self.post(daemon, "predictions", [dict(prediction(j, rows[j], later), id=f"after-{j}") for j in range(200)])
        harness.wait_for(lambda: self.pg.scalar(
            "SELECT count(*) FROM model_references WHERE model = 'adult' AND retired_at IS NULL AND rows = 200 "
            "AND privacy_fingerprint = %s", (new_fingerprint,)) == 1, 30,
            "no new reference under the new key\n" + daemon.log()[-3000:])
        start, sample_text = self.pg.query(
            "SELECT data_start, sample::text FROM model_references WHERE model = 'adult' AND retired_at IS NULL")[0]
        self.assertGreaterEqual(start, later - timedelta(seconds=1))
        new_sample = json.loads(sample_text)
        new_workclass = set(next(c for c in new_sample["columns"] if c["name"] == "workclass")["values"])
        self.assertIn(hashed("field:workclass", rows[0]["workclass"], key2), new_workclass)
        self.assertFalse(new_workclass & stored_workclass, "the new reference holds the old key's hashes")
        self.assertGreaterEqual(daemon.metric('modelwatch_reference_policy_mismatches_total{model="adult"}'), 1)

        # PostgreSQL's files after a CHECKPOINT: the tables and the WAL.
        with psycopg2.connect(self.pg.dsn) as connection:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute("CHECKPOINT")
        connection.close()
        pg_files = os.path.join(self.tmp, "pg")
        hits, read = files_holding(pg_files, CANARY)
        self.assertEqual(hits, [], "the canary reached PostgreSQL's files")
        self.assertGreater(read, 100)
        self.assertTrue(files_holding(pg_files, hashed("record-id", record_id(1)).encode())[0],
                        "PostgreSQL's files hold no hashed id: the search read nothing")
        # And every value as SQL reads it (decompressed), in every table and partition.
        hits, tables = canary_hits(self.pg)
        self.assertEqual(hits, [], "the canary in a table")
        self.assertGreater(len(tables), 10)
        self.assertIn("public.model_references", tables)
        self.assertGreater(self.pg.scalar("SELECT count(*) FROM model_references t WHERE t::text LIKE %s",
                                          ("%" + hashed_canary + "%",)), 0, "the SQL search reads no reference sample")

        # The daemon's log (stderr, as journald would keep it), debug level, last.
        log = daemon.log().encode()
        self.assertIn(b"file_tail_line_rejected", log)
        self.assertNotIn(CANARY, log, "the canary in the daemon's log")
        print(f"test_privacy: {time.time() - started:.1f} s", flush=True)

    def test_profile_only_model_stores_no_feature_value_and_still_finds_drift(self):
        """store_raw: false (issue 18, profile-only models), in this class's PostgreSQL after the test above: a
        model's predictions are stored without features, its features only as profiles built after the
        policy (a hashed category's profile holds the hash), and the shifted third minute's age drift is found
        from profiles, and the fourth minute's drift of one segment only from per-segment profiles; outcomes
        still join; a reload that flips store_raw is refused."""
        started = time.time()
        canary = "Wq7PROFILECANARY"
        key_file = os.path.join(self.tmp, "profiles.key")
        write_key(key_file, KEY)
        model = PROFILE_MODEL.format(key_file=key_file, store_raw="false")
        daemon = self.new_daemon("profiles", models_yaml=model, extra_yaml="monitor: {interval: 100ms}\n")
        daemon.start()
        daemon.wait_ready()
        # Its key is claimed like any model's (a model of its own: the test above's 'adult' is not touched).
        self.assertEqual(self.pg.scalar("SELECT key_id FROM model_privacy WHERE model = 'adult_profiles'"),
                         key_id(KEY))
        # Four whole minutes of 240 rows: the first is the reference (its 200 rows reach into it, and a
        # profile-only reference is whole windows), the second a window like it, the third one with age + 25,
        # the fourth one where only group b (every other row) has age + 25 and education_num + 5.
        base = (datetime.now(timezone.utc) - timedelta(minutes=30)).replace(second=0, microsecond=0)
        total = 960
        rows = adult_rows(total)

        def record(i):
            row = rows[i]
            married = row["marital_status"].startswith("Married")
            score = min(0.95, max(0.05, (int(row["education_num"]) - 6) / 10 + (0.25 if married else -0.25)))
            group = "a" if i % 2 == 0 else "b"
            shifted = 480 <= i < 720 or (i >= 720 and group == "b")
            return {"id": f"p-{i:05d}", "ts": (base + timedelta(milliseconds=250 * i)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                    "features": {"age": float(row["age"]) + (25 if shifted else 0),
                                 "education_num": float(row["education_num"]) + (5 if i >= 720 and shifted else 0),
                                 "workclass": f"{canary}-{row['workclass']}", "note": f"{canary}-{i}"},
                    "attributes": {"group": group},
                    "prediction": ">50K" if score >= 0.5 else "<=50K", "score": score}

        status, body, _ = daemon.post("/v1/models/adult_profiles/outcomes",
                                      [{"id": f"p-{i:05d}", "label": rows[i]["income"]} for i in range(total)])
        self.assertEqual(status, 200, body)
        status, body, _ = daemon.post("/v1/models/adult_profiles/predictions", [record(i) for i in range(total)])
        self.assertEqual(status, 200, body)
        harness.wait_for(lambda: self.pg.scalar(
            "SELECT count(*) FROM monitor_windows WHERE model = 'adult_profiles' AND performance_at IS NOT NULL") >= 3,
            30, "the profile-only model's windows were not judged\n" + daemon.log()[-3000:])

        # What is stored: every prediction, without features; their features as profiles, exactly once.
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM predictions WHERE model = 'adult_profiles'"), total)
        self.assertEqual(self.pg.scalar(
            "SELECT count(*) FROM predictions WHERE model = 'adult_profiles' AND features <> '{}'::jsonb"), 0)
        self.assertEqual(self.pg.scalar("SELECT sum(rows) FROM profile_chunks WHERE model = 'adult_profiles'"), total)
        self.assertEqual(self.pg.scalar(
            "SELECT p.rows FROM reference_profiles p JOIN model_references r ON r.id = p.reference_id "
            "WHERE r.model = 'adult_profiles' AND r.retired_at IS NULL"), 240)

        # Drift from profiles: age in the third minute, said so in the evidence; the second minute is not
        # judged drifted as a dataset.
        findings = self.pg.query(
            "SELECT w.sequence, f.kind, f.subject, f.triggered, f.evidence::text FROM findings f "
            "JOIN monitor_windows w ON w.id = f.window_id WHERE f.model = 'adult_profiles' "
            "AND f.kind IN ('feature_drift', 'dataset_drift', 'data_quality', 'segment_drift') ORDER BY w.sequence, f.id")
        age = {seq: (triggered, json.loads(evidence)) for seq, kind, subject, triggered, evidence in findings
               if kind == "feature_drift" and subject == "age"}
        self.assertTrue(age[2][0], f"age + 25 was not found drifted from profiles: {age}")
        self.assertTrue(age[2][1]["from_profiles"], age[2][1])
        self.assertIn("kll", age[2][1]["basis"], age[2][1])
        dataset = {seq: json.loads(evidence) for seq, kind, subject, _, evidence in findings
                   if kind == "dataset_drift" and subject == ""}
        self.assertEqual(dataset[2]["profile_rows"], 240)
        self.assertEqual(dataset[2]["window_rows"], 240)
        self.assertIn("multivariate_drift", {entry["subject"] for entry in dataset[2]["not_computed"]})
        self.assertNotIn("segment drift", {entry["subject"] for entry in dataset[2]["not_computed"]})
        # Segment drift from per-segment profiles: in the fourth minute group b's age drifted and group a's
        # did not; the segment's own verdict says so (the whole drifted too, so segment_drift does not trigger).
        by_segment = {(seq, subject): (triggered, json.loads(evidence)) for seq, kind, subject, triggered, evidence
                      in findings if kind in ("feature_drift", "segment_drift") and "group=" in subject}
        self.assertTrue(by_segment[(3, "age[group=b]")][0], by_segment.get((3, "age[group=b]")))
        self.assertTrue(by_segment[(3, "age[group=b]")][1]["from_profiles"])
        self.assertEqual(by_segment[(3, "age[group=b]")][1]["reference_rows"], 120)
        self.assertFalse(by_segment[(3, "age[group=a]")][0], by_segment.get((3, "age[group=a]")))
        self.assertTrue(by_segment[(3, "group=b")][1]["segment_drift"], by_segment.get((3, "group=b")))
        self.assertFalse(by_segment[(3, "group=a")][1]["segment_drift"], by_segment.get((3, "group=a")))
        self.assertFalse(by_segment[(1, "group=b")][1]["segment_drift"], by_segment.get((1, "group=b")))
        quality = [json.loads(evidence) for _, kind, _, _, evidence in findings if kind == "data_quality"]
        self.assertTrue(quality and all(e.get("from_profiles") for e in quality if "checks_not_computed" in e))
        self.assertTrue(any("checks_not_computed" in e for e in quality), quality)
        # Outcomes still join: realised performance of the windows.
        self.assertTrue(self.pg.query("SELECT 1 FROM findings WHERE model = 'adult_profiles' AND kind = 'performance' "
                                      "AND method = 'realised'"), "no realised performance finding")

        # The canary: acknowledged (the spool holds it, the positive control of the ingest), then in no value of
        # any table as SQL reads it, nor in the bytes of any bytea column (the profiles); the profile holds the
        # hash of the category instead (the positive control of the bytea search).
        spool = os.path.join(daemon.directory, "state", "spool")
        self.assertTrue(files_holding(spool, canary.encode())[0], "the canary never reached the spool")
        tables = [r[0] for r in self.pg.query(
            "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "AND n.nspname NOT LIKE 'pg_toast%'")]
        self.assertIn("public.profile_chunks", tables)
        hits = [t for t in tables if self.pg.scalar(f"SELECT count(*) FROM {t} t WHERE t::text LIKE %s", (f"%{canary}%",))]
        self.assertEqual(hits, [], "the canary in a table")
        bytea = self.pg.query("SELECT format('%I.%I', table_schema, table_name), quote_ident(column_name) "
                              "FROM information_schema.columns WHERE data_type = 'bytea' "
                              "AND table_schema NOT IN ('pg_catalog', 'information_schema')")
        self.assertIn("public.reference_profiles", {t for t, _ in bytea})

        def in_bytes(needle):
            return [f"{t}.{c}" for t, c in bytea if self.pg.scalar(
                f"SELECT count(*) FROM {t} WHERE position(convert_to(%s, 'UTF8') in {c}) > 0", (needle,))]

        self.assertEqual(in_bytes(canary), [], "the canary in a profile's bytes")
        digest = hmac.new(KEY, b"\0".join([b"adult_profiles", b"field:workclass",
                                           f"{canary}-{rows[0]['workclass']}".encode()]), hashlib.sha256).hexdigest()
        workclass_hash = f"hmac:{key_id(KEY)}:{digest}"  # core/privacy.h: the key id, then the HMAC
        self.assertIn("public.profile_chunks.profiles", in_bytes(workclass_hash),
                      "the profiles do not hold the hashed category: the bytea search read nothing")

        # A reload cannot flip store_raw: refused, the running configuration stays.
        daemon.write_config(self.pg.dsn, "monitor: {interval: 100ms}\n",
                            PROFILE_MODEL.format(key_file=key_file, store_raw="true"))
        daemon.process.send_signal(signal.SIGHUP)
        harness.wait_for(lambda: "config_reload_refused" in daemon.log() and "store_raw" in daemon.log(), 10,
                         "a reload flipping store_raw was not refused\n" + daemon.log()[-2000:])
        status, body, _ = daemon.request("POST", "/v1/models/adult_profiles/reference", "age\n1\n",
                                         headers={"Content-Type": "text/csv"})
        self.assertEqual(status, 409, body)
        print(f"test_privacy profile-only: {time.time() - started:.1f} s", flush=True)


    def recorded_good_key(self):
        """The key PostgreSQL records for 'adult' (the canary test's rotation, when it ran first), else KEY."""
        try:
            if self.pg.scalar("SELECT count(*) FROM model_privacy WHERE model = 'adult' AND key_id = %s",
                              (key_id(bytes(reversed(KEY))),)):
                return bytes(reversed(KEY))
        except psycopg2.Error:
            pass  # not migrated yet: the first daemon records KEY
        return KEY

    def good_and_stray_keys(self, name):
        """(good key, its file, stray key, its file): the key PostgreSQL records for 'adult', and another."""
        good = self.recorded_good_key()
        good_file = os.path.join(self.tmp, f"{name}-good.key")
        write_key(good_file, good)
        stray_key = hashlib.sha256(f"{name}-stray".encode()).hexdigest().encode()
        stray_file = os.path.join(self.tmp, f"{name}-stray.key")
        write_key(stray_file, stray_key)
        return good, good_file, stray_key, stray_file

    def acknowledge_with_store_down(self, daemon, records, stop):
        """Starts `daemon` with PostgreSQL stopped and has it acknowledge `records` of adult: durable in its
        spool, their key unchecked (the claim waits for PostgreSQL). `stop`: stopped again before PostgreSQL
        returns, so its drain never meets it under this configuration. PostgreSQL is started again in any case."""
        self.pg.stop()
        try:
            before = len(daemon.log()) if os.path.exists(daemon.log_path) else 0  # a first start has no log yet
            daemon.start()
            status, body, _ = daemon.post("/v1/models/adult/predictions", records)
            self.assertEqual(status, 200, body)
            self.assertIn("privacy_keys_claim_deferred", daemon.log()[before:])
            if stop:
                self.assertEqual(daemon.terminate(), 0)
        finally:
            self.pg.start()

    def test_reload_adding_a_model_under_a_stray_key_is_refused_and_the_old_configuration_serves(self):
        # A reload that adds a model whose key PostgreSQL records another id for is refused as start refuses
        # it, before any record of the model is accepted: the running configuration stays in force and ready,
        # instead of the drain's claim failing seconds later with the model's records acknowledged.
        started = time.time()
        good, good_file, stray_key, stray_file = self.good_and_stray_keys("reload")
        extra_yaml = "cluster: {daemon_id: reloader}\n"
        daemon = self.new_daemon("reloader", models_yaml=harness.ELEC2_SCHEMA, extra_yaml=extra_yaml)
        daemon.start()
        daemon.wait_ready()
        # Alone (without the canary test before it) nothing records adult's key yet: record the good one.
        harness.wait_for(lambda: self.pg.scalar("SELECT count(*) FROM schema_migrations") >= 14, 10, "not migrated")
        self.pg.query("INSERT INTO model_privacy (model, fingerprint, since, key_id, key_recorded_at) "
                      "VALUES ('adult', '', now(), %s, now()) ON CONFLICT (model) DO NOTHING RETURNING model",
                      (key_id(good),))

        daemon.write_config(self.pg.dsn, extra_yaml,
                            harness.ELEC2_SCHEMA + MODEL.format(key_file=stray_file, previous=""))
        daemon.process.send_signal(signal.SIGHUP)
        harness.wait_for(lambda: "config_reload_failed" in daemon.log(), 15,
                         "the reload adding a stray key was not refused\n" + daemon.log()[-3000:])
        self.assertIn(f"config_reload_refused file={daemon.config_path} privacy_key_conflict model=adult "
                      f"key_id={key_id(stray_key)} recorded_key_id={key_id(good)} key_file={stray_file}", daemon.log())
        self.assertEqual(daemon.metric('modelwatch_config_reloads_total{result="failure"}'), 1)
        self.assertEqual(daemon.metric("modelwatch_config_generation"), 1)
        status, body, _ = daemon.post("/v1/models/adult/predictions", [prediction(0, adult_rows(1)[0], datetime.now(
            timezone.utc))])
        self.assertEqual(status, 404, body)  # the model was not added
        status, _ = daemon.get("/readyz")
        self.assertEqual(status, 200, daemon.log()[-3000:])
        status, body, _ = daemon.post("/v1/models/elec2/predictions", [harness.prediction(i) for i in range(5)])
        self.assertEqual(status, 200, body)
        daemon.wait_drained()
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM predictions WHERE model = 'elec2' AND id LIKE 'p-%%'"),
                         5)
        self.assertEqual(self.pg.scalar("SELECT key_id FROM model_privacy WHERE model = 'adult'"), key_id(good))

        # The same model with the recorded key: added.
        daemon.write_config(self.pg.dsn, extra_yaml,
                            harness.ELEC2_SCHEMA + MODEL.format(key_file=good_file, previous=""))
        daemon.process.send_signal(signal.SIGHUP)
        harness.wait_for(lambda: daemon.metric("modelwatch_config_generation") == 2, 15,
                         "the reload with the recorded key was not applied\n" + daemon.log()[-3000:])
        rows = adult_rows(5)
        ts = datetime.now(timezone.utc) - timedelta(minutes=5)
        status, body, _ = daemon.post("/v1/models/adult/predictions",
                                      [dict(prediction(i, rows[i], ts), id=f"reloaded-{i}") for i in range(5)])
        self.assertEqual(status, 200, body)
        daemon.wait_drained()
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM predictions WHERE id = %s",
                                        (hashed("record-id", "reloaded-3", good),)), 1)
        print(f"test_privacy reload under a stray key: {time.time() - started:.1f} s", flush=True)

    def test_stray_key_records_are_quarantined_not_stored_and_other_models_flow(self):
        # A daemon started with another key while PostgreSQL was down acknowledges records hashed under it (it
        # cannot know). (1) Restarted with the right key before PostgreSQL returns, it must not store them as
        # the model's: each spooled batch carries its key id, and the drain moves those under a key never
        # recorded for the model to a quarantine file, logged and counted, instead of storing them. (2) Still
        # running the stray key when PostgreSQL returns, its drain's claim is refused for that model only:
        # its spooled records are quarantined, its new ones refused (503), /readyz names the conflict and
        # stays 200, and another model's records are stored.
        started = time.time()
        good, good_file, stray_key, stray_file = self.good_and_stray_keys("drain")
        first = self.new_daemon("drain-first", models_yaml=MODEL.format(key_file=good_file, previous=""),
                                extra_yaml="cluster: {daemon_id: drain-first}\n")
        first.start()
        first.wait_ready()
        rows = adult_rows(30)
        ts = datetime.now(timezone.utc) - timedelta(minutes=5)
        extra_yaml = "cluster: {daemon_id: drain-stray}\n"
        stray = self.new_daemon("drain-stray", extra_yaml=extra_yaml,
                                models_yaml=MODEL.format(key_file=stray_file, previous="") + harness.ELEC2_SCHEMA)
        stray_hashes = f"hmac:{key_id(stray_key)}:%"
        spool_dir = os.path.join(stray.directory, "state", "spool")

        def key_refused():
            _, text = stray.get("/metrics")
            for line in text.decode().splitlines():
                if (line.startswith("modelwatch_store_records_key_refused_total{") and 'model="adult"' in line
                        and f'key_id="{key_id(stray_key)}"' in line):
                    return float(line.split()[-1])
            return 0

        def quarantined():
            text = ""
            for name in sorted(os.listdir(spool_dir)):
                if name.startswith("quarantine-"):
                    with open(os.path.join(spool_dir, name)) as f:
                        text += f.read()
            return text

        # (1) Acknowledged under the stray key with PostgreSQL down, then restarted with the right key.
        self.acknowledge_with_store_down(
            stray, [dict(prediction(i, rows[i], ts), id=f"stray-{i}") for i in range(10)], stop=True)
        stray.write_config(self.pg.dsn, extra_yaml, MODEL.format(key_file=good_file, previous="") + harness.ELEC2_SCHEMA)
        stray.start()
        stray.wait_drained()
        stray.wait_ready()
        self.assertIn(f"model=adult key_id={key_id(stray_key)} records=10", stray.log())
        self.assertEqual(key_refused(), 10)
        self.assertIn(f"privacy_key_mismatch model=adult key_id={key_id(stray_key)} recorded_key_id={key_id(good)}",
                      quarantined())
        self.assertIn(hashed("record-id", "stray-3", stray_key), quarantined())  # kept, not lost
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM predictions WHERE id LIKE %s", (stray_hashes,)), 0)
        # The operator sees them without listing the spool: counted, on /readyz (still ready) and the status page.
        self.assertEqual(stray.metric("modelwatch_quarantine_files"), 1)
        self.assertEqual(stray.metric("modelwatch_quarantine_records"), 10)
        status, data = stray.get("/readyz")
        self.assertEqual(status, 200, data)
        shown = json.loads(data)["quarantine"]
        self.assertEqual((shown["files"], shown["records"], shown["directory"]), (1, 10, spool_dir), shown)
        self.assertIn("docs/privacy.md", shown["action"])
        status, page = stray.get("/")
        self.assertEqual(status, 200, page)
        self.assertIn(f"1 quarantine file holding 10 records that were acknowledged but not stored, in "
                      f"<code>{spool_dir}</code>", page.decode())
        status, body, _ = stray.post("/v1/models/adult/predictions",
                                     [dict(prediction(i, rows[i], ts), id=f"right-{i}") for i in range(10, 15)])
        self.assertEqual(status, 200, body)
        stray.wait_drained()
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM predictions WHERE id = %s",
                                        (hashed("record-id", "right-12", good),)), 1)
        self.assertEqual(stray.terminate(), 0)

        # (2) Still running the stray key when PostgreSQL answers.
        stray.write_config(self.pg.dsn, extra_yaml,
                           MODEL.format(key_file=stray_file, previous="") + harness.ELEC2_SCHEMA)
        before_restart = len(stray.log())
        self.acknowledge_with_store_down(
            stray, [dict(prediction(i, rows[i], ts), id=f"stray-{i}") for i in range(15, 20)], stop=False)
        # The file of (1), counted at start.
        self.assertIn(f"quarantine_present dir={spool_dir} files=1 records=10", stray.log()[before_restart:])
        harness.wait_for(lambda: "privacy_key_conflict model=adult" in stray.log(), 30,
                         "the drain never claimed the key\n" + stray.log()[-3000:])
        self.assertIn(f"privacy_key_conflict model=adult key_id={key_id(stray_key)} recorded_key_id={key_id(good)} "
                      f"key_file={stray_file}", stray.log())
        # This process's count: the five it acknowledged before its drain met PostgreSQL.
        harness.wait_for(lambda: key_refused() == 5, 15, "the stray records were not quarantined\n" + stray.log()[-3000:])
        self.assertEqual(stray.metric("modelwatch_quarantine_files"), 2)
        self.assertEqual(stray.metric("modelwatch_quarantine_records"), 15)
        # Ready for the other models once PostgreSQL answers the probe again.
        status, data = harness.wait_for(lambda: (lambda r: r if r[0] == 200 else None)(stray.get("/readyz")), 15,
                                        "the stray daemon did not become ready\n" + stray.log()[-3000:])
        readiness = json.loads(data)
        self.assertIn(f"privacy_key_conflict model=adult key_id={key_id(stray_key)}",
                      " ".join(readiness.get("privacy_key_conflicts", [])), readiness)
        self.assertEqual(stray.metric("modelwatch_privacy_key_conflicts"), 1)
        status, body, _ = stray.post("/v1/models/adult/predictions",
                                     [dict(prediction(i, rows[i], ts), id=f"stray-{i}") for i in range(20, 25)])
        self.assertEqual(status, 503, body)  # never acknowledged: it could never be stored
        self.assertIn(f"privacy_key_conflict model=adult key_id={key_id(stray_key)}", body["error"])
        # Nor is a reference uploaded under the stray key stored.
        upload = ["age,education_num,workclass,sex,race,country,prediction,score"] + [
            f"{row['age']},{row['education_num']},{row['workclass']},{row['sex']},{row['race']},"
            f"{row['native_country']},>50K,0.5" for row in rows]
        references = self.pg.scalar("SELECT count(*) FROM model_references WHERE model = 'adult'")
        status, body, _ = stray.request("POST", "/v1/models/adult/reference", "\n".join(upload) + "\n",
                                        headers={"Content-Type": "text/csv"})
        self.assertEqual(status, 409, body)
        self.assertIn(f"privacy_key_mismatch model=adult key_id={key_id(stray_key)}", body.decode())
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM model_references WHERE model = 'adult'"), references)
        status, body, _ = stray.post("/v1/models/elec2/predictions",
                                     [harness.prediction(i, id=f"stray-elec2-{i}") for i in range(5)])
        self.assertEqual(status, 200, body)
        stray.wait_drained()
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM predictions WHERE model = 'elec2' AND id LIKE "
                                        "'stray-elec2-%%'"), 5)
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM predictions WHERE id LIKE %s", (stray_hashes,)), 0)
        self.assertEqual(self.pg.scalar("SELECT key_id FROM model_privacy WHERE model = 'adult'"), key_id(good))

        # The daemon with the recorded key is unaffected.
        status, body, _ = first.post("/v1/models/adult/predictions",
                                     [dict(prediction(i, rows[i], ts), id=f"first-{i}") for i in range(10)])
        self.assertEqual(status, 200, body)
        first.wait_drained()
        first.wait_ready()
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM predictions WHERE id = %s",
                                        (hashed("record-id", "first-3", good),)), 1)
        self.assertNotIn("privacy_key_conflict", first.log())

        # The documented action: the files deleted, a reload counts them out.
        for name in os.listdir(spool_dir):
            if name.startswith("quarantine-"):
                os.remove(os.path.join(spool_dir, name))
        stray.process.send_signal(signal.SIGHUP)
        harness.wait_for(lambda: stray.metric("modelwatch_quarantine_files") == 0, 15,
                         "deleted quarantine files still counted after a reload\n" + stray.log()[-3000:])
        self.assertEqual(stray.metric("modelwatch_quarantine_records"), 0)
        status, data = stray.get("/readyz")
        self.assertNotIn("quarantine", json.loads(data))
        print(f"test_privacy stray key met by the drain: {time.time() - started:.1f} s", flush=True)


PROFILE_MODEL = """
  - name: adult_profiles
    prediction: {{type: binary, classes: [">50K", "<=50K"]}}
    attributes: [group]
    features:
      - {{name: age, type: numeric}}
      - {{name: education_num, type: numeric}}
      - {{name: workclass, type: categorical}}
    store_raw: {store_raw}
    reference: {{rows: 200}}
    window: {{duration: 1m, lateness: 0}}
    drift: {{noise_resamples: 10, segments: [group]}}
    performance:
      min_label_coverage: 0.9
      thresholds: [{{metric: accuracy, min: 0.99, band_sd: 0}}]
    concept_drift: {{detector: ""}}
    anomaly: {{detector: ""}}
    privacy:
      key_file: {key_file}
      fields:
        - {{name: workclass, action: hash}}
"""


if __name__ == "__main__":
    harness.main()
