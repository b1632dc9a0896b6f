#!/usr/bin/python3
"""Generates the reference vectors of detectors/performance_metrics and
detectors/cbpe from scikit-learn (Debian 12: scikit-learn 1.2.1, numpy 1.24).

Run with Debian's interpreter, which has numpy and sklearn:
    /usr/bin/python3 scripts/gen_performance_vectors.py
It rewrites tests/detectors/vectors/performance_classification.json,
performance_regression.json and performance_cbpe.json. Every random input
comes from a fixed seed and is written out in full, so the C++ tests never
need Python and a rerun with the same versions reproduces the files exactly.

Conventions shared with the C++ side (detectors/performance_metrics.h):
- a metric that is undefined for a case is null (the C++ reports it absent
  with a reason); sklearn would raise, warn or return NaN there;
- average_precision with no positive label is null, although sklearn 1.2
  returns 0 with a warning (recall is undefined, so the value means nothing);
- r2 with fewer than two rows is null (sklearn returns NaN with a warning);
- "ece" follows the bins of sklearn.calibration.calibration_curve(strategy=
  "uniform", n_bins=10): edges numpy.linspace(0, 1, 11), bin of p =
  numpy.searchsorted(edges[1:-1], p) (left side, so p = 0.1 falls in the
  first bin), ECE = sum over non-empty bins of count/n * |mean(y) - mean(p)|
  (Naeini, Cooper & Hauskrecht 2015; Guo et al. 2017);
- label delay quantiles are numpy.percentile(method="linear").
CBPE expectations transcribe NannyML's estimate_* functions
(nannyml/performance_estimation/confidence_based/metrics.py) in numpy;
NannyML itself is not a Debian package.
"""

import json
import os
import warnings

import numpy as np
import sklearn
from sklearn import metrics
from sklearn.isotonic import IsotonicRegression

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "detectors", "vectors")

CLASSIFICATION_METRICS = [
    "accuracy", "precision", "recall", "f1",
    "precision_macro", "recall_macro", "f1_macro",
    "precision_weighted", "recall_weighted", "f1_weighted",
    "roc_auc", "average_precision", "log_loss", "brier", "ece",
]
REGRESSION_METRICS = ["mae", "rmse", "mape", "r2"]


def num(v):
    return None if v is None else float(v)


def ece(y01, p):
    edges = np.linspace(0.0, 1.0, 11)
    binids = np.searchsorted(edges[1:-1], p)
    total = 0.0
    n = len(p)
    for b in range(10):
        mask = binids == b
        count = int(mask.sum())
        if count == 0:
            continue
        total += count / n * abs(y01[mask].mean() - p[mask].mean())
    return total


def delay_summary(delays):
    d = np.array([x for x in delays if x is not None], dtype=float)
    if len(d) == 0:
        return {"p50": None, "p95": None, "max": None}
    return {
        "p50": float(np.percentile(d, 50)),
        "p95": float(np.percentile(d, 95)),
        "max": float(d.max()),
    }


def classification_expected(y_true, y_pred, score, pos):
    """Metrics of the labelled rows (y_true not None)."""
    rows = [i for i, t in enumerate(y_true) if t is not None]
    out = {m: None for m in CLASSIFICATION_METRICS}
    if not rows:
        return out
    t = np.array([y_true[i] for i in rows], dtype=object)
    yp = np.array([y_pred[i] for i in rows], dtype=object)
    out["accuracy"] = metrics.accuracy_score(t, yp)
    p, r, f, _ = metrics.precision_recall_fscore_support(t, yp, labels=[pos], average=None, zero_division=0)
    out["precision"], out["recall"], out["f1"] = p[0], r[0], f[0]
    for avg in ("macro", "weighted"):
        p, r, f, _ = metrics.precision_recall_fscore_support(t, yp, average=avg, zero_division=0)
        out["precision_" + avg], out["recall_" + avg], out["f1_" + avg] = p, r, f
    if score is not None:
        s = np.array([score[i] for i in rows], dtype=float)
        y01 = np.array([1 if v == pos else 0 for v in t])
        if 0 < y01.sum() < len(y01):
            out["roc_auc"] = metrics.roc_auc_score(y01, s)
        if y01.sum() > 0:
            out["average_precision"] = metrics.average_precision_score(y01, s)
        out["log_loss"] = metrics.log_loss(y01, s, labels=[0, 1])
        out["brier"] = metrics.brier_score_loss(y01, s, pos_label=1)
        out["ece"] = ece(y01, s)
    return {k: num(v) for k, v in out.items()}


def classification_case(name, y_true, y_pred, score, pos, classes, segment=None, delays=None):
    case = {
        "name": name,
        "positive": pos,
        "classes": classes,
        "y_true": y_true,
        "y_pred": y_pred,
        "score": score,
        "segment": segment,
        "delay_seconds": delays,
    }
    labelled = sum(1 for t in y_true if t is not None)
    case["expected"] = classification_expected(y_true, y_pred, score, pos)
    case["expected"]["label_coverage"] = labelled / len(y_true) if y_true else None
    case["expected"]["delay"] = delay_summary(delays or [])
    if segment is not None:
        case["expected_segments"] = {}
        for value in sorted(set(segment)):
            idx = [i for i, s in enumerate(segment) if s == value]
            sub = classification_expected(
                [y_true[i] for i in idx], [y_pred[i] for i in idx], None if score is None else [score[i] for i in idx], pos
            )
            sub["label_coverage"] = sum(1 for i in idx if y_true[i] is not None) / len(idx)
            case["expected_segments"][value] = sub
    return case


def regression_expected(target, value):
    rows = [i for i, t in enumerate(target) if t is not None]
    out = {m: None for m in REGRESSION_METRICS}
    if not rows:
        return out
    t = np.array([target[i] for i in rows], dtype=float)
    v = np.array([value[i] for i in rows], dtype=float)
    out["mae"] = metrics.mean_absolute_error(t, v)
    out["rmse"] = metrics.mean_squared_error(t, v, squared=False)
    out["mape"] = metrics.mean_absolute_percentage_error(t, v)
    if len(rows) >= 2:
        out["r2"] = metrics.r2_score(t, v)
    return {k: num(x) for k, x in out.items()}


def regression_case(name, target, value, segment=None):
    case = {"name": name, "target": target, "value": value, "segment": segment}
    case["expected"] = regression_expected(target, value)
    case["expected"]["label_coverage"] = sum(1 for t in target if t is not None) / len(target)
    if segment is not None:
        case["expected_segments"] = {}
        for s in sorted(set(segment)):
            idx = [i for i, x in enumerate(segment) if x == s]
            sub = regression_expected([target[i] for i in idx], [value[i] for i in idx])
            sub["label_coverage"] = sum(1 for i in idx if target[i] is not None) / len(idx)
            case["expected_segments"][s] = sub
    return case


def binary_stream(rng, n, decimals=None, flip=0.0):
    """Scores from Beta(2, 2), labels Bernoulli(score), predictions score >= 0.5."""
    s = rng.beta(2.0, 2.0, n)
    if decimals is not None:
        s = np.round(s, decimals)
    y = (rng.random(n) < s).astype(int)
    if flip:
        y = np.where(rng.random(n) < flip, 1 - y, y)
    yp = (s >= 0.5).astype(int)
    return [str(v) for v in y], [str(v) for v in yp], [float(v) for v in s]


def classification_cases():
    rng = np.random.default_rng(20261125)
    cases = []
    bc = ["0", "1"]
    t, p, s = binary_stream(rng, 400)
    cases.append(classification_case("binary_random_400", t, p, s, "1", bc))
    t, p, s = binary_stream(rng, 300, decimals=1)
    cases.append(classification_case("binary_tied_scores_300", t, p, s, "1", bc))
    t, p, s = binary_stream(rng, 50, decimals=0)
    cases.append(classification_case("binary_scores_only_0_and_1", t, p, s, "1", bc))
    cases.append(classification_case(
        "perfect", ["1", "0", "1", "0", "1"], ["1", "0", "1", "0", "1"], [0.9, 0.1, 0.8, 0.3, 0.7], "1", bc))
    cases.append(classification_case(
        "inverted", ["1", "0", "1", "0", "1"], ["0", "1", "0", "1", "0"], [0.1, 0.9, 0.2, 0.7, 0.3], "1", bc))
    cases.append(classification_case(
        "extreme_probabilities", ["1", "0", "1", "0"], ["1", "0", "0", "1"], [1.0, 0.0, 0.0, 1.0], "1", bc))
    cases.append(classification_case(
        "single_class_positive", ["1", "1", "1"], ["1", "0", "1"], [0.8, 0.4, 0.6], "1", bc))
    cases.append(classification_case(
        "single_class_negative", ["0", "0", "0", "0"], ["0", "0", "1", "0"], [0.2, 0.1, 0.6, 0.3], "1", bc))
    cases.append(classification_case("n1_positive", ["1"], ["1"], [0.7], "1", bc))
    cases.append(classification_case("n1_wrong", ["0"], ["1"], [0.7], "1", bc))
    cases.append(classification_case("n2_both_classes", ["0", "1"], ["0", "0"], [0.4, 0.4], "1", bc))
    cases.append(classification_case("n2_no_score", ["1", "0"], ["1", "1"], None, "1", bc))
    cases.append(classification_case(
        "no_positive_predictions", ["1", "0", "1", "0"], ["0", "0", "0", "0"], [0.3, 0.2, 0.4, 0.1], "1", bc))
    cases.append(classification_case(
        "string_labels", ["yes", "no", "yes", "no", "no", "yes"], ["yes", "yes", "no", "no", "no", "yes"],
        [0.9, 0.6, 0.4, 0.2, 0.45, 0.55], "yes", ["no", "yes"]))
    cases.append(classification_case(
        "ece_bin_edges", ["1", "0", "1", "0", "1", "0", "1", "0"], ["0", "0", "0", "0", "1", "1", "1", "1"],
        [0.0, 0.1, 0.2, 0.30000000000000004, 0.5, 0.7, 0.9, 1.0], "1", bc))

    classes = ["cat", "dog", "fish", "bird"]
    n = 250
    truth = rng.choice(classes[:3], n, p=[0.5, 0.3, 0.2])
    pred = np.where(rng.random(n) < 0.7, truth, rng.choice(classes, n))
    prob_cat = np.clip(np.where(pred == "cat", 0.6, 0.2) + rng.normal(0, 0.1, n), 0, 1)
    cases.append(classification_case(
        "multiclass_random_250", [str(v) for v in truth], [str(v) for v in pred], [float(v) for v in prob_cat],
        "cat", classes))
    cases.append(classification_case(
        "multiclass_label_missing_from_truth", ["a", "b", "a", "b"], ["a", "c", "c", "b"], None, "c", ["a", "b", "c"]))

    t, p, s = binary_stream(rng, 200, decimals=2)
    y_true = [None if rng.random() < 0.3 else v for v in t]
    delays = [None if v is None else float(np.round(rng.exponential(3600.0), 3)) for v in y_true]
    segment = [str(v) for v in rng.choice(["eu", "us", "apac"], 200)]
    cases.append(classification_case("partial_labels_segments_delays", y_true, p, s, "1", bc, segment, delays))
    cases.append(classification_case(
        "no_labels", [None, None, None], ["1", "0", "1"], [0.6, 0.4, 0.7], "1", bc, None, [None, None, None]))
    return cases


def regression_cases():
    rng = np.random.default_rng(7)
    cases = []
    x = rng.normal(10.0, 3.0, 300)
    cases.append(regression_case("random_300", [float(v) for v in x], [float(v) for v in x + rng.normal(0, 1, 300)]))
    cases.append(regression_case("zero_targets", [0.0, 1.0, 0.0, -2.0, 3.0], [0.5, 1.5, 0.0, -1.0, 2.0]))
    cases.append(regression_case("constant_target_imperfect", [2.0, 2.0, 2.0, 2.0], [2.0, 2.5, 1.5, 2.0]))
    cases.append(regression_case("constant_target_perfect", [2.0, 2.0, 2.0], [2.0, 2.0, 2.0]))
    cases.append(regression_case("n1", [3.0], [2.5]))
    cases.append(regression_case("n2", [1.0, 3.0], [1.5, 2.0]))
    cases.append(regression_case("perfect", [1.0, -2.0, 3.5, 10.0], [1.0, -2.0, 3.5, 10.0]))
    cases.append(regression_case("worse_than_mean", [1.0, 2.0, 3.0], [3.0, 2.0, 1.0]))
    t = rng.gamma(2.0, 50.0, 120)
    v = t * rng.lognormal(0.0, 0.2, 120)
    target = [None if rng.random() < 0.25 else float(a) for a in t]
    segment = [str(s) for s in rng.choice(["a", "b"], 120)]
    cases.append(regression_case("partial_labels_segments", target, [float(a) for a in v], segment))
    return cases


# NannyML's estimate_* functions, transcribed (see the module docstring).
def cbpe_expected(p_cal, p_raw, y_pred):
    y_pred = np.asarray(y_pred)
    p = np.asarray(p_cal)
    tp = np.sum(np.where(y_pred == 1, p, 0))
    fp = np.sum(np.where(y_pred == 1, 1 - p, 0))
    fn = np.sum(np.where(y_pred == 0, p, 0))
    tn = np.sum(np.where(y_pred == 0, 1 - p, 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = {
            "accuracy": (tp + tn) / (tp + fp + fn + tn),
            "precision": tp / (tp + fp),
            "recall": tp / (tp + fn),
            "f1": tp / (tp + 0.5 * (fp + fn)),
            "specificity": tn / (tn + fp),
        }
        order = np.argsort(np.asarray(p_raw), kind="stable")[::-1]
        cal = p[order]
        tps = np.cumsum(cal)
        fps = 1 + np.arange(len(cal)) - tps
        tps = np.round(np.r_[0, tps], 5)
        fps = np.round(np.r_[0, fps], 5)
        tpr = tps / tps[-1]
        fpr = fps / fps[-1]
        if np.all(np.isfinite(tpr)) and np.all(np.isfinite(fpr)):
            out["roc_auc"] = metrics.auc(fpr, tpr)
        else:
            out["roc_auc"] = None
    return {k: (None if v is None or not np.isfinite(v) else float(v)) for k, v in out.items()}


def cbpe_cases():
    rng = np.random.default_rng(99)
    cases = []
    for name, n, a, b, decimals in [("beta22_500", 500, 2, 2, None), ("beta55_tied_300", 300, 5, 5, 2),
                                     ("beta_skewed_200", 200, 1, 4, None)]:
        s = rng.beta(a, b, n)
        if decimals is not None:
            s = np.round(s, decimals)
        yp = (s >= 0.5).astype(int)
        cases.append({"name": name, "score": [float(v) for v in s], "y_pred": [int(v) for v in yp],
                      "expected": cbpe_expected(s, s, yp)})
    s = np.array([0.9, 0.8, 0.7])
    cases.append({"name": "all_positive_predictions", "score": list(s), "y_pred": [1, 1, 1],
                  "expected": cbpe_expected(s, s, [1, 1, 1])})
    s = np.array([0.0, 0.0, 0.0])
    cases.append({"name": "certain_negatives", "score": list(s), "y_pred": [0, 0, 0],
                  "expected": cbpe_expected(s, s, [0, 0, 0])})
    return cases


def isotonic_cases():
    rng = np.random.default_rng(5)
    cases = []

    def add(name, x, y, query):
        model = IsotonicRegression(out_of_bounds="clip").fit(x, y)
        cases.append({"name": name, "x": [float(v) for v in x], "y": [float(v) for v in y],
                      "query": [float(v) for v in query], "expected": [float(v) for v in model.predict(query)]})

    x = rng.random(300)
    y = (rng.random(300) < x ** 3).astype(float)
    add("cubic_300", x, y, np.r_[-0.5, np.linspace(0, 1, 41), 1.5, rng.random(20)])
    x = np.round(rng.random(200), 1)
    y = (rng.random(200) < x).astype(float)
    add("tied_x_200", x, y, np.r_[np.linspace(0, 1, 21), 0.05, 0.95])
    add("decreasing_pools", [1, 2, 3, 4, 5], [5.0, 4.0, 3.0, 2.0, 1.0], [0.0, 1.0, 2.5, 6.0])
    add("single_x", [0.3, 0.3, 0.3], [1.0, 0.0, 0.0], [0.0, 0.3, 1.0])
    add("two_points", [0.2, 0.8], [0.0, 1.0], [0.1, 0.2, 0.5, 0.8, 0.9])
    return cases


def main():
    warnings.simplefilter("ignore")
    os.makedirs(OUT, exist_ok=True)
    source = f"scripts/gen_performance_vectors.py, scikit-learn {sklearn.__version__}, numpy {np.__version__}"
    files = {
        "performance_classification.json": {"source": source, "cases": classification_cases()},
        "performance_regression.json": {"source": source, "cases": regression_cases()},
        "performance_cbpe.json": {"source": source, "cbpe": cbpe_cases(), "isotonic": isotonic_cases()},
    }
    for name, content in files.items():
        with open(os.path.join(OUT, name), "w") as out:
            json.dump(content, out, indent=1, allow_nan=False)
            out.write("\n")


if __name__ == "__main__":
    main()
