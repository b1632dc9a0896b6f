#!/usr/bin/env bash
# Builds the libFuzzer harness of the HTTP ingest parser with clang++-14 under
# ASan and UBSan, then runs it for SECONDS seconds from the committed seed
# corpus (tests/fuzz/corpus/ingest_parser/, never written to: new inputs go to
# the work directory) and the dictionary tests/fuzz/ingest_parser.dict. Exits non-zero on a crash, a sanitizer report or a
# violated invariant, and then keeps the work directory with the reproducer.
#
# Usage: scripts/fuzz.sh SECONDS [WORKDIR]
#   WORKDIR defaults to a fresh temporary directory, removed after a clean run.
# Reproduce a crash: WORKDIR/ingest_parser_fuzz WORKDIR/crash-<sha1>
set -euo pipefail

if [ $# -lt 1 ] || ! [[ $1 =~ ^[0-9]+$ ]]; then
  echo "usage: $0 SECONDS [WORKDIR]" >&2
  exit 2
fi
seconds=$1
repo=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -ge 2 ]; then
  workdir=$2
  mkdir -p "$workdir"
  remove_workdir=0
else
  workdir=$(mktemp -d "${TMPDIR:-/tmp}/modelwatch-fuzz.XXXXXX")
  remove_workdir=1
fi

# The parser and what it needs, compiled directly so the fuzz build does not
# depend on the CMake build type or on the other components.
sources=(
  tests/fuzz/ingest_parser_fuzz.cpp
  collectors/ingest_parser.cpp
  core/time.cpp
  core/record.cpp
)
binary=$workdir/ingest_parser_fuzz
echo "fuzz.sh: building $binary" >&2
(cd "$repo" && clang++-14 -std=c++20 -O1 -g -fno-omit-frame-pointer \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I"$repo" "${sources[@]}" -lsimdjson -lfmt -o "$binary")

mkdir -p "$workdir/corpus"
echo "fuzz.sh: fuzzing for ${seconds}s in $workdir" >&2
status=0
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
  "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -dict="$repo/tests/fuzz/ingest_parser.dict" \
  -artifact_prefix="$workdir/" "$workdir/corpus" "$repo/tests/fuzz/corpus/ingest_parser" || status=$?

if [ "$status" -ne 0 ]; then
  echo "fuzz.sh: the fuzzer failed (exit $status); reproducers are in $workdir" >&2
  exit "$status"
fi
if [ "$remove_workdir" -eq 1 ]; then
  rm -rf "$workdir"
fi
echo "fuzz.sh: no crash in ${seconds}s" >&2
