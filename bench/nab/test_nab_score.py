#!/usr/bin/python3
"""Checks of nab_score.py on a tiny corpus whose scores are worked out by hand.

One series of 100 rows one minute apart; probation min(floor(0.15 * 100), 750)
= 15 rows; one window over rows 40..49 (width 10). Run:
    /usr/bin/python3 bench/nab/test_nab_score.py
"""

import json
import math
import os
import re
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCORER = os.path.join(HERE, "nab_score.py")


def stamp(row):
    return f"2020-01-01 {row // 60:02d}:{row % 60:02d}:00"


def parse(output):
    """{profile: (score, threshold)} from the scorer's summary lines."""
    scores = {}
    for match in re.finditer(r"^(\S+)\s+score=\s*(\S+) threshold=(\S+)", output, re.MULTILINE):
        scores[match.group(1)] = (float(match.group(2)), float(match.group(3)))
    if sorted(scores) != ["reward_low_FN_rate", "reward_low_FP_rate", "standard"]:
        raise AssertionError(f"expected the three profiles' scores in:\n{output}")
    return scores


def scaled_sigmoid(position):
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


class NabScoreTest(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.TemporaryDirectory()
        root = self.directory.name
        os.makedirs(os.path.join(root, "nab", "data", "cat"))
        os.makedirs(os.path.join(root, "nab", "labels"))
        with open(os.path.join(root, "nab", "data", "cat", "s.csv"), "w") as handle:
            handle.write("timestamp,value\n" + "".join(f"{stamp(i)},{i}\n" for i in range(100)))
        with open(os.path.join(root, "nab", "labels", "combined_windows.json"), "w") as handle:
            json.dump({"cat/s.csv": [[stamp(40) + ".000000", stamp(49) + ".000000"]],
                       "cat/absent.csv": [[stamp(1), stamp(2)]]}, handle)

    def tearDown(self):
        self.directory.cleanup()

    def score(self, detections, extra=()):
        """Scores per profile for anomaly scores {row: score} (others 0)."""
        results = os.path.join(self.directory.name, "results")
        os.makedirs(os.path.join(results, "cat"), exist_ok=True)
        with open(os.path.join(results, "cat", "s.csv"), "w") as handle:
            handle.write("timestamp,value,anomaly_score\n")
            handle.write("".join(f"{stamp(i)},{i},{detections.get(i, 0.0)}\n" for i in range(100)))
        output = subprocess.run(
            [sys.executable, SCORER, "--nab-dir", os.path.join(self.directory.name, "nab"), "--results", results,
             *extra],
            check=True, capture_output=True, text=True).stdout
        return parse(output)

    def test_detection_at_window_start_scores_100(self):
        for score, _ in self.score({40: 1.0}).values():
            self.assertAlmostEqual(score, 100.0, places=2)

    def test_detection_mid_window_earns_the_sigmoid(self):
        # position -(49 - 45 + 1) / 10 = -0.5; credit S(-0.5) / S(-1); null -1, perfect +1.
        credit = scaled_sigmoid(-0.5) / scaled_sigmoid(-1.0)
        scores = self.score({45: 1.0})
        self.assertAlmostEqual(scores["standard"][0], 100 * (credit + 1) / 2, places=2)
        # reward_low_FN_rate: null -2, perfect +1.
        self.assertAlmostEqual(scores["reward_low_FN_rate"][0], 100 * (credit + 2) / 3, places=2)

    def test_only_the_best_detection_of_a_window_counts(self):
        credit = scaled_sigmoid(-0.5) / scaled_sigmoid(-1.0)
        scores = self.score({45: 1.0, 46: 1.0, 47: 1.0})
        self.assertAlmostEqual(scores["standard"][0], 100 * (credit + 1) / 2, places=2)

    def test_threshold_is_swept_to_leave_out_a_costly_false_positive(self):
        # Row 20 precedes the window: a false positive worth -fpWeight at a lower score.
        credit = scaled_sigmoid(-0.5) / scaled_sigmoid(-1.0)
        scores = self.score({45: 0.9, 20: 0.8})
        self.assertAlmostEqual(scores["standard"][0], 100 * (credit + 1) / 2, places=2)
        self.assertEqual(scores["standard"][1], 0.9)

    def test_nab_twiddle_stops_at_a_local_best_the_sweep_passes(self):
        # The hit at row 45 scores 0.3; two false positives before the window
        # score 0.4. Thresholds above 0.4 miss the window (raw -1), thresholds
        # in (0.3, 0.4] add the false positives (-1 - 0.22): NAB's hill-climb
        # from 0.5 never sees a gain and stays at 0.5, where the sweep goes on
        # to 0.3 (credit - 0.22).
        credit = scaled_sigmoid(-0.5) / scaled_sigmoid(-1.0)
        detections = {45: 0.3, 20: 0.4, 21: 0.4}
        swept = self.score(detections)
        self.assertAlmostEqual(swept["standard"][0], 100 * (credit - 0.22 + 1) / 2, places=2)
        self.assertEqual(swept["standard"][1], 0.3)
        twiddled = self.score(detections, ["--optimizer", "twiddle"])
        self.assertAlmostEqual(twiddled["standard"][0], 0.0, places=2)
        self.assertEqual(twiddled["standard"][1], 0.5)

    def test_nab_twiddle_climbs_to_a_best_it_can_reach(self):
        # A hit at row 45 scoring 0.95 and a false positive scoring 0.55: at
        # 0.5 both fire; the first step, to 0.6, leaves the false positive out
        # (a gain), and no later step does better, so the climb keeps 0.6,
        # the first threshold it reached with the best score.
        credit = scaled_sigmoid(-0.5) / scaled_sigmoid(-1.0)
        twiddled = self.score({45: 0.95, 20: 0.55}, ["--optimizer", "twiddle"])
        self.assertAlmostEqual(twiddled["standard"][0], 100 * (credit + 1) / 2, places=2)
        self.assertAlmostEqual(twiddled["standard"][1], 0.6, places=9)

    def test_a_fixed_threshold_is_not_swept(self):
        # At 0.8 the false positive at row 20 counts: -fpWeight before any window.
        credit = scaled_sigmoid(-0.5) / scaled_sigmoid(-1.0)
        scores = self.score({45: 0.9, 20: 0.8}, ["--threshold", "0.8"])
        self.assertAlmostEqual(scores["standard"][0], 100 * (credit - 0.11 + 1) / 2, places=2)
        self.assertEqual(scores["standard"][1], 0.8)

    def test_false_positive_after_the_window_costs_by_distance(self):
        # Both rows score 1: the hit at row 40 (credit 1) and a false positive at
        # row 60, position |49 - 60| / (10 - 1), weighted by fpWeight.
        penalty = scaled_sigmoid(11 / 9)
        scores = self.score({40: 1.0, 60: 1.0})
        self.assertAlmostEqual(scores["standard"][0], 100 * (1 + 0.11 * penalty + 1) / 2, places=2)
        self.assertAlmostEqual(scores["reward_low_FP_rate"][0], 100 * (1 + 0.22 * penalty + 1) / 2, places=2)

    def test_probationary_rows_are_not_scored(self):
        # Row 10 is inside the probation (15 rows): firing there costs nothing.
        for score, _ in self.score({10: 1.0, 40: 1.0}).values():
            self.assertAlmostEqual(score, 100.0, places=2)

    def test_never_firing_scores_0(self):
        for score, _ in self.score({}).values():
            self.assertAlmostEqual(score, 0.0, places=2)

    def test_reference_detectors(self):
        nab = os.path.join(self.directory.name, "nab")
        for reference, expected in (("null", 0.0), ("oracle", 100.0)):
            output = subprocess.run([sys.executable, SCORER, "--nab-dir", nab, "--reference", reference],
                                    check=True, capture_output=True, text=True).stdout
            for score, _ in parse(output).values():
                self.assertAlmostEqual(score, expected, places=2)

    def test_absent_data_is_reported(self):
        run = subprocess.run([sys.executable, SCORER, "--nab-dir", "/nonexistent", "--reference", "null"],
                             capture_output=True, text=True)
        self.assertNotEqual(run.returncode, 0)
        self.assertIn("NAB data not found", run.stderr)


if __name__ == "__main__":
    unittest.main()
