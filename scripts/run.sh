#!/usr/bin/env bash
# Installs what is missing, builds stromd and stromctl (Release) and runs a single-node broker
# with config/strom.yaml (data under ./data, Kafka listener 127.0.0.1:9092). Extra arguments go
# to stromd. Stop it with Ctrl-C (SIGINT) or SIGTERM; it shuts down cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DSTROM_BUILD_TESTS=OFF -DSTROM_BUILD_BENCH=OFF >/dev/null
cmake --build build/release -j2 --target stromd stromctl
exec build/release/src/app/stromd --config config/strom.yaml "$@"
