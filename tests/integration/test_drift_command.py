#!/usr/bin/python3
"""`modelwatch drift` on Elec2 (first 5,000 rows vs rows 30,000-35,000) and on
small hand-made files: exit codes (0 no dataset drift, 1 dataset drift, 2
usage or input error), the JSON fields, the per-segment report, the HTML page
rendered by headless Chromium, and hostile CSV input named by line.

Needs MODELWATCH_BUILD_DIR (the binary is $MODELWATCH_BUILD_DIR/cli/modelwatch)
and MODELWATCH_SOURCE_DIR, as ctest sets them.
"""
import gzip
import json
import os
import random
import subprocess
import sys
import tempfile

import harness

SOURCE = harness.SOURCE_DIR
BINARY = harness.CLI
check = harness.Checks()


def drift(args):
    return subprocess.run([BINARY, "drift"] + args, capture_output=True, text=True, timeout=300)


def write(path, text):
    with open(path, "w", newline="") as f:
        f.write(text)


def main():
    tmp = tempfile.mkdtemp(prefix="mw-drift-")
    with gzip.open(os.path.join(SOURCE, "data", "elec2", "elec2.csv.gz"), "rt", newline="") as f:
        lines = f.read().splitlines()
    header, rows = lines[0], lines[1:]
    ref, cur = os.path.join(tmp, "ref.csv"), os.path.join(tmp, "cur.csv")
    write(ref, "\n".join([header] + rows[:5000]) + "\n")
    write(cur, "\n".join([header] + rows[30000:35000]) + "\n")

    # JSON: Elec2 drifts in prices and demand, not in day or period.
    result = drift(["--reference", ref, "--current", cur, "--format", "json"])
    check(result.returncode == 1, f"elec2: exit {result.returncode}, expected 1 (dataset drift); {result.stderr}")
    report = json.loads(result.stdout)
    by_column = {f["column"]: f for f in report["features"]}
    # date (grows through the file) and class (the label) are left out, and said so.
    check(sorted(c["column"] for c in report["excluded_columns"]) == ["class", "date"],
          f"elec2: excluded {report['excluded_columns']}")
    check("date" not in by_column and "class" not in by_column, "elec2: date and class are not compared")
    for name in ("nswprice", "nswdemand", "vicprice"):
        check(by_column[name]["drifted"], f"elec2: {name} should drift")
    # vicprice, vicdemand and transfer are constant in the first 5,000 rows:
    # numbers all the same (KS, quantiles), and the constant reference is said.
    for name in ("vicprice", "vicdemand", "transfer"):
        check(by_column[name]["kind"] == "numeric" and by_column[name]["method"] == "ks",
              f"elec2: {name} is numeric: {by_column[name]['kind']} {by_column[name]['method']}")
        check(by_column[name]["reference_constant"] and "constant" in by_column[name]["reason"],
              f"elec2: {name}'s constant reference is reported: {by_column[name]['reason']}")
    for f in report["features"]:
        check(f["reason"], f"elec2: {f['column']} has no reason")
    not_drifted_but_significant = [f for f in report["features"] if f["test_significant"] and not f["drifted"]]
    for f in not_drifted_but_significant:
        check("under the floor" in f["reason"] or "noise" in f["reason"], f"elec2: {f['column']}: {f['reason']}")
    for name in ("day", "period"):
        check(not by_column[name]["drifted"], f"elec2: {name} should not drift")
    for key in ("method", "statistic", "p_value", "threshold", "drifted", "effect_size", "noise_baseline",
                "definition"):
        check(key in by_column["nswprice"], f"json: per-column field {key} missing")
    check(report["dataset"]["dataset_drift"] is True, "json: dataset verdict")
    # The multivariate check sees the four numeric columns that vary in the
    # reference (the constant ones carry no variance; date is left out). Its
    # verdict once said drift because of a 1e-18 sd on the constant columns.
    multivariate = report["multivariate"]
    check(multivariate["evaluated"] and sorted(multivariate["columns"]) == ["day", "nswdemand", "nswprice", "period"],
          f"json: multivariate columns {multivariate['columns']}")
    check(multivariate["current_error"] < 10, f"json: multivariate error {multivariate['current_error']}")
    result = drift(["--reference", ref, "--current", cur, "--format", "json", "--exclude", "", "--no-multivariate"])
    everything = {f["column"] for f in json.loads(result.stdout)["features"]}
    check({"date", "class"} <= everything, f"--exclude '': every column compared: {sorted(everything)}")

    # Only the stable columns: no dataset drift, exit 0.
    result = drift(["--reference", ref, "--current", cur, "--columns", "day,period", "--no-multivariate"])
    check(result.returncode == 0, f"day,period: exit {result.returncode}, expected 0; {result.stdout}{result.stderr}")
    check("no dataset drift" in result.stdout, "text: verdict line")

    # Legacy mode and forced methods.
    result = drift(["--reference", ref, "--current", cur, "--columns", "nswprice,class", "--mode", "legacy",
                    "--feature-method", "nswprice=psi", "--format", "json"])
    report = json.loads(result.stdout)
    check(report["mode"] == "legacy", "legacy: mode in JSON")
    check(report["features"][0]["method"] == "psi", "legacy: forced psi")
    check(report["features"][1]["method"] == "jensenshannon", "legacy: class on 5000 rows uses Jensen-Shannon")

    # Segments: a shift confined to region b.
    rng = random.Random(7)
    def segment_file(path, shift):
        out = ["region,x,y"]
        for i in range(4000):
            region = "b" if i % 4 == 0 else "a"
            out.append(f"{region},{rng.gauss(shift if region == 'b' else 0, 1):.6f},{rng.gauss(0, 1):.6f}")
        write(path, "\n".join(out) + "\n")
    seg_ref, seg_cur = os.path.join(tmp, "seg_ref.csv"), os.path.join(tmp, "seg_cur.csv")
    segment_file(seg_ref, 0.0)
    segment_file(seg_cur, 1.0)
    result = drift(["--reference", seg_ref, "--current", seg_cur, "--segment-by", "region", "--format", "json"])
    report = json.loads(result.stdout)
    segments = {s["value"]: s for s in report["segments"]}
    check(set(segments) == {"a", "b"}, f"segments: {sorted(segments)}")
    check(segments["b"]["features"][0]["column"] == "x" and segments["b"]["features"][0]["drifted"],
          "segments: x drifts in b")
    check(not segments["a"]["features"][0]["drifted"], "segments: x does not drift in a")

    # HTML: self-contained, renders.
    html = os.path.join(tmp, "report.html")
    result = drift(["--reference", ref, "--current", cur, "--format", "html", "--output", html])
    check(result.returncode == 1, f"html: exit {result.returncode}")
    with open(html) as f:
        page = f.read()
    check("<script" not in page and "src=" not in page, "html: no external resources")
    check(page.count("<svg") == len(by_column), "html: one chart per compared feature")
    check("not compared: date (time column); class (label column)" in page, "html: the excluded columns are named")
    if os.path.exists(harness.CHROMIUM):
        shot = os.path.join(tmp, "report.png")
        harness.chromium([f"--screenshot={shot}", "--window-size=1280,1600", "file://" + html], tmp)
        check(os.path.exists(shot) and os.path.getsize(shot) > 20000, "html: Chromium screenshot written")
        if os.environ.get("MODELWATCH_KEEP_SCREENSHOT"):
            import shutil
            shutil.copy(shot, os.environ["MODELWATCH_KEEP_SCREENSHOT"])

    # Usage and input errors: exit 2 with a message naming the problem.
    bad = os.path.join(tmp, "bad.csv")
    write(bad, "a,b\n1,2\n3\n")
    result = drift(["--reference", bad, "--current", cur])
    check(result.returncode == 2 and "line 3" in result.stderr, f"ragged row: {result.returncode} {result.stderr}")
    write(bad, 'a,b\n1,"never closed\n2,3\n')
    result = drift(["--reference", bad, "--current", cur])
    check(result.returncode == 2 and "line 2: field 2: quoted field is never closed" in result.stderr,
          f"open quote: {result.stderr}")
    write(bad, "a,b\n" + "1," + "9" * (2 << 20) + "\n")
    result = drift(["--reference", bad, "--current", cur])
    check(result.returncode == 2 and "line 2" in result.stderr and "longer than" in result.stderr,
          f"huge field: {result.stderr}")
    result = drift(["--reference", ref, "--current", cur, "--columns", "nope"])
    check(result.returncode == 2 and "'nope'" in result.stderr, f"unknown column: {result.stderr}")
    result = drift(["--reference", ref, "--current", cur, "--method", "bogus"])
    check(result.returncode == 2 and "bogus" in result.stderr and "jensenshannon" in result.stderr,
          f"unknown method lists the methods: {result.stderr}")
    result = drift(["--current", cur])
    check(result.returncode == 2 and "--reference is required" in result.stderr, "missing --reference")
    result = drift(["--reference", os.path.join(tmp, "absent.csv"), "--current", cur])
    check(result.returncode == 2 and "cannot open" in result.stderr, "absent file")

    return check.exit_status()


if __name__ == "__main__":
    sys.exit(main())
