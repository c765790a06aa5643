#!/usr/bin/env bash
# Installs what is missing, builds everything and runs the whole test suite: first under
# AddressSanitizer + UndefinedBehaviorSanitizer, then the regular (optimised) build, which also
# runs the protocol decoder fuzzer and the request handler fuzzer (built with clang and
# libFuzzer) for 30 seconds each and the record validation fuzzer for 15.
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

echo "== fuzzer build (clang, libFuzzer, address, undefined)"
cmake -S . -B build/fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++-16 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined" -DSTROM_BUILD_BENCH=OFF >/dev/null
cmake --build build/fuzz -j"$jobs" --target request_decode_fuzz handler_fuzz records_validate_fuzz

echo "== regular build"
cmake -S . -B build/test -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSTROM_FUZZER="$PWD/build/fuzz/tests/fuzz/request_decode_fuzz" \
  -DSTROM_HANDLER_FUZZER="$PWD/build/fuzz/tests/fuzz/handler_fuzz" \
  -DSTROM_RECORDS_FUZZER="$PWD/build/fuzz/tests/fuzz/records_validate_fuzz" >/dev/null
cmake --build build/test -j"$jobs"
cd build/test
exec ctest --output-on-failure -j"$jobs" --timeout 900
