#!/usr/bin/env bash
# Installs what is missing, builds everything and runs the whole test suite in three builds:
# 1. clang with AddressSanitizer + UndefinedBehaviorSanitizer (Debug), every test; the same
#    build, instrumented for libFuzzer, also makes the protocol decoder, request handler,
#    record validation and inter-broker decoder fuzzers. Its brokers answer several times
#    slower, so the heaviest loads are scaled down there (STROM_SANITIZED=1: fewer producer ids
#    and writes) and two tests that measure clients or rates under load run in build 3 only;
# 2. GCC with ThreadSanitizer (Debug), the unit tests that start threads (the target
#    strom-tests of that build; the single-threaded ones, the simulator among them, have nothing
#    for ThreadSanitizer to find, and builds 1 and 3 run them);
# 3. the regular (optimised, GCC) build, with the chaos suite's fault-injection hooks in
#    stromd, every test but the unit tests, which builds 1 and 2 ran (a three-minute chaos
#    schedule and the simulator's seed sweeps among them), and the fuzzers of build 1:
#    the decoder and handler fuzzers for 30 seconds each, the record validation and
#    inter-broker decoder fuzzers for 15.
# The output ends with ctest's summary of the regular build.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
jobs=2
# Line tables only (function names, files and lines in sanitizer reports and backtraces): full
# debug information more than doubles the compile time of the template-heavy sources.
debug_info="-gline-tables-only"

echo "== sanitizer and fuzzer build (clang; address, undefined; libFuzzer)"
cmake -S . -B build/asan-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++-16 -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_FLAGS_DEBUG="$debug_info" \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link" -DSTROM_SANITIZE=address,undefined \
  -DSTROM_BUILD_BENCH=OFF >/dev/null
cmake --build build/asan-fuzz -j"$jobs"
(cd build/asan-fuzz && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --output-on-failure -j"$jobs" --timeout 900)

echo "== thread sanitizer build (unit tests)"
cmake -S . -B build/tsan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-g1" \
  -DSTROM_SANITIZE=thread \
  -DSTROM_BUILD_BENCH=OFF -DSTROM_BUILD_INTEGRATION_TESTS=OFF >/dev/null
cmake --build build/tsan -j"$jobs" --target strom-tests
(cd build/tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  ctest --output-on-failure -j"$jobs" --timeout 900)

echo "== regular build"
cmake -S . -B build/test -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DSTROM_FAULT_HOOKS=ON \
  -DSTROM_BUILD_UNIT_TESTS=OFF \
  -DSTROM_FUZZER="$PWD/build/asan-fuzz/tests/fuzz/request_decode_fuzz" \
  -DSTROM_HANDLER_FUZZER="$PWD/build/asan-fuzz/tests/fuzz/handler_fuzz" \
  -DSTROM_RECORDS_FUZZER="$PWD/build/asan-fuzz/tests/fuzz/records_validate_fuzz" \
  -DSTROM_RPC_FUZZER="$PWD/build/asan-fuzz/tests/fuzz/rpc_decode_fuzz" >/dev/null
cmake --build build/test -j"$jobs"
cd build/test
exec ctest --output-on-failure -j"$jobs" --timeout 900
