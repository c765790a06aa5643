#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sim/disk.h"
#include "strom/raft/node.h"

namespace strom::sim {

/// What the checker may look at of one simulated node.
struct node_view {
  int id = 0;
  const raft::node* core = nullptr;  ///< null while crashed
  const raft::log_view* log = nullptr;
  const sim_disk* disk = nullptr;
  raft::hard_state persisted;
  /// The disk the node lost (cluster::wipe), while it rebuilds on its new one: what that disk
  /// held durably counts for commits decided on the answers it gave before it was lost.
  const sim_disk* lost_disk = nullptr;
};

/// The invariants checked after every simulated step (raft-design §5.1, §5.2):
///  - election safety: at most one leader per term;
///  - log matching: an (index, term) pair names one entry everywhere, with one predecessor term;
///  - leader completeness: every committed entry is in the log of every later leader;
///  - state-machine safety: no two nodes apply different entries at one index;
///  - the commit rule: a leader moves its commit index only onto an entry of its own term, and
///    only when a majority of voters hold that entry durably;
///  - terms never go backwards (per node life, and the persisted term across restarts); a node
///    votes at most once per term; commit indexes never go backwards in a node's life;
///  - acknowledged entries are committed and never lost;
///  - Kafka offsets: data entries carry dense offsets continuing their predecessor's, the same
///    on every replica, and a committed offset never names two entries;
///  - idempotence: a (producer id, epoch, sequence) is committed at one offset only, and each
///    producer's committed sequences follow each other without a gap;
///  - reads: what a node serves below its high watermark (commit) is the committed entry.
class checker {
 public:
  [[nodiscard]] const std::optional<std::string>& violation() const { return violation_; }
  void fail(std::string what);
  void set_check_commit_rule(bool on) { check_commit_rule_ = on; }

  void on_start(int n, const raft::node& core, const raft::log_view& log);
  /// Node n lost its disk: its persisted term and votes are gone with it.
  void on_wipe(int n);
  void on_append(int n, const std::vector<raft::entry>& es, const raft::log_view& log);
  void on_restore(int n, const raft::snapshot_metadata& meta);
  void on_apply(int n, const raft::entry& e);
  void on_commit(const std::vector<node_view>& nodes, int n, raft::raft_index old_commit);
  void on_became_leader(int n, const raft::node& core, const raft::log_view& log);
  void on_ack(int n, const raft::ticket& t, uint64_t payload);
  /// A consumer read entry `e` from node n, below that node's commit index.
  void on_read(int n, const raft::entry& e);
  /// An idempotent producer got a positive answer for its batch at sequence `seq`: the batch
  /// must be committed (a duplicate's answer names the offsets of the batch it repeats).
  void on_producer_ack(int64_t id, int32_t seq);
  /// After every step: roles, terms, votes, commit indexes.
  void observe(const std::vector<node_view>& nodes);
  /// After the settle phase: every acknowledged entry is applied on every listed node.
  void check_converged(const std::vector<node_view>& nodes);

  [[nodiscard]] size_t acknowledged() const { return acked_.size(); }
  [[nodiscard]] size_t committed() const { return committed_.size(); }

  static uint64_t fingerprint(const raft::entry& e);
  static uint64_t payload_id(const raft::entry& e);

 private:
  struct registered {
    uint64_t fp;
    int64_t prev_term;
  };
  struct per_life {
    int64_t term = 0;
    int64_t commit = 0;
  };
  struct committed_entry {
    int64_t term;
    uint64_t fp;
  };
  std::optional<std::string> violation_;
  bool check_commit_rule_ = true;
  std::map<std::pair<int64_t, int64_t>, registered> registry_;  // (index, term)
  std::map<int64_t, committed_entry> committed_;                // by first index
  std::map<int64_t, committed_entry> applied_;                  // by first index
  std::map<int64_t, uint64_t> kafka_owner_;                     // kafka base -> fingerprint
  std::map<int, int64_t> next_apply_index_;
  std::map<int, int64_t> next_apply_kafka_;
  std::map<int64_t, int> leaders_;                // term -> node
  std::map<std::pair<int, int64_t>, int> votes_;  // (node, term) -> vote
  std::map<int, int64_t> persisted_term_;
  std::map<int, per_life> life_;
  struct ack {
    int64_t index;
    int64_t term;
    uint64_t payload;
  };
  std::vector<ack> acked_;
  std::map<std::pair<int64_t, int32_t>, int64_t> sequences_;  // (producer, sequence) -> offset
  std::map<int64_t, int32_t> next_sequence_;                  // producer -> next sequence
};

}  // namespace strom::sim
