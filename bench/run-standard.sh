#!/usr/bin/env bash
# The standard benchmark run. Builds stromd and strom-bench (Release), starts a fresh
# single-node stromd on a free loopback port with its data in a temporary directory, measures
# the machine's ceilings in the same run (loopback TCP with iperf3, page-cache writes with
# fio), runs the standard workloads against the broker and prints a Markdown report: the
# machine, the exact commands, the figures and their ratios to the ceilings, and which targets
# are met. Every process it starts it stops by PID; the temporary directory is removed.
#
# usage: bench/run-standard.sh [--with-peers] [--quick]
#   --with-peers  also measure Redis Streams and NATS JetStream on loopback, same sizes
#   --quick       short runs (a smoke test of the script, not figures to publish)
#   DIR=...       parent of the temporary directory (default /tmp); its file system is the
#                 one measured
#   OUT=...       also write the report to this file
#   KEEP=1        keep the temporary directory (logs, JSON summaries, stromd's data)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

peers=0
quick=0
for a in "$@"; do
  case "$a" in
    --with-peers) peers=1 ;;
    --quick) quick=1 ;;
    -h | --help)
      sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
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
targets=(stromd strom-bench)
[ "$peers" = 1 ] && targets+=(nats-js-bench)
cmake --build build/release -j2 --target "${targets[@]}" >/dev/null
stromd="$root/build/release/src/app/stromd"
bench="$root/build/release/bench/load/strom-bench"
wl="$root/bench/workloads"

work=$(mktemp -d "${DIR:-/tmp}/strom-standard-XXXXXX")
pids=()
# shellcheck source=bench/lib.sh
. "$root/bench/lib.sh"
trap cleanup EXIT
trap 'exit 130' INT TERM

rec() { printf '%s\t%s\n' "$1" "$2" >>"$work/results.tsv"; }
: >"$work/results.tsv"
: >"$work/commands.txt"
cmd() { printf '%s\n' "$*" >>"$work/commands.txt"; }

# ---- machine ------------------------------------------------------------------------------
rec machine.nproc "$(nproc)"
rec machine.cpu "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
rec machine.memory "$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
rec machine.kernel "$(uname -r)"
rec machine.os "Debian $(cat /etc/debian_version 2>/dev/null || echo '?')"
rec machine.fs "$(df -T "$work" | awk 'NR==2 {print $2}')"
rec machine.librdkafka "$(dpkg-query -W -f='${Version}' librdkafka-dev 2>/dev/null || echo '?')"
rec run.date "$(date -u +%Y-%m-%d)"
rec run.quick "$quick"
clk=$(getconf CLK_TCK)

# ---- ceilings: loopback TCP ------------------------------------------------------------------
secs=10
[ "$quick" = 1 ] && secs=3
port=$(free_port)
iperf3 -s -B 127.0.0.1 -p "$port" >"$work/iperf3-server.log" 2>&1 &
ipid=$!
pids+=("$ipid")
wait_port "$port" 10 || { log "iperf3 server did not start"; exit 1; }
log "iperf3: loopback TCP, 1 stream, ${secs} s"
cmd "iperf3 -s -B 127.0.0.1 -p PORT & iperf3 -c 127.0.0.1 -p PORT -t $secs -J"
timeout $((secs + 30)) iperf3 -c 127.0.0.1 -p "$port" -t "$secs" -J >"$work/iperf3.json"
stop_pid "$ipid"

# ---- ceilings: page-cache writes into fresh memory ---------------------------------------------
# The broker's logs grow into memory the page cache has not used yet. On a virtual machine that
# memory may have been handed back to the host (free page reporting, DAMON reclaim), and the
# first write to each such page is several times slower than a write into a page just freed.
# So fio writes the broker's shape first (64 KiB writes round-robin over 16 new files, like a
# produce run over 16 partitions) into fresh memory and keeps its files until the produce runs
# are over, so that they do not hand the broker recycled pages. The second ceiling (below, after
# the produce runs) rewrites a file just deleted: recycled pages, the fast case. Memory freed
# shortly before (another run's data deleted) is not fresh in this sense; the report prints the
# free memory before this run so that the two figures can be read together.
fresh_mib=4096
[ "$quick" = 1 ] && fresh_mib=512
rec fio_fresh.free_mib_before "$(awk '/MemFree/ {printf "%d", $2/1024}' /proc/meminfo)"
log "fio: ${fresh_mib} MiB of buffered 64 KiB writes over 16 new files (fresh memory)"
mkdir -p "$work/fio-fresh"
cmd "fio --name=fresh --directory=fio-fresh --ioengine=psync --rw=write --bs=64k --nrfiles=16 --file_service_type=roundrobin --size=${fresh_mib}M --fallocate=none --output-format=json   # files kept until the produce runs end"
fio --name=fresh --directory="$work/fio-fresh" --ioengine=psync --rw=write --bs=64k --nrfiles=16 \
  --file_service_type=roundrobin --size="${fresh_mib}M" --fallocate=none \
  --output-format=json >"$work/fio-fresh.json"
sync  # its dirty pages go to disk now, not during the broker's runs

# ---- the broker -----------------------------------------------------------------------------
kport=$(free_port)
aport=$(free_port)
mkdir -p "$work/data"
cat >"$work/strom.yaml" <<EOF
mode: dev
node: { id: 1, data_dirs: ["$work/data"] }
listeners:
  - name: client
    bind: { host: 127.0.0.1, port: $kport }
admin:
  bind: { host: 127.0.0.1, port: $aport }
logging:
  level: warn
EOF
cmd "stromd --config strom.yaml   # mode: dev, data in a fresh directory, listener 127.0.0.1:PORT, logging.level: warn, all else default"
"$stromd" --config "$work/strom.yaml" >"$work/stromd.out" 2>"$work/stromd.log" &
spid=$!
pids+=("$spid")
wait_port "$kport" 30 || { log "stromd did not start"; cat "$work/stromd.log" >&2; exit 1; }
bs="127.0.0.1:$kport"
log "stromd pid $spid on $bs"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$spid/stat"; }

# run NAME ARGS... : one strom-bench run, with stromd's CPU time around it
run() {
  local name=$1
  shift
  local before after
  before=$(cpu_ticks)
  log "$name: strom-bench $*"
  cmd "strom-bench -b 127.0.0.1:PORT $* --json $name.json"
  if ! "$bench" -b "$bs" "$@" --json "$work/$name.json" >"$work/$name.out" 2>"$work/$name.log"; then
    log "$name failed:"
    tail -20 "$work/$name.log" >&2
    exit 1
  fi
  after=$(cpu_ticks)
  rec "$name.broker_cpu_s" "$(awk -v a="$before" -v b="$after" -v t="$clk" 'BEGIN {printf "%.3f", (b - a) / t}')"
  kill -0 "$spid" 2>/dev/null || { log "stromd died"; tail -20 "$work/stromd.log" >&2; exit 1; }
}

# drop TOPIC: delete a topic once used (outside the CPU measurement; the runs write tens of GB)
drop() { "$bench" -b "$bs" delete -t "$1" >>"$work/delete.log" 2>&1 || log "deleting $1 failed"; }

short=()
e2e=(-d 30 --warmup 5)
if [ "$quick" = 1 ]; then
  short=(-d 4 --warmup 1)
  e2e=(-d 4 --warmup 1)
fi

# Produce throughput: 1 KiB and 100 B, acks=1 and acks=all (as fast as the broker acks).
run produce-1k-acks1 --workload "$wl/1-topic-16-partitions-1kb-max-rate.yaml" -t std-1k-acks1 "${short[@]}" -q
run produce-1k-acksall --workload "$wl/1-topic-16-partitions-1kb-max-rate.yaml" -t std-1k-acksall -a all "${short[@]}" -q
drop std-1k-acksall
run produce-100b-acks1 --workload "$wl/1-topic-16-partitions-100b-max-rate.yaml" -t std-100b-acks1 "${short[@]}" -q
run produce-100b-acksall --workload "$wl/1-topic-16-partitions-100b-max-rate.yaml" -t std-100b-acksall -a all "${short[@]}" -q
drop std-100b-acksall

# Page-cache write ceiling into recycled memory: the fresh-memory files go, then fio writes as
# many bytes as the 1 KiB acks=1 run ingested, in 16 KiB buffered writes, twice, each time to
# a file just deleted (the faster run counts). Its CPU time gives fio's CPU per GB.
rm -rf "$work/fio-fresh"
fio_bytes=$(/usr/bin/python3 -c "import json; j = json.load(open('$work/produce-1k-acks1.json')); print(max(256, min(4096, j['produce']['msgs'] * j['config']['message_size'] // 2**20)))")
for i in 1 2; do
  log "fio: ${fio_bytes} MiB of buffered 16 KiB writes, run $i"
  rm -f "$work/fio.dat"
  sync
  fio --name=pagecache --directory="$work" --filename=fio.dat --ioengine=psync --rw=write \
    --bs=16k --size="${fio_bytes}M" --fallocate=none --output-format=json >"$work/fio-$i.json"
  rm -f "$work/fio.dat"
done
cmd "fio --name=pagecache --filename=fio.dat --ioengine=psync --rw=write --bs=16k --size=${fio_bytes}M --fallocate=none --output-format=json   # twice"

# Consume from the page cache what the acks=1 runs wrote (from the start to the end), with
# two consumers (one per core here) and with one. Topics are deleted once used: the runs
# write tens of GB.
run consume-1k --mode consume -t std-1k-acks1 -C 2 -d 120 --warmup 0 -q
run consume-1k-1c --mode consume -t std-1k-acks1 -C 1 -d 120 --warmup 0 -q
drop std-1k-acks1
run consume-100b --mode consume -t std-100b-acks1 -C 2 -d 120 --warmup 0 -q
drop std-100b-acks1

# End-to-end latency at fixed rates (OpenMessaging Benchmark shapes; acks=all, linger 1 ms).
run e2e-50k-1k --workload "$wl/1-topic-100-partitions-1kb-4-producers-50k-rate.yaml" "${e2e[@]}" -q
drop omb-100p-1kb
run e2e-50k-1k-acks1 --workload "$wl/1-topic-100-partitions-1kb-4-producers-50k-rate.yaml" -t omb-100p-1kb-acks1 -a 1 "${e2e[@]}" -q
drop omb-100p-1kb-acks1
run e2e-50k-100b --workload "$wl/1-topic-100-partitions-1kb-4-producers-50k-rate.yaml" -t omb-100p-100b -s 100 "${e2e[@]}" -q
drop omb-100p-100b
run e2e-100k-1k --workload "$wl/1-topic-100-partitions-1kb-4-producers-100k-rate.yaml" -t omb-100p-1kb-100k "${e2e[@]}" -q
drop omb-100p-1kb-100k
run e2e-200k-1k --workload "$wl/1-topic-100-partitions-1kb-4-producers-200k-rate.yaml" -t omb-100p-1kb-200k "${e2e[@]}" -q
drop omb-100p-1kb-200k
run e2e-50k-1k-1p --workload "$wl/1-topic-1-partition-1kb-50k-rate.yaml" "${e2e[@]}" -q
drop single-1p-1kb

rec broker.rss_kib "$(awk '/VmHWM/ {print $2}' "/proc/$spid/status")"
stop_pid "$spid"

# ---- peers ------------------------------------------------------------------------------------
if [ "$peers" = 1 ]; then
  # Redis Streams: AOF with fsync once a second (acknowledges before fsync, like acks=1).
  rport=$(free_port)
  mkdir -p "$work/redis"
  redis-server --port "$rport" --bind 127.0.0.1 --dir "$work/redis" --appendonly yes \
    --appendfsync everysec --save '' --auto-aof-rewrite-percentage 0 --daemonize no \
    >"$work/redis.log" 2>&1 &
  rpid=$!
  pids+=("$rpid")
  wait_port "$rport" 10 || { log "redis-server did not start"; exit 1; }
  cmd "redis-server --port PORT --bind 127.0.0.1 --appendonly yes --appendfsync everysec --save ''"
  for size in 1024 100; do
    n=$([ "$size" = 1024 ] && echo 600000 || echo 1200000)
    [ "$quick" = 1 ] && n=$((n / 4))
    value=$(head -c "$size" /dev/zero | tr '\0' 'v')
    redis-cli -h 127.0.0.1 -p "$rport" DEL bench >/dev/null
    log "redis: XADD ${size} B, 8 clients, pipeline 64, $n messages"
    cmd "redis-benchmark -h 127.0.0.1 -p PORT -n $n -c 8 -P 64 --csv XADD bench '*' f <${size}-byte value>"
    line=$(timeout 300 redis-benchmark -h 127.0.0.1 -p "$rport" -n "$n" -c 8 -P 64 --csv \
      XADD bench '*' f "$value" | tail -1)
    rec "redis.xadd_$size" "$(awk -F'","' '{print $2}' <<<"$line")"
    rec "redis.xlen_$size" "$(redis-cli -h 127.0.0.1 -p "$rport" XLEN bench)"
  done
  stop_pid "$rpid"

  # NATS JetStream: file storage, one replica, default sync (acknowledges before fsync).
  nbench="$root/build/release/bench/peers/nats-js-bench"
  nport=$(free_port)
  nats-server -js -a 127.0.0.1 -p "$nport" -sd "$work/nats" >"$work/nats.log" 2>&1 &
  npid=$!
  pids+=("$npid")
  wait_port "$nport" 10 || { log "nats-server did not start"; exit 1; }
  cmd "nats-server -js -a 127.0.0.1 -p PORT -sd DIR"
  if [ -x "$nbench" ]; then
    for size in 1024 100; do
      n=$([ "$size" = 1024 ] && echo 300000 || echo 500000)
      [ "$quick" = 1 ] && n=$((n / 4))
      log "nats: JetStream async publish ${size} B, $n messages"
      cmd "nats-js-bench --url nats://127.0.0.1:PORT --size $size --count $n --max-pending 4096"
      timeout 300 "$nbench" --url "nats://127.0.0.1:$nport" --size "$size" --count "$n" \
        --max-pending 4096 >"$work/nats-$size.out"
      rec "nats.pub_$size" "$(awk '$1 == "publish_msgs_per_s" {print $2}' "$work/nats-$size.out")"
      rec "nats.consume_$size" "$(awk '$1 == "consume_msgs_per_s" {print $2}' "$work/nats-$size.out")"
    done
  else
    rec nats.note "no client: nats-js-bench was not built (libnats-dev missing)"
  fi
  stop_pid "$npid"
fi

# ---- report ---------------------------------------------------------------------------------
/usr/bin/python3 - "$work" "$peers" "$root" <<'PY' | tee "${OUT:-/dev/null}"
import json, os, sys
work, peers, root = sys.argv[1], sys.argv[2] == "1", sys.argv[3]
res = {}
for line in open(os.path.join(work, "results.tsv")):
    k, _, v = line.rstrip("\n").partition("\t")
    res[k] = v
def load(name):
    p = os.path.join(work, name + ".json")
    return json.load(open(p)) if os.path.exists(p) else None
def num(k):
    try:
        return float(res[k])
    except (KeyError, ValueError):
        return None

iperf = load("iperf3")
loop_mb = iperf["end"]["sum_received"]["bits_per_second"] / 8 / 1e6
fio = []
for i in (1, 2):
    j = load(f"fio-{i}")["jobs"][0]
    secs = j["job_runtime"] / 1000
    cpu = (j["usr_cpu"] + j["sys_cpu"]) / 100 * secs
    gb = j["write"]["io_bytes"] / 1e9
    fio.append({"mb": j["write"]["bw_bytes"] / 1e6, "cpu_per_gb": cpu / gb, "gb": gb})
best_fio = max(fio, key=lambda f: f["mb"])
def fio_job(name):
    j = load(name)
    if not j:
        return None
    j = j["jobs"][0]
    secs = j["job_runtime"] / 1000
    gb = j["write"]["io_bytes"] / 1e9
    return {"mb": j["write"]["bw_bytes"] / 1e6, "cpu_per_gb": (j["usr_cpu"] + j["sys_cpu"]) / 100 * secs / gb, "gb": gb}
fresh_fio = fio_job("fio-fresh")

def part(name, key):
    j = load(name)
    return j.get(key) if j else None

print(f"Standard run of {res['run.date']}" + (" (--quick: short runs, not for publishing)" if res["run.quick"] == "1" else "") + ":")
print()
print(f"machine: {res['machine.nproc']} cores, {res['machine.cpu']}, {res['machine.memory']}, "
      f"{res['machine.os']}, kernel {res['machine.kernel']}, filesystem {res['machine.fs']}; "
      f"librdkafka {res['machine.librdkafka']}; client and broker share the cores")
print()
print("Commands, in order (PORT is a free loopback port, files in a fresh temporary directory):")
print()
print("```sh")
for line in open(os.path.join(work, "commands.txt")):
    print(line.rstrip("\n").replace(work + "/", "").replace(root + "/", ""))
print("```")
print()
print("Ceilings, measured in the same run:")
print()
print("| ceiling | figure |")
print("|---|---|")
print(f"| loopback TCP, 1 stream (iperf3) | {loop_mb:.0f} MB/s |")
if fresh_fio:
    print(f"| page-cache writes into fresh memory, 64 KiB over 16 files (fio), {fresh_fio['gb']:.2f} GB, {res.get('fio_fresh.free_mib_before', '?')} MiB free before | {fresh_fio['mb']:.0f} MB/s, {fresh_fio['cpu_per_gb']:.2f} CPU s/GB |")
for i, f in enumerate(fio, 1):
    print(f"| page-cache writes into recycled memory, 16 KiB (fio), run {i}: {f['gb']:.2f} GB | {f['mb']:.0f} MB/s, {f['cpu_per_gb']:.2f} CPU s/GB |")
print()
print("Ratios to page-cache writes and to fio's CPU per GB are given as fresh / recycled: the broker's")
print("log writes go into fresh memory, as in the first fio run.")
print()
print("| run | msgs/s | MB/s | ratio to loopback TCP | ratio to page-cache writes | broker CPU s/GB | ratio to fio CPU s/GB |")
print("|---|---|---|---|---|---|---|")
def two(value, attr, invert=False):
    out = []
    for f in (fresh_fio, best_fio):
        if f:
            out.append(f"{(f[attr] / value if invert else value / f[attr]):.2f}")
    return " / ".join(out)
rows = {}
for name, label, key in [
    ("produce-1k-acks1", "produce 1 KiB, acks=1", "produce"),
    ("produce-1k-acksall", "produce 1 KiB, acks=all", "produce"),
    ("produce-100b-acks1", "produce 100 B, acks=1", "produce"),
    ("produce-100b-acksall", "produce 100 B, acks=all", "produce"),
    ("consume-1k", "consume 1 KiB from the page cache, 2 consumers", "consume"),
    ("consume-1k-1c", "consume 1 KiB from the page cache, 1 consumer", "consume"),
    ("consume-100b", "consume 100 B from the page cache, 2 consumers", "consume"),
]:
    p = part(name, key)
    if not p:
        continue
    j = load(name)
    size = j["config"]["message_size"]
    cpu = num(name + ".broker_cpu_s")
    gb = p["msgs"] * size / 1e9
    cpu_gb = cpu / gb if cpu is not None and gb > 0 else None
    rows[name] = dict(p, cpu_gb=cpu_gb)
    pc = two(p['mb_per_s'], "mb") if key == "produce" else ""
    cg = f"{cpu_gb:.2f}" if cpu_gb else ""
    cr = two(cpu_gb, "cpu_per_gb") if cpu_gb and key == "produce" else ""
    print(f"| {label} | {p['msgs_per_s']:,.0f} | {p['mb_per_s']:.1f} | {p['mb_per_s'] / loop_mb:.3f} | {pc} | {cg} | {cr} |")
print()
print("End-to-end latency (scheduled send to receipt; linger 1 ms, 128 KiB batches):")
print()
print("| workload | acks | target rate | produced msgs/s | consumed msgs/s | p50 | p90 | p99 | p99.9 | p99.99 | max |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
def ms(us):
    return f"{us / 1000:.2f} ms"
for name, label in [
    ("e2e-50k-1k", "100 partitions, 1 KiB, 4 producers, 4 consumers"),
    ("e2e-50k-1k-acks1", "100 partitions, 1 KiB, 4 producers, 4 consumers"),
    ("e2e-50k-100b", "100 partitions, 100 B, 4 producers, 4 consumers"),
    ("e2e-100k-1k", "100 partitions, 1 KiB, 4 producers, 4 consumers"),
    ("e2e-200k-1k", "100 partitions, 1 KiB, 4 producers, 4 consumers"),
    ("e2e-50k-1k-1p", "1 partition, 1 KiB, 1 producer, 1 consumer"),
]:
    j = load(name)
    if not j:
        continue
    rows[name] = j["e2e"]
    l = j["e2e"].get("latency_us", {})
    if not l:
        continue
    print(f"| {label} | {j['config']['acks']} | {j['config']['rate']:,.0f} | {j['produce']['msgs_per_s']:,.0f} | {j['e2e']['msgs_per_s']:,.0f} | "
          + " | ".join(ms(l[k]) for k in ("p50", "p90", "p99", "p99.9", "p99.99", "max")) + " |")
print()
redis = {s: num(f"redis.xadd_{s}") for s in (1024, 100)}
nats = {s: num(f"nats.pub_{s}") for s in (1024, 100)}
natsc = {s: num(f"nats.consume_{s}") for s in (1024, 100)}
if peers:
    print("Peers on the same machine, same run (both acknowledge before fsync, like acks=1):")
    print()
    print("| measurement | peer msgs/s | Strom msgs/s (acks=1) | Strom / peer |")
    print("|---|---|---|---|")
    for s, sname, rn, cn in ((1024, "1 KiB", "produce-1k-acks1", "consume-1k"), (100, "100 B", "produce-100b-acks1", "consume-100b")):
        st = rows.get(rn, {}).get("msgs_per_s")
        if redis[s] and st:
            print(f"| Redis Streams XADD {sname} (8 clients, pipeline 64) | {redis[s]:,.0f} | {st:,.0f} | {st / redis[s]:.2f} |")
        if nats[s] and st:
            print(f"| NATS JetStream async publish {sname} (4096 in flight) | {nats[s]:,.0f} | {st:,.0f} | {st / nats[s]:.2f} |")
        sc = rows.get(cn, {}).get("msgs_per_s")
        if natsc[s] and sc:
            print(f"| NATS JetStream consume {sname} (pull, batches of 1000) | {natsc[s]:,.0f} | {sc:,.0f} (consume) | {sc / natsc[s]:.2f} |")
    if "nats.note" in res:
        print(f"| NATS JetStream | {res['nats.note']} | | |")
    print()

def met(ok):
    return "met" if ok else "**not met**"
print("Targets:")
print()
print("| target | measured | |")
print("|---|---|---|")
p1 = rows.get("produce-1k-acks1", {})
if p1:
    print(f"| produce 1 KiB acks=1 ≈ 500k msgs/s | {p1['msgs_per_s']:,.0f} msgs/s | {met(p1['msgs_per_s'] >= 450000)} |")
    if peers and redis[1024]:
        r = p1["msgs_per_s"] / redis[1024]
        print(f"| ... ≥ 3× Redis Streams | {r:.2f}× | {met(r >= 3)} |")
    if peers and nats[1024]:
        r = p1["msgs_per_s"] / nats[1024]
        print(f"| ... ≥ 4× NATS JetStream | {r:.2f}× | {met(r >= 4)} |")
p100 = rows.get("produce-100b-acks1", {})
if p100:
    print(f"| produce 100 B acks=1 ≥ 1M msgs/s | {p100['msgs_per_s']:,.0f} msgs/s | {met(p100['msgs_per_s'] >= 1e6)} |")
c1 = rows.get("consume-1k", {})
if c1:
    print(f"| consume 1 KiB from the page cache ≥ 1 GB/s | {c1['mb_per_s'] / 1000:.2f} GB/s | {met(c1['mb_per_s'] >= 1000)} |")
e = rows.get("e2e-50k-1k", {})
if e and e.get("latency_us"):
    p99 = e["latency_us"]["p99"] / 1000
    print(f"| e2e p99 ≤ 2 ms at 50k msgs/s of 1 KiB (100 partitions, acks=all) | {p99:.2f} ms | {met(p99 <= 2)} |")
if p1 and p1.get("cpu_gb"):
    ref = fresh_fio or best_fio
    r = p1["cpu_gb"] / ref["cpu_per_gb"]
    rr = p1["cpu_gb"] / best_fio["cpu_per_gb"]
    print(f"| broker CPU per GB ≤ 2× fio's (1 KiB, acks=1; fio into fresh memory, as the broker writes) | {p1['cpu_gb']:.2f} vs {ref['cpu_per_gb']:.2f} CPU s/GB = {r:.1f}× (against fio into recycled memory: {rr:.1f}×) | {met(r <= 2)} |")
print()
print(f"MB = 10^6 payload bytes. Broker CPU = utime + stime of the stromd process over the run (warm-up included), "
      f"divided by the payload bytes produced (or consumed) in the run. Peak broker RSS: {int(res.get('broker.rss_kib', 0)) // 1024} MiB.")
PY
