// strom-sim: runs seeded schedules of the deterministic Raft cluster simulator.
//
//   strom-sim --seed S [--nodes N] [--steps K] [--mutate NAME] [--disk log|memory]
//   strom-sim --seeds A..B [...]          one line per failing seed, then a summary
//   strom-sim --seeds A..B --expect-violation [...]
//                                         exit 0 at the first seed whose checks fail
//
// One schedule prints one line ending with a hash of its whole trace; the same seed gives the
// same hash on every run. A failed check prints the seed and the violated invariant and exits 1.
// Each node keeps its log in a storage::log on its own in-memory file system (--disk log, the
// default) or in the in-memory model of the core's tests (--disk memory, faster).
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "sim/cluster.h"
#include "strom/base/logging.h"

namespace {

struct run_result {
  bool ok = true;
  std::string violation;
  int64_t steps = 0;
  int64_t sim_ms = 0;
  uint64_t hash = 0;
  size_t acked = 0;
  int64_t elections = 0;
  int64_t crashes = 0;
  int64_t wipes = 0;
  int64_t quiet_ticks = 0;
  int64_t messages = 0;
  int64_t coalesced = 0;
};

bool verbose = false;

run_result run_one(strom::sim::sim_options o, int64_t steps) {
  strom::sim::cluster c(o);
  c.run_steps(steps);
  c.settle();
  run_result r;
  r.ok = !c.failed();
  if (!r.ok) {
    r.violation = *c.check().violation();
  }
  r.steps = c.steps();
  r.sim_ms = c.now();
  r.hash = c.trace_hash();
  r.acked = c.acknowledged();
  r.elections = c.elections();
  r.crashes = c.crashes();
  r.wipes = c.wipes();
  r.quiet_ticks = c.quiet_leader_ticks();
  r.messages = c.messages();
  r.coalesced = c.coalesced();
  if (!r.ok && verbose) {
    r.violation += "\n" + c.describe();
  }
  return r;
}

[[noreturn]] void usage() {
  fmt::print(stderr,
             "usage: strom-sim (--seed S | --seeds A..B) [--nodes N] [--steps K] "
             "[--mutate commit-old-term|ack-before-flush|double-vote|count-rebuilding-votes|"
             "producers-at-log-end] "
             "[--disk log|memory] "
             "[--recovery-bytes-per-tick B (-1: from the seed)] "
             "[--outbox-ms M (-1: from the seed)] "
             "[--expect-violation]\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  strom::sim::sim_options o;
  o.outbox_ms = -1;    // half the seeds gather each node's messages for a few ms
  o.eager_first = -1;  // half the seeds have node 1 campaign early while the group is new
  int64_t steps = 20000;
  uint64_t first = 1;
  uint64_t last = 1;
  bool range = false;
  bool expect_violation = false;
  std::string mutate = "none";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        usage();
      }
      return argv[++i];
    };
    if (a == "--seed") {
      first = last = std::stoull(value());
    } else if (a == "--seeds") {
      std::string v = value();
      auto dots = v.find("..");
      if (dots == std::string::npos) {
        usage();
      }
      first = std::stoull(v.substr(0, dots));
      last = std::stoull(v.substr(dots + 2));
      range = true;
    } else if (a == "--nodes") {
      o.nodes = std::stoi(value());
    } else if (a == "--steps") {
      steps = std::stoll(value());
    } else if (a == "--mutate") {
      mutate = value();
      if (mutate == "commit-old-term") {
        o.mutations.commit_old_term = true;
      } else if (mutate == "ack-before-flush") {
        o.mutations.ack_before_flush = true;
      } else if (mutate == "double-vote") {
        o.mutations.double_vote = true;
      } else if (mutate == "count-rebuilding-votes") {
        o.mutations.count_rebuilding_votes = true;
      } else if (mutate == "producers-at-log-end") {
        o.producers_at_log_end = true;
      } else if (mutate != "none") {
        usage();
      }
    } else if (a == "--recovery-bytes-per-tick") {
      o.recovery_bytes_per_tick = std::stoll(value());
    } else if (a == "--outbox-ms") {
      o.outbox_ms = std::stoll(value());
    } else if (a == "--disk") {
      auto d = value();
      if (d == "log") {
        o.disk = strom::sim::disk_kind::log;
      } else if (d == "memory") {
        o.disk = strom::sim::disk_kind::memory;
      } else {
        usage();
      }
    } else if (a == "--verbose") {
      verbose = true;
    } else if (a == "--expect-violation") {
      expect_violation = true;
    } else {
      usage();
    }
  }
  if (o.nodes < 1 || o.nodes > 9 || last < first) {
    usage();
  }

  // Recoveries and dead disks after simulated crashes are expected: nothing to log.
  strom::logging::options lo;
  lo.level = spdlog::level::critical;
  strom::logging::configure(lo);
  const char* disk = o.disk == strom::sim::disk_kind::log ? "log" : "memory";

  auto start = std::chrono::steady_clock::now();
  int64_t total_steps = 0;
  int failures = 0;
  for (uint64_t seed = first; seed <= last; ++seed) {
    o.seed = seed;
    run_result r = run_one(o, steps);
    total_steps += r.steps;
    if (!range) {
      if (r.ok) {
        fmt::print(
            "seed={} nodes={} disk={} mutate={} steps={} sim_ms={} elections={} crashes={} "
            "wipes={} acked={} quiet_leader_ticks={} messages={} merged={} result=ok "
            "hash={:016x}\n",
            seed, o.nodes, disk, mutate, r.steps, r.sim_ms, r.elections, r.crashes, r.wipes,
            r.acked, r.quiet_ticks, r.messages, r.coalesced, r.hash);
        return 0;
      }
      fmt::print(
          "seed={} nodes={} mutate={} steps={} sim_ms={} result=FAIL violation=\"{}\" "
          "hash={:016x}\n",
          seed, o.nodes, mutate, r.steps, r.sim_ms, r.violation, r.hash);
      return 1;
    }
    if (!r.ok) {
      ++failures;
      fmt::print("FAIL seed={} step={} violation=\"{}\"\n", seed, r.steps, r.violation);
      std::fflush(stdout);
      if (expect_violation) {
        fmt::print("mutation {} caught at seed {}\n", mutate, seed);
        return 0;
      }
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print("seeds={} nodes={} disk={} mutate={} total_steps={} time={:.1f}s failures={}\n",
             last - first + 1, o.nodes, disk, mutate, total_steps, secs, failures);
  if (expect_violation) {
    fmt::print("mutation {} NOT caught in seeds {}..{}\n", mutate, first, last);
    return 1;
  }
  return failures == 0 ? 0 : 1;
}
