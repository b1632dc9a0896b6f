#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs every test: unit, fuzz and
# integration tests (real PostgreSQL, Alertmanager and daemon processes) on the
# release build, and the unit tests under ASan+UBSan.
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
# The fuzz and integration tests run in the background (see below); their own
# wall time is written here when they end.
background_seconds_file=$(mktemp)
background_pid=
finish() {
  status=$?
  # An interrupted run must not leave the background tests running.
  if [ -n "$background_pid" ] && kill -0 "$background_pid" 2>/dev/null; then
    kill -TERM -- "-$background_pid" 2>/dev/null || true
  fi
  echo "== time by phase (total ${SECONDS} s)"
  for i in "${!phase_names[@]}"; do
    printf '%6d s  %s\n' "${phase_seconds[$i]}" "${phase_names[$i]}"
  done
  if [ -s "$background_seconds_file" ]; then
    printf '%6d s  %s\n' "$(cat "$background_seconds_file")" \
      "fuzz and integration tests (beside the sanitizer build; not in the total again)"
  fi
  rm -f "$background_seconds_file"
  exit "$status"
}
trap finish EXIT

scripts/install-deps.sh
phase "install the Debian packages"
jobs=$(nproc)
# Both builds are unity builds: CMake compiles each target's sources in groups
# of 8 per translation unit, so the headers (Catch2, Beast, libpqxx) are parsed
# once per group instead of once per file. File-local names must then differ
# between the files of one target (cli/ opts out: see cli/CMakeLists.txt).
unity=-DCMAKE_UNITY_BUILD=ON

# The release build compiles only what the fuzz and integration tests run (the
# programs, and the example's own unit tests, which the sanitizer pass does not
# build), without debug information or benchmarks.
echo "== release build: fuzz, integration and the example's unit tests"
cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Release -DMODELWATCH_BENCH=OFF $unity >/dev/null
cmake --build build-test -j"$jobs" --target modelwatchd modelwatch elec2_server elec2_trainer test_elec2_example
(cd build-test && ctest --output-on-failure -R '^unit\.elec2_example$')
phase "release build and the example's unit tests"

# The fuzz and integration tests spend most of their time waiting on processes
# (PostgreSQL, the daemon, Alertmanager, timers), and the sanitizer build is
# all CPU: the build runs beside the tests at the lowest priority (nice 19), so
# it takes the cores only while the tests leave them idle (the tests still share
# caches and memory bandwidth with it, as on any busy machine, which their
# timing assertions allow). Each integration test has its own PostgreSQL
# cluster, temporary directory and free ports; two run at a time, longest
# first (their COST in tests/CMakeLists.txt). Their output is printed when they
# end, not mixed into the build's.
echo "== fuzz and integration tests in the background (their output follows the sanitizer build)"
integration_log=$PWD/build-test/integration-tests.log
# Job control gives the background tests their own process group, which the
# exit trap ends if this script is interrupted.
set -m
(
  cd build-test
  started=$SECONDS
  status=0
  ctest --output-on-failure -L 'integration|fuzz' -j"$jobs" || status=$?
  echo $((SECONDS - started)) >"$background_seconds_file"
  exit $status
) >"$integration_log" 2>&1 </dev/null &
background_pid=$!
set +m

echo "== sanitizer build (unit tests under ASan+UBSan), beside the fuzz and integration tests"
# -g1 (line tables only) is all the sanitizers' stack traces use; full -g makes
# the objects several times larger and the links slower.
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1 \
  -DMODELWATCH_SANITIZE=ON -DMODELWATCH_UNIT_ONLY=ON $unity >/dev/null
sanitizer_build_status=0
nice -n 19 cmake --build build-asan -j"$jobs" || sanitizer_build_status=$?
phase "sanitizer build (beside the fuzz and integration tests)"

# Whether the build failed or not, the fuzz and integration tests end and are
# reported, so one run shows every failure.
echo "== fuzz and integration tests"
integration_status=0
wait "$background_pid" || integration_status=$?
background_pid=
cat "$integration_log"
phase "waiting for the fuzz and integration tests"
if [ "$integration_status" -ne 0 ]; then
  echo "fuzz or integration tests failed (exit $integration_status); output above, also in $integration_log" >&2
fi
if [ "$sanitizer_build_status" -ne 0 ]; then
  echo "the sanitizer build failed (exit $sanitizer_build_status); its output is above the fuzz and integration tests'" >&2
  exit "$sanitizer_build_status"
fi

# The unit tests run alone (some measure latency and timeouts), and also after
# failed integration tests, so one run shows every failure.
echo "== unit tests under ASan+UBSan"
unit_status=0
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest -L unit --output-on-failure -j"$jobs") || unit_status=$?
phase "unit tests under ASan+UBSan"
[ "$integration_status" -eq 0 ] || exit "$integration_status"
exit "$unit_status"
