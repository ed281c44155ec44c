#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, and runs every test under ctest; then builds
# the unit, fuzz, crash and integration tests with AddressSanitizer + UndefinedBehaviorSanitizer and runs them
# too, and the concurrency tests (encoder pool, query threads, store readers/writer, HTTP server) under
# ThreadSanitizer.
# Idempotent. Tests read ../shared (the shared test data beside the checkout).
#   scripts/test.sh            everything
#   SEM_SKIP_ASAN=1 scripts/test.sh   skip the sanitizer passes
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
  echo "== ctest: sanitizer build (labels unit, fuzz, asan, integration) =="
  (cd "$root/build-asan" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
     LSAN_OPTIONS=suppressions=$root/tests/lsan.supp UBSAN_OPTIONS=print_stacktrace=1 \
     ctest -L 'unit|fuzz|asan|integration' -j "$jobs" --output-on-failure)
  echo "== build (ThreadSanitizer, clang; the concurrency tests) =="
  tsan_tests=(test_encoder_pool test_query_threads test_store_concurrency test_web_concurrency)
  BUILD_DIR="$root/build-tsan" BUILD_TYPE=RelWithDebInfo CC=clang CXX=clang++ \
    BUILD_TARGETS="semsearch ${tsan_tests[*]}" "$root/scripts/build.sh" -DSEM_SANITIZE=thread -DSEM_BUILD_TESTS=ON \
    -DSEM_BUILD_BENCH=OFF
  echo "== ctest: ThreadSanitizer build (concurrency tests) =="
  (cd "$root/build-tsan" && TSAN_OPTIONS="halt_on_error=1 suppressions=$root/tests/tsan.supp" \
     ctest -R "^($(IFS='|'; echo "${tsan_tests[*]}"))\$" --output-on-failure)
fi
echo "== ctest: release build (all tests) =="
cd "$root/build"
ctest -j "$jobs" --output-on-failure
