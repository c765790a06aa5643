#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "strom/base/clock.h"
#include "strom/base/result.h"
#include "strom/cluster/partition.h"
#include "strom/cluster/topic_config.h"
#include "strom/cluster/topic_table.h"
#include "strom/net/asio.h"
#include "strom/net/shard_runtime.h"
#include "strom/storage/log_manager.h"

namespace strom::cluster {

using net::awaitable;

/// A leader's reports of its in-sync replicas to the controller (partition_isr_cmd), per
/// partition it leads: when its set was last compared with the controller's (at most once a
/// second), and the set last reported, in which term and when.
struct isr_report {
  std::chrono::steady_clock::time_point checked{};
  int64_t term = -1;
  std::vector<int32_t> isr;
  std::chrono::steady_clock::time_point at{};

  /// Whether the leader in `term`, whose in-sync replicas are now `isr` (sorted), reports them
  /// at `now`, given `recorded`, what the controller records for this leadership (nullopt:
  /// it records another leadership, or none yet; empty: no set reported, which stands for
  /// every live replica). `whole`: `isr` is every replica of a settled replica set. Compared
  /// once a second; reported when the sets differ, except a whole set where none is recorded
  /// (a new leader whose followers keep up sends nothing); the same set goes again at most
  /// every 5 s (a lost report is retried, a refused one not repeated every second). Updates
  /// the state when it reports or compares.
  bool due(std::chrono::steady_clock::time_point now, int64_t term, const std::vector<int32_t>& isr,
           const std::optional<std::vector<int32_t>>& recorded, bool whole);
  /// Whether a second passed since the last comparison (which `due` needs to look).
  [[nodiscard]] bool compare_now(std::chrono::steady_clock::time_point now) const {
    return now - checked >= std::chrono::seconds(1);
  }
};

/// The partitions of this node, and where each lives.
///
/// Partitions are spread over shards by a hash of their name (shard_of); a partition object is
/// created, used and destroyed only on its shard, in that shard's map. Owns those maps: makes
/// partition objects (over the log manager's logs, created when missing) and drops them,
/// pushes a topic's config changes to them, and carries work to their shards. It neither
/// reads nor writes topic files and does not decide which partitions should exist: the topics
/// front end (and later the controller's reconciler) tells it.
/// Coroutine methods may be awaited from any shard and complete on the caller's executor.
class partition_manager {
 public:
  /// `defaults`: the broker's topic config defaults, which topic overrides refine. `m`: the
  /// broker's metrics registry, which its partitions count in.
  partition_manager(net::shard_runtime& rt, storage::log_manager& logs, topic_defaults defaults,
                    clock& clk = clock::system(),
                    metrics::registry& m = metrics::default_registry());
  ~partition_manager();
  partition_manager(const partition_manager&) = delete;
  partition_manager& operator=(const partition_manager&) = delete;

  /// Creates the partition objects (and any missing logs) of every topic of `topics`.
  /// Call before the shards start.
  status load(const topic_map& topics);
  /// Drops the fetch waiters of every partition (they post to a connection's shard). Call
  /// after the shards stopped and before their contexts are destroyed.
  void release_shard_objects();

  [[nodiscard]] size_t shard_of(const model::ntp& n) const;
  /// The partition, when it exists; nullptr otherwise. Owner shard of `n` only (asserted).
  partition* local(const model::ntp& n);
  /// Calls `fn(partition&)` for every partition `shard` owns, in name order. Owner shard
  /// only (asserted); `fn` must not make or drop partitions.
  template <typename F>
  void for_each_local(size_t shard, F&& fn) {
    for (auto& [n, p] : shards_.on(shard).partitions)
      fn(*p);
  }

  /// In a cluster: makes only the partitions with a replica on `node` (topic_metadata::
  /// hosted_on). Call before load().
  void host_only(int32_t node) { node_ = node; }

  /// How the partitions with more than one replica run their Raft groups.
  struct replication_config {
    int32_t self = 0;
    std::chrono::milliseconds tick{50};
    int election_ticks = 30;
    int heartbeat_ticks = 3;
    size_t max_append_bytes = 1 << 20;
    int64_t in_sync_ticks = 200;
    /// The brokers not heard from within an election timeout (read every tick); idle groups
    /// go quiet when set, sending a keepalive every `quiet_keepalive_ticks`.
    std::function<std::set<raft::node_id>()> silent_peers;
    int quiet_keepalive_ticks = 200;
    io::file_system* fs = nullptr;
    /// Sends Raft messages to other brokers. Called on any shard; thread-safe.
    std::function<void(std::vector<std::pair<uint64_t, raft::message>>)> send;
    /// Has the controller record that this broker leads `n` (topic id `id`) in `term`.
    /// Called on any shard; thread-safe; must not block.
    std::function<void(const model::ntp& n, const topic_uuid& id, int64_t term)> report_leader;
    /// Has the controller record that the move of `n` (topic id `id`) to `replicas`
    /// completed: the group's voters are those replicas. Called on any shard; thread-safe;
    /// must not block.
    std::function<void(const model::ntp& n, const topic_uuid& id, std::vector<int32_t> replicas)>
        report_moved;
    /// The term the controller has recorded for `n`'s leader (-1: none). Thread-safe.
    std::function<int64_t(const model::ntp& n)> recorded_term;
    /// Has the controller record that this broker, leading `n` (topic id `id`) in `term`,
    /// holds the brokers `isr` in sync (Kafka's AlterPartition). Called on any shard;
    /// thread-safe; must not block.
    std::function<void(const model::ntp& n, const topic_uuid& id, int64_t term,
                       std::vector<int32_t> isr)>
        report_isr;
    /// The in-sync replicas the controller has recorded for `n` when it records this broker
    /// as its leader in `term` (empty: none reported); nullopt when it records another
    /// leader or term. Thread-safe.
    std::function<std::optional<std::vector<int32_t>>(const model::ntp& n, int64_t term)>
        recorded_isr;
    /// Whether this broker's view of the controller is live (it knows a controller leader)
    /// and records this broker as `n`'s leader in `term` (partition::orphaned). Thread-safe.
    std::function<bool(const model::ntp& n, int64_t term)> named_leader;
    /// The partitions an operator asked to be led by their preferred replica (ElectLeaders)
    /// and not yet (controller_stm::preferred_elections): their leaders hand the leadership
    /// over at once. Thread-safe; read once a tick.
    std::function<std::shared_ptr<const std::set<std::pair<std::string, int32_t>>>()>
        preferred_elections;
    /// replication.auto_leader_rebalance: leaders move back to the preferred replica.
    bool auto_leader_rebalance = true;
    /// Whether broker `id` is registered and not fenced. Thread-safe.
    std::function<bool(int32_t id)> broker_live;
    /// The term a new group of topic `topic` starts from: the highest leader epoch a deleted
    /// topic of that name reached (0: none). Thread-safe.
    std::function<int64_t(const std::string& topic)> epoch_floor;
    /// replication.recovery_max_bytes_per_sec: what this broker's leaders send, together, to
    /// followers catching up on committed entries (split evenly over the shards); 0: no limit.
    int64_t recovery_bytes_per_sec = 0;
    /// A file whose presence says that this broker started on a data directory without its
    /// state (a replaced or emptied disk, or its very first start): a replica it creates
    /// without Raft state may stand for one it held and lost, so it starts rebuilding
    /// (raft::node::rebuilding). replicas_restored() removes it. Empty: none.
    std::filesystem::path lost_replicas_marker;
  };
  /// Makes every partition with more than one replica a member of its Raft group. Call before
  /// load(); start_replication() starts the groups' clocks.
  void enable_replication(replication_config c);
  /// This broker created the replicas of every partition the controller assigned it, as of a
  /// view that caught up: those created from now on are new ones (a new partition, a move's),
  /// which lost nothing, and do not start rebuilding. Removes the marker
  /// (replication_config::lost_replicas_marker). Thread-safe.
  void replicas_restored();
  /// Starts one ticker per shard for the shard's groups (the shards may not run yet).
  void start_replication();
  /// Raft messages from another broker, each for its group: stepped on the group's owner
  /// shard, one hand-over per shard. Thread-safe; messages for unknown groups are dropped.
  void deliver(std::vector<std::pair<uint64_t, raft::message>> msgs);
  /// Controlled shutdown: hands the leadership of every partition this broker leads to another
  /// replica, and keeps doing so for any it wins again, until none is left or `limit` passed.
  awaitable<void> leave(std::chrono::milliseconds limit);
  /// The Raft group of partition `p` of the topic with id `id` (never 0, the controller's).
  static uint64_t group_of(const topic_uuid& id, int32_t p);
  [[nodiscard]] std::optional<int32_t> node() const { return node_; }

  [[nodiscard]] const topic_defaults& defaults() const { return defaults_; }
  /// The cluster-wide defaults (by topic config names) that sit between the broker's own
  /// defaults and a topic's overrides. Thread-safe; set_cluster_defaults() does not touch the
  /// partitions (update_configs() does, topic by topic).
  void set_cluster_defaults(topic_configs by_topic_name);
  [[nodiscard]] topic_configs cluster_defaults() const;
  /// A topic's overrides over the cluster-wide defaults: what effective_configs() and the
  /// other functions of topic_config.h take as the topic's configs. Thread-safe.
  [[nodiscard]] topic_configs with_cluster_defaults(const topic_configs& overrides) const;
  net::shard_runtime& runtime() { return rt_; }
  storage::log_manager& logs() { return logs_; }

  /// Makes the partition objects [from, t.partitions) of topic `t` on their owner shards (those
  /// hosted on this node); their logs are created when missing. Stops at the first failure (what
  /// was made stays: the caller drops it).
  awaitable<status> make_partitions(topic_metadata t, int32_t from);
  /// Drops the partition objects [from, to) of `topic` from their owner shards (their logs
  /// stay with the log manager).
  awaitable<void> drop_partitions(std::string topic, int32_t from, int32_t to);
  /// A partition whose assignment changed (a move started, ended or was cancelled): on its
  /// owner shard, makes its replica when `t` places one here (or makes it again as a member of
  /// its Raft group when it was not one), hands it the new assignment, or drops it when `t`
  /// places none here. Returns whether it dropped one (its log is the caller's to remove).
  awaitable<result<bool>> reassign(topic_metadata t, int32_t p);
  /// Applies `t`'s configs to each of its partitions, without restart.
  awaitable<void> update_configs(topic_metadata t);

  /// A partition as monitoring sees it.
  struct partition_info {
    model::ntp name;
    int64_t log_start = 0;
    int64_t high_watermark = 0;
    uint64_t size_bytes = 0;
    bool online = true;             ///< false when its data directory went offline
    bool replicated = false;        ///< a Raft group (more than one replica)
    bool leader = true;             ///< serves clients here (a replicated one: the ready leader)
    int64_t follower_lag = 0;       ///< leader of a replicated one: what the furthest voter lacks
    bool under_replicated = false;  ///< leader of a replicated one: a voter out of sync
    uint64_t elections_won = 0;     ///< replicated: times this replica became the ready leader
    bool rebuilding = false;        ///< replicated: started without its state
    uint64_t votes_while_rebuilding = 0;  ///< replicated: vote requests refused while rebuilding
    bool orphaned = false;                ///< replicated: a last leader without a majority
  };
  /// Every local partition, gathered from all shards.
  awaitable<std::vector<partition_info>> partition_infos();
  /// Counts of this node's partition groups since the start, summed over every shard.
  struct replication_counts {
    /// Bytes the leaders sent to replicas catching up on what a majority already held (a new
    /// replica of a move, one back from a restart): the recovery throttle's count.
    int64_t recovery_bytes = 0;
    /// Raft messages sent, and merged into others before they left (replica_outbox).
    uint64_t messages_sent = 0;
    uint64_t messages_merged = 0;
  };
  awaitable<replication_counts> replication_counters();

  /// Runs `fn(partition*)` on the owner shard of `n` and returns its result on the caller's
  /// executor; `fn` gets nullptr when the partition does not exist.
  /// Not itself a coroutine: the work is a coroutine taking copies of `n` and `fn`.
  template <typename F>
  auto on_partition(const model::ntp& n, F fn) -> awaitable<decltype(fn(nullptr))> {
    return rt_.invoke_on(shard_of(n),
                         [this, n, fn = std::move(fn)]() mutable { return fn(local(n)); });
  }

 private:
  status make_partition(const model::ntp& n, const topic_metadata& t, size_t shard);
  /// Partition ids [from, to) of `topic` grouped by owner shard: the shards that own some,
  /// and the ids of each.
  struct shard_groups {
    std::vector<size_t> shards;
    std::vector<std::vector<int32_t>> ids;
  };
  shard_groups by_shard(const std::string& topic, int32_t from, int32_t to) const;

  /// Partitions owned by one shard.
  struct shard_partitions {
    std::map<model::ntp, std::unique_ptr<partition>> partitions;
    /// The replicated ones by Raft group: name, topic id and the partition (in `partitions`;
    /// an entry goes before its partition does).
    struct group_entry {
      model::ntp ntp;
      topic_uuid id;
      partition* part = nullptr;
    };
    std::map<uint64_t, group_entry> groups;
    replica_outbox outbox;
    /// Per led partition: the term it was last looked at in, and when (a leader the
    /// controller has not recorded reports again, at most once a second).
    std::map<uint64_t, std::pair<int64_t, std::chrono::steady_clock::time_point>> reported;
    /// Per moving partition led here: when its completion was last reported (at most once a
    /// second).
    std::map<uint64_t, std::chrono::steady_clock::time_point> moves_reported;
    std::map<uint64_t, isr_report> isr_reports;
    /// Leader balancing: when each partition was first seen led here in its current term (by
    /// term), and when the shard last looked.
    std::map<uint64_t, std::pair<int64_t, std::chrono::steady_clock::time_point>> led_since;
    std::chrono::steady_clock::time_point balanced_at;
    /// The shard's part of the recovery throttle, refilled every tick.
    raft::recovery_budget recovery;
    /// Which brokers went silent, refreshed every tick (quiet groups wait on it).
    raft::peer_liveness liveness;
  };
  awaitable<void> tick_loop(size_t shard);
  void tick_shard(size_t shard);
  void forget_group(size_t shard, const model::ntp& n);

  net::shard_runtime& rt_;
  storage::log_manager& logs_;
  topic_defaults defaults_;
  mutable std::mutex cluster_mu_;  // guards cluster_defaults_
  topic_configs cluster_defaults_;
  clock& clock_;
  metrics::registry& metrics_;
  net::sharded<shard_partitions> shards_;
  std::optional<int32_t> node_;
  std::optional<replication_config> replication_;
  /// The marker of replication_config::lost_replicas_marker was present and is not removed yet.
  std::atomic<bool> replicas_lost_{false};
  mutable std::mutex groups_mu_;  // guards group_shards_
  std::map<uint64_t, size_t> group_shards_;
  std::atomic<bool> stopping_{false};
};

}  // namespace strom::cluster
