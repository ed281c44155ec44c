#!/usr/bin/env bash
# Configures and builds semsearch with CMake into BUILD_DIR (default build/). Extra arguments go to cmake.
#   scripts/build.sh [-DSEM_SANITIZE=address,undefined ...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-Release} "$@" >/dev/null
cmake --build "$build" -j "$jobs" -- --no-print-directory 2>&1 | grep -vE '^\[ *[0-9]+%\]' || true
test -x "$build/cli/semsearch" || { echo "build failed: see the compiler output above" >&2; exit 1; }
