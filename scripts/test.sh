#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, and runs every test under ctest; then builds
# the unit, fuzz and crash tests with AddressSanitizer + UndefinedBehaviorSanitizer and runs them too.
# Idempotent. Tests read ../shared (the shared test data beside the checkout).
#   scripts/test.sh            everything
#   SEM_SKIP_ASAN=1 scripts/test.sh   skip the sanitizer pass
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh" --test
jobs=$(nproc 2>/dev/null || echo 2)

echo "== build (Release) =="
BUILD_DIR="$root/build" "$root/scripts/build.sh" -DSEM_BUILD_TESTS=ON -DSEM_BUILD_BENCH=ON
if [ "${SEM_SKIP_ASAN:-0}" != 1 ]; then
  echo "== build (AddressSanitizer + UBSan) =="
  BUILD_DIR="$root/build-asan" BUILD_TYPE=Debug "$root/scripts/build.sh" -DSEM_SANITIZE=address,undefined \
    -DSEM_BUILD_TESTS=ON -DSEM_BUILD_BENCH=OFF
  echo "== ctest: sanitizer build (labels unit, fuzz, asan) =="
  (cd "$root/build-asan" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
     LSAN_OPTIONS=suppressions=$root/tests/lsan.supp UBSAN_OPTIONS=print_stacktrace=1 \
     ctest -L 'unit|fuzz|asan' -j "$jobs" --output-on-failure)
fi
echo "== ctest: release build (all tests) =="
cd "$root/build"
ctest -j "$jobs" --output-on-failure
