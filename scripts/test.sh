#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs every test: the unit tests under
# ASan+UBSan, then unit, fuzz and integration tests (real PostgreSQL,
# Alertmanager and daemon processes) on the release build.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
jobs=$(nproc)

echo "== sanitizer build (unit tests under ASan+UBSan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMODELWATCH_SANITIZE=ON -DMODELWATCH_UNIT_ONLY=ON >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest -L unit --output-on-failure -j"$jobs")

# Release without debug information and without the benchmarks: the same
# code the tests need, compiled in about two thirds of the time on 2 cores.
echo "== release build: unit, fuzz and integration tests"
cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Release -DMODELWATCH_BENCH=OFF >/dev/null
cmake --build build-test -j"$jobs"
cd build-test && ctest --output-on-failure
