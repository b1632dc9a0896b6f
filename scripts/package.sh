#!/usr/bin/env bash
# Builds the Debian package modelwatch_<version>-1_<arch>.deb with CPack from a
# release build directory (default build/; the test command passes its own),
# reusing what is already built there: only the two programs (linking modelwatch
# writes the man pages and completions) are (re)built. Prints the .deb's path.
#   scripts/package.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")
if [ "$type" != "Release" ] && [ "$type" != "RelWithDebInfo" ]; then
  echo "package.sh: $build is a '$type' build; the package is made from a Release build" >&2
  exit 2
fi
cmake --build "$build" -j"$(nproc)" --target modelwatchd modelwatch >/dev/null
rm -rf "$build/package"
(cd "$build" && cpack -G DEB --config CPackConfig.cmake 2>&1 >/dev/null | { grep -v "Generating dependency list" >&2 || true; })
ls "$(cd "$build" && pwd)"/package/modelwatch_*.deb
