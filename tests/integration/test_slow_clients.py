"""Slow and hostile clients must not stop ingest (issue 12, item 3).

SlowClients: 8, 50 and 200 attackers, half trickling their headers and half
a body declared at 32 MiB, one byte every 3 s, each from its own loopback
address (reconnecting when cut off), while a healthy client ingests over a
kept-alive connection: every healthy request must succeed and its p99
latency stay under 100 ms. The daemon runs with the default server limits.
Each phase lasts MODELWATCH_SLOW_CLIENT_SECONDS (default 12; the issue's
figure is 60).

HostileRequests: raw sockets against a daemon with tight limits: 408 for
headers or bodies that are too slow or too late, 400 for conflicting
Content-Length / Transfer-Encoding, a malformed request line, obs-fold and a
missing Host; 429 past the per-client caps, 503 past max_connections; an idle
kept-alive connection is closed without an answer."""

import asyncio
import http.client
import json
import multiprocessing
import os
import socket
import time

from harness import Daemon, Environment, main, prediction, wait_for

PHASE_SECONDS = float(os.environ.get("MODELWATCH_SLOW_CLIENT_SECONDS", "12"))
PATH = "/v1/models/elec2/predictions"


def attacker_address(i):
    # 127.0.0.0/8 is all loopback on Linux: one source address per attacker,
    # as from many hosts. The healthy client stays on 127.0.0.1.
    return f"127.1.{i // 250}.{i % 250 + 1}"


async def attack(port, count, seconds, stats):
    stop_at = time.monotonic() + seconds

    async def one(i):
        slow_body = i % 2 == 1
        if slow_body:
            # 100 bytes of the body at once (more than a string holds without allocating), then the trickle.
            head = (f"POST {PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {32 << 20}\r\n\r\n[" + " " * 99).encode()
        else:
            head = f"POST {PATH} HTTP/1.1\r\nHost: x\r\nX-Slow: ".encode()
        await asyncio.sleep(i * 0.005)  # spread the connects a little
        while time.monotonic() < stop_at:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection("127.0.0.1", port, local_addr=(attacker_address(i), 0)), 5)
            except (OSError, asyncio.TimeoutError):
                stats["connect_failed"] += 1
                await asyncio.sleep(0.5)
                continue
            stats["connections"] += 1
            answer = None
            try:
                writer.write(head)
                read = asyncio.ensure_future(reader.read(4096))
                while time.monotonic() < stop_at:
                    done, _ = await asyncio.wait({read}, timeout=min(3.0, max(0.01, stop_at - time.monotonic())))
                    if done:
                        answer = read.result()
                        break
                    if time.monotonic() < stop_at:
                        writer.write(b"x")  # one byte every 3 s
                        await writer.drain()
                if not read.done():
                    read.cancel()
            except (OSError, asyncio.IncompleteReadError):
                answer = b""
            if answer is not None:
                key = "closed_silently" if not answer else "status_" + answer.split(b" ", 2)[1].decode()
                stats[key] = stats.get(key, 0) + 1
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass

    await asyncio.gather(*(one(i) for i in range(count)))


def attacker_process(port, count, seconds, results):
    stats = {"connections": 0, "connect_failed": 0}
    asyncio.run(attack(port, count, seconds, stats))
    results.put(stats)


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class SlowClients(Environment):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        directory = os.path.join(cls.tmp, "slow")
        os.makedirs(directory)
        cls.daemon = Daemon(directory, cls.pg.dsn)  # the default server limits
        cls.daemon.start()
        cls.daemon.wait_ready()
        cls.figures = []

    @classmethod
    def tearDownClass(cls):
        for line in cls.figures:
            print(line)
        cls.daemon.terminate()
        super().tearDownClass()

    def healthy_ingest(self, seconds, prefix, during=None):
        """Posts 20 records every 10 ms over one kept-alive connection for
        `seconds`; returns the latencies (s) and the failures. `during` is
        called once, halfway."""
        latencies, failures = [], []
        conn = http.client.HTTPConnection("127.0.0.1", self.daemon.port, timeout=10)
        start = time.monotonic()
        next_at = start
        sent = 0
        called = False
        while time.monotonic() - start < seconds:
            if during and not called and time.monotonic() - start > seconds / 2:
                during()
                called = True
            records = [prediction(sent * 20 + k, id=f"{prefix}-{sent}-{k}") for k in range(20)]
            body = json.dumps(records)
            began = time.monotonic()
            try:
                conn.request("POST", PATH, body=body, headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                data = response.read()
                elapsed = time.monotonic() - began
                if response.status == 200 and json.loads(data)["accepted"] == 20:
                    latencies.append(elapsed)
                else:
                    failures.append((response.status, data[:200]))
            except (OSError, http.client.HTTPException) as error:
                failures.append(("error", repr(error)))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.daemon.port, timeout=10)
            sent += 1
            next_at += 0.010
            pause = next_at - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            else:
                next_at = time.monotonic()
        conn.close()
        return latencies, failures

    def run_phase(self, attackers, seconds=PHASE_SECONDS):
        prefix = f"healthy{attackers}"
        closed_before = {reason: self.daemon.metric(f'modelwatch_http_connections_closed_total{{reason="{reason}"}}')
                         for reason in ("header_timeout", "header_too_slow", "body_too_slow", "body_timeout")}
        results = multiprocessing.Queue()
        process = None
        if attackers:
            process = multiprocessing.Process(target=attacker_process,
                                              args=(self.daemon.port, attackers, PHASE_SECONDS + 1, results))
            process.start()
            # The attack is in place before the healthy client is measured.
            wait_for(lambda: (self.daemon.metric("modelwatch_http_open_connections") or 0) >= attackers, 20,
                     f"{attackers} attackers did not connect")
        sample = {}

        def look():
            sample["open"] = self.daemon.metric("modelwatch_http_open_connections")
            sample["body_bytes"] = self.daemon.metric("modelwatch_http_body_bytes_in_flight")

        latencies, failures = self.healthy_ingest(seconds, prefix, during=look)
        stats = {}
        if process:
            stats = results.get(timeout=60)
            process.join(timeout=30)
        closed_after = {reason: self.daemon.metric(f'modelwatch_http_connections_closed_total{{reason="{reason}"}}')
                        for reason in closed_before}
        cut = {reason: int(closed_after[reason] - closed_before[reason]) for reason in closed_before}
        p50, p99 = percentile(latencies, 0.50) * 1000, percentile(latencies, 0.99) * 1000
        self.figures.append(
            f"slow_clients attackers={attackers} seconds={seconds:g} healthy_requests={len(latencies)} "
            f"failures={len(failures)} p50_ms={p50:.1f} p99_ms={p99:.1f} max_ms={max(latencies) * 1000:.1f} "
            f"open_connections_mid={sample.get('open')} body_bytes_in_flight_mid={sample.get('body_bytes')} "
            f"attacker_stats={stats} cut={cut}")
        self.assertEqual(failures[:5], [], f"healthy requests failed with {attackers} attackers")
        # Paced at 100 per second, sequential: a loaded machine slows the client
        # itself, so this only makes sure the p99 rests on enough requests.
        self.assertGreater(len(latencies), seconds * 20)
        self.assertLess(p99, 100.0, self.figures[-1])
        if attackers:
            # Cut-off attackers reconnect at once, so nearly all are connected at any time.
            self.assertGreaterEqual(sample["open"], attackers * 0.9, self.figures[-1])
            # Bodies are charged as bytes arrive: the 32 MiB declarations hold one small piece each
            # (4 KiB), where they used to reserve 32 MiB each and eight took the whole budget.
            self.assertGreaterEqual(sample["body_bytes"], attackers // 2 * 4096 // 2, self.figures[-1])
            self.assertLess(sample["body_bytes"], attackers // 2 * 4096 + (1 << 20), self.figures[-1])
            self.assertEqual(stats.get("closed_silently", 0), 0, stats)
            self.assertEqual({k for k in stats if k.startswith("status_")} - {"status_408"}, set(), stats)
            if PHASE_SECONDS >= 11:
                # Cut off after grace and one window (5 s + 5 s) or the 10 s header timeout, answered 408.
                self.assertGreaterEqual(stats.get("status_408", 0), attackers, stats)
                self.assertGreaterEqual(cut["header_timeout"] + cut["header_too_slow"], attackers // 2, cut)
                self.assertGreaterEqual(cut["body_too_slow"], attackers // 2, cut)
        return len(latencies) * 20

    def test_healthy_ingest_goes_on_under_slow_attackers(self):
        acknowledged = self.run_phase(0, seconds=min(PHASE_SECONDS, 4))  # the baseline, for the figures
        for attackers in (8, 50, 200):
            acknowledged += self.run_phase(attackers)
        self.daemon.wait_drained()
        stored = self.pg.scalar("SELECT count(*) FROM predictions WHERE id LIKE 'healthy%%'")
        self.assertEqual(stored, acknowledged)


def raw(port, data, source="127.0.0.1", timeout=10):
    s = socket.socket()
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    s.settimeout(timeout)
    if data:
        s.sendall(data)
    return s


def read_all(s, limit=10):
    """Everything until the daemon closes (within `limit` s), and how long that took."""
    started = time.monotonic()
    data = b""
    s.settimeout(limit)
    while True:
        try:
            chunk = s.recv(4096)
        except socket.timeout:
            break
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data, time.monotonic() - started


class HostileRequests(Environment):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        directory = os.path.join(cls.tmp, "hostile")
        os.makedirs(directory)
        cls.daemon = Daemon(directory, cls.pg.dsn)
        with open(cls.daemon.config_path) as f:
            text = f.read()
        text = text.replace("server:\n", "server:\n  header_timeout: 3s\n  body_timeout: 4s\n  idle_timeout: 1s\n"
                                          "  receive_rate_grace: 500ms\n  receive_rate_window: 500ms\n"
                                          "  min_receive_bytes_per_second: 1KiB\n  max_connections: 24\n"
                                          "  max_connections_per_client: 6\n  max_bodies_per_client: 2\n", 1)
        with open(cls.daemon.config_path, "w") as f:
            f.write(text)
        cls.daemon.start()
        cls.daemon.wait_ready()

    @classmethod
    def tearDownClass(cls):
        cls.daemon.terminate()
        super().tearDownClass()

    def setUp(self):
        # Lingering closes of the last test end within 2 s; the probe itself is one connection.
        wait_for(lambda: self.daemon.metric("modelwatch_http_open_connections") <= 1, 10,
                 "connections of the previous test still open")

    def closed(self, reason):
        return self.daemon.metric(f'modelwatch_http_connections_closed_total{{reason="{reason}"}}')

    def assert_closed(self, reason, expected):
        # Counted when the daemon lets the connection go, a moment after the client has its answer.
        wait_for(lambda: self.closed(reason) == expected, 5,
                 f"modelwatch_http_connections_closed_total{{reason=\"{reason}\"}} did not reach {expected}")

    def assert_logged(self, text):
        wait_for(lambda: text in self.daemon.log(), 5, f"the daemon did not log {text!r}")

    def assert_answer(self, data, status, text=None):
        self.assertTrue(data.startswith(f"HTTP/1.1 {status} ".encode()), data[:300])
        self.assertIn(b"Connection: close", data)
        if text:
            self.assertIn(text.encode(), data)

    # ---- 408 -------------------------------------------------------------

    def test_headers_too_slow_get_408(self):
        before = self.closed("header_too_slow")
        s = raw(self.daemon.port, b"POST " + PATH.encode() + b" HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        for _ in range(20):  # 1 byte per 100 ms: far below 1 KiB/s
            try:
                s.sendall(b"X")
            except OSError:
                break
            time.sleep(0.1)
            s.setblocking(False)
            try:
                if s.recv(1, socket.MSG_PEEK):
                    break
            except BlockingIOError:
                pass
            finally:
                s.setblocking(True)
        data, _ = read_all(s)
        s.close()
        self.assert_answer(data, 408, "slower than 1024 bytes per second")
        # Cut after grace + one window (1 s), well before the 3 s header timeout.
        self.assertLess(time.monotonic() - started, 2.8)
        self.assert_closed("header_too_slow", before + 1)

    def test_headers_never_finished_get_408_at_the_header_timeout(self):
        before = self.closed("header_timeout")
        s = raw(self.daemon.port, b"POST " + PATH.encode() + b" HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        answered = b""
        # Fast enough for the rate (4 KiB/s) but never ending, and under the 16 KiB header limit by 3 s.
        for i in range(40):
            try:
                s.sendall(f"X-Pad-{i}: {'a' * 500}\r\n".encode())
            except OSError:
                break
            s.setblocking(False)
            try:
                answered = s.recv(4096)
            except BlockingIOError:
                pass
            finally:
                s.setblocking(True)
            if answered:
                break
            time.sleep(0.125)
        data, _ = read_all(s)
        s.close()
        self.assert_answer(answered + data, 408, "not received within 3000 ms")
        self.assertGreater(time.monotonic() - started, 2.5)
        self.assert_closed("header_timeout", before + 1)

    def test_a_silent_new_connection_gets_408(self):
        s = raw(self.daemon.port, b"")
        data, took = read_all(s)
        s.close()
        self.assert_answer(data, 408)
        self.assertLess(took, 2.8)

    def test_a_stalled_body_gets_408(self):
        before = self.closed("body_too_slow")
        s = raw(self.daemon.port, (f"POST {PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n[{{").encode())
        data, took = read_all(s)
        s.close()
        self.assert_answer(data, 408, "request body arriving slower than")
        self.assertLess(took, 2.8)
        self.assert_closed("body_too_slow", before + 1)
        self.assert_logged("http_request_too_slow client=127.0.0.1 part=body window_bytes=0 window_ms=")

    def test_a_body_past_the_body_timeout_gets_408(self):
        before = self.closed("body_timeout")
        s = raw(self.daemon.port, (f"POST {PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: {8 << 20}\r\n\r\n[").encode())
        started = time.monotonic()
        answered = b""
        while time.monotonic() - started < 8 and not answered:
            try:
                s.sendall(b" " * 2048)  # 8 KiB/s: above the rate, but 8 MiB would take 17 minutes
            except OSError:
                break
            s.setblocking(False)
            try:
                answered = s.recv(4096)
            except (BlockingIOError, ConnectionResetError):
                pass
            finally:
                s.setblocking(True)
            time.sleep(0.25)
        data, _ = read_all(s)
        s.close()
        self.assert_answer(answered + data, 408, "not received within 4000 ms")
        self.assert_closed("body_timeout", before + 1)

    def test_an_idle_kept_alive_connection_is_closed_without_an_answer(self):
        s = raw(self.daemon.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        first = s.recv(4096)
        self.assertTrue(first.startswith(b"HTTP/1.1 200"), first)
        data, took = read_all(s)
        s.close()
        self.assertEqual(data, b"")  # idle_timeout (1 s): nothing was asked, nothing is answered
        self.assertLess(took, 3)

    # ---- 400 -------------------------------------------------------------

    def bad_request(self, request, status=400, text=None):
        before = self.closed("malformed")
        s = raw(self.daemon.port, request)
        data, _ = read_all(s, limit=5)
        s.close()
        self.assert_answer(data, status, text)
        self.assert_closed("malformed", before + 1)

    def test_conflicting_content_length_and_transfer_encoding_get_400(self):
        for head in (b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
                     b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
                     b"Transfer-Encoding: gzip\r\nContent-Length: 5\r\n",
                     b"Content-Length: 5\r\nContent-Length: 7\r\n"):
            with self.subTest(head=head):
                self.bad_request(b"POST " + PATH.encode() + b" HTTP/1.1\r\nHost: x\r\n" + head + b"\r\n[]\r\n\r\n",
                                 400, "Content-Length")

    def test_transfer_encoding_without_chunked_last_gets_400(self):
        # Beast would read no body and take "[]" for the next request (a smuggling vector).
        self.bad_request(b"POST " + PATH.encode() + b" HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n[]",
                         400, "chunked as its last coding")
        self.bad_request(b"POST " + PATH.encode() + b" HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                         b"2\r\n[]\r\n0\r\n\r\n", 501, "not supported")

    def test_trailer_fields_past_the_header_limit_get_431(self):
        # Beast parses a chunked body's trailer fields only once all of them
        # are in, with no limit of their own: a megabyte of trailers was
        # buffered, then kept as a million header fields (30 MB of them made
        # one request hold 440 MB), outside the body budget.
        before = self.closed("header_too_large")
        head = (b"POST " + PATH.encode() + b" HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"2\r\n[]\r\n0\r\n")
        s = raw(self.daemon.port, head)
        try:
            s.sendall(b"X-Trailer: y\r\n" * (1 << 16) + b"\r\n")
        except OSError:
            pass  # answered and closed before everything was sent
        data, _ = read_all(s, limit=5)
        s.close()
        self.assert_answer(data, 431, "trailer")
        self.assert_closed("header_too_large", before + 1)

        # Trailers within the limit are read, and the request is answered as usual.
        s = raw(self.daemon.port, head + b"X-Checksum: 1\r\n\r\n")
        data, _ = read_all(s, limit=2)
        s.close()
        self.assertTrue(data.startswith(b"HTTP/1.1 200 "), data[:300])
        self.assertIn(b'"accepted":0', data)

    def test_malformed_request_lines_get_400(self):
        for line in (b"GET /healthz HTTP/1.1 extra\r\n", b"GET  /healthz HTTP/1.1\r\n", b"GET /healthz\r\n",
                     b"GET /healthz HTTP/9.9\r\n", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n"):
            with self.subTest(line=line):
                self.bad_request(line + b"Host: x\r\n\r\n", 400, "malformed request line")

    def test_obs_fold_gets_400(self):
        self.bad_request(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n", 400, "obsolete line folding")
        self.bad_request(b"GET /healthz HTTP/1.1\r\n Host: x\r\n\r\n", 400, "obsolete line folding")

    def test_missing_host_gets_400(self):
        self.bad_request(b"GET /healthz HTTP/1.1\r\n\r\n", 400, "Host")

    # ---- caps --------------------------------------------------------------

    def test_connections_per_client_are_capped_and_others_still_served(self):
        before = self.daemon.metric('modelwatch_http_connections_refused_total{reason="client_connections"}')
        held = [raw(self.daemon.port, b"", source="127.2.0.1") for _ in range(6)]
        time.sleep(0.1)
        extra = raw(self.daemon.port, b"", source="127.2.0.1")
        data, took = read_all(extra, limit=3)
        extra.close()
        self.assert_answer(data, 429, "127.2.0.1")
        self.assertIn(b"Retry-After: 1", data)
        self.assertLess(took, 1.0)  # answered at once, not after a timeout
        other = raw(self.daemon.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                    source="127.2.0.2")
        self.assertTrue(read_all(other)[0].startswith(b"HTTP/1.1 200"))
        other.close()
        for s in held:
            s.close()
        self.assertEqual(
            self.daemon.metric('modelwatch_http_connections_refused_total{reason="client_connections"}'), before + 1)
        self.assert_logged("http_connection_refused reason=client_connections client=127.2.0.1")

    def test_bodies_per_client_are_capped(self):
        before = self.closed("client_bodies")
        head = (f"POST {PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n[").encode()
        held = [raw(self.daemon.port, head, source="127.3.0.1") for _ in range(2)]
        time.sleep(0.1)
        third = raw(self.daemon.port, head, source="127.3.0.1")
        data, _ = read_all(third, limit=3)
        third.close()
        self.assert_answer(data, 429, "too many request bodies in flight from 127.3.0.1")
        # A request without a body from the same address is still served.
        plain = raw(self.daemon.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                    source="127.3.0.1")
        self.assertTrue(read_all(plain)[0].startswith(b"HTTP/1.1 200"))
        plain.close()
        for s in held:
            s.close()
        self.assert_closed("client_bodies", before + 1)

    def test_past_max_connections_new_connections_get_503(self):
        before = self.daemon.metric('modelwatch_http_connections_refused_total{reason="max_connections"}')
        # 24 connections from 4 addresses (6 each, the per-client cap).
        held = [raw(self.daemon.port, b"", source=f"127.4.0.{1 + i // 6}") for i in range(24)]
        time.sleep(0.2)
        extra = raw(self.daemon.port, b"", source="127.4.1.1")
        data, took = read_all(extra, limit=3)
        extra.close()
        self.assert_answer(data, 503, "too many open connections")
        self.assertIn(b"Retry-After: 1", data)
        self.assertLess(took, 1.0)
        for s in held:
            s.close()
        # Once they are gone, new connections are served again.
        wait_for(lambda: self.daemon.get("/healthz")[0] == 200, 10, "not served after the connections closed")
        self.assertGreaterEqual(
            self.daemon.metric('modelwatch_http_connections_refused_total{reason="max_connections"}'), before + 1)
        # Logged once per 10 s per reason: the pile-up test may have had the line.
        self.assert_logged("http_connection_refused reason=max_connections client=127.")

    def test_when_refusals_pile_up_accepting_pauses_and_nothing_is_dropped(self):
        # 24 connections fill max_connections; the next 64 are answered 503
        # and linger; past them the daemon stops accepting for a moment
        # instead of opening ever more sockets to refuse. The connections
        # left in the listen backlog are accepted later and answered too.
        held = [raw(self.daemon.port, b"", source=f"127.5.0.{1 + i // 6}") for i in range(24)]
        time.sleep(0.2)
        extra = [raw(self.daemon.port, b"", source=f"127.5.1.{1 + i // 4}") for i in range(80)]
        self.assert_logged("http_accept_paused open_connections=")
        answers = []
        for s in extra:
            data, _ = read_all(s, limit=8)
            answers.append(data.split(b" ", 2)[1] if data else b"none")
        for s in held + extra:
            s.close()
        self.assertGreaterEqual(answers.count(b"503"), 64, answers)
        # The last ones may find room once the held connections have been cut (408).
        self.assertEqual(set(answers) - {b"503", b"408"}, set(), answers)
        wait_for(lambda: self.daemon.get("/healthz")[0] == 200, 10, "not served after the connections closed")


if __name__ == "__main__":
    main()
