#!/usr/bin/python3
"""Runs one integration test script (ctest's command for integration.<name>)
and fails it on any sanitizer report of a program it started.

When the integration tests run against a sanitizer build's programs
(MODELWATCH_SANITIZE=ON: ASan+UBSan; the test command's release build has
none, and there this runner only passes the exit status on; bench/RESULTS.md,
"The test command's time", session 12). Each program the script starts
(modelwatchd, modelwatch, the Elec2 example's programs, the packaged daemon)
inherits ASAN_OPTIONS and UBSAN_OPTIONS with log_path in a directory of this
run's own, so every report of AddressSanitizer, LeakSanitizer or
UndefinedBehaviorSanitizer lands in a file there, whichever process wrote it
and whether or not the script looked at its exit status or its log (a daemon
ended with SIGKILL by a test's cleanup writes none; one stopped with SIGTERM
writes its leaks). After the script, any such file fails the test and is
printed; otherwise the script's exit status is the test's (77: skipped).
In a build without sanitizers nothing writes there.

Usage: run_test.py SCRIPT [ARGS...]
"""

import os
import shutil
import subprocess
import sys
import tempfile


def with_option(variable, options):
    """The environment variable's value with `options` appended (the
    sanitizers take the last value of an option)."""
    given = os.environ.get(variable, "")
    return f"{given}:{options}" if given else options


def main():
    if len(sys.argv) < 2:
        print("usage: run_test.py SCRIPT [ARGS...]", file=sys.stderr)
        return 2
    reports = tempfile.mkdtemp(prefix="mw-sanitizer-reports-")
    # The package test's daemon runs as root and its PostgreSQL as postgres:
    # any user may write a report here (the directory's files are read once).
    os.chmod(reports, 0o1777)
    env = dict(os.environ)
    # print_suppressions=0: a leak suppressed on purpose (libpq's, see
    # tests/support/lsan_suppressions.cpp) writes no "Suppressions used" table,
    # so an empty directory means no report.
    env["ASAN_OPTIONS"] = with_option("ASAN_OPTIONS", f"log_path={reports}/asan:print_suppressions=0")
    env["UBSAN_OPTIONS"] = with_option("UBSAN_OPTIONS", f"log_path={reports}/ubsan:print_stacktrace=1")
    status = subprocess.run([sys.executable, *sys.argv[1:]], env=env).returncode
    found = sorted(os.listdir(reports))
    for name in found:
        with open(os.path.join(reports, name), errors="replace") as f:
            print(f"== sanitizer report {name} (a program this test started)\n{f.read()}", file=sys.stderr)
    shutil.rmtree(reports, ignore_errors=True)
    if found:
        print(f"FAIL: {len(found)} sanitizer report(s) from the programs this test started "
              f"(the script itself exited {status})", file=sys.stderr)
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
