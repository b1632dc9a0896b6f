#!/usr/bin/python3
"""The anchor of bench/drift_bench.sh: what `modelwatch drift --resamples 0
--no-multivariate` computes, done with pandas and scipy.

    /usr/bin/python3 bench/drift_bench_pandas.py REF.csv CUR.csv

Reads both files with pandas.read_csv (the default C engine, types inferred),
then per column: numeric columns scipy.stats.ks_2samp on the non-missing
values; other columns scipy.stats.chi2_contingency on the 2 x k table of
category counts over the union of categories (the bench's text columns have
more than two categories, where modelwatch also picks chi2), and
Benjamini-Hochberg over the p-values. Prints one line per column (name, statistic, p-value) so the
driver can compare them with modelwatch's JSON report.
"""

import sys

import numpy as np
import pandas as pd
from scipy import stats


def main():
    reference = pd.read_csv(sys.argv[1])
    current = pd.read_csv(sys.argv[2])
    results = []
    for name in reference.columns:
        r = reference[name].dropna()
        c = current[name].dropna()
        if pd.api.types.is_numeric_dtype(r) and pd.api.types.is_numeric_dtype(c):
            test = stats.ks_2samp(r.to_numpy(), c.to_numpy())
            results.append((name, test.statistic, test.pvalue))
        else:
            counts = pd.concat([r.astype(str).value_counts(), c.astype(str).value_counts()], axis=1).fillna(0)
            table = counts.to_numpy().T
            statistic, p_value, _, _ = stats.chi2_contingency(table)
            results.append((name, statistic, p_value))
    p_values = np.array([p for _, _, p in results])
    order = np.argsort(p_values)
    adjusted = np.minimum.accumulate((p_values[order] * len(p_values) / np.arange(1, len(p_values) + 1))[::-1])[::-1]
    for (name, statistic, p_value), adj in zip([results[i] for i in order], np.minimum(adjusted, 1.0)):
        print(name, repr(float(statistic)), repr(float(p_value)), repr(float(adj)))


if __name__ == "__main__":
    main()
