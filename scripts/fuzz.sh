#!/usr/bin/env bash
# Builds the libFuzzer harnesses with clang++-14 under ASan and UBSan, then
# fuzzes them one after the other within SECONDS seconds in all (the builds
# not counted): a sixth to the stored profiles' decoder, then two thirds of
# the rest to the HTTP ingest parser and the rest to the CSV reader. Each
# starts from its committed seed corpus (never written to: new inputs go to
# the work directory) and its dictionary:
#   ingest_parser: tests/fuzz/corpus/ingest_parser/, tests/fuzz/ingest_parser.dict
#   csv_reader:    tests/fuzz/corpus_csv/,           tests/fuzz/csv_reader.dict
#   profile_set:   tests/fuzz/corpus_profile/,       tests/fuzz/profile_set.dict
# Exits non-zero on a crash, a sanitizer report or a violated invariant, and
# then keeps the work directory with the reproducer.
#
# Usage: scripts/fuzz.sh SECONDS [WORKDIR]
#   SECONDS is at least 1; a harness whose share rounds to 0 s is not run.
#   WORKDIR defaults to a fresh temporary directory, removed after a clean run.
# Reproduce a crash: WORKDIR/<harness>_fuzz WORKDIR/<harness>/crash-<sha1>
set -euo pipefail

if [ $# -lt 1 ] || ! [[ $1 =~ ^[0-9]+$ ]] || [ "$1" -lt 1 ]; then
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

profile_seconds=$((seconds / 6))
csv_seconds=$(((seconds - profile_seconds) / 3))
ingest_seconds=$((seconds - profile_seconds - csv_seconds))

# Each harness and what it needs, compiled directly so the fuzz build does
# not depend on the CMake build type or on the other components.
ingest_sources=(
  tests/fuzz/ingest_parser_fuzz.cpp
  collectors/ingest_parser.cpp
  collectors/privacy.cpp
  core/time.cpp
  core/record.cpp
  core/privacy.cpp
  core/privacy_key.cpp
  core/utf8.cpp
)
csv_sources=(
  tests/fuzz/csv_reader_fuzz.cpp
  core/csv.cpp
)
profile_sources=(
  tests/fuzz/profile_set_fuzz.cpp
  stats/feature_profile.cpp
  stats/frequent_items.cpp
  stats/hyperloglog.cpp
  stats/kll_sketch.cpp
  stats/reservoir_sample.cpp
  stats/sketch_bytes.cpp
)

# build NAME LIBS... -- SOURCES...
build() {
  local name=$1
  shift
  local libs=()
  while [ "$1" != "--" ]; do
    libs+=("$1")
    shift
  done
  shift
  echo "fuzz.sh: building $workdir/${name}_fuzz" >&2
  (cd "$repo" && clang++-14 -std=c++20 -O1 -g -fno-omit-frame-pointer \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$repo" "$@" "${libs[@]}" -o "$workdir/${name}_fuzz")
}

# run NAME SECONDS CORPUS DICT
run() {
  local name=$1 budget=$2 corpus=$3 dict=$4
  if [ "$budget" -eq 0 ]; then
    echo "fuzz.sh: $name gets 0 s of $seconds s, not run" >&2
    return 0
  fi
  mkdir -p "$workdir/$name/corpus"
  echo "fuzz.sh: fuzzing $name for ${budget}s in $workdir/$name" >&2
  local status=0
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$workdir/${name}_fuzz" -max_total_time="$budget" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -dict="$repo/$dict" -artifact_prefix="$workdir/$name/" "$workdir/$name/corpus" "$repo/$corpus" || status=$?
  if [ "$status" -ne 0 ]; then
    echo "fuzz.sh: the $name fuzzer failed (exit $status); reproducers are in $workdir/$name" >&2
    exit "$status"
  fi
}

build ingest_parser -lsimdjson -lfmt -lcrypto -- "${ingest_sources[@]}"
build csv_reader -lfmt -- "${csv_sources[@]}"
build profile_set -- "${profile_sources[@]}"
run ingest_parser "$ingest_seconds" tests/fuzz/corpus/ingest_parser tests/fuzz/ingest_parser.dict
run csv_reader "$csv_seconds" tests/fuzz/corpus_csv tests/fuzz/csv_reader.dict
run profile_set "$profile_seconds" tests/fuzz/corpus_profile tests/fuzz/profile_set.dict

if [ "$remove_workdir" -eq 1 ]; then
  rm -rf "$workdir"
fi
echo "fuzz.sh: no crash in ${seconds}s (ingest_parser ${ingest_seconds}s, csv_reader ${csv_seconds}s," \
  "profile_set ${profile_seconds}s)" >&2
