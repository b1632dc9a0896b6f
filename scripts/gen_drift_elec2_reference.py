#!/usr/bin/python3
"""Prints the scipy numbers that tests/detectors/dataset_drift_test.cpp asserts
for Elec2 (data/elec2/elec2.csv.gz): the first 5,000 rows as reference vs
rows 30,000-35,000 as current. Per numeric column: distinct reference values,
scipy.stats.ks_2samp p-value (method='auto') and the normalised Wasserstein
distance W1 / max(numpy.std(reference), 0.001) (Evidently's definition).
Run with Debian's /usr/bin/python3 (numpy, scipy); the values were pasted
into the test's comments and assertions (scipy 1.10.1).
"""
import csv
import gzip
import os
import sys

import numpy as np
from scipy import stats

source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "elec2", "elec2.csv.gz")
with gzip.open(source, "rt", newline="") as f:
    rows = list(csv.reader(f))
header, rows = rows[0], rows[1:]
reference, current = rows[:5000], rows[30000:35000]
for index, column in enumerate(header):
    if column == "class":
        continue
    x = np.array([float(r[index]) for r in reference])
    y = np.array([float(r[index]) for r in current])
    ks = stats.ks_2samp(x, y)
    w = stats.wasserstein_distance(x, y) / max(x.std(), 0.001)
    print(f"{column} distinct={len(set(x))} ks_statistic={ks.statistic!r} ks_p={ks.pvalue!r} wasserstein_norm={w!r}")
sys.exit(0)
