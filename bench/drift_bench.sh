#!/usr/bin/env bash
# `modelwatch drift` on a ROWS x 20 CSV pair (default 1M rows: 16 numeric
# columns, 4 text columns of 4 categories) beside pandas + scipy doing the
# same tests (bench/drift_bench_pandas.py), alternating ROUNDS times (default
# 3): per round the default (robust) mode, the plain mode (--resamples 0
# --no-multivariate: the same tests without the noise baseline and the PCA
# check) and the pandas script, each with its wall time, CPU time (user+sys)
# and peak RSS, and every column's statistic compared between the two sides.
#   bench/drift_bench.sh BUILD_DIR [ROWS] [ROUNDS]
# Needs Debian's python3-pandas (not a dependency of the build or the tests):
#   apt-get install -y --no-install-recommends python3-pandas
# The generated files are kept in $MODELWATCH_BENCH_DIR (default
# /tmp/modelwatch-drift-bench) for the next run.
set -euo pipefail

build_dir=$(cd "${1:?usage: bench/drift_bench.sh BUILD_DIR [ROWS] [ROUNDS]}" && pwd)
rows=${2:-1000000}
rounds=${3:-3}
here=$(cd "$(dirname "$0")" && pwd)
if ! /usr/bin/python3 -c 'import pandas' 2>/dev/null; then
    echo "drift_bench: needs python3-pandas: apt-get install -y --no-install-recommends python3-pandas" >&2
    exit 2
fi
exec /usr/bin/python3 "$here/drift_bench_driver.py" "$build_dir/cli/modelwatch" "$here/drift_bench_pandas.py" "$rows" "$rounds"
