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
subtraction, a re-uploaded stored reference is not hashed twice, and after a
restart under another key the old reference is retired, never reused."""

import csv
import gzip
import hashlib
import hmac
import json
import os
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
    drift: {{multivariate: false, noise_resamples: 10}}
    performance:
      min_label_coverage: 0.9
      thresholds: [{{metric: accuracy, min: 0.99, band_sd: 0}}]
    concept_drift: {{detector: ""}}
    anomaly: {{detector: ""}}
    privacy:
      key_file: {key_file}
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


def hashed(domain, value, key=KEY):
    """What the daemon stores: HMAC-SHA256 of model NUL domain NUL value."""
    return "hmac:" + hmac.new(key, b"\0".join([b"adult", domain.encode(), value.encode()]), hashlib.sha256).hexdigest()


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
        with open(key_file, "wb") as f:
            f.write(KEY + b"\n")
        os.chmod(key_file, 0o600)
        tail_path = os.path.join(self.tmp, "tail.ndjson")
        open(tail_path, "w").close()
        daemon = self.new_daemon(
            "privacy", models_yaml=MODEL.format(key_file=key_file),
            extra_yaml=f"monitor: {{interval: 100ms}}\nfile_tails: [{{path: {tail_path}, model: adult, "
                       f"poll_interval: 100ms}}]\n")
        daemon.start()
        daemon.wait_ready()
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
        # The file tail: one record accepted, one refused and logged.
        with open(tail_path, "w") as f:
            f.write(json.dumps(prediction(950, rows[0], ts)) + "\n")
            f.write(json.dumps({"id": "t2", "features": {"age": f"{CANARY.decode()}-tail"}, "prediction": ">50K"}) + "\n")
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
            "SELECT count(*) FROM monitor_windows WHERE performance_at IS NOT NULL") >= 2, 90,
            "windows were not judged with their outcomes\n" + daemon.log()[-3000:])
        harness.wait_for(lambda: self.pg.scalar("SELECT count(*) FROM predictions WHERE id LIKE 'hmac:%'") == 601,
                         10, "not every prediction (600 over HTTP, 1 from the tail) was stored with a hashed id")
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM predictions"), 601)
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM predictions WHERE id = %s",
                                        (hashed("record-id", record_id(1)),)), 1)
        realised = self.pg.query("SELECT triggered FROM findings WHERE kind = 'performance' AND method = 'realised'")
        self.assertTrue(realised, "no realised performance finding: hashed ids did not join")
        accuracy = self.pg.scalar(
            "SELECT m.value FROM window_metrics m JOIN monitor_windows w ON w.id = m.window_id "
            "WHERE w.sequence = 1 AND m.name = 'accuracy' AND m.segment = '' AND NOT m.estimated")
        self.assertIsNotNone(accuracy)
        drift = dict(self.pg.query(
            "SELECT w.sequence, f.triggered FROM findings f JOIN monitor_windows w ON w.id = f.window_id "
            "WHERE f.kind = 'feature_drift' AND f.subject = 'workclass'"))
        self.assertTrue(drift.get(2), f"the hashed category did not drift: {drift}")
        ages = {r[0] for r in self.pg.query("SELECT DISTINCT (features->>'age')::float FROM predictions")}
        self.assertTrue(all(age % 10 == 0 for age in ages), ages)
        keys = {k for r in self.pg.query("SELECT DISTINCT jsonb_object_keys(features) FROM predictions") for k in r}
        self.assertNotIn("email", keys)  # its own row drops it whole
        # undeclared: drop keeps the name with a null value, and the data-quality check of undeclared fields fires.
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM predictions WHERE features->'phone' = 'null'::jsonb"), 60)
        undeclared = self.pg.query("SELECT triggered FROM findings WHERE kind = 'data_quality' "
                                   "AND method = 'undeclared_feature' AND subject LIKE '%%phone%%'")
        self.assertTrue(undeclared and all(r[0] for r in undeclared), undeclared)

        # An audit, on demand: its reports name the tiny group and show nothing of it.
        status, body, _ = daemon.request("POST", "/v1/models/adult/audits/weekly/run", timeout=60)
        self.assertIn(status, (200, 202), body)
        harness.wait_for(lambda: self.pg.scalar("SELECT count(*) FROM audits WHERE state IN ('passed', 'failed')"),
                         60, "the audit did not finish\n" + daemon.log()[-3000:])
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
        audit_id = self.pg.scalar("SELECT max(id) FROM audits")
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
        stored = self.pg.query("SELECT features::text, attributes::text FROM predictions ORDER BY ts LIMIT 40")
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

        # A restart under another key: the reference stored under the old one is retired, never used again,
        # and the next one is taken only from predictions received since.
        self.assertEqual(daemon.terminate(), 0)
        key2 = bytes(reversed(KEY))
        with open(key_file, "wb") as f:
            f.write(key2 + b"\n")
        daemon.start()
        daemon.wait_ready()
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


if __name__ == "__main__":
    harness.main()
