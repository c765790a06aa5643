#!/usr/bin/env bash
# Installs every Debian package that building, running and testing Strom needs.
# Idempotent: when everything is present it only checks and returns.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git clang-format lld
  clang-16 libclang-rt-16-dev
  libboost-dev libboost-system-dev
  libspdlog-dev libfmt-dev libyaml-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libisal-dev zlib1g-dev libsnappy-dev liblz4-dev libzstd-dev libssl-dev
  librdkafka-dev prometheus-cpp-dev libcli11-dev
  kcat python3 python3-confluent-kafka python3-kafka curl
  openssl  # test certificates (TLS tests)
  python3-matplotlib  # the chaos suite's timeline picture
  # benchmarks only: ceilings, peers and profiling (bench/run-standard.sh)
  fio iperf3 iproute2 redis-server redis-tools nats-server libnats-dev linux-perf
)

install_npm_packages() {
  # kafkajs for the JavaScript client tests, pinned by tests/integration/js/package-lock.json.
  local dir
  dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/integration/js"
  if command -v npm >/dev/null 2>&1 && [ ! -d "$dir/node_modules/kafkajs" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  install_npm_packages
  exit 0
fi

echo "installing: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
install_npm_packages
