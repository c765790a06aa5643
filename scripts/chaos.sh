#!/usr/bin/env bash
# Fault injection on three real brokers with a checker that proves nothing acknowledged is
# lost (tests/chaos/chaos.py: faults, workloads, checks, report). Builds stromd first
# (build/test, with the fault-injection hooks) unless STROMD names a binary.
#
#   scripts/chaos.sh [--time SECONDS] [--seed S] [--faults kill,pause,partition,slow,disk,fsync,move] [--out DIR]
#
# The report (report.md, report.json, timeline.png, the brokers' logs) goes to --out (default
# ./chaos-SEED). Exits 1 on any anomaly, with the command that replays the seed.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z "${STROMD:-}" ]]; then
  ./scripts/install-deps.sh
  cmake -S . -B build/test -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTROM_FAULT_HOOKS=ON >/dev/null
  cmake --build build/test --target stromd
  STROMD="$PWD/build/test/src/app/stromd"
fi
export STROMD STROM_SOURCE_DIR="$PWD"
exec /usr/bin/python3 tests/chaos/chaos.py "$@"
