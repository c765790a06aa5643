#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "sim/checker.h"
#include "sim/disk.h"
#include "strom/cluster/producer_state.h"
#include "strom/raft/node.h"
#include "strom/raft/transport.h"

namespace strom::sim {

/// Fault rates of the default schedule (all probabilities per opportunity).
struct fault_model {
  double drop = 0.03;        ///< a message is lost
  double duplicate = 0.02;   ///< a message is delivered twice
  int64_t min_delay_ms = 1;  ///< network delay range (reordering comes from the spread)
  int64_t max_delay_ms = 20;
  int64_t min_fsync_ms = 1;  ///< fsync duration range
  int64_t max_fsync_ms = 8;
  double slow_fsync = 0.05;        ///< an fsync takes 50-300 ms instead
  double fsync_failure = 0.002;    ///< an fsync fails: the node crashes and restarts
  int64_t fault_interval_ms = 80;  ///< mean time between random fault actions
  int64_t client_interval_ms = 4;  ///< mean time between client proposals
  double compaction = 0.05;        ///< share of fault actions that compact a node's log
  double transfer = 0.05;          ///< share of fault actions that transfer leadership
  double membership = 0.0;         ///< share of fault actions that change membership (off)
  double log_start = 0.03;         ///< share of fault actions that propose a DeleteRecords
  /// Share of fault actions that empty a node's disk (cluster::wipe): one disk at a time, so
  /// only while no node is rebuilding, and never with membership changes (an emptied disk
  /// holds the initial configuration).
  double wipe = 0.02;
};

struct sim_options {
  uint64_t seed = 1;
  int nodes = 3;
  /// What each node keeps its log in: the partition log (storage::log) or the in-memory model.
  disk_kind disk = disk_kind::log;
  int learners = 0;  ///< extra nodes that start as learners
  bool random_faults = true;
  /// Drops, duplicates and the full delay spread even without random fault actions.
  bool network_faults = false;
  size_t max_append_bytes = 2048;
  /// Recovery throttle (raft::recovery_budget) refilled by this much each tick of a node; 0:
  /// none; -1: from the seed (one seed in three throttles, at 1,024 to 4,096 bytes a tick).
  int64_t recovery_bytes_per_tick = -1;
  bool client = true;
  /// The Kafka workload beside the plain proposals: idempotent producers that retry their
  /// batches across leader changes against each leader's producer state (kept as a replicated
  /// partition keeps it), and consumers reading below a node's high watermark.
  int producers = 3;
  /// A mutation: snapshots hold the producer state at the log end (batches after the
  /// snapshot that a truncation may yet cut) instead of at the snapshot's index.
  bool producers_at_log_end = false;
  fault_model faults;
  raft::test_mutations mutations;
  /// Check the commit rule directly (a leader commits only an entry of its term). Scenarios
  /// that demonstrate the consequence of breaking it (Figure 8) switch it off.
  bool check_commit_rule = true;
  int election_ticks = 10;
  int64_t tick_ms = 10;
  /// Quiescence of idle groups (raft::options::liveness): 1 on, 0 off, -1 from the seed (one
  /// seed in two). With it the nodes ping each other every few ticks through the simulated
  /// network (a broker pair's liveness signal) and the client pauses now and then.
  int quiesce = -1;
  bool pre_vote = true;
  bool check_quorum = true;
  /// A node's messages leave as a broker's shard sends them: gathered in an outbox for up to
  /// this many ms, then merged (raft::coalesce) and sent together. 0: each batch of messages a
  /// node produces leaves at once (merged too); -1: from the seed (one seed in two gathers for
  /// 1 to 4 ms).
  int64_t outbox_ms = 0;
  /// Node 1 is the replica preferred as leader (raft::options::eager_first_election): 1 on,
  /// 0 off, -1 from the seed (one seed in two).
  int eager_first = 0;
  /// After the schedule: heal everything, restart crashed nodes and check that every
  /// acknowledged entry reaches every node within this many simulated ms (0: skip).
  int64_t settle_ms = 6000;
};

/// A deterministic, single-threaded cluster of Raft nodes over a simulated network and
/// simulated disks, driven by one seed. Every source of nondeterminism (delays, drops, election
/// jitter, fault choices) comes from the seed; events are ordered by (time, sequence number).
class cluster {
 public:
  explicit cluster(const sim_options& o);

  // ---- running
  /// Processes one event; false when nothing is scheduled.
  bool step();
  /// Processes up to `steps` events or until a check fails; returns the number processed.
  int64_t run_steps(int64_t steps);
  /// Runs until simulated time reaches now + ms (or a check fails).
  void run_for(int64_t ms);
  /// Runs until `pred` holds (checked after each event) or `max_ms` pass; returns pred().
  bool run_until(const std::function<bool()>& pred, int64_t max_ms);
  /// The final phase: heal, restart, stop faults and the client, wait for convergence.
  void settle();

  // ---- controls for scripted scenarios
  void crash(int n);
  void restart(int n);
  /// Node n loses its disk: it crashes, and restarts on an empty one holding the group's
  /// initial configuration (a replaced disk; its term and vote are lost with it).
  void wipe(int n);
  void block(int from, int to);  ///< one-way: messages from -> to are dropped
  void unblock(int from, int to);
  void isolate(int n);
  void heal();
  /// Holds flush completions of node n until released (a very slow disk).
  void hold_flushes(int n, bool hold);
  result<raft::ticket> propose(int n, int32_t kafka_count = 1);
  status transfer(int n, int to);
  result<raft::ticket> change_config(int n, raft::config_change c);
  status compact(int n);
  /// Lets node n campaign now (as if its election timeout fired).
  void force_election(int n);

  // ---- observation
  [[nodiscard]] int64_t now() const { return now_; }
  [[nodiscard]] int size() const { return static_cast<int>(nodes_.size()); }
  [[nodiscard]] bool up(int n) const { return nodes_[idx(n)].core != nullptr; }
  [[nodiscard]] const raft::node& core(int n) const { return *nodes_[idx(n)].core; }
  [[nodiscard]] const raft::log_store& log(int n) const { return nodes_[idx(n)].disk->store(); }
  [[nodiscard]] const sim_disk& disk(int n) const { return *nodes_[idx(n)].disk; }
  /// The up node that is a ready leader with the highest term, or -1.
  [[nodiscard]] int leader() const;
  [[nodiscard]] const checker& check() const { return checker_; }
  [[nodiscard]] bool failed() const { return checker_.violation().has_value(); }
  [[nodiscard]] uint64_t trace_hash() const { return hash_; }
  [[nodiscard]] int64_t steps() const { return steps_; }
  [[nodiscard]] size_t acknowledged() const { return checker_.acknowledged(); }
  [[nodiscard]] int64_t elections() const { return elections_; }
  [[nodiscard]] int64_t crashes() const { return crashes_; }
  [[nodiscard]] int64_t wipes() const { return wipes_; }
  [[nodiscard]] bool quiescence() const { return quiesce_; }
  /// Node ticks spent as a quiet leader so far.
  [[nodiscard]] int64_t quiet_leader_ticks() const { return quiet_leader_ticks_; }
  /// Messages sent so far.
  [[nodiscard]] int64_t messages() const { return messages_; }
  /// Messages merged into others before they left (raft::coalesce).
  [[nodiscard]] int64_t coalesced() const { return coalesced_; }
  /// One line per node: role, term, commit, log bounds, flushed index.
  [[nodiscard]] std::string describe() const;

  // ---- hooks for a state machine of the test's own (the controller's, say)
  /// Called for each committed entry a node applies, in order.
  std::function<void(int node, const raft::entry& e)> on_apply;
  /// Called when a node (re)starts: its state machine starts over from its snapshot (the
  /// simulator's snapshots hold its own digest only: scenarios with hooks do not compact).
  std::function<void(int node)> on_start;

 private:
  raft::snapshot initial_;  // what every disk held at the start
  struct sim_node {
    int id = 0;
    std::unique_ptr<sim_disk> disk;
    std::unique_ptr<raft::node> core;
    uint64_t incarnation = 0;
    uint64_t disk_generation = 0;         // disks lost so far (wipe)
    std::unique_ptr<sim_disk> lost_disk;  // the last one
    raft::raft_index applied{0};
    uint64_t sm_digest = 0;
    int64_t last_flush_done = 0;
    bool hold_flushes = false;
    int held = 0;  // completions held
    raft::recovery_budget recovery;
    /// Idempotent producers as this replica knows them: its snapshot's, then its log's
    /// batches, all read back after a truncation (as cluster/replica.cc keeps them).
    ::strom::cluster::producer_state producers;
    /// Quiescence: when this node last heard from each other node, and who is silent.
    std::map<int, int64_t> last_heard;
    raft::peer_liveness liveness;
    int64_t ticks = 0;
    /// Messages gathered to leave together (sim_options::outbox_ms), lost in a crash.
    raft::group_messages outbox;
    bool outbox_scheduled = false;
  };
  /// An idempotent producer of the workload: one batch in flight, retried until committed.
  struct sim_producer {
    int64_t id = 0;
    int32_t next_seq = 0;
    bool in_flight = false;
    int32_t count = 0;
    uint64_t payload = 0;
    std::vector<std::byte> batch;
    int64_t retry_at = 0;
  };
  enum class ev_kind : uint8_t {
    deliver,
    tick,
    flush_done,
    restart,
    fault,
    client,
    ping,
    send_outbox
  };
  struct event {
    int64_t at = 0;
    uint64_t seq = 0;
    ev_kind kind = ev_kind::tick;
    int node = 0;
    uint64_t incarnation = 0;
    raft::message msg;
    bool operator>(const event& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };

  [[nodiscard]] static size_t idx(int n) { return static_cast<size_t>(n - 1); }
  void schedule(event e);
  void mix(uint64_t v);
  void start_node(sim_node& sn);
  void process_ready(sim_node& sn);
  void send(const raft::message& m);
  /// Merges and sends what a node's outbox gathered.
  void send_outbox(sim_node& sn);
  /// The simulated network, as the Raft runtime sees it: messages go through cluster::send.
  class network final : public raft::transport {
   public:
    explicit network(cluster& c) : c_(c) {}
    void send(const raft::message& m) override { c_.send(m); }

   private:
    cluster& c_;
  };
  void apply_committed(sim_node& sn, raft::raft_index commit);
  void random_fault();
  /// A random up node that leads (a ready leader when `ready_only`), or -1.
  int pick(bool ready_only);
  void client_propose();
  void client_step();
  void producer_step();
  void consumer_read();
  /// Producer k got its answer for the batch `payload`: it moves on to its next batch.
  void producer_acked(size_t k, uint64_t payload);
  /// A node's high watermark: the Kafka offset after its commit index.
  [[nodiscard]] int64_t high_watermark(const sim_node& sn) const;
  void propose_log_start();
  /// The producer state of a node's log before Kafka offset `end` (all of it when nullopt):
  /// its snapshot's state, then the batches after the snapshot.
  ::strom::cluster::producer_state producers_before(const sim_node& sn, std::optional<int64_t> end);
  /// What a node's snapshot holds: the state-machine digest, then the producer state.
  std::vector<std::byte> snapshot_data(const sim_node& sn, std::optional<int64_t> end);
  void observe();
  uint64_t rnd() { return rng_(); }
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  int64_t between(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
  }
  raft::options node_options(int id);
  /// Bytes the recovery budget of a node gets each tick (0: no throttle).
  [[nodiscard]] int64_t recovery_per_tick() const;

  sim_options opts_;
  std::mt19937_64 rng_;
  std::priority_queue<event, std::vector<event>, std::greater<>> queue_;
  uint64_t seq_ = 0;
  int64_t now_ = 0;
  int64_t steps_ = 0;
  uint64_t hash_ = 14695981039346656037ULL;
  std::vector<sim_node> nodes_;
  network net_{*this};
  std::set<std::pair<int, int>> blocked_;
  checker checker_;
  uint64_t next_payload_ = 1;
  bool faults_on_ = true;
  bool network_faults_ = false;
  bool client_on_ = true;
  int64_t elections_ = 0;
  int64_t crashes_ = 0;
  int64_t wipes_ = 0;
  bool quiesce_ = false;
  int64_t quiet_leader_ticks_ = 0;
  int64_t messages_ = 0;
  int64_t outbox_ms_ = 0;
  bool eager_first_ = false;
  int64_t coalesced_ = 0;
  int64_t client_idle_until_ = 0;
  void ping(sim_node& sn);
  void refresh_liveness(sim_node& sn);
  struct pending_ticket {
    int node;
    uint64_t incarnation;
    uint64_t payload;
    int producer = -1;  ///< the workload's producer that proposed it
  };
  std::map<std::pair<int64_t, int64_t>, pending_ticket> tickets_;  // (term, index)
  std::vector<sim_producer> producers_;
};

}  // namespace strom::sim
