#!/usr/bin/env bash
# A local cluster on loopback from config/cluster/node-{1..N}.yaml:
#
#   scripts/cluster.sh start [N]   build stromd (Release) if needed, start N nodes (default 3),
#                                  wait until every node lists all N brokers and a controller
#   scripts/cluster.sh status [N]  each node's pid and GET /v1/cluster/health
#   scripts/cluster.sh stop [N]    SIGTERM each node and wait for it to exit
#
# Node K uses Kafka port K9092, internal port K9093, admin port K9644 and the data directory
# ./data/node-K (as its file says); its log goes to ./data/node-K.log and its pid to
# ./data/node-K.pid. STROMD names another binary. At most 4 nodes (the files that exist):
# nodes 1-3 are the seeds (the controller's voters), node 4 a broker outside them (a learner).
set -euo pipefail
cd "$(dirname "$0")/.."

cmd="${1:-}"
n="${2:-3}"
if [[ ! "$n" =~ ^[1-4]$ ]]; then
  echo "cluster.sh: N must be 1, 2, 3 or 4 (config/cluster has four node files)" >&2
  exit 64
fi
stromd="${STROMD:-build/release/src/app/stromd}"
run_dir=data
mkdir -p "$run_dir"

pid_of() { cat "$run_dir/node-$1.pid" 2>/dev/null || true; }
alive() { local p; p="$(pid_of "$1")"; [[ -n "$p" ]] && kill -0 "$p" 2>/dev/null; }
health() { curl -sf --max-time 2 "http://127.0.0.1:${1}9644/v1/cluster/health" || true; }

# The node files name every seed; a smaller cluster keeps the first N of them.
config_for() {
  local k="$1" out="$run_dir/node-$1.yaml"
  awk -v n="$n" '
    /^    - \{ node_id: [0-9]+,/ { id = $4; sub(",", "", id); if (id + 0 > n) next }
    { print }' "config/cluster/node-$k.yaml" > "$out"
  echo "$out"
}

case "$cmd" in
  start)
    if [[ -z "${STROMD:-}" ]]; then
      ./scripts/install-deps.sh
      cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release \
        -DSTROM_BUILD_TESTS=OFF -DSTROM_BUILD_BENCH=OFF >/dev/null
      cmake --build build/release -j2 --target stromd stromctl
    fi
    for k in $(seq 1 "$n"); do
      if alive "$k"; then
        echo "node $k already runs (pid $(pid_of "$k"))"
        continue
      fi
      cfg="$(config_for "$k")"
      nohup "$stromd" --config "$cfg" >>"$run_dir/node-$k.log" 2>&1 &
      echo $! > "$run_dir/node-$k.pid"
      echo "node $k started (pid $!, Kafka 127.0.0.1:${k}9092, log $run_dir/node-$k.log)"
    done
    # Ready: every node reports all N brokers alive and a controller.
    deadline=$((SECONDS + 60))
    while :; do
      ready=1
      for k in $(seq 1 "$n"); do
        alive "$k" || { echo "node $k exited; see $run_dir/node-$k.log" >&2; exit 1; }
        h="$(health "$k")"
        if [[ "$h" != *'"is_healthy":true'* ]] || [[ "$h" == *'"controller_id":-1'* ]] ||
           [[ "$(grep -o '"is_alive":true' <<<"$h" | wc -l)" -lt "$n" ]]; then
          ready=0
        fi
      done
      [[ $ready == 1 ]] && break
      if ((SECONDS > deadline)); then
        echo "the cluster did not become ready within 60 s" >&2
        exit 1
      fi
      sleep 0.2
    done
    bootstrap="$(seq -s, -f '127.0.0.1:%g9092' 1 "$n")"
    echo "cluster of $n ready: kcat -b $bootstrap -L"
    ;;
  status)
    rc=0
    for k in $(seq 1 "$n"); do
      if alive "$k"; then
        echo "node $k: pid $(pid_of "$k"): $(health "$k")"
      else
        echo "node $k: not running"
        rc=1
      fi
    done
    exit $rc
    ;;
  stop)
    for k in $(seq 1 "$n"); do
      if alive "$k"; then
        kill -TERM "$(pid_of "$k")"
      fi
    done
    for k in $(seq 1 "$n"); do
      while alive "$k"; do sleep 0.1; done
      rm -f "$run_dir/node-$k.pid"
      echo "node $k stopped"
    done
    ;;
  *)
    echo "usage: scripts/cluster.sh start|stop|status [N]" >&2
    exit 64
    ;;
esac
