#!/usr/bin/env bash
# Builds the Debian package modelwatch_<version>-1_<arch>.deb with CPack from a
# release build directory (default build/; the package test passes its own),
# reusing what is already built there: only the two programs (linking modelwatch
# writes the man pages and completions) are (re)built. Prints the .deb's path.
#   scripts/package.sh [--allow-sanitizer-build] [BUILD_DIR]
# --allow-sanitizer-build also packages a sanitizer build (MODELWATCH_SANITIZE=ON),
# for tests/integration/test_package.py run against one: such a
# package depends on the sanitizer runtimes and its programs run several times
# slower, so it is never one to ship; any other non-Release build is refused.
set -euo pipefail
cd "$(dirname "$0")/.."
allow_sanitizer_build=0
if [ "${1:-}" = "--allow-sanitizer-build" ]; then
  allow_sanitizer_build=1
  shift
fi
build=${1:-build}
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")
sanitize=$(sed -n 's/^MODELWATCH_SANITIZE:BOOL=//p' "$build/CMakeCache.txt")
if [ "$type" != "Release" ] && [ "$type" != "RelWithDebInfo" ] &&
  ! { [ "$allow_sanitizer_build" -eq 1 ] && [ "$sanitize" = "ON" ]; }; then
  echo "package.sh: $build is a '$type' build; the package is made from a Release build" >&2
  exit 2
fi
cmake --build "$build" -j"$(nproc)" --target modelwatchd modelwatch >/dev/null
rm -rf "$build/package"
(cd "$build" && cpack -G DEB --config CPackConfig.cmake 2>&1 >/dev/null | { grep -v "Generating dependency list" >&2 || true; })
ls "$(cd "$build" && pwd)"/package/modelwatch_*.deb
