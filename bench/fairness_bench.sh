#!/usr/bin/env bash
# Fairness audit benchmark: modelwatch (bench/fairness_bench.cpp) and numpy
# (bench/fairness_bench_numpy.py) compute the same group metrics for two
# sensitive attributes and their intersection on the same synthetic rows;
# prints both lines and checks that the per-group counts and calibration
# errors agree.
#   bench/fairness_bench.sh BUILD_DIR [ROWS]   (default 10000000 rows)
set -euo pipefail

build_dir=${1:?usage: bench/fairness_bench.sh BUILD_DIR [ROWS]}
rows=${2:-10000000}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$build_dir/bench/fairness_bench" "$work" "$rows"
/usr/bin/python3 "$here/fairness_bench_numpy.py" "$work"
/usr/bin/python3 - "$work/modelwatch_counts.txt" "$work/numpy_counts.txt" <<'PY'
import sys
ours = {l.split()[0]: l.split()[1:] for l in open(sys.argv[1])}
theirs = {l.split()[0]: l.split()[1:] for l in open(sys.argv[2])}
assert ours.keys() == theirs.keys(), "different groups"
worst = 0.0
for group, a in ours.items():
    b = theirs[group]
    assert a[:4] == b[:4], "counts differ for %s: %s vs %s" % (group, a, b)
    worst = max(worst, abs(float(a[4]) - float(b[4])))
print("agreement: confusion counts identical in %d groups; max |ECE difference| %.1e" % (len(ours), worst))
PY
