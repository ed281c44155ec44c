#!/usr/bin/env bash
# Configures and builds semsearch with CMake into BUILD_DIR (default build/). Extra arguments go to cmake.
#   scripts/build.sh [-DSEM_SANITIZE=address,undefined ...]
# BUILD_TYPE (default Release); BUILD_TARGETS: only these targets (space-separated; default all); CC/CXX pick
# the compiler when BUILD_DIR is configured the first time.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-Release} "$@" >/dev/null
targets=()
for t in ${BUILD_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$build" -j "$jobs" "${targets[@]}" -- --no-print-directory 2>&1 | grep -vE '^\[ *[0-9]+%\]' || true
test -x "$build/cli/semsearch" || { echo "build failed: see the compiler output above" >&2; exit 1; }
