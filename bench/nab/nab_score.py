#!/usr/bin/python3
"""Score anomaly-detector output with the Numenta Anomaly Benchmark's rules.

The rules follow numenta/NAB v1.1 (the Python 3 release of 2019, its current
master): nab/sweeper.py scores rows, nab/optimizer.py chooses the threshold,
nab/scorer.py scores each file at it and nab/runner.py normalises:
  * probationary period: the first min(floor(0.15 n), 0.15 * 5000) rows of a
    series are not scored (Sweeper._getProbationaryLength);
  * a row inside a labelled window is worth tpWeight * S(p) / S(-1) with
    S(p) = 2 sigmoid(-5 p) - 1 the scaled sigmoid (-1 when p > 3) and
    p = -(right_index - i + 1) / window_width its position in the window, and
    only the best (earliest) detection of a window counts; a window without a
    detection costs -fnWeight (Sweeper.calcSweepScore, calcScoreByThreshold);
  * a row outside every window is worth fpWeight * S(p) with
    p = |i - previous_right_index| / (previous_width - 1), or -fpWeight before
    the first window, and every such detection counts;
  * a window wholly inside the probationary period is not scored at all (no
    credit, no cost), but it still counts towards the perfect score below;
  * window edges are looked up by timestamp and must each match exactly one
    row (nab/labeler.py CorpusLabel.getWindows refuses anything else);
  * one threshold per profile, swept jointly over the whole corpus, is chosen
    to maximise the summed raw score: every distinct score is tried
    (nab/optimizer.py optimizeThreshold in v1.1: calcScoreByThreshold over the
    pooled rows of every file, best score first, ties to the higher
    threshold), and each file is then scored at it (scorer.py scoreDataSet;
    at a threshold below every scored value of a file v1.1 finds no row and
    fails, while here, as in v1.0, every row of that file fires);
  * the raw score is normalised as 100 (raw - null) / (perfect - null), with
    null = the raw score of a detector that never fires, -fnWeight for each
    scored window, and perfect = tpWeight for every window of the labels of
    the series scored (Runner.normalize counts every window of its labels
    file; the series here may be a subset of those the labels cover, and only
    theirs count).

NAB v1.0 (Python 2, 2017) chose the threshold differently: a local
hill-climb, "twiddle", from 0.5 with a first step of 0.1 (doubled after a
gain, halved after two losses, down to 1e-7) on the summed per-file score,
which can stop at a local best. NAB's published thresholds
(config/thresholds.json) and per-file scores of the older detectors come from
that search: windowedGaussian's threshold 1.0, and the null detector's
0.625, which a sweep never returns. --optimizer twiddle reproduces it. The
per-file Total_Count column of those published score files counts every row
of the file (v1.0's scorer), while TP/TN/FP/FN count scored rows only; the
per-series --detail line prints both.

Input: a results directory laid out like NAB's data directory
(<category>/<name>.csv with columns timestamp,value,anomaly_score), or one of
the built-in reference detectors (--reference null|oracle) used to check the
scorer itself: null must score 0 and oracle 100 under every profile.
bench/nab/test_nab_score.py checks these rules on corpora worked out by hand
and on NAB's published per-file results for windowedGaussian.
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
    """nab/sweeper.py scaledSigmoid (v1.1): -1 only strictly past 3, so a false
    positive exactly 3 window widths after a window costs 2 sigmoid(-15) - 1."""
    if position > 3.0:
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
    """nab/sweeper.py Sweeper.calcSweepScore for every profile at once: the
    scored rows (after the probationary period), in row order."""
    rows_at = {}
    for i, ts in enumerate(timestamps):
        rows_at.setdefault(ts, []).append(i)
    pending = [(normalise_timestamp(a), normalise_timestamp(b)) for a, b in windows]
    for start, end in pending:
        for edge in (start, end):
            if len(rows_at.get(edge, ())) != 1:
                found = len(rows_at.get(edge, ()))
                sys.exit(f"{series_name}: window [{start}, {end}]: its edge {edge} matches {found} rows, "
                         "expected exactly 1 (as NAB's labeler)")
    max_tp = scaled_sigmoid(-1.0)
    probation = probationary_length(len(timestamps))
    points = []
    current = None  # (name, right_index, width)
    previous = None  # (right_index, width)
    for i, ts in enumerate(timestamps):
        if pending and ts == pending[0][0]:
            start, end = pending.pop(0)
            right = rows_at[end][0]
            current = (f"{series_name}|{start}", right, float(right - rows_at[start][0] + 1))
        if current is not None:
            name, right, width = current
            unweighted = scaled_sigmoid(-(right - i + 1) / width)
            weights = {p: unweighted * c["tpWeight"] / max_tp for p, c in PROFILES.items()}
        else:
            name = None
            # Before the first window NAB counts a false positive as far away.
            unweighted = -1.0 if previous is None else scaled_sigmoid(abs(previous[0] - i) / (previous[1] - 1))
            weights = {p: unweighted * c["fpWeight"] for p, c in PROFILES.items()}
        if i >= probation:
            points.append(Point(scores[i], weights, name))
        if current is not None and i == current[1]:
            previous = (current[1], current[2])
            current = None
    return points


def best_threshold(points, window_names, profile):
    """nab/sweeper.py calcScoreByThreshold on the pooled corpus, then NAB
    v1.1's optimizer's choice (nab/optimizer.py optimizeThreshold): the
    threshold with the highest summed raw score, the higher one on ties."""
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
    """(raw, threshold) as NAB v1.0's optimizer found them (nab/optimizer.py
    before v1.1: optimizeThreshold -> twiddle(objectiveFunction,
    initialGuess=0.5, tolerance=1e-7)): a local hill-climb on the summed raw score, the
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


def file_score(points, profile, threshold, rows):
    """One series at `threshold` as NAB's per-file score files
    (results/<detector>/<detector>_<profile>_scores.csv) report it:
    {raw, tp, tn, fp, fn, rows}, the counts being scored rows (a detection
    inside or outside a window, a quiet row outside or inside one) and rows
    every row of the file (their Total_Count). The raw score is summed in the
    order of NAB v1.0's Scorer.getScore, which wrote the published files
    (credits of caught windows in window order, then false positives in row
    order, then missed windows), so it matches them to the last digit."""
    fn_weight = PROFILES[profile]["fnWeight"]
    windows = []  # in row order
    credit = {}
    fp_weights = []
    counts = {"tp": 0, "tn": 0, "fp": 0, "fn": 0}
    for point in points:
        fired = point.score >= threshold
        if point.window is None:
            counts["fp" if fired else "tn"] += 1
            if fired:
                fp_weights.append(point.weights[profile])
            continue
        if point.window not in credit:
            windows.append(point.window)
            credit[point.window] = None
        counts["tp" if fired else "fn"] += 1
        if fired and credit[point.window] is None:
            credit[point.window] = point.weights[profile]  # the first detection is the best
    tp_score = 0
    fn_score = 0
    for window in windows:
        if credit[window] is None:
            fn_score -= fn_weight
        else:
            tp_score += credit[window]
    fp_score = 0
    for weight in fp_weights:
        fp_score += weight
    return dict(counts, raw=tp_score + fp_score + fn_score, rows=rows, caught=credit)


def detail(corpus, profile, threshold):
    """Per series at the chosen threshold: its raw score and row counts
    (file_score: comparable with NAB's per-file score files), which windows
    were caught (and how early) and which were missed."""
    lines = []
    for series, timestamps, scores, windows in corpus:
        points = sweep_points(series, timestamps, scores, windows)
        result = file_score(points, profile, threshold, len(timestamps))
        parts = []
        for start, end in windows:
            name = f"{series}|{normalise_timestamp(start)}"
            credit = result["caught"].get(name, "probation")
            if credit == "probation":
                parts.append(f"(in probation {normalise_timestamp(start)})")
            elif credit is None:
                parts.append(f"MISS [{normalise_timestamp(start)} .. {normalise_timestamp(end)}]")
            else:
                parts.append(f"hit {normalise_timestamp(start)} credit={credit:.2f}")
        lines.append(f"  {series}: raw={result['raw']!r} tp={result['tp']} tn={result['tn']} fp={result['fp']} "
                     f"fn={result['fn']} rows={result['rows']} " + ("; ".join(parts) if parts else "(no windows)"))
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nab-dir", required=True, help="NAB checkout or subset: data/ and labels/")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--results", help="directory of <category>/<name>.csv with anomaly_score")
    group.add_argument("--reference", choices=["null", "oracle"], help="score a reference detector")
    parser.add_argument("--detail", action="store_true", help="list hits, misses and false positives per series")
    parser.add_argument("--optimizer", choices=["sweep", "twiddle"], default="sweep",
                        help="how the threshold is chosen: sweep (every distinct score, the global best: NAB v1.1's "
                             "optimizer) or twiddle (NAB v1.0's local hill-climb from 0.5)")
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
    # As Sweeper._prepareScoreByThresholdParts: a window is scored when some
    # of its rows are past the probationary period; the perfect score counts
    # every window of the series (Runner.normalize).
    window_names = sorted({point.window for point in points if point.window is not None})
    all_windows = sum(len(windows) for _, _, _, windows in corpus)

    print(f"series={len(corpus)} windows={all_windows} scored_windows={len(window_names)} scored_rows={len(points)}")
    for profile, costs in PROFILES.items():
        if args.threshold is None:
            optimizer = best_threshold if args.optimizer == "sweep" else twiddle_threshold
            raw, threshold = optimizer(points, window_names, profile)
        else:
            threshold = args.threshold
            raw = raw_at(points, window_names, profile, threshold)
        null = -costs["fnWeight"] * len(window_names)
        perfect = costs["tpWeight"] * all_windows
        normalised = 100.0 * (raw - null) / (perfect - null)
        print(f"{profile:<20} score={normalised:6.2f} threshold={threshold!r} raw={raw:.6f}")
        if args.detail:
            print("\n".join(detail(corpus, profile, threshold)))


if __name__ == "__main__":
    main()
