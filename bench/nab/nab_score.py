#!/usr/bin/python3
"""Score anomaly-detector output with the Numenta Anomaly Benchmark's rules.

The rules follow numenta/NAB v1.1 (nab/sweeper.py, nab/runner.py):
  * probationary period: the first min(floor(0.15 n), 0.15 * 5000) rows of a
    series are not scored (Sweeper._getProbationaryLength);
  * a row inside a labelled window is worth tpWeight * S(p) / S(-1) with
    S(p) = 2 sigmoid(-5 p) - 1 the scaled sigmoid and
    p = -(right_index - i + 1) / window_width its position in the window, and
    only the best (earliest) detection of a window counts; a window without a
    detection costs -fnWeight (Sweeper.calcSweepScore, calcScoreByThreshold);
  * a row outside every window is worth fpWeight * S(p) with
    p = |i - previous_right_index| / (previous_width - 1), or S(3) = -1 before
    the first window, and every such detection counts;
  * a window wholly inside the probationary period is not counted at all;
  * one threshold per profile, swept jointly over the whole corpus, is chosen
    to maximise the summed raw score: every distinct score is tried, so the
    threshold found is the global best. NAB's own optimizer
    (nab/optimizer.py, optimizeThreshold) is not a sweep but a local
    hill-climb, "twiddle", from 0.5 with a first step of 0.1 (doubled after
    a gain, halved after two losses, down to 1e-7), which can stop at a
    local best: on NAB's published windowedGaussian results for the 25
    series here it stops at raw -15.619 where the sweep finds -14.969. Both
    are printed; --optimizer twiddle reports NAB's (twiddle_threshold);
  * the raw score is normalised as 100 (raw - null) / (perfect - null), with
    null = -fnWeight * windows (a detector that never fires) and
    perfect = tpWeight * windows (one detection at each window start)
    (Runner.normalize).

Input: a results directory laid out like NAB's data directory
(<category>/<name>.csv with columns timestamp,value,anomaly_score), or one of
the built-in reference detectors (--reference null|oracle) used to check the
scorer itself: null must score 0 and oracle 100 under every profile.
bench/nab/test_nab_score.py checks these rules on a corpus worked out by hand.
"""

import argparse
import csv
import json
import math
import os
import sys

PROFILES = {
    # nab/config/profiles.json
    "standard": {"tpWeight": 1.0, "fpWeight": 0.11, "fnWeight": 1.0},
    "reward_low_FP_rate": {"tpWeight": 1.0, "fpWeight": 0.22, "fnWeight": 1.0},
    "reward_low_FN_rate": {"tpWeight": 1.0, "fpWeight": 0.11, "fnWeight": 2.0},
}


def scaled_sigmoid(position):
    """nab/sweeper.py scaledSigmoid."""
    if position >= 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


def probationary_length(rows):
    """nab/sweeper.py Sweeper._getProbationaryLength with probationPercent 0.15."""
    return min(math.floor(0.15 * rows), 0.15 * 5000)


def normalise_timestamp(text):
    """Labels carry microseconds ('2014-04-10 07:15:00.000000'), data rows do not."""
    text = text.strip()
    if len(text) > 19 and text[19] == ".":
        text = text[:19]
    return text


def read_series(path):
    """Rows (timestamp, score) of a results file, or of a data file (score None)."""
    with open(path, newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        score_column = header.index("anomaly_score") if "anomaly_score" in header else None
        rows = []
        for line_number, row in enumerate(reader, start=2):
            if not row:
                continue
            score = None
            if score_column is not None:
                try:
                    score = float(row[score_column])
                except (ValueError, IndexError):
                    sys.exit(f"{path}:{line_number}: anomaly_score is not a number: {row!r}")
                if not 0.0 <= score <= 1.0:
                    sys.exit(f"{path}:{line_number}: anomaly_score {score} is outside [0, 1]")
            rows.append((normalise_timestamp(row[0]), score))
    return rows


class Point:
    """One scorable row: its anomaly score, and what a detection there is worth."""

    __slots__ = ("score", "weights", "window")

    def __init__(self, score, weights, window):
        self.score = score
        self.weights = weights  # per profile
        self.window = window  # None outside windows


def sweep_points(series_name, timestamps, scores, windows):
    """nab/sweeper.py Sweeper.calcSweepScore for every profile at once."""
    index_of = {ts: i for i, ts in enumerate(timestamps)}
    pending = [(normalise_timestamp(a), normalise_timestamp(b)) for a, b in windows]
    for start, end in pending:
        if start not in index_of or end not in index_of:
            sys.exit(f"{series_name}: window [{start}, {end}] does not match row timestamps")
    max_tp = scaled_sigmoid(-1.0)
    probation = probationary_length(len(timestamps))
    points = []
    current = None  # (name, right_index, width)
    previous = None  # (right_index, width)
    for i, ts in enumerate(timestamps):
        if pending and ts == pending[0][0]:
            start, end = pending.pop(0)
            right = index_of[end]
            current = (f"{series_name}|{start}", right, float(right - index_of[start] + 1))
        if current is not None:
            name, right, width = current
            unweighted = scaled_sigmoid(-(right - i + 1) / width)
            weights = {p: unweighted * c["tpWeight"] / max_tp for p, c in PROFILES.items()}
        else:
            name = None
            if previous is None:
                position = 3.0
            else:
                position = abs(previous[0] - i) / (previous[1] - 1)
            unweighted = scaled_sigmoid(position)
            weights = {p: unweighted * c["fpWeight"] for p, c in PROFILES.items()}
        if i >= probation:
            points.append(Point(scores[i], weights, name))
        if current is not None and i == current[1]:
            previous = (current[1], current[2])
            current = None
    return points


def best_threshold(points, window_names, profile):
    """nab/sweeper.py calcScoreByThreshold on the pooled corpus, then the
    optimizer's choice: the threshold with the highest summed raw score."""
    fn_weight = PROFILES[profile]["fnWeight"]
    ordered = sorted(points, key=lambda p: p.score, reverse=True)
    window_part = {name: -fn_weight for name in window_names}
    window_total = -fn_weight * len(window_names)
    fp_total = 0.0
    best = (window_total, 1.1)  # threshold above every score: nothing fires
    i = 0
    while i < len(ordered):
        threshold = ordered[i].score
        while i < len(ordered) and ordered[i].score == threshold:
            point = ordered[i]
            weight = point.weights[profile]
            if point.window is None:
                fp_total += weight
            elif weight > window_part[point.window]:
                window_total += weight - window_part[point.window]
                window_part[point.window] = weight
            i += 1
        if window_total + fp_total > best[0]:
            best = (window_total + fp_total, threshold)
    return best


def raw_at(points, window_names, profile, threshold):
    """The raw score of `points` when every score >= threshold is a detection
    (nab/sweeper.py calcScoreByThreshold at one threshold)."""
    fn_weight = PROFILES[profile]["fnWeight"]
    best = {name: -fn_weight for name in window_names}
    fp_total = 0.0
    for point in points:
        if point.score < threshold:
            continue
        weight = point.weights[profile]
        if point.window is None:
            fp_total += weight
        else:
            best[point.window] = max(best[point.window], weight)
    return fp_total + sum(best.values())


def twiddle_threshold(points, window_names, profile):
    """(raw, threshold) as NAB's optimizer finds them (nab/optimizer.py:
    optimizeThreshold -> twiddle(objectiveFunction, initialGuess=0.5,
    tolerance=1e-7)): a local hill-climb on the summed raw score, the
    objective being -inf outside [0, 1]. From x with step d: try x + d; on a
    gain keep it and double d; else try x - d (that is, x + d - 2d); on a gain
    keep it and double d; else go back to x and halve d. Scores already
    computed are remembered by threshold; at the end the best remembered
    threshold wins (the first one reached, on ties)."""
    remembered = {}

    def objective(threshold):
        if threshold not in remembered:
            remembered[threshold] = (raw_at(points, window_names, profile, threshold)
                                     if 0.0 <= threshold <= 1.0 else -math.inf)
        return remembered[threshold]

    x, step = 0.5, 0.1
    best = objective(x)
    while step > 1e-7:
        x += step
        if objective(x) > best:
            best = objective(x)
            step *= 2
            continue
        x -= 2 * step
        if objective(x) > best:
            best = objective(x)
            step *= 2
            continue
        x += step
        step *= 0.5
    threshold = max(remembered, key=lambda t: remembered[t])
    return remembered[threshold], threshold


def load_corpus(nab_dir, results_dir, reference):
    with open(os.path.join(nab_dir, "labels", "combined_windows.json")) as handle:
        labels = json.load(handle)
    corpus = []
    for series in sorted(labels):
        data_path = os.path.join(nab_dir, "data", series)
        if not os.path.exists(data_path):
            continue  # labels cover NAB's 58 series; only some are installed
        timestamps = [ts for ts, _ in read_series(data_path)]
        windows = labels[series]
        if reference == "null":
            scores = [0.0] * len(timestamps)
        elif reference == "oracle":
            starts = {normalise_timestamp(a) for a, _ in windows}
            scores = [1.0 if ts in starts else 0.0 for ts in timestamps]
        else:
            path = os.path.join(results_dir, series)
            if not os.path.exists(path):
                sys.exit(f"{path}: missing results for {series}")
            rows = read_series(path)
            if [ts for ts, _ in rows] != timestamps:
                sys.exit(f"{path}: timestamps differ from {data_path}")
            scores = [s for _, s in rows]
        corpus.append((series, timestamps, scores, windows))
    return corpus


def detections_at(points, profile, threshold):
    """What a detector does at `threshold`: per window caught, the best
    credit among its detections; outside windows, how many false positives
    and their total (negative) weight."""
    caught = {}
    false_positives = 0
    fp_score = 0.0
    for point in points:
        if point.score < threshold:
            continue
        if point.window is None:
            false_positives += 1
            fp_score += point.weights[profile]
        else:
            caught[point.window] = max(caught.get(point.window, -1e9), point.weights[profile])
    return caught, false_positives, fp_score


def detail(corpus, profile, threshold):
    """Per series at the chosen threshold: its raw score (comparable with the
    Score column of NAB's results/<detector>/<detector>_<profile>_scores.csv),
    which windows were caught (and how early), which were missed, how many
    false positives."""
    lines = []
    fn_weight = PROFILES[profile]["fnWeight"]
    for series, timestamps, scores, windows in corpus:
        points = sweep_points(series, timestamps, scores, windows)
        caught, false_positives, fp_score = detections_at(points, profile, threshold)
        parts = []
        for start, end in windows:
            name = f"{series}|{normalise_timestamp(start)}"
            if name in caught:
                parts.append(f"hit {normalise_timestamp(start)} credit={caught[name]:.2f}")
            else:
                parts.append(f"MISS [{normalise_timestamp(start)} .. {normalise_timestamp(end)}]")
        raw = fp_score + sum(caught.values()) - fn_weight * (len(windows) - len(caught))
        lines.append(f"  {series}: raw={raw:.3f} fp={false_positives} " + ("; ".join(parts) if parts else "(no windows)"))
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nab-dir", required=True, help="NAB checkout or subset: data/ and labels/")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--results", help="directory of <category>/<name>.csv with anomaly_score")
    group.add_argument("--reference", choices=["null", "oracle"], help="score a reference detector")
    parser.add_argument("--detail", action="store_true", help="list hits, misses and false positives per series")
    parser.add_argument("--optimizer", choices=["sweep", "twiddle"], default="sweep",
                        help="how the threshold is chosen: sweep (every distinct score; the global best) or "
                             "twiddle (NAB's local hill-climb from 0.5, to reproduce NAB's own figures)")
    parser.add_argument("--threshold", type=float,
                        help="score every profile at this threshold instead of the swept best (as NAB's scoring "
                             "step with a thresholds.json, e.g. 1.0 for its published windowedGaussian results)")
    args = parser.parse_args()

    labels_path = os.path.join(args.nab_dir, "labels", "combined_windows.json")
    if not os.path.exists(labels_path):
        sys.exit(f"NAB data not found: {labels_path} is absent")
    corpus = load_corpus(args.nab_dir, args.results, args.reference)
    if not corpus:
        sys.exit(f"NAB data not found: no series of {labels_path} under {args.nab_dir}/data")

    points = []
    for series, timestamps, scores, windows in corpus:
        points.extend(sweep_points(series, timestamps, scores, windows))
    # As Sweeper._prepareScoreByThresholdParts: a window counts when some of
    # its rows are past the probationary period.
    window_names = sorted({point.window for point in points if point.window is not None})

    print(f"series={len(corpus)} windows={len(window_names)} scored_rows={len(points)}")
    for profile, costs in PROFILES.items():
        if args.threshold is None:
            optimizer = best_threshold if args.optimizer == "sweep" else twiddle_threshold
            raw, threshold = optimizer(points, window_names, profile)
        else:
            threshold = args.threshold
            raw = raw_at(points, window_names, profile, threshold)
        null = -costs["fnWeight"] * len(window_names)
        perfect = costs["tpWeight"] * len(window_names)
        normalised = 100.0 * (raw - null) / (perfect - null)
        print(f"{profile:<20} score={normalised:6.2f} threshold={threshold:.6f} raw={raw:.3f}")
        if args.detail:
            print("\n".join(detail(corpus, profile, threshold)))


if __name__ == "__main__":
    main()
