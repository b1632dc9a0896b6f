#!/usr/bin/python3
"""The numpy side of bench/fairness_bench.sh: the same per-group metrics as
modelwatch's compute_group_metrics (confusion counts, the nine rates,
calibration by 10 score buckets and expected calibration error) for sex,
region and sex x region, written the straightforward numpy way (bincount per
group), on the rows bench/fairness_bench wrote to DIR.
    fairness_bench_numpy.py DIR
Prints one summary line and writes DIR/numpy_counts.txt like modelwatch_counts.txt.
"""
import resource
import sys
import time

import numpy as np

SEX = ["female", "male"]
REGION = ["north", "south", "east", "west", "centre", "islands", "abroad", "unknown"]
BUCKETS = 10


def group_metrics(key, groups, y_true, y_pred, score):
    cell = y_true.astype(np.int64) * 2 + y_pred  # 0 tn, 1 fp, 2 fn, 3 tp
    counts = np.bincount(key * 4 + cell, minlength=groups * 4).reshape(groups, 4)
    tn, fp, fn, tp = counts[:, 0], counts[:, 1], counts[:, 2], counts[:, 3]
    n = counts.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rates = {
            "base_rate": (tp + fn) / n, "selection_rate": (tp + fp) / n, "tpr": tp / (tp + fn),
            "fpr": fp / (fp + tn), "fnr": fn / (tp + fn), "tnr": tn / (fp + tn), "ppv": tp / (tp + fp),
            "npv": tn / (tn + fn), "accuracy": (tp + tn) / n,
        }
        bucket = np.minimum(np.floor(score * BUCKETS), BUCKETS - 1).astype(np.int64)
        index = key * BUCKETS + bucket
        size = groups * BUCKETS
        bucket_count = np.bincount(index, minlength=size).reshape(groups, BUCKETS)
        bucket_pos = np.bincount(index, weights=y_true, minlength=size).reshape(groups, BUCKETS)
        bucket_score = np.bincount(index, weights=score, minlength=size).reshape(groups, BUCKETS)
        mean_score = bucket_score / bucket_count
        positive_rate = bucket_pos / bucket_count
        gap = np.where(bucket_count > 0, np.abs(mean_score - positive_rate), 0.0)
        ece = (bucket_count * gap).sum(axis=1) / n
    return tp, fp, tn, fn, rates, ece


def main():
    directory = sys.argv[1]
    t0 = time.perf_counter()
    sex = np.fromfile(directory + "/sex.u32", dtype=np.uint32).astype(np.int64)
    region = np.fromfile(directory + "/region.u32", dtype=np.uint32).astype(np.int64)
    y_true = np.fromfile(directory + "/y_true.u8", dtype=np.uint8)
    y_pred = np.fromfile(directory + "/y_pred.u8", dtype=np.uint8)
    score = np.fromfile(directory + "/score.f64", dtype=np.float64)
    load_seconds = time.perf_counter() - t0

    t1 = time.perf_counter()
    c1 = time.process_time()
    group_metrics(sex, len(SEX), y_true, y_pred, score)
    group_metrics(region, len(REGION), y_true, y_pred, score)
    tp, fp, tn, fn, _, ece = group_metrics(sex * len(REGION) + region, len(SEX) * len(REGION), y_true, y_pred, score)
    metrics_seconds = time.perf_counter() - t1
    metrics_cpu = time.process_time() - c1

    with open(directory + "/numpy_counts.txt", "w") as f:
        for s in range(len(SEX)):
            for r in range(len(REGION)):
                g = s * len(REGION) + r
                f.write("%s|%s %d %d %d %d %.17g\n" % (SEX[s], REGION[r], tp[g], fp[g], tn[g], fn[g], ece[g]))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print("numpy %s: rows=%d groupings=3 group_metrics_cpu_s=%.3f (wall %.3f; load %.3f) peak_rss_mib=%.0f"
          % (np.__version__, len(y_true), metrics_cpu, metrics_seconds, load_seconds, peak))


if __name__ == "__main__":
    main()
