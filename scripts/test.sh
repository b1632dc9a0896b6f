#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs every test: unit, fuzz and
# integration tests (real PostgreSQL, Alertmanager and daemon processes) on the
# release build, and the unit tests under ASan+UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."

# At the end, whether the tests pass or fail, the wall time of each phase and
# the wall and CPU time of each step (CI shows the end of the output): the
# phases say where the run's time went, the steps' CPU seconds what each costs
# whatever else runs on the machine (on 2 cores the run is CPU-bound: its wall
# time is about the CPU seconds of all steps over 2, plus the unit tests').
# Each phase also shows the machine's idle core-seconds (idle and iowait from
# /proc/stat): what a phase leaves idle is what better packing could win.
phase_names=() phase_seconds=() phase_idle=() phase_started=$SECONDS
idle_ticks() { awk '$1 == "cpu" { print $5 + $6 }' /proc/stat; }
ticks_per_second=$(getconf CLK_TCK)
phase_idle_started=$(idle_ticks)
phase() {
  local idle_now
  idle_now=$(idle_ticks)
  phase_seconds+=($((SECONDS - phase_started)))
  phase_idle+=($(((idle_now - phase_idle_started) / ticks_per_second)))
  phase_names+=("$1")
  phase_started=$SECONDS phase_idle_started=$idle_now
}
step_dir=$(mktemp -d)
step_count=0
# run_step NAME COMMAND...: runs COMMAND and writes NAME's wall seconds and CPU
# seconds (user + system of every process it ran: bash's `times`, second
# line, taken in the step's own subshell) when it ends, passed or failed.
run_step() {
  local name=$1 started=$SECONDS status=0
  shift
  "$@" || status=$?
  times >"$step_dir/$step_count.times"
  awk -v wall=$((SECONDS - started)) -v name="$name" 'NR == 2 {
      split($1, user_time, "m"); split($2, system_time, "m")
      printf "%6d s %6.0f CPU-s  %s\n", wall, user_time[1] * 60 + user_time[2] + system_time[1] * 60 + system_time[2], name }' \
    "$step_dir/$step_count.times" >"$(printf '%s/%02d.step' "$step_dir" "$step_count")"
  return $status
}
# step NAME COMMAND...: a step in the foreground.
step() {
  step_count=$((step_count + 1))
  (run_step "$@")
}
# background_step LOG NAME COMMAND...: a step in the background, its output in
# LOG; its pid in background_pid. Job control gives it a process group of its
# own, which the exit trap ends if this script is interrupted.
background_pids=()
background_step() {
  local log=$1
  shift
  step_count=$((step_count + 1))
  set -m
  (run_step "$@") >"$log" 2>&1 </dev/null &
  background_pid=$!
  background_pids+=("$background_pid")
  set +m
}
finish() {
  status=$?
  # An interrupted run must not leave the background steps running (each is
  # its own process group: see background_step).
  for pid in "${background_pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then kill -TERM -- "-$pid" 2>/dev/null || true; fi
  done
  echo "== time by phase (total ${SECONDS} s; idle: the machine's idle core-seconds in it)"
  for i in "${!phase_names[@]}"; do
    printf '%6d s %6d idle core-s  %s\n' "${phase_seconds[$i]}" "${phase_idle[$i]}" "${phase_names[$i]}"
  done
  echo "== wall and CPU time by step (steps overlap: see the phases)"
  cat "$step_dir"/*.step 2>/dev/null || true
  rm -rf "$step_dir"
  exit "$status"
}
trap finish EXIT

step "install the Debian packages" scripts/install-deps.sh
phase "install the Debian packages"
jobs=$(nproc)
# Both builds are unity builds: CMake compiles each target's sources in groups
# of 8 per translation unit, so the headers (Catch2, Beast, libpqxx) are parsed
# once per group instead of once per file. File-local names must then differ
# between the files of one target (cli/ opts out: see cli/CMakeLists.txt).
unity=-DCMAKE_UNITY_BUILD=ON

# The sanitizer build compiles the libraries and the unit tests with ASan and
# UBSan, unoptimised but for the components the slowest unit tests run (-Og:
# MODELWATCH_SANITIZE_OPTIMISED in CMakeLists.txt), without debug information
# (-g0): 11% less compile CPU than line tables (-g1) on the unit measured
# (bench/RESULTS.md, "The test command's time"). What a failure says does not
# change: UBSan's reports carry file and line from the instrumentation itself,
# ASan's and LeakSanitizer's stack frames name each function (from the symbol
# table; for its lines, rebuild that test with -g1 and run it again), and a
# failed assertion names its file and line as Catch2 does in any build.
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g0 \
  -DMODELWATCH_SANITIZE=ON -DMODELWATCH_UNIT_ONLY=ON $unity >/dev/null
# The release build compiles only what the fuzz and integration tests run (the
# programs, and the example's own unit tests, which the sanitizer pass does not
# build), without debug information or benchmarks, at -O1: the integration
# tests need the programs' behaviour, not Debian's -O2 speed (the benchmarks
# measure that), and -O1 costs 12% less compile CPU than -O2, 39% more than -O0
# (whose daemon would be several times slower in the tests' timed paths;
# bench/RESULTS.md, "The test command's time").
cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=-O1 -DNDEBUG" \
  -DMODELWATCH_BENCH=OFF $unity >/dev/null

# The sanitizer build starts now, at the lowest priority, and runs beside
# everything until the unit tests need it: the release build and then the fuzz
# and integration tests take the cores first, and the sanitizer build has
# every moment they leave idle (a release target waiting for its last compile
# or its link, a test waiting on PostgreSQL, the daemon or a timer). It runs
# under SCHED_IDLE where the kernel allows it (a runnable test or daemon thread
# then preempts it at once; nice 19 alone still takes a share of each core),
# one job per core. The tests still share caches and memory
# bandwidth with it, as on any busy machine, which their timing assertions
# allow. Its output is printed when it ends.
# One job per core: two more (to fill its own links and dependency waits) were
# tried on 2026-12-07 and not kept, as that run's sanitizer build took 1387
# CPU-s against 1070 the run before, with other builds beside it that may
# explain the difference; unmeasured on a quiet machine.
sanitizer_jobs=$jobs
lowest_priority=(nice -n 19)
if chrt --idle 0 true 2>/dev/null; then lowest_priority=(chrt --idle 0 nice -n 19); fi
echo "== sanitizer build (unit tests under ASan+UBSan) in the background, at ${lowest_priority[*]}, -j$sanitizer_jobs (its output follows the release build)"
sanitizer_log=$PWD/build-asan/sanitizer-build.log
background_step "$sanitizer_log" "sanitizer build (lowest priority, beside the rest)" \
  "${lowest_priority[@]}" cmake --build build-asan -j"$sanitizer_jobs"
sanitizer_pid=$background_pid

echo "== release build: fuzz, integration and the example's unit tests"
step "release build" cmake --build build-test -j"$jobs" \
  --target modelwatchd modelwatch elec2_server elec2_trainer test_elec2_example
step "the example's unit tests" ctest --test-dir build-test --output-on-failure -R '^unit\.elec2_example$'
phase "release build and the example's unit tests (the sanitizer build beside them)"

# The fuzz and integration tests spend most of their time waiting on processes
# (PostgreSQL, the daemon, Alertmanager, timers). Each integration test has its
# own PostgreSQL cluster, temporary directory and free ports; two run at a
# time, longest first (their COST in tests/CMakeLists.txt). Their output is
# printed when they end, not mixed into the build's.
echo "== fuzz and integration tests in the background (their output follows the sanitizer build's)"
integration_log=$PWD/build-test/integration-tests.log
background_step "$integration_log" "fuzz and integration tests" \
  ctest --test-dir build-test --output-on-failure -L 'integration|fuzz' -j"$jobs"
integration_pid=$background_pid

# Whether a build or a test fails or not, every step ends and is reported, so
# one run shows every failure.
sanitizer_build_status=0
wait "$sanitizer_pid" || sanitizer_build_status=$?
echo "== sanitizer build"
cat "$sanitizer_log"
phase "the rest of the sanitizer build, beside the fuzz and integration tests"
echo "== fuzz and integration tests"
integration_status=0
wait "$integration_pid" || integration_status=$?
background_pids=()
cat "$integration_log"
phase "waiting for the fuzz and integration tests"
if [ "$integration_status" -ne 0 ]; then
  echo "fuzz or integration tests failed (exit $integration_status); output above, also in $integration_log" >&2
fi
if [ "$sanitizer_build_status" -ne 0 ]; then
  echo "the sanitizer build failed (exit $sanitizer_build_status); output above, also in $sanitizer_log" >&2
  exit "$sanitizer_build_status"
fi

# The unit tests run after the builds and the integration tests (a few
# measure latency and timeouts), and also after failed integration tests, so
# one run shows every failure. The slowest test binaries are split into several
# ctest entries (tests/CMakeLists.txt); one entry more than cores runs at a
# time, as the entries of store, alerts and retrain spend much of their time
# waiting on PostgreSQL (2026-12-07, the same ASan build under the same load:
# -j3 285 s, -j2 315 s; bench/RESULTS.md, "The test command's time").
echo "== unit tests under ASan+UBSan"
unit_status=0
step "unit tests under ASan+UBSan" env ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan -L unit --output-on-failure -j$((jobs + 1)) || unit_status=$?
phase "unit tests under ASan+UBSan"
[ "$integration_status" -eq 0 ] || exit "$integration_status"
exit "$unit_status"
