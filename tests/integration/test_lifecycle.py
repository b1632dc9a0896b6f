"""The daemon's life as a systemd service: sd_notify messages on a real
datagram socket, SIGHUP reload (a bad file keeps the old config in force),
SIGTERM drains and exits 0, --check-config lists every problem, and the
command line's flags and usage errors."""

import os
import socket
import subprocess
import time

from harness import DAEMON, Environment, main, prediction

EXTRA_MODEL = """
  - name: churn
    prediction: {type: score}
    features:
      - {name: tenure, type: numeric}
"""


class NotifySocket:
    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.messages = []

    def collect(self, until, timeout=20):
        """Reads datagrams until one contains `until`."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                message = self.sock.recv(4096).decode()
            except socket.timeout:
                continue
            self.messages.append(message)
            if until in message:
                return message
        raise AssertionError(f"no {until!r} within {timeout}s; got {self.messages}")


class Lifecycle(Environment):
    def test_notify_reload_and_stop(self):
        daemon = self.new_daemon("life")
        notify = NotifySocket(os.path.join(daemon.directory, "notify.sock"))
        self.addCleanup(notify.sock.close)
        daemon.env = {"NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "400000"}
        daemon.start(wait=False)
        notify.collect("READY=1")
        # The watchdog is pinged at half of WATCHDOG_USEC.
        notify.collect("WATCHDOG=1", timeout=5)
        daemon.wait_healthy()

        # A broken file: the reload fails, the old configuration stays in force.
        with open(daemon.config_path) as f:
            good = f.read()
        with open(daemon.config_path, "w") as f:
            f.write(good.replace("level: debug", "level: loud"))
        daemon.process.send_signal(1)  # SIGHUP
        notify.collect("RELOADING=1")
        notify.collect("READY=1")
        time.sleep(0.2)
        self.assertIn("config_reload_failed", daemon.log())
        self.assertIn("log.level", daemon.log())
        self.assertEqual(daemon.metric('modelwatch_config_reloads_total{result="failure"}'), 1)
        status, _, _ = daemon.post("/v1/models/elec2/predictions", [prediction(1, id="life-1")])
        self.assertEqual(status, 200)
        status, _, _ = daemon.post("/v1/models/churn/predictions", [{"id": "c-1", "prediction": 0.3, "features": {}}])
        self.assertEqual(status, 404)

        # A good file adding a model: after SIGHUP the new model is served.
        with open(daemon.config_path, "w") as f:
            f.write(good + EXTRA_MODEL)
        daemon.process.send_signal(1)
        notify.collect("RELOADING=1")
        notify.collect("READY=1")
        deadline = time.time() + 5
        while time.time() < deadline:
            status, _, _ = daemon.post("/v1/models/churn/predictions",
                                       [{"id": "c-1", "prediction": 0.3, "features": {"tenure": 3}}])
            if status == 200:
                break
            time.sleep(0.05)
        self.assertEqual(status, 200)
        self.assertEqual(daemon.metric('modelwatch_config_reloads_total{result="success"}'), 1)

        # SIGTERM: STOPPING=1, everything acknowledged stored, exit 0 in bounded time.
        started = time.time()
        daemon.process.send_signal(15)
        notify.collect("STOPPING=1")
        self.assertEqual(daemon.process.wait(timeout=30), 0)
        self.assertLess(time.time() - started, 20)
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM predictions WHERE id IN ('life-1', 'c-1')"), 2)
        log = daemon.log()
        self.assertIn("stopped drained=true", log)
        # Not a terminal: every line carries a journald priority prefix.
        for line in log.strip().splitlines():
            self.assertRegex(line, r"^<[3-7]>[a-z_]+")

    def test_check_config_lists_every_problem(self):
        path = os.path.join(self.tmp, "bad.yaml")
        with open(path, "w") as f:
            f.write("server:\n  listen: \"127.0.0.1:notaport\"\n  max_bodybytes: 1MiB\n"
                    "store:\n  dsn: \"host=/tmp\"\nmodels:\n  - name: m\n    prediction: {type: binary}\n"
                    "    features:\n      - {name: a, type: float}\n")
        result = subprocess.run([DAEMON, "--check-config", path], capture_output=True, text=True)
        self.assertEqual(result.returncode, 1)
        problems = result.stderr.strip().splitlines()
        self.assertGreaterEqual(len(problems), 3, result.stderr)
        self.assertTrue(any("server.listen (line 2)" in p for p in problems), result.stderr)
        self.assertTrue(any("max_bodybytes (line 3)" in p and "max_body_bytes" in p for p in problems), result.stderr)
        self.assertTrue(any("models[0].features[0].type (line 10)" in p for p in problems), result.stderr)

    def test_command_line(self):
        """modelwatchd's flags through the shared parser (core/command_line.h): --version,
        -h, --flag=value, and usage errors (exit 2) that name the flag."""
        def run(*args):
            return subprocess.run([DAEMON, *args], capture_output=True, text=True, timeout=30)
        version = run("--version")
        self.assertEqual((version.returncode, version.stdout.split()[0]), (0, "modelwatchd"), version.stderr)
        self.assertRegex(version.stdout, r"^modelwatchd \d+\.\d+\.\d+\n$")
        for flag in ("-h", "--help"):
            usage = run(flag)
            self.assertEqual(usage.returncode, 0)
            self.assertTrue(usage.stdout.startswith("usage: modelwatchd --config FILE"), usage.stdout)
        path = os.path.join(self.tmp, "bad-flags.yaml")
        with open(path, "w") as f:
            f.write("server:\n  listen: \"127.0.0.1:notaport\"\n")
        joined = run("--check-config=" + path)
        self.assertEqual(joined.returncode, 1)
        self.assertIn("server.listen (line 2)", joined.stderr)
        for args, named in ((["--bogus"], "unknown option '--bogus'"),
                            (["--config"], "--config needs a value (FILE)"),
                            (["--version=1"], "--version takes no value"),
                            (["--version", "--check-config", path], "give one flag only"),
                            ([], "give one of the flags"),
                            (["extra"], "unexpected argument 'extra'")):
            result = run(*args)
            self.assertEqual(result.returncode, 2, args)
            self.assertIn(named, result.stderr, args)

    def test_unreachable_postgres_at_start_is_not_fatal(self):
        daemon = self.new_daemon("nopg")
        daemon.write_config("host=/nonexistent port=1 dbname=x")
        daemon.start()
        status, _, _ = daemon.post("/v1/models/elec2/predictions", [prediction(1, id="nopg-1")])
        self.assertEqual(status, 200)
        self.assertEqual(daemon.get("/readyz")[0], 503)
        self.assertEqual(daemon.terminate(), 0)
        # The record waits in the spool; pointed at the real database, it lands.
        daemon.write_config(self.pg.dsn)
        daemon.start()
        daemon.wait_drained()
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM predictions WHERE id='nopg-1'"), 1)


if __name__ == "__main__":
    main()
