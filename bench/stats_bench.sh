#!/usr/bin/env bash
# Runs the stats drift battery with modelwatch (bench/stats_bench.cpp) and with
# scipy (bench/stats_bench_scipy.py) on the same data, prints both times side
# by side with the ratio, and checks that both sides computed the same values.
#   bench/stats_bench.sh BUILD_DIR   (BUILD_DIR holds bench/stats_bench)
set -euo pipefail

build_dir=${1:?usage: bench/stats_bench.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
data="$work/stats_bench.f64"

modelwatch_lines=$("$build_dir/bench/stats_bench" "$data" "$work/modelwatch.txt")
scipy_line=$(/usr/bin/python3 "$here/stats_bench_scipy.py" "$data" "$work/scipy.txt")
modelwatch_line=$(sed -n 1p <<<"$modelwatch_lines")
presorted_line=$(sed -n 2p <<<"$modelwatch_lines")
echo "$modelwatch_lines"
echo "$scipy_line"

/usr/bin/python3 - "$work/modelwatch.txt" "$work/scipy.txt" "$modelwatch_line" "$scipy_line" "$presorted_line" <<'PY'
import sys
ours = [list(map(float, l.split())) for l in open(sys.argv[1])]
theirs = [list(map(float, l.split())) for l in open(sys.argv[2])]
names = ["ks_statistic", "ks_p_value", "psi", "wasserstein", "jensen_shannon", "chi2_statistic", "chi2_p_value"]
worst = {}
for a, b in zip(ours, theirs):
    for name, x, y in zip(names, a[1:], b[1:]):
        diff = abs(x - y)
        rel = diff / abs(y) if y != 0 else diff
        worst[name] = max(worst.get(name, 0.0), min(diff, rel) if name.endswith("p_value") else rel)
print("agreement (max relative difference; p-values: min of absolute and relative):")
for name in names:
    print(f"  {name:15s} {worst[name]:.3g}")
ours = sys.argv[3].split()
theirs = sys.argv[4].split()
for label, index in (("cpu", 1), ("wall", 3)):
    a, b = float(ours[index]), float(theirs[index])
    print(f"stats battery 100k x 100k x 20 features ({label}): modelwatch {a * 1000:.1f} ms, "
          f"scipy {b * 1000:.1f} ms, ratio {b / a:.1f}x")
presorted = sys.argv[5].split()
a, b = float(presorted[1]), float(theirs[1])
print(f"  same battery, reference sorted ahead (cpu): modelwatch {a * 1000:.1f} ms, ratio to scipy {b / a:.1f}x")
ok = all(v < 1e-6 for v in worst.values())
sys.exit(0 if ok else 1)
PY
