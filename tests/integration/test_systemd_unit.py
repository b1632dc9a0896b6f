#!/usr/bin/python3
"""The systemd unit is checked like code: it installs to FHS places with the
paths of the install's prefix, systemd accepts it without a warning, and its
sandbox stays tight.

`cmake --install` writes the unit from systemd/modelwatchd.service.in with the
prefix's paths. The test installs the build twice: into a temporary prefix,
whose unit must run that prefix's binary and configuration and is verified
as installed (its binary exists); and with DESTDIR for the /usr prefix (the
package's layout: /lib/systemd/system, /etc/modelwatch), whose unit must run
/usr/sbin/modelwatchd with /etc/modelwatch/modelwatch.yaml and whose only
complaint from `systemd-analyze verify` may be that /usr/sbin/modelwatchd is
missing (tests/integration/test_package.py verifies it installed).

Needs: MODELWATCH_BUILD_DIR with modelwatchd and modelwatch built, systemd-analyze.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

import harness

SOURCE_DIR = harness.SOURCE_DIR
BUILD_DIR = harness.BUILD_DIR
UNIT_NAME = "modelwatchd.service"
INSTALLED_EXEC = "/usr/sbin/modelwatchd"
EXEC_START = INSTALLED_EXEC + " --config /etc/modelwatch/modelwatch.yaml"
MAX_EXPOSURE = 2.0

check = harness.Checks()


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
    # The budget as the daemon computes it (stop_budget): the fixed steps' sum plus the drain time.
    check(re.search(r"return fixed_stop_steps \+ std::chrono::milliseconds\(config\.spool\.stop_drain_timeout_ms\);",
                    daemon_source) is not None, "daemon.cpp's stop budget is fixed_stop_steps + spool.stop_drain_timeout")
    steps = re.search(r"constexpr auto fixed_stop_steps = ([a-z_ +]+);", daemon_source)
    check(steps is not None, "daemon.cpp sums the fixed stop steps in fixed_stop_steps")
    fixed = 0
    for name in (n.strip() for n in steps.group(1).split("+")) if steps else ():
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


def exec_start(unit_text):
    return dict(service_settings(unit_text)).get("ExecStart")


def install_into(prefix, destdir=None):
    """cmake --install into `prefix` (under `destdir` when given); returns the
    root the files landed in."""
    env = dict(os.environ)
    if destdir:
        env["DESTDIR"] = destdir
    result = subprocess.run(["cmake", "--install", BUILD_DIR, "--prefix", prefix], capture_output=True, text=True,
                            timeout=120, env=env)
    check(result.returncode == 0, f"cmake --install --prefix {prefix}{' with DESTDIR' if destdir else ''} succeeds")
    if result.returncode != 0:
        print(result.stdout, result.stderr)
    return destdir + prefix if destdir else prefix


def check_prefix_install(prefix):
    expected = ["sbin/modelwatchd", "bin/modelwatch", "lib/systemd/system/" + UNIT_NAME,
                "etc/modelwatch/modelwatch.yaml", "share/man/man8/modelwatchd.8.gz", "share/man/man1/modelwatch.1.gz",
                "share/bash-completion/completions/modelwatch", "share/doc/modelwatch/modelwatch.yaml.reference"]
    for relative in expected:
        check(os.path.isfile(os.path.join(prefix, relative)), f"installed {relative}")
    for relative in ("sbin/modelwatchd", "bin/modelwatch"):
        check(os.access(os.path.join(prefix, relative), os.X_OK), f"{relative} is executable")
    installed_unit = os.path.join(prefix, "lib/systemd/system", UNIT_NAME)
    with open(installed_unit) as f:
        text = f.read()
    want = f"{prefix}/sbin/modelwatchd --config {prefix}/etc/modelwatch/modelwatch.yaml"
    check(exec_start(text) == want, f"the unit installed with --prefix runs that prefix's files: {exec_start(text)}")
    check(f"EnvironmentFile=-{prefix}/etc/modelwatch/modelwatch.env" in text,
          "the unit's environment file is under the prefix")
    check("@" + "MODELWATCH" not in text, "no placeholder is left in the installed unit")
    return installed_unit


def verify(unit_path):
    return run(["systemd-analyze", "verify", "--man=no", unit_path])


def main():
    if shutil.which("systemd-analyze") is None:
        print("FAIL: systemd-analyze not found (Debian package systemd)")
        return 1
    with tempfile.TemporaryDirectory(prefix="modelwatch-unit-") as tmp:
        # The package's layout: the /usr prefix puts the unit in
        # /lib/systemd/system and the configuration in /etc.
        destdir = os.path.join(tmp, "destdir")
        install_into("/usr", destdir)
        usr_unit = os.path.join(destdir, "lib/systemd/system", UNIT_NAME)
        check(os.path.isfile(usr_unit), "with --prefix /usr the unit goes to /lib/systemd/system")
        check(os.path.isfile(os.path.join(destdir, "etc/modelwatch/modelwatch.yaml")),
              "with --prefix /usr the configuration goes to /etc/modelwatch")
        with open(usr_unit) as f:
            unit_text = f.read()
        check_unit_text(unit_text)

        prefix = os.path.join(tmp, "prefix")
        install_into(prefix)
        installed_unit = check_prefix_install(prefix)
        code, out, err = verify(installed_unit)
        check(code == 0 and out.strip() == "" and err.strip() == "",
              f"systemd-analyze verify accepts the installed unit without a warning (rc={code} out={out!r} err={err!r})")

        # The /usr unit: its only complaint may be the absent binary.
        if not os.path.exists(INSTALLED_EXEC):
            code, out, err = verify(usr_unit)
            complaints = [line for line in (out + err).splitlines() if line.strip()]
            check(code != 0 and len(complaints) == 1 and INSTALLED_EXEC in complaints[0]
                  and "not executable" in complaints[0],
                  f"the /usr unit's only complaint is the missing {INSTALLED_EXEC}: {complaints}")

        code, out, err = run(["systemd-analyze", "security", "--offline=true", installed_unit])
        match = re.search(r"Overall exposure level for " + re.escape(UNIT_NAME) + r":\s*([0-9]+(?:\.[0-9]+)?)", out)
        check(match is not None, "systemd-analyze security prints an overall exposure level")
        if match:
            score = float(match.group(1))
            print(f"exposure score: {score}")
            check(score < MAX_EXPOSURE, f"exposure {score} < {MAX_EXPOSURE}")
        else:
            print(out, err)

    return check.exit_status()


if __name__ == "__main__":
    sys.exit(main())
