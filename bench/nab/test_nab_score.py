#!/usr/bin/python3
"""Checks of nab_score.py: on a tiny corpus whose scores are worked out by
hand, and on NAB's own published per-file results.

The hand-made corpus: one series of 100 rows one minute apart; probation
min(floor(0.15 * 100), 750) = 15 rows; one window over rows 40..49 (width 10).

The published results (PUBLISHED below): numenta/NAB's windowedGaussian
detector at its published threshold, one series of each category present
here, scored by NAB itself. Run:
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


# NAB's published per-file standard-profile scores of its windowedGaussian
# detector at the threshold NAB published for it (1.0, config/thresholds.json),
# from numenta/NAB at commit 487c0f97dc8131539db039d45b366b8e9fd48b05:
# results/windowedGaussian/windowedGaussian_standard_scores.csv (score and the
# TP/TN/FP/FN row counts; its Total_Count is the file's row count). Beside
# them, the facts taken from the published per-row files of the same commit
# (results/windowedGaussian/<category>/windowedGaussian_<name>.csv, read in
# full for the first two series; for the third the published counts alone
# say that no scored row fires): the windows of labels/combined_windows.json
# as row indices, and every row whose anomaly_score is exactly 1.0 (the only
# rows that fire at 1.0), with their timestamps. NAB's data is AGPL-licensed and not in this
# repository; these numbers are all the test needs, since NAB's rules depend
# on row positions only. When NAB's data is present ($NAB_DIR or
# ../shared/data/nab), the timestamps are checked against it as well.
PUBLISHED = [
    {
        "series": "realKnownCause/rogue_agent_key_hold.csv", "rows": 1882,
        "windows": [(669, "2014-07-15 04:35:00", 763, "2014-07-15 13:25:00"),
                    (1240, "2014-07-17 05:50:00", 1334, "2014-07-18 06:45:00")],
        # 152 and 245 lie in the probationary period (282 rows); 432 precedes
        # the first window; 1622 is 288 rows past the second, over 3 widths.
        "ones": {152: "2014-07-08 21:05:00", 245: "2014-07-09 22:50:00", 432: "2014-07-11 17:15:00",
                 1622: "2014-07-23 11:50:00", 1657: "2014-07-23 14:45:00", 1781: "2014-07-24 13:30:00"},
        "score": -2.44, "tp": 0, "tn": 1406, "fp": 4, "fn": 190,
    },
    {
        "series": "realTraffic/TravelTime_387.csv", "rows": 2500,
        "windows": [(387, "2015-07-27 10:56:00", 469, "2015-07-31 18:01:00"),
                    (948, "2015-08-17 11:51:00", 1030, "2015-08-20 01:54:00"),
                    (1485, "2015-08-31 15:44:00", 1567, "2015-09-01 13:06:00")],
        # 1, 269-271 and 333 lie in the probationary period (375 rows); 989
        # is the one hit (credit 0.8640186692147181, NAB's S(t) column).
        "ones": {1: "2015-07-10 14:38:00", 269: "2015-07-23 03:55:00", 270: "2015-07-23 04:15:00",
                 271: "2015-07-23 04:24:00", 333: "2015-07-25 05:39:00", 989: "2015-08-18 16:26:00",
                 2039: "2015-09-10 23:13:00", 2040: "2015-09-10 23:18:00", 2041: "2015-09-11 00:13:00",
                 2042: "2015-09-11 00:25:00", 2132: "2015-09-12 02:42:00", 2133: "2015-09-12 02:53:00"},
        "score": -1.7959813307852819, "tp": 1, "tn": 1870, "fp": 6, "fn": 248,
    },
    {
        # Nothing scores 1.0 after the probationary period (the published
        # TP and FP counts are 0): the window's width and the probation decide
        # the counts.
        "series": "artificialWithAnomaly/art_daily_jumpsup.csv", "rows": 4032,
        "windows": [(2787, "2014-04-10 16:15:00", 3189, "2014-04-12 01:45:00")],
        "ones": {},
        "score": -1.0, "tp": 0, "tn": 3025, "fp": 0, "fn": 403,
    },
]


def detail_lines(output, profile):
    """{series: {raw, tp, tn, fp, fn, rows}} from --detail lines under `profile`'s summary."""
    lines = {}
    current = None
    for line in output.splitlines():
        summary = re.match(r"^(\S+)\s+score=", line)
        if summary:
            current = summary.group(1)
            continue
        match = re.match(r"^  (\S+): raw=(\S+) tp=(\d+) tn=(\d+) fp=(\d+) fn=(\d+) rows=(\d+) ", line)
        if match and current == profile:
            lines[match.group(1)] = {"raw": float(match.group(2)), "tp": int(match.group(3)),
                                     "tn": int(match.group(4)), "fp": int(match.group(5)),
                                     "fn": int(match.group(6)), "rows": int(match.group(7))}
    return lines


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


class NabRulesTest(unittest.TestCase):
    """Rules of NAB v1.1 that the hand-made corpus above does not reach."""

    def setUp(self):
        self.directory = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.directory.cleanup()

    def run_scorer(self, rows, windows, detections, extra=(), timestamps=None):
        root = self.directory.name
        os.makedirs(os.path.join(root, "nab", "data", "cat"), exist_ok=True)
        os.makedirs(os.path.join(root, "nab", "labels"), exist_ok=True)
        os.makedirs(os.path.join(root, "results", "cat"), exist_ok=True)
        stamps = timestamps or [stamp(i) for i in range(rows)]
        with open(os.path.join(root, "nab", "data", "cat", "s.csv"), "w") as handle:
            handle.write("timestamp,value\n" + "".join(f"{t},{i}\n" for i, t in enumerate(stamps)))
        with open(os.path.join(root, "nab", "labels", "combined_windows.json"), "w") as handle:
            json.dump({"cat/s.csv": [[stamp(a) + ".000000", stamp(b) + ".000000"] for a, b in windows]}, handle)
        with open(os.path.join(root, "results", "cat", "s.csv"), "w") as handle:
            handle.write("timestamp,value,anomaly_score\n")
            handle.write("".join(f"{t},{i},{detections.get(i, 0.0)}\n" for i, t in enumerate(stamps)))
        return subprocess.run([sys.executable, SCORER, "--nab-dir", os.path.join(root, "nab"), "--results",
                               os.path.join(root, "results"), "--detail", *extra], capture_output=True, text=True)

    def test_a_false_positive_exactly_three_widths_away_is_not_yet_the_floor(self):
        # Window 40..49 (width 10): row 76 lies (76 - 49) / (10 - 1) = 3 widths
        # past it; NAB's scaledSigmoid returns -1 only past 3, so it costs
        # 0.11 (2 sigmoid(-15) - 1) = -0.10999997, not -0.11.
        run = self.run_scorer(100, [(40, 49)], {40: 1.0, 76: 1.0}, ["--threshold", "1.0"])
        self.assertEqual(run.returncode, 0, run.stderr)
        line = detail_lines(run.stdout, "standard")["cat/s.csv"]
        self.assertEqual(line["raw"], 1.0 + 0.11 * scaled_sigmoid(3.0))
        self.assertNotEqual(line["raw"], 1.0 - 0.11)
        self.assertEqual((line["tp"], line["fp"], line["fn"], line["tn"], line["rows"]), (1, 1, 9, 74, 100))

    def test_a_window_in_the_probationary_period_counts_only_towards_perfect(self):
        # Rows 2..5 lie in the probationary period (15 rows): no credit, no
        # cost, but NAB's perfect score counts every labelled window:
        # raw 1, null -1 (one scored window), perfect 2.
        run = self.run_scorer(100, [(2, 5), (40, 49)], {40: 1.0})
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertAlmostEqual(parse(run.stdout)["standard"][0], 100 * (1 + 1) / (2 + 1), places=2)
        self.assertIn("windows=2 scored_windows=1", run.stdout)

    def test_a_window_edge_on_a_repeated_timestamp_is_refused(self):
        # NAB's labeler refuses a label timestamp that matches more than one row.
        stamps = [stamp(i) for i in range(100)]
        stamps[50] = stamps[49]
        run = self.run_scorer(100, [(40, 49)], {40: 1.0}, timestamps=stamps)
        self.assertNotEqual(run.returncode, 0)
        self.assertIn(f"edge {stamp(49)} matches 2 rows", run.stderr)


class PublishedResultsTest(unittest.TestCase):
    """nab_score.py gives NAB's published per-file score and counts exactly."""

    def test_published_windowed_gaussian_files(self):
        with tempfile.TemporaryDirectory() as root:
            labels = {}
            for case in PUBLISHED:
                os.makedirs(os.path.join(root, "nab", "data", os.path.dirname(case["series"])), exist_ok=True)
                os.makedirs(os.path.join(root, "results", os.path.dirname(case["series"])), exist_ok=True)
                stamps = [f"2020-01-{1 + i // 1440:02d} {(i % 1440) // 60:02d}:{i % 60:02d}:00"
                          for i in range(case["rows"])]
                with open(os.path.join(root, "nab", "data", case["series"]), "w") as handle:
                    handle.write("timestamp,value\n" + "".join(f"{t},0\n" for t in stamps))
                with open(os.path.join(root, "results", case["series"]), "w") as handle:
                    # Every other row just under the threshold, as the
                    # windowed Gaussian's scores crowd under 1.
                    handle.write("timestamp,value,anomaly_score\n" + "".join(
                        f"{t},0,{1.0 if i in case['ones'] else 0.999999999999}\n" for i, t in enumerate(stamps)))
                labels[case["series"]] = [[stamps[a] + ".000000", stamps[b] + ".000000"]
                                          for a, _, b, _ in case["windows"]]
            os.makedirs(os.path.join(root, "nab", "labels"))
            with open(os.path.join(root, "nab", "labels", "combined_windows.json"), "w") as handle:
                json.dump(labels, handle)
            output = subprocess.run(
                [sys.executable, SCORER, "--nab-dir", os.path.join(root, "nab"), "--results",
                 os.path.join(root, "results"), "--threshold", "1.0", "--detail"],
                check=True, capture_output=True, text=True).stdout
        lines = detail_lines(output, "standard")
        for case in PUBLISHED:
            with self.subTest(series=case["series"]):
                line = lines[case["series"]]
                self.assertEqual(line["raw"], case["score"])
                self.assertEqual((line["tp"], line["tn"], line["fp"], line["fn"], line["rows"]),
                                 (case["tp"], case["tn"], case["fp"], case["fn"], case["rows"]))

    def test_the_facts_match_nab_data_when_present(self):
        nab_dir = os.environ.get("NAB_DIR", os.path.join(HERE, "..", "..", "..", "shared", "data", "nab"))
        if not os.path.isdir(os.path.join(nab_dir, "data")):
            self.skipTest(f"NAB data not found under {nab_dir} (set NAB_DIR)")
        with open(os.path.join(nab_dir, "labels", "combined_windows.json")) as handle:
            labels = json.load(handle)
        for case in PUBLISHED:
            with self.subTest(series=case["series"]):
                with open(os.path.join(nab_dir, "data", case["series"])) as handle:
                    stamps = [line.split(",", 1)[0] for line in handle.read().splitlines()[1:] if line]
                self.assertEqual(len(stamps), case["rows"])
                self.assertEqual([[a[:19], b[:19]] for a, b in labels[case["series"]]],
                                 [[start, end] for _, start, _, end in case["windows"]])
                for start_row, start, end_row, end in case["windows"]:
                    self.assertEqual((stamps[start_row], stamps[end_row]), (start, end))
                for row, timestamp in case["ones"].items():
                    self.assertEqual(stamps[row], timestamp)


if __name__ == "__main__":
    unittest.main()
