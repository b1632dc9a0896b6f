#!/usr/bin/python3
"""Generates the fairness reference vectors from the bundled UCI Adult data.

Run from the repository root with Debian's interpreter (it needs numpy):
    /usr/bin/python3 scripts/gen_fairness_vectors.py

Writes
  tests/fairness/vectors/adult_predictions.csv.gz
      id,sex,race,y_true,y_pred,score for every row of data/adult/adult.csv.gz,
      from a small logistic regression trained here (plain gradient descent in
      numpy, fixed iterations, no randomness), so the audit has predictions.
  tests/fairness/vectors/adult_reference.json
      group metrics, Wilson intervals and disparities computed with numpy from
      the predictions exactly as written (scores rounded to 6 decimals), the
      independent reference that tests/fairness/adult_reference_test.cpp checks
      modelwatch against to 1e-12.

The definitions mirror fairness/definitions.h:
  rates:        Fairlearn's metric functions (selection_rate, true_positive_rate, ...)
  Wilson:       statsmodels.stats.proportion.proportion_confint(method="wilson"),
                z = scipy.stats.norm.ppf(1 - alpha / 2)
  ECE:          sum_b n_b / n * |mean score_b - positive rate_b| over 10 equal-width
                score buckets (Naeini, Cooper and Hauskrecht 2015)
  between groups: max - min and min / max (Fairlearn's method="between_groups")
  to reference:   group - reference and group / reference (Aequitas disparity)
"""
import gzip
import io
import json
import math
import os

import numpy as np
from scipy.stats import norm

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VECTORS = os.path.join(ROOT, "tests", "fairness", "vectors")
MIN_GROUP_SIZE = 120
CONFIDENCE = 0.95
BUCKETS = 10


def read_adult():
    with gzip.open(os.path.join(ROOT, "data", "adult", "adult.csv.gz"), "rt") as f:
        header = f.readline().rstrip("\n").split(",")
        rows = [line.rstrip("\n").split(",") for line in f]
    return header, rows


def train_model(header, rows):
    col = {name: i for i, name in enumerate(header)}

    def num(name):
        return np.array([float(r[col[name]]) for r in rows])

    features = np.column_stack([
        num("age"),
        num("education_num"),
        num("hours_per_week"),
        np.log1p(num("capital_gain")),
        np.log1p(num("capital_loss")),
        np.array([r[col["sex"]] == "Male" for r in rows], dtype=float),
        np.array([r[col["marital_status"]] == "Married-civ-spouse" for r in rows], dtype=float),
    ])
    y = np.array([r[col["income"]] == ">50K" for r in rows], dtype=float)
    train = np.arange(len(rows)) % 2 == 0  # even rows train, odd rows are held out
    mean = features[train].mean(axis=0)
    std = features[train].std(axis=0)
    x = np.column_stack([np.ones(len(rows)), (features - mean) / std])
    w = np.zeros(x.shape[1])
    for _ in range(2000):
        p = 1.0 / (1.0 + np.exp(-x[train] @ w))
        w -= 0.5 * x[train].T @ (p - y[train]) / train.sum()
    score = 1.0 / (1.0 + np.exp(-x @ w))
    return y.astype(int), score


def write_predictions(header, rows, y_true, score):
    col = {name: i for i, name in enumerate(header)}
    text = io.StringIO()
    text.write("id,sex,race,y_true,y_pred,score\n")
    for i, r in enumerate(rows):
        s = "%.6f" % score[i]
        text.write("%d,%s,%s,%d,%d,%s\n" % (i + 1, r[col["sex"]], r[col["race"]], y_true[i],
                                           1 if float(s) >= 0.5 else 0, s))
    path = os.path.join(VECTORS, "adult_predictions.csv.gz")
    with open(path, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as f:
            f.write(text.getvalue().encode())


def read_predictions():
    with gzip.open(os.path.join(VECTORS, "adult_predictions.csv.gz"), "rt") as f:
        f.readline()
        rows = [line.rstrip("\n").split(",") for line in f]
    return {
        "sex": np.array([r[1] for r in rows]),
        "race": np.array([r[2] for r in rows]),
        "y_true": np.array([int(r[3]) for r in rows]),
        "y_pred": np.array([int(r[4]) for r in rows]),
        "score": np.array([float(r[5]) for r in rows]),
    }


def ratio(a, b):
    return a / b if b != 0 else float("nan")


def wilson(k, n):
    # statsmodels proportion_confint(method="wilson"), Wilson (1927).
    if n == 0:
        return [float("nan"), float("nan")]
    z = norm.ppf(1 - (1 - CONFIDENCE) / 2)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # At 0 or n successes the exact endpoint is 0 or 1 (as fairness/numerics.cpp returns).
    return [0.0 if k == 0 else centre - half, 1.0 if k == n else centre + half]


def group_metrics(y_true, y_pred, score):
    tp = int(np.sum((y_true == 1) & (y_pred == 1)))
    fp = int(np.sum((y_true == 0) & (y_pred == 1)))
    tn = int(np.sum((y_true == 0) & (y_pred == 0)))
    fn = int(np.sum((y_true == 1) & (y_pred == 0)))
    n = tp + fp + tn + fn
    rates = {
        "base_rate": (tp + fn, n),
        "selection_rate": (tp + fp, n),
        "tpr": (tp, tp + fn),
        "fpr": (fp, fp + tn),
        "fnr": (fn, tp + fn),
        "tnr": (tn, fp + tn),
        "ppv": (tp, tp + fp),
        "npv": (tn, tn + fn),
        "accuracy": (tp + tn, n),
    }
    bucket = np.minimum(np.floor(score * BUCKETS), BUCKETS - 1).astype(int)
    buckets = []
    ece = 0.0
    for b in range(BUCKETS):
        m = bucket == b
        nb = int(m.sum())
        if nb == 0:
            buckets.append({"count": 0})
            continue
        mean_score = float(score[m].mean())
        positive_rate = float(y_true[m].mean())
        buckets.append({"count": nb, "mean_score": mean_score, "positive_rate": positive_rate})
        ece += nb / n * abs(mean_score - positive_rate)
    return {
        "count": n, "tp": tp, "fp": fp, "tn": tn, "fn": fn,
        "rates": {name: {"value": ratio(k, d), "wilson": wilson(k, d)} for name, (k, d) in rates.items()},
        "calibration": buckets,
        "calibration_error": ece,
    }


def disparities(groups):
    eligible = [g for g in groups if not g["too_small"]]
    rate_metrics = ["selection_rate", "tpr", "fpr", "fnr", "ppv"]
    reference = max(eligible, key=lambda g: (g["count"], g["label"]))

    def rate(g, name):
        return g["rates"][name]["value"]

    to_reference = []
    for g in eligible:
        if g is reference:
            continue
        entry = {"group": g["label"]}
        for name in rate_metrics:
            entry[name + "_difference"] = rate(g, name) - rate(reference, name)
            entry[name + "_ratio"] = ratio(rate(g, name), rate(reference, name))
        entry["equalized_odds_difference"] = max(abs(entry["tpr_difference"]), abs(entry["fpr_difference"]))
        entry["calibration_error_difference"] = g["calibration_error"] - reference["calibration_error"]
        to_reference.append(entry)
    between = {}
    for name in rate_metrics:
        values = [rate(g, name) for g in eligible]
        between[name + "_difference"] = max(values) - min(values)
        between[name + "_ratio"] = ratio(min(values), max(values))
    between["equalized_odds_difference"] = max(between["tpr_difference"], between["fpr_difference"])
    eces = [g["calibration_error"] for g in eligible]
    between["calibration_error_difference"] = max(eces) - min(eces)
    return {"reference_group": reference["label"], "to_reference": to_reference, "between_groups": between}


def main():
    header, rows = read_adult()
    y_true, score = train_model(header, rows)
    write_predictions(header, rows, y_true, score)
    data = read_predictions()
    groupings = []
    for attributes in (["sex"], ["race"], ["sex", "race"]):
        keys = np.array(["|".join(v) for v in zip(*[data[a] for a in attributes])])
        groups = []
        for key in sorted(set(keys)):
            m = keys == key
            g = group_metrics(data["y_true"][m], data["y_pred"][m], data["score"][m])
            g["values"] = key.split("|")
            g["label"] = ", ".join(key.split("|"))
            g["too_small"] = g["count"] < MIN_GROUP_SIZE
            groups.append(g)
        groupings.append({"attributes": attributes, "groups": groups, "disparities": disparities(groups)})
    overall = group_metrics(data["y_true"], data["y_pred"], data["score"])
    reference = {
        "source": "scripts/gen_fairness_vectors.py (numpy %s)" % np.__version__,
        "min_group_size": MIN_GROUP_SIZE,
        "confidence": CONFIDENCE,
        "calibration_buckets": BUCKETS,
        "overall": overall,
        "groupings": groupings,
    }
    with open(os.path.join(VECTORS, "adult_reference.json"), "w") as f:
        # NaN is written as the string "nan" so the file stays strict JSON.
        json.dump(json.loads(json.dumps(reference), parse_constant=lambda c: "nan"), f, indent=1)
        f.write("\n")
    print("accuracy %.4f on all rows" % overall["rates"]["accuracy"]["value"])
    for gr in groupings:
        print(gr["attributes"], [(g["label"], g["count"], g["too_small"]) for g in gr["groups"]])


if __name__ == "__main__":
    main()
