#!/usr/bin/env bash
# The root-cause ranking's detection rates (detectors/root_cause.h) over more
# seeds than the unit test runs: the same Catch2 cases
# (tests/detectors/root_cause_test.cpp, tag [root_cause_seeds]) with SEEDS
# seeds per case (default 400), printing for each case the share of seeds in
# which a planted drop was ranked first and named, or in which a uniform
# degradation or a null window named no single cause. Figures go to
# bench/RESULTS.md. The seeds are held out: they start at FIRST_SEED (1001
# by default), past the unit test's 1..40 on which the rule was decided.
# CASES (a Catch2 test spec, default the whole tag) runs some of the cases:
# bench/root_cause_bench.sh build 400 1001 "windows with no single cause planted name none, at several sizes"
#   bench/root_cause_bench.sh BUILD_DIR [SEEDS [FIRST_SEED [CASES]]]   (BUILD_DIR holds tests/test_detectors)
set -euo pipefail

build_dir=${1:?usage: bench/root_cause_bench.sh BUILD_DIR [SEEDS]}
seeds=${2:-400}
first_seed=${3:-1001}
cases=${4:-[root_cause_seeds]}
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
start=$(date +%s.%N)
MODELWATCH_ROOT_CAUSE_SEEDS=$seeds MODELWATCH_ROOT_CAUSE_FIRST_SEED=$first_seed "$build_dir/tests/test_detectors" "$cases" | grep "^root_cause " || true
end=$(date +%s.%N)
echo "seeds per case: $seeds from $first_seed; wall time: $(echo "$end - $start" | bc) s"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
