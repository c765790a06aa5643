#!/usr/bin/env bash
# Runs N seeds of the Raft simulator's default schedule (3 and 5 nodes alternately by block),
# printing every failing seed and a summary: seeds, total simulated steps, wall time, failures.
#
#   scripts/sim-sweep.sh N [start] [steps]
#
# Uses build/test/tests/sim/strom-sim (build it first: cmake --build build/test --target
# strom-sim). Replay a failing seed with: strom-sim --seed S [--nodes 5] --verbose
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:?usage: sim-sweep.sh N [start] [steps]}
start=${2:-1}
steps=${3:-12000}
sim=${STROM_SIM:-build/test/tests/sim/strom-sim}
[[ -x $sim ]] || { echo "no $sim: build the strom-sim target first" >&2; exit 2; }

block=500
total_steps=0
failures=0
t0=$(date +%s.%N)
seed=$start
end=$((start + n - 1))
while ((seed <= end)); do
  last=$((seed + block - 1))
  ((last > end)) && last=$end
  # Odd blocks run 5 nodes, even blocks 3 nodes.
  nodes=3
  (((seed - start) / block % 2 == 1)) && nodes=5
  out=$("$sim" --seeds "$seed..$last" --nodes "$nodes" --steps "$steps" || true)
  grep '^FAIL' <<<"$out" | sed "s/^/nodes=$nodes /" || true
  s=$(sed -n 's/.*total_steps=\([0-9]*\).*/\1/p' <<<"$out" | tail -1)
  f=$(sed -n 's/.* failures=\([0-9]*\).*/\1/p' <<<"$out" | tail -1)
  total_steps=$((total_steps + ${s:-0}))
  failures=$((failures + ${f:-0}))
  seed=$((last + 1))
done
t1=$(date +%s.%N)
printf 'sweep: seeds=%d (%d..%d) steps_per_seed=%d total_steps=%d time=%.1fs failures=%d\n' \
  "$n" "$start" "$end" "$steps" "$total_steps" "$(echo "$t1 - $t0" | bc)" "$failures"
((failures == 0))
