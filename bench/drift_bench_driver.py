#!/usr/bin/python3
"""Driver of bench/drift_bench.sh (see there): generates the CSV pair, runs
modelwatch drift (robust and plain) and the pandas + scipy script in
alternating rounds, and prints them side by side.

    drift_bench_driver.py MODELWATCH PANDAS_SCRIPT ROWS ROUNDS
"""

import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

NUMERIC = 16
TEXT = 4


def generate(path, rows, seed, shifted):
    """16 numeric columns (rounded to 4 decimals; in the current file columns
    8-11 shift by 0.05 and 12-15 widen by 5%) and 4 text columns of 4
    categories (in the current file column 3's shares move)."""
    rng = np.random.default_rng(seed)
    columns = {}
    for i in range(NUMERIC):
        values = rng.normal(0.0, 1.0, rows)
        if shifted and 8 <= i < 12:
            values += 0.05
        if shifted and i >= 12:
            values *= 1.05
        columns[f"x{i}"] = np.round(values, 4)
    categories = np.array(["red", "green", "blue", "grey"])
    for i in range(TEXT):
        shares = [0.4, 0.3, 0.2, 0.1] if not (shifted and i == 3) else [0.37, 0.31, 0.21, 0.11]
        columns[f"c{i}"] = categories[rng.choice(4, rows, p=shares)]
    names = list(columns)
    with open(path + ".tmp", "w") as f:
        f.write(",".join(names) + "\n")
        block = 100000
        for start in range(0, rows, block):
            parts = []
            for name in names:
                v = columns[name][start:start + block]
                parts.append(v if v.dtype.kind == "U" else np.char.mod("%.4f", v))
            lines = [",".join(cells) for cells in zip(*parts)]
            f.write("\n".join(lines) + "\n")
    os.replace(path + ".tmp", path)


def measured(argv):
    """Wall seconds, CPU seconds (user + sys) and peak RSS in MiB of one child
    (os.wait4 gives the child's own usage)."""
    # Output to files, not pipes: a child filling a pipe nobody reads yet
    # would block before wait4 returns.
    with tempfile.TemporaryFile() as out_file, tempfile.TemporaryFile() as err_file:
        start = time.perf_counter()
        process = subprocess.Popen(argv, stdout=out_file, stderr=err_file)
        pid, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        out_file.seek(0)
        err_file.seek(0)
        out = out_file.read().decode()
        err = err_file.read().decode()
    code = os.waitstatus_to_exitcode(status)
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mib": usage.ru_maxrss / 1024,
            "out": out, "err": err, "code": code}


def main():
    modelwatch, pandas_script, rows, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    directory = os.environ.get("MODELWATCH_BENCH_DIR", "/tmp/modelwatch-drift-bench")
    os.makedirs(directory, exist_ok=True)
    reference = os.path.join(directory, f"reference_{rows}.csv")
    current = os.path.join(directory, f"current_{rows}.csv")
    for path, seed, shifted in ((reference, 1, False), (current, 2, True)):
        if not os.path.exists(path):
            print(f"generating {path}", flush=True)
            generate(path, rows, seed, shifted)
    print(f"files: {os.path.getsize(reference) / 2**20:.0f} MiB + {os.path.getsize(current) / 2**20:.0f} MiB, "
          f"{rows} rows x {NUMERIC + TEXT} columns")
    print("load average before:", " ".join(open("/proc/loadavg").read().split()[:3]))
    kinds = {
        "modelwatch robust": [modelwatch, "drift", "--reference", reference, "--current", current, "--format", "json"],
        "modelwatch plain": [modelwatch, "drift", "--reference", reference, "--current", current, "--format", "json",
                             "--resamples", "0", "--no-multivariate"],
        "pandas + scipy": ["/usr/bin/python3", pandas_script, reference, current],
    }
    results = {kind: [] for kind in kinds}
    print(f"{'round':>5}  {'run':18s} {'wall s':>8} {'cpu s':>8} {'peak MiB':>9}")
    for round_number in range(1, rounds + 1):
        for kind, argv in kinds.items():
            r = measured(argv)
            if r["code"] not in (0, 1):  # modelwatch drift exits 1 when the dataset drifted
                sys.exit(f"{kind} failed ({r['code']}): {r['err']}")
            results[kind].append(r)
            print(f"{round_number:5d}  {kind:18s} {r['wall']:8.2f} {r['cpu']:8.2f} {r['rss_mib']:9.0f}", flush=True)
    print("load average after:", " ".join(open("/proc/loadavg").read().split()[:3]))

    # Same numbers on both sides: every column's statistic and p-value.
    report = json.loads(results["modelwatch plain"][-1]["out"])
    ours = {f["column"]: f for f in report["features"]}
    worst_statistic = worst_p = 0.0
    for line in results["pandas + scipy"][-1]["out"].split("\n"):
        if not line:
            continue
        name, statistic, p_value, _ = line.split()
        f = ours[name]
        worst_statistic = max(worst_statistic, abs(f["statistic"] - float(statistic)) / max(abs(float(statistic)), 1e-300))
        worst_p = max(worst_p, min(abs(f["p_value"] - float(p_value)),
                                   abs(f["p_value"] - float(p_value)) / max(float(p_value), 1e-300)))
    print(f"agreement over {len(ours)} columns: statistic max relative difference {worst_statistic:.3g}, "
          f"p-value max min(abs, rel) difference {worst_p:.3g}")

    def best(kind, key):
        return min(r[key] for r in results[kind])

    anchor = "pandas + scipy"
    print("best of the rounds:")
    for kind in ("modelwatch robust", "modelwatch plain"):
        print(f"  {kind}: wall {best(kind, 'wall'):.2f} s ({best(anchor, 'wall') / best(kind, 'wall'):.1f}x pandas), "
              f"cpu {best(kind, 'cpu'):.2f} s ({best(anchor, 'cpu') / best(kind, 'cpu'):.1f}x), "
              f"peak {best(kind, 'rss_mib'):.0f} MiB ({best(kind, 'rss_mib') / best(anchor, 'rss_mib'):.2f} of pandas)")
    print(f"  {anchor}: wall {best(anchor, 'wall'):.2f} s, cpu {best(anchor, 'cpu'):.2f} s, "
          f"peak {best(anchor, 'rss_mib'):.0f} MiB")
    print(f"  robust / plain cpu: {best('modelwatch robust', 'cpu') / best('modelwatch plain', 'cpu'):.2f}")
    sys.exit(0 if worst_statistic < 1e-9 and worst_p < 1e-6 else 1)


if __name__ == "__main__":
    main()
