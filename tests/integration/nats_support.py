"""Debian's nats-server with JetStream, and a small NATS client speaking the
text protocol (https://docs.nats.io/reference/reference-protocols/nats-protocol)
over a socket, enough to create a stream, publish with JetStream's
acknowledgements and read a consumer's state. Real processes, no mocks: the
daemon under test talks to the same server with nats.c.

Used by tests/integration/test_nats_ingest.py and bench/nats_bench.py."""

import json
import os
import socket
import subprocess
import time

NATS_SERVER = "/usr/sbin/nats-server"


class NatsServer:
    """nats-server -js on 127.0.0.1 with file storage in `directory`, so a
    restart keeps streams, consumers and their positions."""

    def __init__(self, directory, port, user="mw", password="nats-secret"):
        self.directory = directory
        self.port = port
        self.user = user
        self.password = password
        self.process = None
        os.makedirs(directory, exist_ok=True)

    @property
    def url(self):
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout=20):
        log = open(os.path.join(self.directory, "nats-server.log"), "a")
        self.process = subprocess.Popen(
            [NATS_SERVER, "-js", "-sd", os.path.join(self.directory, "js"), "-a", "127.0.0.1", "-p", str(self.port),
             "--user", self.user, "--pass", self.password],
            stdout=log, stderr=log)
        log.close()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nats-server exited with {self.process.returncode}: {self.log()[-2000:]}")
            try:
                with self.client() as client:
                    client.request("$JS.API.INFO", b"")
                return self
            except (OSError, NatsError):
                time.sleep(0.1)
        raise RuntimeError("nats-server did not start: " + self.log()[-2000:])

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)

    def kill(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def log(self):
        with open(os.path.join(self.directory, "nats-server.log")) as f:
            return f.read()

    def client(self):
        return NatsClient("127.0.0.1", self.port, self.user, self.password)


class NatsError(Exception):
    pass


class NatsClient:
    """One connection; requests and JetStream publishes are answered on a
    private inbox subscription."""

    def __init__(self, host, port, user=None, password=None, timeout=10):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buffer = b""
        self.next_reply = 0
        info = self._line()
        if not info.startswith(b"INFO "):
            raise NatsError(f"unexpected greeting {info!r}")
        connect = {"verbose": False, "pedantic": False, "headers": False, "name": "modelwatch-test"}
        if user:
            connect.update({"user": user, "pass": password})
        self.sock.sendall(b"CONNECT " + json.dumps(connect).encode() + b"\r\nPING\r\n")
        self._expect_pong()
        self.inbox = f"_INBOX.mwtest.{os.getpid()}.{id(self)}"
        self.sock.sendall(f"SUB {self.inbox}.* 1\r\n".encode())

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def _fill(self):
        data = self.sock.recv(1 << 16)
        if not data:
            raise NatsError("connection closed by the server")
        self.buffer += data

    def _line(self):
        while b"\r\n" not in self.buffer:
            self._fill()
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def _expect_pong(self):
        while True:
            line = self._line()
            if line == b"PONG":
                return
            if line.startswith(b"-ERR"):
                raise NatsError(line.decode())
            if line == b"PING":
                self.sock.sendall(b"PONG\r\n")

    def _next_message(self):
        """(subject, payload) of the next MSG, answering PINGs on the way."""
        while True:
            line = self._line()
            if line == b"PING":
                self.sock.sendall(b"PONG\r\n")
                continue
            if line.startswith(b"-ERR"):
                raise NatsError(line.decode())
            if line.startswith(b"MSG "):
                parts = line.split()
                size = int(parts[-1])
                while len(self.buffer) < size + 2:
                    self._fill()
                payload, self.buffer = self.buffer[:size], self.buffer[size + 2:]
                return parts[1].decode(), payload

    def publish_many(self, subject_payloads):
        """Publishes every (subject, bytes) with a reply inbox, then waits for
        every answer; returns the answers (JetStream's PubAcks) in order."""
        first = self.next_reply
        chunk = []
        for subject, payload in subject_payloads:
            reply = f"{self.inbox}.{self.next_reply}"
            self.next_reply += 1
            chunk.append(f"PUB {subject} {reply} {len(payload)}\r\n".encode() + payload + b"\r\n")
            if len(chunk) >= 256:
                self.sock.sendall(b"".join(chunk))
                chunk = []
        if chunk:
            self.sock.sendall(b"".join(chunk))
        answers = {}
        while len(answers) < self.next_reply - first:
            subject, payload = self._next_message()
            answers[int(subject.rsplit(".", 1)[1])] = json.loads(payload) if payload else {}
        return [answers[i] for i in range(first, self.next_reply)]

    def publish(self, subject, payload):
        """A JetStream publish; returns the stream sequence."""
        answer = self.publish_many([(subject, payload)])[0]
        if "error" in answer:
            raise NatsError(answer["error"])
        return answer["seq"]

    def request(self, subject, payload):
        answer = self.publish_many([(subject, payload if isinstance(payload, bytes) else payload.encode())])[0]
        if isinstance(answer, dict) and "error" in answer:
            raise NatsError(answer["error"])
        return answer

    def add_stream(self, name, subjects):
        config = {"name": name, "subjects": subjects, "storage": "file", "retention": "limits",
                  "num_replicas": 1}
        return self.request(f"$JS.API.STREAM.CREATE.{name}", json.dumps(config))

    def consumer_info(self, stream, consumer):
        return self.request(f"$JS.API.CONSUMER.INFO.{stream}.{consumer}", b"")

    def stream_info(self, stream):
        return self.request(f"$JS.API.STREAM.INFO.{stream}", b"")
