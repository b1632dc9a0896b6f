#!/usr/bin/python3
"""`modelwatch audit` on the Adult predictions: JSON, Markdown and HTML
reports, the HTML rendered in headless Chromium (screenshot not blank, no
console errors, the summary in the DOM), and input errors reported with exit
status 2.

Needs MODELWATCH_BUILD_DIR (the binary is $MODELWATCH_BUILD_DIR/cli/modelwatch)
and MODELWATCH_SOURCE_DIR, as ctest sets them.
"""
import gzip
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

import harness

SOURCE = harness.SOURCE_DIR
BINARY = harness.CLI
check = harness.Checks()


def audit(args, **kwargs):
    return subprocess.run([BINARY, "audit"] + args, capture_output=True, text=True, timeout=300, **kwargs)


def png_pixels(path):
    """Decodes an 8-bit RGB/RGBA non-interlaced PNG (what Chromium writes) into rows of bytes."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and interlace == 0 and colour in (2, 6), "unexpected PNG format"
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = previous[i]
            c = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        previous = line
    return width, height, channels, rows


def chromium(args, workdir):
    return harness.chromium(["--enable-logging=stderr", "--v=0"] + args, workdir, timeout=300)


def main():
    work = tempfile.mkdtemp(prefix="mw-audit-test-")
    try:
        csv_path = os.path.join(work, "adult_predictions.csv")
        with gzip.open(os.path.join(SOURCE, "tests/fairness/vectors/adult_predictions.csv.gz"), "rb") as src:
            with open(csv_path, "wb") as dst:
                shutil.copyfileobj(src, dst)
        common = ["--input", csv_path, "--sensitive", "sex,race", "--y-true", "y_true", "--y-pred", "y_pred",
                  "--score", "score", "--model", "adult-income", "--min-group-size", "120"]

        # JSON: the documented schema, and the numbers of the numpy reference.
        json_path = os.path.join(work, "report.json")
        r = audit(common + ["--format", "json", "--output", json_path])
        check(r.returncode == 0, "json audit exit %d: %s" % (r.returncode, r.stderr))
        report = json.load(open(json_path))
        reference = json.load(open(os.path.join(SOURCE, "tests/fairness/vectors/adult_reference.json")))
        check(report["schema_version"] == 1, "schema_version")
        check(report["summary"]["status"] == "fail", "Adult's sex gap must fail the audit")
        check([g["name"] for g in report["groupings"]] == ["sex", "race", "sex x race"], "groupings")
        sex = report["groupings"][0]
        check(sex["reference_group"] == "Male", "largest group is the reference")
        between = {d["metric"]: d for d in sex["disparities"]["between_groups"]}
        expected = reference["groupings"][0]["disparities"]["between_groups"]["selection_rate_ratio"]
        check(abs(between["demographic_parity"]["ratio"] - expected) < 1e-12, "demographic parity ratio")
        check(between["demographic_parity"]["verdict"] == "beyond_tolerance_clear", "clear verdict")
        lo, hi = between["demographic_parity"]["ratio_interval"]
        check(lo < expected < hi, "bootstrap interval holds the estimate")
        small = [g["label"] for g in report["groupings"][2]["groups"] if g["too_small"]]
        check(small == ["Female, Amer-Indian-Eskimo", "Female, Other"], "too-small groups listed: %s" % small)

        # The same seed gives the same report numbers.
        again_path = os.path.join(work, "again.json")
        audit(common + ["--format", "json", "--output", again_path])
        again = json.load(open(again_path))
        check(again["groupings"] == report["groupings"], "same seed, same intervals")

        # Markdown.
        r = audit(common + ["--format", "md"])
        check(r.returncode == 0 and r.stdout.startswith("# Fairness audit: adult-income"), "markdown report")
        check("| Female | 10771 |" in r.stdout, "markdown group table")

        # HTML with a trend from the earlier JSON report.
        html_path = os.path.join(work, "report.html")
        r = audit(common + ["--format", "html", "--output", html_path, "--history", json_path])
        check(r.returncode == 0, "html audit exit %d: %s" % (r.returncode, r.stderr))
        html = open(html_path, encoding="utf-8").read()
        check("<script" not in html.lower() and "<link" not in html.lower(), "no scripts or linked resources")
        check(not re.search(r"(src|href)=\"(https?:)?//", html), "no network references")
        urls = set(re.findall(r"https?://[^\s\"'<>]+", html))
        check(urls <= {"http://www.w3.org/2000/svg"}, "only the SVG namespace URL: %s" % urls)
        check(html.count("<svg") >= 20, "inline SVG charts")
        check('id="trend"' in html, "trend section with history")

        # Chromium: screenshot not blank, DOM has the summary, no console errors.
        shot = os.path.join(work, "report.png")
        r = chromium(["--screenshot=" + shot, "--window-size=1280,2000", "file://" + html_path], work)
        check(os.path.exists(shot), "screenshot written: %s" % r.stderr[-400:])
        for pattern in ("Uncaught", "ERROR:CONSOLE", "Refused to", "Failed to load resource"):
            check(pattern not in r.stderr, "console error %r" % pattern)
        if os.path.exists(shot):
            width, height, channels, rows = png_pixels(shot)
            check((width, height) == (1280, 2000), "screenshot size %dx%d" % (width, height))
            colours, non_white, samples = set(), 0, 0
            for y in range(0, height, 7):
                row = rows[y]
                for x in range(0, width, 7):
                    pixel = row[x * channels:x * channels + 3]
                    colours.add(pixel)
                    samples += 1
                    non_white += pixel != b"\xff\xff\xff"
            check(len(colours) > 50, "screenshot has %d colours: blank?" % len(colours))
            check(non_white / samples > 0.05, "screenshot %.1f%% non-white: blank?" % (100 * non_white / samples))
        r = chromium(["--dump-dom", "file://" + html_path], work)
        check('id="summary"' in r.stdout and "FAIL" in r.stdout, "rendered DOM holds the summary")
        check("Uncaught" not in r.stderr and "ERROR:CONSOLE" not in r.stderr, "no console errors in DOM dump")

        # Pre-training data bias: the first half of the rows as the reference window.
        reference_path = os.path.join(work, "reference.csv")
        with open(csv_path) as src, open(reference_path, "w") as dst:
            lines = src.readlines()
            dst.writelines(lines[:16001])
        r = audit(common + ["--format", "json", "--reference-input", reference_path])
        check(r.returncode == 0, "reference-input audit: %s" % r.stderr)
        representation = json.loads(r.stdout)["representation"]
        check([x["name"] for x in representation] == ["sex", "race", "sex x race"], "representation groupings")
        female = [g for g in representation[0]["groups"] if g["label"] == "Female"][0]
        expected_reference = sum(1 for line in lines[1:16001] if line.split(",")[1] == "Female")
        check(female["current_count"] == 10771 and female["reference_count"] == expected_reference,
              "representation counts %s" % female)

        # Input errors are exit status 2 with a message naming what was wrong.
        r = audit(["--input", csv_path, "--sensitive", "sex", "--y-true", "nope", "--y-pred", "y_pred"])
        check(r.returncode == 2 and "no column 'nope'" in r.stderr, "missing column: %s" % r.stderr)
        r = audit(common + ["--reference-group", "race=Martian"])
        check(r.returncode == 2 and "reference group 'Martian'" in r.stderr, "unknown reference: %s" % r.stderr)
        hostile = os.path.join(work, "hostile.csv")
        with open(hostile, "w") as f:
            f.write('g,y,p\n"a",1,1\n"a\n",1\nb,0,1\n"<script>alert(1)</script>",1,0\n')
            for i in range(40):
                f.write("a,%d,%d\nb,%d,1\n" % (i % 2, (i // 2) % 2, i % 2))
        r = audit(["--input", hostile, "--sensitive", "g", "--y-true", "y", "--y-pred", "p", "--min-group-size", "1"])
        check(r.returncode == 0, "hostile input still audited: %s" % r.stderr)
        check("line 3: expected 3 fields as in the header, got 2" in r.stderr, "bad row named: %s" % r.stderr)
        check("<script>alert(1)</script>" not in r.stdout and "&lt;script&gt;" in r.stdout, "labels escaped")
        # A positive label found nowhere would make every gap "within tolerance": refused.
        r = audit(["--input", csv_path, "--sensitive", "sex", "--y-true", "y_true", "--y-pred", "y_pred",
                   "--positive-label", ">50K"])
        check(r.returncode == 2 and "occurs in neither" in r.stderr, "absent positive label: %s" % r.stderr)
        r = audit(common + ["--fail-on-violation", "--format", "json"])
        check(r.returncode == 1, "--fail-on-violation exits 1 on a clear violation")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return check.exit_status()


if __name__ == "__main__":
    sys.exit(main())
