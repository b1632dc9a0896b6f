#!/usr/bin/env bash
# Runs the stats drift battery with modelwatch (bench/stats_bench.cpp) and with
# scipy (bench/stats_bench_scipy.py) on the same data, alternating ROUNDS times
# (default 3; one timed run per side per round, so the two sides see the same
# load), prints every round's pair side by side with its ratio, and checks
# that both sides computed the same values.
#   bench/stats_bench.sh BUILD_DIR [ROUNDS]   (BUILD_DIR holds bench/stats_bench)
set -euo pipefail

build_dir=${1:?usage: bench/stats_bench.sh BUILD_DIR [ROUNDS]}
rounds=${2:-3}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
data="$work/stats_bench.f64"

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
lines=()
for round in $(seq 1 "$rounds"); do
    modelwatch_lines=$("$build_dir/bench/stats_bench" "$data" "$work/modelwatch.txt" 1)
    scipy_line=$(/usr/bin/python3 "$here/stats_bench_scipy.py" "$data" "$work/scipy.txt" 1)
    echo "round $round:"
    echo "  $(sed -n 1p <<<"$modelwatch_lines")"
    echo "  $(sed -n 2p <<<"$modelwatch_lines")"
    echo "  $scipy_line"
    lines+=("$(sed -n 1p <<<"$modelwatch_lines")|$(sed -n 2p <<<"$modelwatch_lines")|$scipy_line")
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

/usr/bin/python3 - "$work/modelwatch.txt" "$work/scipy.txt" "${lines[@]}" <<'PY'
import sys
ours = [list(map(float, l.split())) for l in open(sys.argv[1])]
theirs = [list(map(float, l.split())) for l in open(sys.argv[2])]
names = ["ks_statistic", "ks_p_value", "cvm_statistic", "cvm_p_value", "anderson_statistic",
         "anderson_significance", "psi", "wasserstein", "jensen_shannon", "chi2_statistic", "chi2_p_value"]
worst = {}
for a, b in zip(ours, theirs):
    for name, x, y in zip(names, a[1:], b[1:]):
        diff = abs(x - y)
        rel = diff / abs(y) if y != 0 else diff
        worst[name] = max(worst.get(name, 0.0), min(diff, rel) if name.endswith(("p_value", "significance")) else rel)
print("agreement (max relative difference; p-values: min of absolute and relative):")
for name in names:
    print(f"  {name:21s} {worst[name]:.3g}")
print("battery of KS, CvM, Anderson-Darling, PSI, Wasserstein, Jensen-Shannon, chi2; 100k x 100k x 20 features")
print("round  kind  modelwatch ms  reference-sorted ms  scipy ms  ratio  ratio (reference sorted)")
for round_number, line in enumerate(sys.argv[3:], 1):
    full, presorted, scipy = (part.split() for part in line.split("|"))
    for label, index in (("cpu", 1), ("wall", 3)):
        a, p, b = float(full[index]), float(presorted[index]), float(scipy[index])
        print(f"{round_number:5d}  {label:4s}  {a * 1000:13.1f}  {p * 1000:19.1f}  {b * 1000:8.1f}  "
              f"{b / a:4.1f}x  {b / p:4.1f}x")
ok = all(v < 1e-6 for v in worst.values())
sys.exit(0 if ok else 1)
PY
