#!/usr/bin/python3
"""Checks of cross_validate.py on a tiny corpus whose held-out scores are
worked out by hand, with a stand-in for `modelwatch anomaly` that emits
scores read from a JSON file.

Four series of 100 rows one minute apart in two categories (a/s1, a/s2,
b/s1, b/s2); probation 15 rows; one window per series over rows 40..49
(width 10). With 2 folds, the round-robin deal over (category, name) puts
a/s1 and b/s1 in fold 1, a/s2 and b/s2 in fold 2. Run:
    /usr/bin/python3 bench/nab/test_cross_validate.py
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "cross_validate.py")
sys.path.insert(0, HERE)
import cross_validate  # noqa: E402
import nab_score  # noqa: E402

SERIES = ["a/s1.csv", "a/s2.csv", "b/s1.csv", "b/s2.csv"]

# Emits timestamp,value,anomaly_score for --input, the scores taken from
# $FAKE_SCORES[series basename path][value of --param fire, or ""][row].
FAKE_MODELWATCH = """#!/usr/bin/python3
import json, os, sys
args = sys.argv[1:]
series = args[args.index("--input") + 1]
fire = ""
for i, arg in enumerate(args):
    if arg == "--param" and args[i + 1].startswith("fire="):
        fire = args[i + 1][len("fire="):]
key = os.path.join(os.path.basename(os.path.dirname(series)), os.path.basename(series))
with open(os.environ["FAKE_SCORES"]) as handle:
    scores = json.load(handle)[key][fire]
lines = open(series).read().splitlines()
print("timestamp,value,anomaly_score")
for row, line in enumerate(lines[1:]):
    print(line + "," + str(scores.get(str(row), 0.0)))
"""


def stamp(row):
    return f"2020-01-01 {row // 60:02d}:{row % 60:02d}:00"


def parse(output):
    """{profile: (in-sample defaults, in-sample best, held-out threshold, held-out grid)}."""
    rows = {}
    for match in re.finditer(r"^(standard|reward_low_FP_rate|reward_low_FN_rate)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)",
                             output, re.MULTILINE):
        # Printed held-out first: grid+thr, threshold, in-sample defaults, in-sample best.
        held_out_grid, held_out_threshold, in_sample, in_sample_best = (float(match.group(i)) for i in range(2, 6))
        rows[match.group(1)] = (in_sample, in_sample_best, held_out_threshold, held_out_grid)
    if len(rows) != 3:
        raise AssertionError(f"expected the three profiles' figures in:\n{output}")
    return rows


class CrossValidateTest(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.TemporaryDirectory()
        root = self.directory.name
        self.nab = os.path.join(root, "nab")
        labels = {}
        for series in SERIES:
            os.makedirs(os.path.join(self.nab, "data", os.path.dirname(series)), exist_ok=True)
            with open(os.path.join(self.nab, "data", series), "w") as handle:
                handle.write("timestamp,value\n" + "".join(f"{stamp(i)},{i}\n" for i in range(100)))
            labels[series] = [[stamp(40) + ".000000", stamp(49) + ".000000"]]
        os.makedirs(os.path.join(self.nab, "labels"))
        with open(os.path.join(self.nab, "labels", "combined_windows.json"), "w") as handle:
            json.dump(labels, handle)
        self.modelwatch = os.path.join(root, "modelwatch")
        with open(self.modelwatch, "w") as handle:
            handle.write(FAKE_MODELWATCH)
        os.chmod(self.modelwatch, 0o755)
        self.scores_path = os.path.join(root, "scores.json")

    def tearDown(self):
        self.directory.cleanup()

    def run_script(self, scores, *extra):
        with open(self.scores_path, "w") as handle:
            json.dump(scores, handle)
        run = subprocess.run([sys.executable, SCRIPT, "--modelwatch", self.modelwatch, "--nab-dir", self.nab,
                              "--detector", "fake", "--folds", "2", "--jobs", "1", *extra],
                             env=dict(os.environ, FAKE_SCORES=self.scores_path), capture_output=True, text=True)
        self.assertEqual(run.returncode, 0, run.stderr)
        return run.stdout

    def test_leave_one_category_out_folds_by_category(self):
        names = ["artificialWithAnomaly/a.csv", "realTraffic/t.csv", "artificialNoAnomaly/b.csv",
                 "realKnownCause/k.csv", "realTraffic/u.csv"]
        folds, categories = cross_validate.assign_categories(names)
        self.assertEqual(categories, ["artificial", "realKnownCause", "realTraffic"])
        self.assertEqual(folds["artificialWithAnomaly/a.csv"], folds["artificialNoAnomaly/b.csv"])
        self.assertEqual(folds["realTraffic/t.csv"], folds["realTraffic/u.csv"])
        self.assertEqual(len(set(folds.values())), 3)

    def test_folds_are_dealt_round_robin_within_categories(self):
        folds = cross_validate.assign_folds(["b/y.csv", "a/x.csv", "b/x.csv", "a/y.csv", "a/z.csv"], 2)
        self.assertEqual(folds, {"a/x.csv": 0, "a/y.csv": 1, "a/z.csv": 0, "b/x.csv": 1, "b/y.csv": 0})

    def test_held_out_threshold_is_learnt_on_the_other_fold(self):
        # a/s1 reaches only 0.5 in its window; a/s2 has ten false positives at
        # 0.6 after its window. On all four series the best threshold is 0.5
        # (four hits, ten false positives); trained on fold 2 the threshold is
        # 0.9, which misses a/s1; trained on fold 1 it is 0.5, which catches
        # a/s2 and pays for its false positives.
        fp_cost = sum(0.11 * nab_score.scaled_sigmoid(abs(49 - i) / 9) for i in range(60, 70))
        scores = {"a/s1.csv": {"": {"40": 0.5}},
                  "a/s2.csv": {"": {"40": 0.9, **{str(i): 0.6 for i in range(60, 70)}}},
                  "b/s1.csv": {"": {"40": 0.9}},
                  "b/s2.csv": {"": {"40": 0.9}}}
        standard = parse(self.run_script(scores))["standard"]
        self.assertAlmostEqual(standard[0], 100 * (4 + fp_cost + 4) / 8, places=2)
        self.assertAlmostEqual(standard[1], standard[0], places=2)  # one setting: the defaults
        self.assertAlmostEqual(standard[2], 100 * (2 + fp_cost + 4) / 8, places=2)
        self.assertAlmostEqual(standard[3], standard[2], places=2)

    def test_the_setting_is_chosen_on_the_other_folds(self):
        # fire=20 (the default, listed first) fires before every window: a
        # false positive only; fire=40 fires at every window's start. Trained
        # on either fold, 40 wins, and the held-out fold is then perfect; the
        # defaults alone never do better than staying silent.
        scores = {series: {"20": {"20": 1.0}, "40": {"40": 1.0}} for series in SERIES}
        for profile, (defaults, best, held_threshold, held_grid) in parse(
                self.run_script(scores, "--grid", "fire=20,40")).items():
            self.assertAlmostEqual(defaults, 0.0, places=2, msg=profile)
            self.assertAlmostEqual(best, 100.0, places=2, msg=profile)
            self.assertAlmostEqual(held_threshold, 0.0, places=2, msg=profile)
            self.assertAlmostEqual(held_grid, 100.0, places=2, msg=profile)

    def test_raw_at_agrees_with_the_sweep_at_its_threshold(self):
        timestamps = [stamp(i) for i in range(100)]
        scores = [((i * 37) % 100) / 100 for i in range(100)]
        points = nab_score.sweep_points("a/s1.csv", timestamps, scores,
                                        [[stamp(40) + ".000000", stamp(49) + ".000000"]])
        windows = sorted(cross_validate.windows_of(points))
        for profile in nab_score.PROFILES:
            raw, threshold = nab_score.best_threshold(points, windows, profile)
            self.assertAlmostEqual(nab_score.raw_at(points, windows, profile, threshold), raw, places=9)

    def test_absent_data_is_reported(self):
        run = subprocess.run([sys.executable, SCRIPT, "--modelwatch", self.modelwatch, "--nab-dir", "/nonexistent"],
                             capture_output=True, text=True)
        self.assertNotEqual(run.returncode, 0)
        self.assertIn("NAB data not found", run.stderr)


if __name__ == "__main__":
    unittest.main()
