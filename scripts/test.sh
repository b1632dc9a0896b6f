#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs every test: the unit tests under
# ASan+UBSan, then unit, fuzz and integration tests (real PostgreSQL,
# Alertmanager and daemon processes) on the release build.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each phase's wall time, printed at the end whether the tests pass or fail,
# so a slow run says where its time went (CI shows the end of the output).
phase_names=() phase_seconds=() phase_started=$SECONDS
phase() {
  phase_seconds+=($((SECONDS - phase_started)))
  phase_names+=("$1")
  phase_started=$SECONDS
}
report_phases() {
  echo "== time by phase (total ${SECONDS} s)"
  for i in "${!phase_names[@]}"; do
    printf '%6d s  %s\n' "${phase_seconds[$i]}" "${phase_names[$i]}"
  done
}
trap report_phases EXIT

scripts/install-deps.sh
phase "install the Debian packages"
jobs=$(nproc)
# Both builds are unity builds: CMake compiles each target's sources in groups
# of 8 per translation unit, so the headers (Catch2, Beast, libpqxx) are parsed
# once per group instead of once per file. File-local names must then differ
# between the files of one target (cli/ opts out: see cli/CMakeLists.txt).
unity=-DCMAKE_UNITY_BUILD=ON

echo "== sanitizer build (unit tests under ASan+UBSan)"
# -g1 (line tables only) is all the sanitizers' stack traces use; full -g makes
# the objects several times larger and the links slower.
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1 \
  -DMODELWATCH_SANITIZE=ON -DMODELWATCH_UNIT_ONLY=ON $unity >/dev/null
cmake --build build-asan -j"$jobs"
phase "sanitizer build"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest -L unit --output-on-failure -j"$jobs")
phase "unit tests under ASan+UBSan"

# The unit tests ran above, under the sanitizers; the release build compiles
# only what the other tests run (the programs, and the example's own unit
# tests, which the sanitizer pass does not build), without debug information
# or benchmarks: on 2 cores compiling is most of the time this command takes.
echo "== release build: fuzz, integration and the example's unit tests"
cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Release -DMODELWATCH_BENCH=OFF $unity >/dev/null
cmake --build build-test -j"$jobs" --target modelwatchd modelwatch elec2_server elec2_trainer test_elec2_example
phase "release build"
cd build-test
ctest --output-on-failure -R '^unit\.elec2_example$'
# Each integration test has its own PostgreSQL cluster, temporary directory and
# free ports, and most of their time is waiting on processes: two at a time
# halves this step (174 s -> 83 s here).
ctest --output-on-failure -L 'integration|fuzz' -j"$jobs"
phase "fuzz and integration tests"

