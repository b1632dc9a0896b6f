#!/usr/bin/python3
"""Held-out NAB score of a `modelwatch anomaly` detector, by k-fold cross-validation.

The plain benchmark (run.sh without --folds) chooses the threshold on the same
series it scores, and the detectors' defaults were themselves chosen by looking
at those series, so its figure is optimistic. This script measures what a
detector would score on series it was not tuned on:

  * the series present are split into k folds, stratified by NAB category
    (the data/ sub-folder): series are ordered by category then name and dealt
    out round-robin, so every fold holds a share of every category and the
    split is the same on every run;
  * for each fold, every setting of a small grid of the detector's options
    (which includes the defaults) is scored on the other k-1 folds with
    NAB's threshold sweep (nab_score.best_threshold), and the setting and
    threshold with the highest summed raw score are kept, per profile, as
    NAB's optimizer does (nab/optimizer.py) but on the training folds only;
  * the held-out fold is scored at that setting and threshold;
  * the held-out raw scores of the k folds are summed and normalised like
    NAB's (100 (raw - null) / (perfect - null), nab_score.py), over all
    windows of the corpus.

Beside it, in the same run: the held-out score of the defaults alone (only
the threshold learnt on the other folds), and the in-sample figures: the
defaults with the threshold swept over the whole corpus (what run.sh
reports), and the best setting of the grid chosen on the whole corpus (an
upper bound).

With --detail, per series (standard profile), for the defaults at their
fold's held-out threshold and for the fold's chosen setting and threshold:
windows caught and missed, false positives and their cost.
"""

import argparse
import concurrent.futures
import itertools
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import nab_score  # noqa: E402  (the scorer beside this script)

# Small grids around each detector's defaults: the options that decide how
# much surprise is noise and how long a surprise must last. The defaults come
# first, so a tie in training score keeps them.
DEFAULT_GRIDS = {
    "robust": {"raw_offset": ["2", "1", "3"], "short_window": ["10", "5", "20"]},
    # CAD OSE's 8 levels (3 bits) first; coarser and finer, and a shorter context.
    "contextual": {"levels": ["8", "5", "12"], "context_length": ["3", "2"]},
    # The ensemble has no options of its own: only its threshold is learnt.
    "ensemble": {},
    # NAB's windowed Gaussian is a reference: only its threshold is learnt.
    "windowed_gaussian": {},
}


def parse_grid(items, detector):
    """{key: [values]} from KEY=V1,V2 items, or the detector's default grid."""
    if not items:
        return dict(DEFAULT_GRIDS.get(detector, {}))
    grid = {}
    for item in items:
        key, equals, values = item.partition("=")
        if not equals or not key or not values:
            sys.exit(f"cross_validate.py: --grid expects KEY=V1,V2,..., got '{item}'")
        grid[key] = values.split(",")
    return grid


def settings_of(grid):
    """Every combination of the grid as a tuple of (key, value), in grid order."""
    keys = list(grid)
    return [tuple(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]


def describe(setting):
    return " ".join(f"{k}={v}" for k, v in setting) or "(defaults)"


def assign_folds(series_names, folds):
    """{series: fold}: ordered by category then name, dealt out round-robin."""
    ordered = sorted(series_names, key=lambda s: (os.path.dirname(s), os.path.basename(s)))
    return {series: i % folds for i, series in enumerate(ordered)}


def category_of(series):
    """NAB's kind of series: the data/ sub-folder, with artificialNoAnomaly and
    artificialWithAnomaly together as "artificial" (one kind of data)."""
    folder = os.path.dirname(series)
    return "artificial" if folder.startswith("artificial") else folder


def assign_categories(series_names):
    """({series: fold}, [category of each fold]): one fold per category."""
    categories = sorted({category_of(s) for s in series_names})
    return {s: categories.index(category_of(s)) for s in series_names}, categories


def run_detector(modelwatch, nab_dir, detector, setting, series):
    """Anomaly scores of one series, parsed from `modelwatch anomaly`'s output."""
    command = [modelwatch, "anomaly", "--input", os.path.join(nab_dir, "data", series), "--detector", detector]
    for key, value in setting:
        command += ["--param", f"{key}={value}"]
    run = subprocess.run(command, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"cross_validate.py: {' '.join(command)} failed:\n{run.stderr}")
    lines = run.stdout.splitlines()
    if not lines or lines[0] != "timestamp,value,anomaly_score":
        sys.exit(f"cross_validate.py: unexpected output of {' '.join(command)}")
    return [(nab_score.normalise_timestamp(line.split(",", 1)[0]), float(line.rsplit(",", 1)[1])) for line in lines[1:]]


def score_corpus(corpus, modelwatch, nab_dir, detector, settings, jobs):
    """{setting: {series: points}} with each series' points sorted by score,
    highest first (so best_threshold's sort of a concatenation only merges)."""
    tasks = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        for setting in settings:
            for series, _, _, _ in corpus:
                tasks[(setting, series)] = pool.submit(run_detector, modelwatch, nab_dir, detector, setting, series)
    scored = {setting: {} for setting in settings}
    for series, timestamps, _, windows in corpus:
        for setting in settings:
            rows = tasks[(setting, series)].result()
            if [ts for ts, _ in rows] != timestamps:
                sys.exit(f"cross_validate.py: {series}: output timestamps differ from the data file")
            for score in (s for _, s in rows):
                if not 0.0 <= score <= 1.0:
                    sys.exit(f"cross_validate.py: {series} ({describe(setting)}): score {score} outside [0, 1]")
            points = nab_score.sweep_points(series, timestamps, [s for _, s in rows], windows)
            points.sort(key=lambda p: p.score, reverse=True)
            scored[setting][series] = points
    return scored


def windows_of(points):
    """The windows that count: those with rows past the probationary period."""
    return {p.window for p in points if p.window is not None}


def normalise(raw, windows, profile):
    costs = nab_score.PROFILES[profile]
    null = -costs["fnWeight"] * windows
    perfect = costs["tpWeight"] * windows
    return 100.0 * (raw - null) / (perfect - null)


def choose(scored, series_names, settings, profile):
    """(raw, threshold, setting) with the best swept raw score over `series_names`."""
    best = None
    for setting in settings:
        points = [p for s in series_names for p in scored[setting][s]]
        raw, threshold = nab_score.best_threshold(points, sorted(windows_of(points)), profile)
        if best is None or raw > best[0]:
            best = (raw, threshold, setting)
    return best


def series_detail(series, points, windows, profile, threshold):
    """One line: windows caught or missed, false positives and their cost."""
    caught, false_positives, fp_cost = nab_score.detections_at(points, profile, threshold)
    counted = windows_of(points)
    parts = []
    for start, end in windows:
        name = f"{series}|{nab_score.normalise_timestamp(start)}"
        if name not in counted:
            parts.append(f"(in probation {nab_score.normalise_timestamp(start)})")
        elif name in caught:
            parts.append(f"hit {nab_score.normalise_timestamp(start)} credit={caught[name]:.2f}")
        else:
            parts.append(f"MISS [{nab_score.normalise_timestamp(start)} .. {nab_score.normalise_timestamp(end)}]")
    raw = nab_score.raw_at(points, counted, profile, threshold)
    return f"raw={raw:.3f} fp={false_positives} fp_cost={fp_cost:.3f} " + ("; ".join(parts) or "(no windows)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modelwatch", required=True, help="the modelwatch program (BUILD_DIR/cli/modelwatch)")
    parser.add_argument("--nab-dir", required=True, help="NAB checkout or subset: data/ and labels/")
    parser.add_argument("--detector", default="robust", help="a name from `modelwatch anomaly --help`")
    parser.add_argument("--folds", type=int, default=5, help="number of folds (2 or more)")
    parser.add_argument("--leave-one-category-out", action="store_true",
                        help="one fold per NAB category (artificial, realKnownCause, realTraffic, ...): setting and "
                             "threshold learnt on the other categories, so the held-out figure is on a kind of "
                             "series never seen in training (instead of --folds)")
    parser.add_argument("--grid", action="append", metavar="KEY=V1,V2",
                        help="an option and its candidate values (repeatable; the first values make the setting "
                             "reported as the defaults); default: a small grid per detector")
    parser.add_argument("--jobs", type=int, default=2, help="detector runs at once")
    parser.add_argument("--detail", action="store_true", help="per series: hits, misses, false positives (standard)")
    args = parser.parse_args()

    labels_path = os.path.join(args.nab_dir, "labels", "combined_windows.json")
    if not os.path.exists(labels_path) or not os.path.isdir(os.path.join(args.nab_dir, "data")):
        sys.exit(f"NAB data not found: expected {args.nab_dir}/data and {labels_path}")
    corpus = nab_score.load_corpus(args.nab_dir, None, "null")
    if not corpus:
        sys.exit(f"NAB data not found: no series of {labels_path} under {args.nab_dir}/data")
    if not args.leave_one_category_out and not 2 <= args.folds <= len(corpus):
        sys.exit(f"cross_validate.py: --folds must be between 2 and the number of series ({len(corpus)})")

    grid = parse_grid(args.grid, args.detector)
    settings = settings_of(grid)
    defaults = settings[0]
    scored = score_corpus(corpus, args.modelwatch, args.nab_dir, args.detector, settings, max(1, args.jobs))
    all_series = [series for series, _, _, _ in corpus]
    windows = {series: w for series, _, _, w in corpus}
    if args.leave_one_category_out:
        fold_of, fold_names = assign_categories(all_series)
        if len(fold_names) < 2:
            sys.exit("cross_validate.py: --leave-one-category-out needs series of 2 or more categories")
    else:
        fold_of = assign_folds(all_series, args.folds)
        fold_names = [f"fold {f + 1}" for f in range(args.folds)]
    folds = len(fold_names)
    members = [[s for s in all_series if fold_of[s] == f] for f in range(folds)]
    window_count = len(windows_of([p for s in all_series for p in scored[defaults][s]]))

    split = ("leave one category out" if args.leave_one_category_out
             else f"{folds} folds stratified by category")
    print(f"== cross-validated NAB score: modelwatch anomaly --detector {args.detector}, {len(corpus)} series, "
          f"{window_count} windows, {split}")
    print(f"grid ({len(settings)} settings, defaults first): "
          + (" ".join(f"{k}={','.join(v)}" for k, v in grid.items()) or "defaults only"))
    for f, names in enumerate(members):
        print(f"  {fold_names[f]}: " + ", ".join(os.path.basename(s)[:-4] for s in names))
    # Held-out figures first: they are the estimate; in-sample ones are optimistic.
    print(f"{'profile':<20} {'held-out':>10} {'held-out':>10} {'in-sample':>10} {'in-sample':>10}")
    print(f"{'':<20} {'grid+thr':>10} {'threshold':>10} {'defaults':>10} {'best-grid':>10}")
    held_out_choices = {}
    default_thresholds = {}
    per_fold = {}  # profile -> [(held-out raw, in-sample raw of the defaults, windows)] per fold
    for profile in nab_score.PROFILES:
        default_points = [p for s in all_series for p in scored[defaults][s]]
        default_raw, default_threshold = nab_score.best_threshold(default_points, sorted(windows_of(default_points)),
                                                                  profile)
        best_raw, _, best_setting = choose(scored, all_series, settings, profile)
        held_out_threshold_raw = 0.0  # the defaults, only the threshold learnt
        held_out_raw = 0.0  # setting and threshold learnt
        choices = []
        default_thresholds[profile] = []
        per_fold[profile] = []
        for f, test in enumerate(members):
            train = [s for s in all_series if fold_of[s] != f]
            _, threshold, _ = choose(scored, train, [defaults], profile)
            default_thresholds[profile].append(threshold)
            test_points = [p for s in test for p in scored[defaults][s]]
            held_out_threshold_raw += nab_score.raw_at(test_points, windows_of(test_points), profile, threshold)
            in_sample_fold = nab_score.raw_at(test_points, windows_of(test_points), profile, default_threshold)
            _, threshold, setting = choose(scored, train, settings, profile)
            test_points = [p for s in test for p in scored[setting][s]]
            fold_raw = nab_score.raw_at(test_points, windows_of(test_points), profile, threshold)
            held_out_raw += fold_raw
            per_fold[profile].append((fold_raw, in_sample_fold, len(windows_of(test_points))))
            choices.append((setting, threshold))
        held_out_choices[profile] = choices
        print(f"{profile:<20} {normalise(held_out_raw, window_count, profile):10.2f} "
              f"{normalise(held_out_threshold_raw, window_count, profile):10.2f} "
              f"{normalise(default_raw, window_count, profile):10.2f} "
              f"{normalise(best_raw, window_count, profile):10.2f}"
              f"   (defaults' threshold {default_threshold:.6g}; best of grid: {describe(best_setting)})")
    print("held-out grid+thr: setting and threshold both chosen on the other folds (the honest figure, if the\n"
          "grid itself was not chosen by looking at these series); held-out threshold: the defaults, threshold\n"
          "chosen on the other folds; in-sample defaults: the defaults, threshold swept over every series\n"
          "(run.sh's figure); in-sample best-grid: the best setting and threshold on every series (an upper bound)")
    print("per fold, standard profile, normalised over the fold's windows: held-out grid+thr / in-sample defaults")
    for f, (fold_raw, in_sample_fold, fold_windows) in enumerate(per_fold["standard"]):
        if fold_windows == 0:
            print(f"  {fold_names[f]:<16} no windows (held-out raw {fold_raw:.3f}, in-sample {in_sample_fold:.3f})")
        else:
            print(f"  {fold_names[f]:<16} {normalise(fold_raw, fold_windows, 'standard'):7.2f} / "
                  f"{normalise(in_sample_fold, fold_windows, 'standard'):7.2f}  ({fold_windows} windows)")
    for profile, thresholds in default_thresholds.items():
        print(f"thresholds of the defaults chosen on the training folds, {profile}: "
              + "; ".join(f"{fold_names[f]}: {t:.6g}" for f, t in enumerate(thresholds)))
    for profile, choices in held_out_choices.items():
        print(f"chosen on the training folds, {profile}: "
              + "; ".join(f"{fold_names[f]}: {describe(s)} threshold={t:.6g}" for f, (s, t) in enumerate(choices)))
    if args.detail:
        profile = "standard"
        print(f"per series, held out ({profile}), the defaults at the threshold chosen on the other folds:")
        for series in all_series:
            threshold = default_thresholds[profile][fold_of[series]]
            print(f"  {series}: " + series_detail(series, scored[defaults][series], windows[series], profile, threshold))
        print(f"per series, held out ({profile}), the setting and threshold chosen on the other folds:")
        for series in all_series:
            setting, threshold = held_out_choices[profile][fold_of[series]]
            print(f"  {series}: " + series_detail(series, scored[setting][series], windows[series], profile, threshold))

if __name__ == "__main__":
    main()
