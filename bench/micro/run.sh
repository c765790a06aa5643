#!/usr/bin/env bash
# Builds the micro benchmarks (Release), measures this machine's ceilings in the same run
# (fio page-cache writes and fdatasync latency, memcpy) and prints a Markdown table of the
# storage figures with their ratio to the ceilings.
#
# usage: bench/micro/run.sh [--quick]
#   DIR=...   directory for the benchmark files (default: a fresh one under /tmp)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
quick=0
[ "${1:-}" = "--quick" ] && quick=1

./scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DSTROM_BUILD_TESTS=OFF \
  -DSTROM_BUILD_BENCH=ON >/dev/null
cmake --build build/release -j2 --target micro_bench >/dev/null

work=$(mktemp -d "${DIR:-/tmp}/strom-micro-XXXXXX")
trap 'rm -rf "$work"' EXIT
size=1G  # the page-cache append benchmark writes the same 1 GiB
mintime=2
if [ "$quick" = 1 ]; then mintime=0.5; fi

fio_job() {  # name args... -> JSON on stdout
  local name=$1
  shift
  rm -f "$work/fio.dat"
  sync
  fio --name="$name" --directory="$work" --filename=fio.dat --ioengine=psync --rw=write \
    --fallocate=none --output-format=json "$@"
  rm -f "$work/fio.dat"
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)," \
  "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r)," \
  "filesystem $(df -T "$work" | awk 'NR==2 {print $2}')"

bench() {  # output-file filter
  sync
  STROM_BENCH_DIR="$work" build/release/bench/micro/micro_bench \
    --benchmark_min_time="$mintime" --benchmark_format=json --benchmark_filter="$2" \
    2>/dev/null >"$work/$1"
}
# Page-cache writes: fio, Strom, fio again (the page cache is faster when recycled).
fio_job pc16k --bs=16k --size="$size" >"$work/fio-pc16k.json"
bench bench-append.json 'fsync:0'
fio_job pc16k_again --bs=16k --size="$size" >"$work/fio-pc16k-again.json"
fio_job pc1k --bs=1k --size="$size" >"$work/fio-pc1k.json"
# fdatasync: fio, then Strom.
fio_job sync4k --bs=4k --size=256M --runtime=5 --fdatasync=1 >"$work/fio-sync4k.json"
bench bench-fsync.json 'fsync:1'
bench bench.json 'SequentialRead|Crc32c|Memcpy'

/usr/bin/python3 - "$work" <<'PY'
import json, sys, os
work = sys.argv[1]
def fio(name):
    j = json.load(open(os.path.join(work, name)))["jobs"][0]
    return j
pc = [fio("fio-pc16k.json")["write"]["bw_bytes"] / 1e6, fio("fio-pc16k-again.json")["write"]["bw_bytes"] / 1e6]
pc1k = fio("fio-pc1k.json")["write"]["bw_bytes"] / 1e6
s4 = fio("fio-sync4k.json")
sync_p50 = s4["sync"]["lat_ns"]["percentile"]["50.000000"] / 1e3
sync_iops = s4["write"]["iops"]
benches = []
for f in ("bench-append.json", "bench-fsync.json", "bench.json"):
    benches += json.load(open(os.path.join(work, f)))["benchmarks"]
by = {b["name"]: b for b in benches}
def mbps(name):
    return by[name]["bytes_per_second"] / 1e6
def ips(name):
    return by[name].get("items_per_second", 0)
memcpy = mbps("BM_Memcpy/67108864")
ceiling = max(pc)
print()
print("| measurement | figure | ceiling (same run) | ratio |")
print("|---|---|---|---|")
print(f"| fio buffered 16 KiB writes (page cache), runs 1 and 2 | {pc[0]:.0f} / {pc[1]:.0f} MB/s | | |")
print(f"| fio buffered 1 KiB writes (page cache) | {pc1k:.0f} MB/s | | |")
print(f"| fio 4 KiB write + fdatasync | {sync_iops:.0f} writes/s, p50 {sync_p50:.0f} us | | |")
print(f"| memcpy 64 MiB | {memcpy:.0f} MB/s | | |")
for name, b in by.items():
    if name.startswith("BM_Append") and "fsync:0" in name:
        size = int(name.split("batch:")[1].split("/")[0])
        ceil, label = (ceiling, "fio 16 KiB, faster run") if size == 16384 else (pc1k, "fio 1 KiB")
        print(f"| append {size // 1024} KiB batches, page cache | {mbps(name):.0f} MB/s, {ips(name)/1e3:.1f}k batches/s | {ceil:.0f} MB/s ({label}) | {mbps(name)/ceil:.2f} |")
for name, b in by.items():
    if name.startswith("BM_Append") and "fsync:1" in name:
        size = int(name.split("batch:")[1].split("/")[0])
        print(f"| append {size // 1024} KiB batches + fdatasync each | {ips(name):.0f} batches/s, {mbps(name):.1f} MB/s | {sync_iops:.0f} fdatasync/s (fio 4 KiB) | {ips(name)/sync_iops:.2f} |")
for name, b in by.items():
    if name.startswith("BM_SequentialRead"):
        print(f"| sequential read, 1 MiB reads into a user buffer | {mbps(name):.0f} MB/s | {memcpy:.0f} MB/s (memcpy) | {mbps(name)/memcpy:.2f} |")
    if name.startswith("BM_Crc32c/"):
        print(f"| CRC-32C (ISA-L), {int(name.split('/')[1]) // 1024} KiB buffers | {mbps(name):.0f} MB/s | {memcpy:.0f} MB/s (memcpy) | {mbps(name)/memcpy:.2f} |")
PY
