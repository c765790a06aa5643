#!/usr/bin/env bash
# Installs what is missing, builds everything and runs the whole test suite: first under
# AddressSanitizer + UndefinedBehaviorSanitizer, then the regular (optimised) build.
# The output ends with ctest's summary of the regular build.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
jobs=2

echo "== sanitizer build (address, undefined)"
cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSTROM_SANITIZE=address,undefined \
  -DSTROM_BUILD_BENCH=OFF >/dev/null
cmake --build build/asan -j"$jobs"
(cd build/asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --output-on-failure -j"$jobs" --timeout 900)

echo "== regular build"
cmake -S . -B build/test -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/test -j"$jobs"
cd build/test
exec ctest --output-on-failure -j"$jobs" --timeout 900
