#!/usr/bin/env bash
# Replication cost: three stromd processes from config/cluster/node-{1,2,3}.yaml (free loopback
# ports, data in a temporary directory), the same workloads on a topic of replication factor 1
# and of replication factor 3, acks=all, with the machine's ceilings measured in the same run
# (fdatasync rate with fio: an acks=all write waits for fsyncs on a majority; loopback TCP with
# iperf3). Prints a Markdown report. Every process it starts it stops by PID; the temporary
# directory is removed.
#
# usage: bench/run-cluster.sh [--quick]
#   --quick   short runs (a smoke test of the script, not figures to publish)
#   DIR=...   parent of the temporary directory (default /tmp); its file system is measured
#   OUT=...   also write the report to this file
#   KEEP=1    keep the temporary directory (logs, JSON summaries, the brokers' data)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

quick=0
for a in "$@"; do
  case "$a" in
    --quick) quick=1 ;;
    -h | --help)
      sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "unknown argument: $a" >&2
      exit 2
      ;;
  esac
done

./scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DSTROM_BUILD_TESTS=OFF \
  -DSTROM_BUILD_BENCH=ON >/dev/null
cmake --build build/release -j2 --target stromd strom-bench >/dev/null
stromd="$root/build/release/src/app/stromd"
bench="$root/build/release/bench/load/strom-bench"
wl="$root/bench/workloads"

work=$(mktemp -d "${DIR:-/tmp}/strom-cluster-bench-XXXXXX")
pids=()
# shellcheck source=bench/lib.sh
. "$root/bench/lib.sh"
trap cleanup EXIT
report=()
line() { report+=("$*"); }

secs=20
warm=5
[ "$quick" = 1 ] && secs=4 && warm=2

# ---- ceilings ---------------------------------------------------------------------------------
port=$(free_port)
iperf3 -s -B 127.0.0.1 -p "$port" >"$work/iperf3-server.log" 2>&1 &
ipid=$!
pids+=("$ipid")
wait_port "$port" 10 || { log "iperf3 server did not start"; exit 1; }
log "iperf3: loopback TCP, 1 stream, 10 s"
timeout 60 iperf3 -c 127.0.0.1 -p "$port" -t "$([ "$quick" = 1 ] && echo 2 || echo 10)" -J >"$work/iperf3.json"
stop_pid "$ipid"
log "fio: 4 KiB writes + fdatasync, 10 s"
fio --name=sync --directory="$work" --ioengine=psync --rw=write --bs=4k --size=256M --fdatasync=1 \
  --time_based --runtime="$([ "$quick" = 1 ] && echo 2 || echo 10)" --output-format=json >"$work/fio-sync.json"
rm -f "$work"/sync.*

# ---- three brokers ----------------------------------------------------------------------------
declare -A kport iport aport
for k in 1 2 3; do
  kport[$k]=$(free_port)
  iport[$k]=$(free_port)
  aport[$k]=$(free_port)
done
for k in 1 2 3; do
  mkdir -p "$work/node-$k"
  # One pass: each node's ports from its file (K9092, K9093, K9644) become free ports, and
  # the data directory a temporary one.
  /usr/bin/python3 - "config/cluster/node-$k.yaml" "$k" "$work" \
    "${kport[1]} ${iport[1]} ${aport[1]}" "${kport[2]} ${iport[2]} ${aport[2]}" \
    "${kport[3]} ${iport[3]} ${aport[3]}" >"$work/node-$k/broker.yaml" <<'EOF'
import re, sys
src, k, work = sys.argv[1], sys.argv[2], sys.argv[3]
ports = {}
for n, spec in enumerate(sys.argv[4:7], start=1):
    kp, ip, ap = spec.split()
    ports[f"{n}9092"], ports[f"{n}9093"], ports[f"{n}9644"] = kp, ip, ap
with open(src) as f:
    text = f.read()
text = re.sub(r"\b[1-4]9(092|093|644)\b", lambda m: ports.get(m.group(0), m.group(0)), text)
text = re.sub(r"\./data/node-\d", f"{work}/node-{k}/data", text)
sys.stdout.write(text)
EOF
done
for k in 1 2 3; do
  "$stromd" --config "$work/node-$k/broker.yaml" >"$work/node-$k/stromd.log" 2>&1 &
  pids+=("$!")
done
bs="127.0.0.1:${kport[1]},127.0.0.1:${kport[2]},127.0.0.1:${kport[3]}"
log "waiting for three brokers and a controller"
for _ in $(seq 300); do
  h=$(curl -sf --max-time 2 "http://127.0.0.1:${aport[1]}/v1/cluster/health" || true)
  if echo "$h" | grep -q '"is_healthy":true' && [ "$(echo "$h" | grep -o '"is_alive":true' | wc -l)" = 3 ]; then
    break
  fi
  sleep 0.2
done
echo "$h" | grep -q '"is_healthy":true' || { log "the cluster did not come up"; exit 1; }

cpu_ticks() { # the three brokers' utime + stime
  local t=0 p
  for p in "${pids[@]:1:3}"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
  echo "$t"
}
clk=$(getconf CLK_TCK)

# What the brokers measure, summed over the three: their Produce request latency (arrival to
# response), the leaders' commit latency of replicated entries (append to commit) and the
# flush latency (asking to completion), as "SUM COUNT" each.
produce_latency() {
  local k
  for k in 1 2 3; do
    curl -sf --max-time 5 "http://127.0.0.1:${aport[$k]}/metrics" || true
  done | awk '/^strom_kafka_request_latency_seconds_sum\{api="Produce"\}/ {s += $2}
              /^strom_kafka_request_latency_seconds_count\{api="Produce"\}/ {n += $2}
              /^strom_replication_commit_latency_seconds_sum / {cs += $2}
              /^strom_replication_commit_latency_seconds_count / {cn += $2}
              /^strom_storage_flush_latency_seconds_sum / {fs += $2}
              /^strom_storage_flush_latency_seconds_count / {fn += $2}
              END {printf "%f %d %f %d %f %d\n", s, n, cs, cn, fs, fn}'
}

# run NAME ARGS... : one strom-bench run, with the brokers' CPU time and Produce latency around it
run() {
  local name=$1
  shift
  local before after lat_before t0
  lat_before=$(produce_latency)
  t0=$(date +%s.%N)
  before=$(cpu_ticks)
  log "$name: strom-bench $*"
  line "    strom-bench -b BROKERS $* --json $name.json"
  if ! "$bench" -b "$bs" "$@" --json "$work/$name.json" >"$work/$name.out" 2>"$work/$name.log"; then
    log "$name failed:"
    tail -20 "$work/$name.log" >&2
    exit 1
  fi
  after=$(cpu_ticks)
  echo "$(((after - before) * 100 / clk))" >"$work/$name.cpu"
  echo "$lat_before $(produce_latency) $t0 $(date +%s.%N)" >"$work/$name.lat"
}

e2e=(-d "$secs" --warmup "$warm")
[ "$quick" = 1 ] && e2e=(-d 5 --warmup 2)
line "Commands:"
line ""
for rf in 1 3; do
  run "produce-rf$rf" --workload "$wl/1-topic-16-partitions-1kb-max-rate.yaml" -t "max-rf$rf" \
    --replication-factor "$rf" -a all -d "$secs" --warmup "$warm" -q
  run "e2e-50k-rf$rf" --workload "$wl/1-topic-100-partitions-1kb-4-producers-50k-rate.yaml" \
    -t "omb-rf$rf" --replication-factor "$rf" "${e2e[@]}" -q
done

# ---- idle partitions --------------------------------------------------------------------------
# What replication costs when nothing is written: 1,000 more partitions of replication factor 3
# (a few records, so that every group elected a leader), then the brokers' CPU over a quiet
# interval; the groups send heartbeats all along.
idle_parts=1000
run "idle-create" produce -t "idle-rf3" --create-topic -p "$idle_parts" --replication-factor 3 \
  -a all -r 1000 -d 2 --warmup 0 -q
sleep 10
before=$(cpu_ticks)
t0=$(date +%s.%N)
log "idle: $idle_parts partitions of RF 3 for $secs s"
sleep "$secs"
after=$(cpu_ticks)
echo "$((after - before)) $t0 $(date +%s.%N) $idle_parts" >"$work/idle.cpu"

# ---- report -----------------------------------------------------------------------------------
/usr/bin/python3 - "$work" "$quick" <<'EOF' | tee "${OUT:-/dev/null}"
import json, os, platform, sys
work, quick = sys.argv[1], sys.argv[2] == "1"
def load(name):
    with open(os.path.join(work, name)) as f:
        return json.load(f)
def cpu(name):
    with open(os.path.join(work, name + ".cpu")) as f:
        return int(f.read()) / 100
def broker_side(name):
    """Means the brokers measured over the run (ms): Produce latency, commit latency of
    replicated entries, flush latency; and their CPU as a share of one core per broker over
    the run's wall time (%)."""
    with open(os.path.join(work, name + ".lat")) as f:
        v = [float(x) for x in f.read().split()]
    before, after, (t0, t1) = v[0:6], v[6:12], v[12:14]
    means = [(after[i] - before[i]) / max(after[i + 1] - before[i + 1], 1) * 1e3
             for i in (0, 2, 4)]
    return means, cpu(name) / max(t1 - t0, 1e-9) / 3 * 100
iperf = load("iperf3.json")["end"]["sum_received"]["bits_per_second"] / 8 / 1e6
fio = load("fio-sync.json")["jobs"][0]["write"]
sync_iops = fio["iops"]
cores = os.cpu_count()
print(f"machine: {cores} cores, kernel {platform.release()}; three brokers and the load "
      "generator share them" + (" (QUICK RUN: not figures to publish)" if quick else ""))
print()
print("| ceiling | figure |")
print("|---|---|")
print(f"| loopback TCP, 1 stream (iperf3) | {iperf:.0f} MB/s |")
print(f"| 4 KiB write + fdatasync (fio) | {sync_iops:.0f} /s |")
print()
print("| run | RF 1 | RF 3 | RF 3 / RF 1 |")
print("|---|---|---|---|")
p1, p3 = load("produce-rf1.json")["produce"], load("produce-rf3.json")["produce"]
print(f"| produce 1 KiB, acks=all, 16 partitions, 1 producer, as fast as acknowledged | "
      f"{p1['msgs_per_s']/1e3:.1f}k msgs/s, {p1['mb_per_s']:.0f} MB/s | "
      f"{p3['msgs_per_s']/1e3:.1f}k msgs/s, {p3['mb_per_s']:.0f} MB/s | "
      f"{p3['msgs_per_s']/p1['msgs_per_s']:.2f} |")
print(f"| brokers' CPU per GB, that run | {cpu('produce-rf1')/max(p1['mb_per_s']*p1['seconds']/1e3,1e-9):.1f} s |"
      f" {cpu('produce-rf3')/max(p3['mb_per_s']*p3['seconds']/1e3,1e-9):.1f} s | |")
for name, label in [("e2e-50k", "e2e 1 KiB at 50k msgs/s, 100 partitions, acks=all")]:
    a, b = load(f"{name}-rf1.json"), load(f"{name}-rf3.json")
    la, lb = a["e2e"]["latency_us"], b["e2e"]["latency_us"]
    ra, rb = a["produce"]["msgs_per_s"], b["produce"]["msgs_per_s"]
    print(f"| {label}: rate reached | {ra/1e3:.1f}k | {rb/1e3:.1f}k | {rb/ra:.2f} |")
    for q in ("p50", "p99", "p99.9", "max"):
        print(f"| {label}: {q} | {la[q]/1e3:.2f} ms | {lb[q]/1e3:.2f} ms | {lb[q]/max(la[q],1e-9):.2f} |")
    (ma, ca), (mb, cb) = broker_side(f"{name}-rf1"), broker_side(f"{name}-rf3")
    for i, what in enumerate(["Produce latency at the brokers", "commit latency at the leaders",
                              "flush latency"]):
        if i == 1:
            # A partition of one replica is no Raft group: what commits meanwhile in RF 1's
            # run is other groups' (the offsets topic), not its writes.
            print(f"| {label}: {what}, mean | | {mb[i]:.1f} ms | |")
            continue
        print(f"| {label}: {what}, mean | {ma[i]:.1f} ms | {mb[i]:.1f} ms | "
              f"{mb[i]/max(ma[i],1e-9):.2f} |")
    print(f"| {label}: CPU per broker, share of a core | {ca:.0f}% | {cb:.0f}% | |")
with open(os.path.join(work, "idle.cpu")) as f:
    ticks, t0, t1, parts = f.read().split()
idle = int(ticks) / os.sysconf("SC_CLK_TCK") / (float(t1) - float(t0)) / 3 * 100
print(f"| {parts} more idle partitions of RF 3 (every topic above idle too): CPU per broker, "
      f"share of a core | | {idle:.1f}% | |")
EOF
printf '%s\n' "${report[@]}" | tee -a "${OUT:-/dev/null}"
