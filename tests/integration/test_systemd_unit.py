#!/usr/bin/python3
"""The systemd unit is checked like code: it installs to FHS places, systemd
accepts it without a warning, and its sandbox stays tight.

`systemd-analyze verify` refuses a unit whose ExecStart binary does not exist,
and /usr/sbin/modelwatchd exists only on a machine where the package is
installed. So the test installs the build into a temporary prefix with
`cmake --install`, and verifies the *installed* unit with one change only: the
ExecStart binary path points into that prefix. To show that nothing else is
hidden by the rewrite, the unmodified unit is verified too and its only
complaint must be the missing /usr/sbin/modelwatchd.

Needs: MODELWATCH_BUILD_DIR with modelwatchd and modelwatch built, systemd-analyze.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

SOURCE_DIR = os.environ.get("MODELWATCH_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
BUILD_DIR = os.environ["MODELWATCH_BUILD_DIR"]
UNIT_NAME = "modelwatchd.service"
UNIT_SOURCE = os.path.join(SOURCE_DIR, "systemd", UNIT_NAME)
INSTALLED_EXEC = "/usr/sbin/modelwatchd"
EXEC_START = INSTALLED_EXEC + " --config /etc/modelwatch/modelwatch.yaml"
MAX_EXPOSURE = 2.0

failures = []


def check(condition, message):
    if condition:
        print(f"ok: {message}")
    else:
        print(f"FAIL: {message}")
        failures.append(message)


def run(argv):
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    return result.returncode, result.stdout, result.stderr


def service_settings(unit_text):
    """The [Service] section as a list of (key, value), comments dropped."""
    settings = []
    section = None
    for raw in unit_text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or line.startswith(";"):
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[Service]":
            key, _, value = line.partition("=")
            settings.append((key.strip(), value.strip()))
    return settings


def check_unit_text(unit_text):
    settings = service_settings(unit_text)
    values = {}
    for key, value in settings:
        values.setdefault(key, []).append(value)

    def one(key):
        return values.get(key, [None])[-1]

    check(one("Type") == "notify", "Type=notify")
    check(one("NotifyAccess") == "main", "NotifyAccess=main")
    check(one("WatchdogSec") == "30s", "WatchdogSec=30s")
    check(one("ExecStart") == EXEC_START, f"ExecStart={EXEC_START}")
    check(one("ExecReload") == "/bin/kill -HUP $MAINPID", "ExecReload sends SIGHUP to the main pid")
    check(one("Restart") == "on-failure", "Restart=on-failure")
    check(one("TimeoutStopSec") not in (None, "infinity", "0"), "TimeoutStopSec is bounded")
    check_stop_budget(one("TimeoutStopSec"))
    check(one("DynamicUser") == "yes", "DynamicUser=yes")
    check(one("StateDirectory") == "modelwatch", "StateDirectory=modelwatch (Config::state_dir /var/lib/modelwatch)")
    check(one("CapabilityBoundingSet") == "", "CapabilityBoundingSet is empty")
    check(one("ProtectSystem") == "strict", "ProtectSystem=strict")
    limit = one("LimitNOFILE")
    check(limit is not None and limit.isdigit() and int(limit) >= 65536, "LimitNOFILE allows many connections")

    # Every hardening directive carries a comment saying why: the line above a
    # sandboxing setting is a comment (or another setting of the same block
    # that shares one comment, like AmbientCapabilities after CapabilityBoundingSet).
    lines = unit_text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("# --- Sandboxing"))
    for i in range(start + 1, len(lines)):
        line = lines[i]
        if not line or line.startswith("#") or line.startswith("["):
            if line.startswith("["):
                break
            continue
        previous = lines[i - 1]
        check(previous.startswith("#") or previous.split("=")[0] in ("CapabilityBoundingSet", "SystemCallFilter"),
              f"'{line}' has a comment saying why")


def seconds(text):
    """'60s', '1min', '90' (systemd time spans as used here) or '30s', '500ms' (YAML durations)."""
    match = re.fullmatch(r"([0-9]+)\s*(ms|s|min|m)?", text.strip())
    if not match:
        return None
    value, unit = int(match.group(1)), match.group(2) or "s"
    return value / 1000 if unit == "ms" else value * 60 if unit in ("min", "m") else value


def check_stop_budget(timeout_stop):
    """The daemon's own stop bounds with the default spool.stop_drain_timeout
    fit in TimeoutStopSec with a margin, so systemctl stop never needs SIGKILL."""
    with open(os.path.join(SOURCE_DIR, "daemon", "daemon.cpp")) as f:
        daemon_source = f.read()
    fixed = 0
    for name in ("request_drain_timeout", "worker_stop_timeout"):
        match = re.search(r"constexpr auto " + name + r" = std::chrono::seconds\(([0-9]+)\)", daemon_source)
        check(match is not None, f"daemon.cpp declares {name} in seconds")
        fixed += int(match.group(1)) if match else 0
    with open(os.path.join(SOURCE_DIR, "config", "modelwatch.yaml")) as f:
        match = re.search(r"^\s+stop_drain_timeout:\s*(\S+)", f.read(), re.M)
    check(match is not None, "config/modelwatch.yaml documents spool.stop_drain_timeout")
    drain = seconds(match.group(1)) if match else None
    stop = seconds(timeout_stop or "")
    if drain is not None and stop is not None:
        budget = fixed + drain
        print(f"stop budget: {fixed}s fixed + {drain}s drain = {budget}s; TimeoutStopSec={stop}s")
        check(stop >= budget + 10, f"TimeoutStopSec ({stop}s) covers the stop budget ({budget}s) with 10s to spare")


def install_into(prefix):
    code, out, err = run(["cmake", "--install", BUILD_DIR, "--prefix", prefix])
    check(code == 0, f"cmake --install --prefix {prefix} succeeds")
    if code != 0:
        print(out, err)
    expected = ["sbin/modelwatchd", "bin/modelwatch", "lib/systemd/system/" + UNIT_NAME]
    if os.path.exists(os.path.join(SOURCE_DIR, "config", "modelwatch.yaml")):
        expected.append("etc/modelwatch/modelwatch.yaml")
    else:
        print("note: config/modelwatch.yaml is not written yet; its install location is not checked")
    for relative in expected:
        check(os.path.isfile(os.path.join(prefix, relative)), f"installed {relative}")
    for relative in ("sbin/modelwatchd", "bin/modelwatch"):
        check(os.access(os.path.join(prefix, relative), os.X_OK), f"{relative} is executable")
    installed_unit = os.path.join(prefix, "lib/systemd/system", UNIT_NAME)
    if os.path.isfile(installed_unit):
        with open(installed_unit) as installed, open(UNIT_SOURCE) as source:
            check(installed.read() == source.read(), "the installed unit is the source unit unchanged")
    return installed_unit


def verify(unit_path):
    return run(["systemd-analyze", "verify", "--man=no", unit_path])


def main():
    if shutil.which("systemd-analyze") is None:
        print("FAIL: systemd-analyze not found (Debian package systemd)")
        return 1
    with open(UNIT_SOURCE) as f:
        unit_text = f.read()
    check_unit_text(unit_text)

    with tempfile.TemporaryDirectory(prefix="modelwatch-unit-") as tmp:
        prefix = os.path.join(tmp, "prefix")
        installed_unit = install_into(prefix)

        # The installed unit with its binary path pointing into the prefix.
        verify_dir = os.path.join(tmp, "verify")
        os.mkdir(verify_dir)
        rewritten_unit = os.path.join(verify_dir, UNIT_NAME)
        installed_exec = os.path.join(prefix, "sbin/modelwatchd")
        rewritten = unit_text.replace("ExecStart=" + INSTALLED_EXEC + " ", "ExecStart=" + installed_exec + " ")
        check(rewritten.count(installed_exec) == 1, "exactly one ExecStart path rewritten")
        with open(rewritten_unit, "w") as f:
            f.write(rewritten)
        code, out, err = verify(rewritten_unit)
        check(code == 0 and out.strip() == "" and err.strip() == "",
              f"systemd-analyze verify accepts the unit without a warning (rc={code} out={out!r} err={err!r})")

        # The unit as shipped: its only complaint may be the absent binary.
        if not os.path.exists(INSTALLED_EXEC):
            code, out, err = verify(installed_unit if os.path.isfile(installed_unit) else UNIT_SOURCE)
            complaints = [line for line in (out + err).splitlines() if line.strip()]
            check(code != 0 and len(complaints) == 1 and INSTALLED_EXEC in complaints[0]
                  and "not executable" in complaints[0],
                  f"the shipped unit's only complaint is the missing {INSTALLED_EXEC}: {complaints}")

        code, out, err = run(["systemd-analyze", "security", "--offline=true", rewritten_unit])
        match = re.search(r"Overall exposure level for " + re.escape(UNIT_NAME) + r":\s*([0-9]+(?:\.[0-9]+)?)", out)
        check(match is not None, "systemd-analyze security prints an overall exposure level")
        if match:
            score = float(match.group(1))
            print(f"exposure score: {score}")
            check(score < MAX_EXPOSURE, f"exposure {score} < {MAX_EXPOSURE}")
        else:
            print(out, err)

    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
