"""The ingest API against a real daemon and PostgreSQL: what is accepted is
stored exactly once, what is refused is refused with a reason naming the
record and field, and hostile requests are bounded."""

import hashlib
import json
import select
import socket
import time

from harness import Environment, main, prediction, wait_for


class IngestApi(Environment):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.token = "s3cret-token"
        digest = hashlib.sha256(cls.token.encode()).hexdigest()
        cls.admin_token = "admin-token"
        admin_digest = hashlib.sha256(cls.admin_token.encode()).hexdigest()
        import os
        directory = os.path.join(cls.tmp, "api")
        os.makedirs(directory)
        from harness import Daemon
        cls.daemon = Daemon(directory, cls.pg.dsn,
                            extra_yaml="",
                            models_yaml=f"""
  - name: elec2
    prediction: {{type: binary, classes: [UP, DOWN]}}
    attributes: [region]
    features:
      - {{name: nswprice, type: numeric}}
      - {{name: nswdemand, type: numeric}}
      - {{name: day, type: categorical}}
      - {{name: weekend, type: boolean}}
    tokens:
      - sha256: "{digest}"
""")
        # Tighten limits so the hostile cases stay small.
        with open(cls.daemon.config_path) as f:
            text = f.read()
        text = text.replace("server:\n", "server:\n  max_body_bytes: 256KiB\n  max_records_per_request: 500\n"
                                         "  header_timeout: 1s\n  body_timeout: 2s\n  max_json_depth: 8\n  max_inflight_bytes: 1MiB\n"
                                         f"  tokens:\n    - sha256: \"{admin_digest}\"\n", 1)
        with open(cls.daemon.config_path, "w") as f:
            f.write(text)
        cls.daemon.start()
        cls.daemon.wait_ready()
        cls.auth = {"Authorization": f"Bearer {cls.token}"}

    @classmethod
    def tearDownClass(cls):
        cls.daemon.terminate()
        super().tearDownClass()

    def post(self, path, body, ndjson=False, headers=None):
        h = dict(self.auth)
        h.update(headers or {})
        return self.daemon.post(path, body, ndjson=ndjson, headers=h)

    def stored_ids(self, prefix):
        return {r[0] for r in self.pg.query("SELECT id FROM predictions WHERE model='elec2' AND id LIKE %s", (prefix + "%",))}

    def test_array_and_ndjson_are_stored_once_and_joined_with_outcomes(self):
        records = [prediction(i, id=f"ok-{i}") for i in range(50)]
        status, body, _ = self.post("/v1/models/elec2/predictions", records[:25])
        self.assertEqual((status, body["accepted"], body["rejected"]), (200, 25, []))
        status, body, _ = self.post("/v1/models/elec2/predictions", records[25:], ndjson=True)
        self.assertEqual((status, body["accepted"]), (200, 25))
        # The same records again: acknowledged, but stored once.
        status, body, _ = self.post("/v1/models/elec2/predictions", records[:10])
        self.assertEqual(status, 200)
        outcomes = [{"id": f"ok-{i}", "label": "UP"} for i in range(0, 50, 2)]
        status, body, _ = self.post("/v1/models/elec2/outcomes", outcomes)
        self.assertEqual((status, body["accepted"]), (200, 25))
        self.daemon.wait_drained()
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM predictions WHERE id LIKE 'ok-%%'"), 50)
        rows = self.pg.query("SELECT id, label, label_delay_seconds, features->>'day', attributes->>'region' "
                             "FROM labelled_predictions WHERE id LIKE 'ok-%%' ORDER BY id")
        self.assertEqual(len(rows), 25)
        for _, label, delay, day, region in rows:
            self.assertEqual(label, "UP")
            self.assertGreaterEqual(delay, 0)
            self.assertIsNotNone(day)
            self.assertIn(region, ("NSW", "VIC"))

    def test_outcome_before_its_prediction_still_joins(self):
        status, _, _ = self.post("/v1/models/elec2/outcomes", [{"id": "early-1", "label": "DOWN"}])
        self.assertEqual(status, 200)
        self.daemon.wait_drained()
        status, _, _ = self.post("/v1/models/elec2/predictions", [prediction(1, id="early-1")])
        self.assertEqual(status, 200)
        self.daemon.wait_drained()
        self.assertEqual(self.pg.query("SELECT label FROM labelled_predictions WHERE id='early-1'"), [("DOWN",)])

    def test_rejections_name_index_and_field_and_keep_the_rest(self):
        records = [
            prediction(0, id="mixed-0"),
            prediction(1, id="mixed-1", features={"nswprice": "high"}),
            prediction(2, id="mixed-2", score=1.5),
            prediction(3, id="mixed-0"),  # duplicate id within the request
            prediction(4, id="mixed-4", featurs={}),
            prediction(5, id="mixed-5", ts="2024-02-30T00:00:00Z"),
            prediction(6, id="mixed-6", features={"weekend": 1}),
            prediction(7, id="mixed-7"),
        ]
        status, body, _ = self.post("/v1/models/elec2/predictions", records)
        self.assertEqual(status, 200)
        self.assertEqual(body["accepted"], 2)
        by_index = {r["index"]: r for r in body["rejected"]}
        self.assertEqual(sorted(by_index), [1, 2, 3, 4, 5, 6])
        self.assertEqual(by_index[1]["field"], "features.nswprice")
        self.assertEqual(by_index[2]["field"], "score")
        self.assertIn("duplicate", by_index[3]["reason"])
        self.assertEqual(by_index[4]["field"], "featurs")
        self.assertEqual(by_index[5]["field"], "ts")
        self.assertEqual(by_index[6]["field"], "features.weekend")
        self.daemon.wait_drained()
        self.assertEqual(self.stored_ids("mixed-"), {"mixed-0", "mixed-7"})
        self.assertGreaterEqual(self.daemon.metric(
            'modelwatch_records_rejected_total{kind="prediction",model="elec2",reason="wrong_type"}'), 2)

    def test_malformed_bodies_are_400_and_store_nothing(self):
        cases = {
            "truncated": b'[{"id": "bad-1", "prediction": "UP"',
            "nan literal": b'[{"id": "bad-2", "prediction": "UP", "score": NaN}]',
            "infinity overflow": b'[{"id": "bad-3", "prediction": "UP", "features": {"nswprice": 1e999}}]',
            "not records": b'"hello"',
            "empty": b"",
            "deep nesting": b"[" * 5000 + b"]" * 5000,
        }
        for name, body in cases.items():
            with self.subTest(name):
                status, parsed, _ = self.post("/v1/models/elec2/predictions", body)
                self.assertEqual(status, 400, f"{name}: {parsed}")
                self.assertIn("error", parsed)
        # Every record rejected: 400 with the list.
        status, parsed, _ = self.post("/v1/models/elec2/predictions", [{"id": "bad-4", "features": {}}])
        self.assertEqual(status, 400)
        self.assertEqual(parsed["rejected"][0]["field"], "prediction")
        self.daemon.wait_drained()
        self.assertEqual(self.stored_ids("bad-"), set())

    def test_ndjson_bad_line_rejects_only_that_line(self):
        body = ('{"id": "nd-0", "prediction": "UP", "features": {}}\n{"id": "nd-1", "prediction": \n'
                '{"id": "nd-2", "prediction": "DOWN", "features": {"nswprice": 0.1}}\n')
        status, parsed, _ = self.post("/v1/models/elec2/predictions", body)
        self.assertEqual(status, 200)
        self.assertEqual(parsed["accepted"], 2)
        self.assertEqual([r["index"] for r in parsed["rejected"]], [1])
        self.daemon.wait_drained()
        self.assertEqual(self.stored_ids("nd-"), {"nd-0", "nd-2"})

    def test_unknown_model_route_and_method(self):
        status, _, _ = self.post("/v1/models/nope/predictions", [prediction(1)])
        self.assertEqual(status, 404)
        status, _, _ = self.daemon.request("GET", "/v1/models/elec2/predictions")[0:3]
        self.assertEqual(status, 405)
        self.assertEqual(self.daemon.get("/nothing-here")[0], 404)

    def test_auth_is_required_and_checked(self):
        status, _, headers = self.daemon.post("/v1/models/elec2/predictions", [prediction(1, id="auth-1")])
        self.assertEqual(status, 401)
        self.assertIn("Bearer", headers.get("WWW-Authenticate", ""))
        status, _, _ = self.daemon.post("/v1/models/elec2/predictions", [prediction(1, id="auth-1")],
                                        headers={"Authorization": "Bearer wrong"})
        self.assertEqual(status, 401)
        self.daemon.wait_drained()
        self.assertEqual(self.stored_ids("auth-"), set())
        # Health and metrics stay open for probes and Prometheus.
        self.assertEqual(self.daemon.get("/healthz")[0], 200)
        self.assertEqual(self.daemon.get("/metrics")[0], 200)

    def test_oversized_body_and_too_many_records(self):
        big = json.dumps([prediction(i, id=f"big-{i}") for i in range(2000)])
        self.assertGreater(len(big), 256 * 1024)
        status, parsed, _ = self.post("/v1/models/elec2/predictions", big)
        self.assertEqual(status, 413)
        many = [{"id": f"many-{i}", "prediction": "UP", "features": {}} for i in range(501)]
        status, parsed, _ = self.post("/v1/models/elec2/predictions", many)
        self.assertEqual(status, 400)
        self.assertIn("500", parsed["error"])
        self.daemon.wait_drained()
        self.assertEqual(self.stored_ids("big-") | self.stored_ids("many-"), set())

    def test_slow_client_is_cut_off(self):
        # Headers trickling in past header_timeout (1 s): 408, then the connection is closed.
        s = socket.create_connection(("127.0.0.1", self.daemon.port))
        s.sendall(b"POST /v1/models/elec2/predictions HTTP/1.1\r\nHost: x\r\n")
        s.settimeout(10)
        started = time.time()
        data = s.recv(4096)
        self.assertTrue(data.startswith(b"HTTP/1.1 408"), data)
        self.assertLess(time.time() - started, 8)
        s.close()
        # A body that never completes: 408 after body_timeout (2 s).
        s = socket.create_connection(("127.0.0.1", self.daemon.port))
        s.sendall(("POST /v1/models/elec2/predictions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                   f"{self.token}\r\nContent-Length: 1000\r\n\r\n[{{").encode())
        s.settimeout(10)
        data = s.recv(4096)
        self.assertTrue(data.startswith(b"HTTP/1.1 408"), data)
        s.close()
        # The daemon still serves others.
        self.assertEqual(self.daemon.get("/healthz")[0], 200)

    def test_request_bodies_in_flight_are_bounded(self):
        # max_inflight_bytes is 1 MiB here, charged as body bytes arrive:
        # four uploads that have sent 240,000 of their 250,000 bytes hold about
        # 1,000,000 bytes; a fifth is refused with 503 part-way through its
        # body, while a small request still fits.
        head = ("POST /v1/models/elec2/predictions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                f"{self.token}\r\nContent-Length: 250000\r\n\r\n[").encode()
        held = []
        for _ in range(4):
            s = socket.create_connection(("127.0.0.1", self.daemon.port))
            s.sendall(head + b" " * 240000)
            held.append(s)
        wait_for(lambda: self.daemon.metric("modelwatch_http_body_bytes_in_flight") >= 4 * 240000, 1.5,
                 "the four uploads are not held")
        fifth = socket.create_connection(("127.0.0.1", self.daemon.port))
        fifth.sendall(head + b" " * 240000)
        fifth.settimeout(10)
        answer = fifth.recv(4096)
        fifth.close()
        self.assertTrue(answer.startswith(b"HTTP/1.1 503"), answer)
        self.assertIn(b"Retry-After", answer)
        status, _, _ = self.post("/v1/models/elec2/predictions", [prediction(1, id="budget-1")])
        self.assertEqual(status, 200)
        for s in held:
            s.close()
        # Closed connections give their share back.
        wait_for(lambda: self.daemon.metric("modelwatch_http_body_bytes_in_flight") == 0, 5,
                 "the closed uploads still hold their share")
        again = socket.create_connection(("127.0.0.1", self.daemon.port))
        again.sendall(head + b" " * 240000)
        again.settimeout(0.5)
        try:
            data = again.recv(4096)
        except socket.timeout:
            data = b""  # waiting for the rest of the body: taken, not refused
        again.close()
        self.assertFalse(data.startswith(b"HTTP/1.1 503"), data)

    def test_invalid_utf8_in_the_path_is_answered_not_fatal(self):
        s = socket.create_connection(("127.0.0.1", self.daemon.port))
        s.sendall(b"POST /v1/models/\xff\xfe/predictions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n[]")
        s.settimeout(10)
        self.assertTrue(s.recv(4096).startswith(b"HTTP/1.1 404"))
        s.close()
        self.assertEqual(self.daemon.get("/healthz")[0], 200)

    def test_progress_endpoint_is_behind_the_admin_token_and_answers_hostile_names(self):
        # GET /v1/models/{model}/progress (the lockstep replay's wait) is admin API: the global token, like
        # the rest of /v1; a model's ingest token is not enough, and is told so at once (403 naming the
        # scope, so that a lockstep client fails instead of polling until its bound).
        path = "/v1/models/elec2/progress"
        admin = {"Authorization": f"Bearer {self.admin_token}"}

        def get(target, headers=None):
            status, data, _ = self.daemon.request("GET", target, headers=headers)
            return status, json.loads(data) if data else None
        self.assertEqual(get(path)[0], 401)
        self.assertEqual(get(path, {"Authorization": "Bearer wrong"})[0], 401)
        status, data, headers = self.daemon.request("GET", path, headers=self.auth)
        self.assertEqual(status, 403, data)
        self.assertEqual(json.loads(data)["error"], "the bearer token is a model's ingest token: "
                         "/v1/models/{model}/progress needs an admin token (server.tokens)")
        self.assertIn('error="insufficient_scope", scope="admin"', headers.get("WWW-Authenticate", ""))
        status, body = get(path, admin)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["model"], "elec2")
        for key in ("owned", "spool_undrained_batches", "monitor", "windows", "findings_unrouted"):
            self.assertIn(key, body)
        status, _, headers = self.daemon.request("POST", path, body=b"{}", headers=admin)
        self.assertEqual(status, 405)
        self.assertEqual(headers.get("Allow"), "GET")

        # Unknown and hostile names: 404 naming what was asked, never another model's or a file's answer.
        for name in ("nope", "..", "..%2F..%2Fetc%2Fpasswd", "el%65c2", "elec2%00", "%2e%2e", "elec2;drop"):
            status, body = get(f"/v1/models/{name}/progress", admin)
            self.assertEqual(status, 404, (name, body))
            self.assertEqual(body["error"], f"unknown model '{name}'")
        for target in ("/v1/models/elec2/../progress", "/v1/models//progress", "/v1/models/elec2/progress/x"):
            self.assertEqual(get(target, admin)[0], 404, target)
        long_name = "m" * 10_000
        status, body = get(f"/v1/models/{long_name}/progress", admin)
        self.assertEqual(status, 404)
        self.assertEqual(body["error"], f"unknown model '{long_name}'")
        status, _ = self.daemon.request("GET", f"/v1/models/{'m' * 20_000}/progress", headers=admin)[0:2]
        self.assertEqual(status, 431)
        # Bytes that are not UTF-8 are answered in valid JSON, not a crash.
        s = socket.create_connection(("127.0.0.1", self.daemon.port))
        s.sendall(b"GET /v1/models/\xff\xfe/progress HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                  + self.admin_token.encode() + b"\r\nConnection: close\r\n\r\n")
        s.settimeout(10)
        data = b""
        while chunk := s.recv(4096):
            data += chunk
        s.close()
        self.assertTrue(data.startswith(b"HTTP/1.1 404"), data)
        json.loads(data.split(b"\r\n\r\n", 1)[1].decode())

        # Slowloris on the endpoint: headers trickling in past header_timeout (1 s) get 408 and the connection
        # is closed, while a well-behaved poller is answered meanwhile.
        slow = socket.create_connection(("127.0.0.1", self.daemon.port))
        slow.sendall(b"GET /v1/models/elec2/progress HTTP/1.1\r\nHost: x\r\n")
        started = time.time()
        slow.settimeout(10)
        for _ in range(3):
            self.assertEqual(get(path, admin)[0], 200)
        for _ in range(40):  # a byte every 0.2 s until answered: far below the minimum rate
            if select.select([slow], [], [], 0.2)[0]:
                break
            slow.sendall(b"X")
        data = slow.recv(4096)
        self.assertTrue(data.startswith(b"HTTP/1.1 408"), data)
        self.assertLess(time.time() - started, 8)
        slow.close()
        self.assertEqual(get(path, admin)[0], 200)

    def test_pipelined_requests_are_all_answered(self):
        s = socket.create_connection(("127.0.0.1", self.daemon.port))
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        s.settimeout(10)
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
        self.assertEqual(data.count(b"HTTP/1.1 200"), 3, data)

    def test_readyz_and_metrics_describe_the_daemon(self):
        status, body = self.daemon.get("/readyz")
        self.assertEqual(status, 200)
        # Tokens are configured: the details need the admin's.
        self.assertEqual(json.loads(body), {"ready": True})
        status, body, _ = self.daemon.request("GET", "/readyz", headers={"Authorization": f"Bearer {self.admin_token}"})
        self.assertTrue(json.loads(body)["store_reachable"])
        _, text = self.daemon.get("/metrics")
        text = text.decode()
        for name in ("modelwatch_records_accepted_total", "modelwatch_spool_bytes", "modelwatch_store_lag_seconds",
                     "modelwatch_spool_backlog_bytes", "modelwatch_http_request_duration_seconds_bucket",
                     "modelwatch_build_info", "modelwatch_retention_partitions_dropped_total"):
            self.assertIn(name, text)
        # The retention worker's pass at start stamps its completion, close to now.
        last_pass = wait_for(lambda: self.daemon.metric("modelwatch_retention_last_success_timestamp_seconds"), 30,
                             "no retention pass completed")
        self.assertLess(abs(last_pass - time.time()), 600)
        status, _, _ = self.daemon.request("GET", "/v1/models")
        self.assertEqual(status, 401)
        # A model's token does not open the list of every model; a global one does.
        status, _, _ = self.daemon.request("GET", "/v1/models", headers=self.auth)
        self.assertEqual(status, 403)
        status, body, _ = self.daemon.request("GET", "/v1/models",
                                              headers={"Authorization": f"Bearer {self.admin_token}"})
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["models"][0]["name"], "elec2")


if __name__ == "__main__":
    main()
