#!/usr/bin/python3
"""`modelwatch detect`: the drifts of a one-column stream and of a named
column of a wider CSV (--column), --help naming the implementation each
detector reproduces, and errors that list the known names.

Needs MODELWATCH_BUILD_DIR (the binary is $MODELWATCH_BUILD_DIR/cli/modelwatch)
and MODELWATCH_SOURCE_DIR, as ctest sets them. Takes about a second.
"""
import os
import subprocess
import sys
import tempfile

import harness

BINARY = harness.CLI
STREAM = os.path.join(harness.SOURCE_DIR, "tests", "detectors", "vectors", "variance_stream.csv")
check = harness.Checks()


def detect(args):
    return subprocess.run([BINARY, "detect"] + args, capture_output=True, text=True, timeout=60)


def drifts(output):
    for line in output.splitlines():
        if line.startswith("drifts ("):
            return line.split(": ", 1)[1]
    return None


def main():
    # The variance change where the two ADWIN loops part (transcribed_reference.txt).
    check(drifts(detect(["--detector", "adwin", "--input", STREAM]).stdout) == "3231", "adwin on the variance stream")
    check(drifts(detect(["--detector", "adwin_river021", "--input", STREAM]).stdout) == "none",
          "adwin_river021 on the variance stream")

    # The same stream as the second column of a wider file.
    with open(STREAM) as f:
        values = f.read().split()[1:]
    wide = os.path.join(tempfile.mkdtemp(prefix="mw-detect-"), "wide.csv")
    with open(wide, "w") as f:
        f.write("id,value,segment\n" + "".join(f"{i},{v},s{i % 3}\n" for i, v in enumerate(values)))
    result = detect(["--detector", "adwin", "--input", wide, "--column", "value"])
    check(result.returncode == 0 and drifts(result.stdout) == "3231", f"--column value: {result.stdout}{result.stderr}")
    result = detect(["--detector", "adwin", "--input", wide, "--column", "nope"])
    check(result.returncode == 2 and "no column 'nope'" in result.stderr and "id, value, segment" in result.stderr,
          f"--column nope: {result.stderr}")
    result = detect(["--detector", "adwin", "--input", wide, "--column", "segment"])
    check(result.returncode == 2 and "line 2, column 'segment'" in result.stderr, f"--column segment: {result.stderr}")
    result = detect(["--detector", "adwin", "--input", wide])
    check(result.returncode == 2 and "--column" in result.stderr, f"wide file without --column: {result.stderr}")

    # Help: every detector says which implementation it reproduces.
    help_text = detect(["--help"]).stdout
    check(help_text.count("reproduces:") == 8, "--help: one 'reproduces' line per detector")
    check("MOA" in help_text and "River 0.21" in help_text, "--help names MOA and River 0.21")
    result = detect(["--detector", "nope", "--input", STREAM])
    check(result.returncode == 2 and "adwin, adwin_river021, ddm" in result.stderr, f"unknown detector: {result.stderr}")

    return check.exit_status()


if __name__ == "__main__":
    sys.exit(main())
