#!/usr/bin/env bash
# Instructions per update of each concept-drift detector, counted by
# callgrind inside the detectors' update() only (stream generation and the
# bench's loop excluded). Instruction counts do not depend on the machine's
# load, so they compare builds on this shared machine where CPU times do not.
#   bench/concept_bench_instructions.sh BUILD_DIR [VALUES]   (default 200000)
set -euo pipefail

build_dir=${1:?usage: bench/concept_bench_instructions.sh BUILD_DIR [VALUES]}
values=${2:-200000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
detectors=$("$build_dir/bench/concept_bench" 2 | awk 'NR > 3 && NF { print $1 }')
printf '%-14s %16s %18s\n' detector instructions per_update
for detector in $detectors; do
    valgrind --tool=callgrind --callgrind-out-file="$work/$detector.out" --collect-atstart=no \
        "--toggle-collect=mw::concept_drift::*::update(double)" \
        "$build_dir/bench/concept_bench" "$values" "$detector" >/dev/null 2>"$work/$detector.log"
    instructions=$(callgrind_annotate "$work/$detector.out" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
    printf '%-14s %16s %18.1f\n' "$detector" "$instructions" "$(echo "$instructions / $values" | bc -l)"
done
