#!/usr/bin/python3
"""The drift battery of bench/stats_bench.cpp, with scipy, on the same data file.

    /usr/bin/python3 bench/stats_bench_scipy.py DATA_FILE RESULTS_FILE [RUNS]

Per feature: scipy.stats.ks_2samp, scipy.stats.cramervonmises_2samp,
scipy.stats.anderson_ksamp([reference, current]) (its capping warning silenced), PSI on 10 reference-quantile bins
(numpy.quantile + numpy.histogram, Evidently's formula with the 1e-4 floor),
scipy.stats.wasserstein_distance, scipy.spatial.distance.jensenshannon on 10
equal-width bins over the pooled range, scipy.stats.chi2_contingency on the
2 x 10 table of the PSI bins. Times the battery over all features (best of RUNS, default 3, CPU and
wall time, file reading excluded) and writes one result line per feature, in the same
layout as the C++ side.
"""

import sys
import time
import warnings

import numpy as np
from scipy import stats
from scipy.spatial import distance

BINS = 10


def battery(reference, current):
    ks = stats.ks_2samp(reference, current)
    cvm = stats.cramervonmises_2samp(reference, current)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        anderson = stats.anderson_ksamp([reference, current])
    edges = np.quantile(reference, np.linspace(0, 1, BINS + 1))
    edges[0], edges[-1] = -np.inf, np.inf
    reference_counts = np.histogram(reference, edges)[0]
    current_counts = np.histogram(current, edges)[0]
    r = reference_counts / len(reference)
    c = current_counts / len(current)
    np.place(r, r == 0, 1e-4)
    np.place(c, c == 0, 1e-4)
    psi = np.sum((r - c) * np.log(r / c))
    wasserstein = stats.wasserstein_distance(reference, current)
    low = min(reference.min(), current.min())
    high = max(reference.max(), current.max())
    js = distance.jensenshannon(np.histogram(reference, BINS, range=(low, high))[0],
                                np.histogram(current, BINS, range=(low, high))[0])
    chi2 = stats.chi2_contingency(np.vstack([reference_counts, current_counts]))
    return [ks.statistic, ks.pvalue, cvm.statistic, cvm.pvalue, anderson.statistic, anderson.significance_level, psi, wasserstein, js, chi2[0], chi2[1]]


def main():
    data_path, results_path = sys.argv[1], sys.argv[2]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    header = np.fromfile(data_path, dtype="<u8", count=3)
    n_reference, n_current, n_features = (int(v) for v in header)
    values = np.fromfile(data_path, dtype="<f8", offset=24)
    features = []
    offset = 0
    for _ in range(n_features):
        reference = values[offset:offset + n_reference]
        offset += n_reference
        current = values[offset:offset + n_current]
        offset += n_current
        features.append((reference, current))
    best_cpu = best_wall = float("inf")
    for _ in range(runs):
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        results = [battery(reference, current) for reference, current in features]
        best_cpu = min(best_cpu, time.process_time() - cpu_start)
        best_wall = min(best_wall, time.perf_counter() - wall_start)
    with open(results_path, "w") as f:
        for i, r in enumerate(results):
            f.write(" ".join([str(i)] + [repr(float(v)) for v in r]) + "\n")
    print(f"scipy_cpu_seconds {best_cpu:.6f} wall_seconds {best_wall:.6f} features={n_features} reference_rows={n_reference} current_rows={n_current}")


if __name__ == "__main__":
    main()
