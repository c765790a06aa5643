#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "strom/base/result.h"
#include "strom/cluster/balancer.h"
#include "strom/cluster/controller.h"
#include "strom/cluster/partition_manager.h"
#include "strom/cluster/topic_config.h"
#include "strom/cluster/topic_store.h"
#include "strom/cluster/topic_table.h"
#include "strom/net/asio.h"

namespace strom::cluster {

/// Replicas for `count` new partitions over the live brokers of `view` that are not being
/// decommissioned, counting what its
/// topics already place on each: each partition's leader is the broker with the fewest
/// replicas, then the fewest leaders, then the lowest id; its other replicas the brokers with
/// the fewest replicas, on racks the partition does not use yet while there are such. Refused
/// with invalid_replication_factor when there are fewer live brokers than replicas, with
/// partition_limit when a broker would hold more than `max_per_broker` replicas (< 0: no
/// limit), and with controller_errc::not_controller when no broker is registered yet.
result<std::vector<std::vector<int32_t>>> place_replicas(const cluster_view& view, int32_t count,
                                                         int16_t replication_factor,
                                                         int64_t max_per_broker);

/// Checks a client's own placement of new partitions (the assignments of CreateTopics and
/// CreatePartitions), one replica list per partition from partition `first` on: each names
/// `replication_factor` brokers, each once, every one of them `registered`. Refused with
/// invalid_replica_assignment, naming the first partition that does not fit.
status check_assignment(const std::vector<std::vector<int32_t>>& replicas,
                        int16_t replication_factor, int32_t first,
                        const std::function<bool(int32_t)>& registered);
/// Refused with partition_limit when the replicas of `added` (a client's assignment of new
/// partitions) would give a broker they name more than `max_per_broker` replicas, counting
/// what the topics of `view` already place on it (< 0: no limit): the limit place_replicas()
/// keeps to.
status check_broker_limit(const cluster_view& view, const std::vector<std::vector<int32_t>>& added,
                          int64_t max_per_broker);

/// The topic admin operations of this node (CreateTopics, DeleteTopics, CreatePartitions,
/// config changes, auto-creation): checks each request, commits it to the topic files, has
/// the partition manager make or drop the partition objects, and feeds the committed change
/// to the topic table (topic_table::apply), in revision order. With replication it forwards
/// to the controller leader instead and waits for the change to be applied.
///
/// Topic changes run one at a time, in arrival order, whatever shard they come from: a
/// create racing a delete of the same name never interleaves with it. Their file work (logs,
/// directory fsyncs, the topic file) runs on the log manager's admin pool, never on a shard
/// thread; partition objects are made and dropped on their owner shards. Every check comes
/// before any file work, and the topic file is the commit point of every change, so that a
/// crash at any step leaves either the old or the new topic (docs/storage-format.md,
/// "Topics"); a failure at any step rolls back what was done. The table changes only once a
/// change is committed and its partitions serve (or, for a deletion, stopped serving).
/// Coroutine methods may be awaited from any shard and complete on the caller's executor;
/// the front end is the only writer of the table and the store.
class topics_frontend {
 public:
  struct options {
    int32_t default_partitions = 1;
    int16_t default_replication_factor = 1;
    bool auto_create_topics = false;
    bool delete_topic_enable = true;
    /// Most partitions of one topic (at most max_partitions_hard_limit): CreateTopics and
    /// CreatePartitions beyond get INVALID_PARTITIONS. Internal topics are exempt.
    int32_t max_partitions_per_topic = 1000;
    /// Most partitions on this broker, every topic counted (internal ones too): a creation
    /// that would go beyond is refused with topic_errc::partition_limit (POLICY_VIOLATION).
    /// Internal topics are created regardless.
    int32_t max_partitions_per_broker = 4000;
    /// replication.continuous_balancing: the controller leader moves replicas until the live
    /// brokers' replica counts differ by at most one.
    bool continuous_balancing = false;
    /// With continuous_balancing, when the brokers' disk usage counts as uneven.
    disk_balancing disk;
    /// How often this broker measures the bytes of the partitions it leads (reported to the
    /// controller leader), and the controller leader looks at disk usage.
    std::chrono::milliseconds usage_interval{5000};
    /// The longest a topic change, or a request about a topic this broker does not know, waits
    /// for this broker to catch up with the controller leader (catch_up) before it goes on
    /// with what the broker has.
    std::chrono::milliseconds catch_up_wait{2000};
    /// This broker's node.id: on a single node, the one broker a client's replica assignment
    /// may name.
    int32_t node_id = 0;
  };

  topics_frontend(partition_manager& partitions, topic_store& store, topic_table& table,
                  options opts);
  ~topics_frontend();
  topics_frontend(const topics_frontend&) = delete;
  topics_frontend& operator=(const topics_frontend&) = delete;

  [[nodiscard]] const options& opts() const { return opts_; }

  /// Creates a topic and its partitions. `validate_only` checks without creating. Names
  /// starting with "__" are reserved for the broker's own topics (`internal` = true).
  /// Every check (name, partition limits, configs) happens before any file is created.
  /// `t.replicas`, when given, is the client's placement of the partitions, checked by
  /// check_assignment() for `t.replication_factor` (on a single node: this broker alone).
  /// Arguments are taken by value: the coroutine may outlive the caller's objects.
  awaitable<status> create_topic(topic_metadata t, bool validate_only, bool internal = false);
  /// Deletes a topic: its partitions stop serving, its file goes (from then on the topic is
  /// deleted and leaves the table), and its partition directories are renamed to delete
  /// markers and removed. If the file cannot be removed, the topic is served again.
  awaitable<status> delete_topic(std::string name);
  /// Raises a topic's partition count to `count`. `assignment`, when given, places the new
  /// partitions: one replica list per new partition, the first broker its preferred leader,
  /// each as check_assignment() accepts for the topic's replication factor (on a single node:
  /// this broker alone); any other is refused with invalid_replica_assignment and no
  /// partition is created. Without it, a cluster places them over the live brokers
  /// (place_replicas). In a cluster either way keeps to max_partitions_per_broker.
  /// `validate_only` checks without creating.
  awaitable<status> create_partitions(
      std::string name, int32_t count, bool validate_only,
      std::optional<std::vector<std::vector<int32_t>>> assignment = std::nullopt);
  /// Replaces a topic's config overrides; takes effect on every partition without restart.
  awaitable<status> set_topic_configs(std::string name, topic_configs configs, bool validate_only);

  /// Changes the cluster-wide config defaults (broker-level names: "log.retention.ms"; the
  /// dynamic default broker configs of Kafka): `set` replaces the whole set when `replace`
  /// (AlterConfigs), else is merged in with `remove` taken out (IncrementalAlterConfigs).
  /// Every topic without an override of its own takes them on every broker, without restart.
  /// Each name set must be the broker synonym of a topic config, each value valid for it. In a
  /// cluster they live in the controller's state (refused, retriably, until this broker caught
  /// up with it); every broker also keeps its copy in its topics directory, so that it starts
  /// with them.
  awaitable<status> set_cluster_configs(topic_configs set, std::vector<std::string> remove,
                                        bool replace, bool validate_only);
  /// A partition move in flight (ListPartitionReassignments).
  struct reassignment {
    std::string topic;
    int32_t partition = 0;
    /// Every broker with a replica now: the target replicas, then those being removed.
    std::vector<int32_t> replicas;
    /// Target replicas the partition did not have when the move started.
    std::vector<int32_t> adding;
    /// Replicas the partition had when the move started that the target does not hold.
    std::vector<int32_t> removing;
  };
  /// AlterPartitionReassignments: moves partition `partition` of `topic` to `replicas` (the
  /// first one the preferred leader), or with none cancels its move in flight (the replicas
  /// it moved from stay, with all their data). Answered once the controller recorded the
  /// target; the partition's leader then carries the move out (a new replica joins as a
  /// learner, catches up and is promoted; a removed one leaves last) and the controller
  /// records its completion. A move to the replicas it has already changes nothing; a new
  /// move replaces one in flight. Errors: topic_errc::not_found (no such topic or
  /// partition), invalid_replica_assignment (no replica, a broker twice, a broker not
  /// registered, more than max_replication_factor), no_reassignment (a cancellation without a
  /// move in flight); on a single-node broker every move is invalid_replica_assignment.
  awaitable<status> reassign_partition(std::string topic, int32_t partition,
                                       std::optional<std::vector<int32_t>> replicas);
  /// ListPartitionReassignments: the moves in flight, by topic and partition. Thread-safe.
  [[nodiscard]] std::vector<reassignment> reassignments() const;
  /// The partition moves this broker had the controller start as its leader, since it
  /// started: to empty decommissioned brokers, and for continuous balancing (the balancer's
  /// decisions). Thread-safe.
  struct moves_started {
    uint64_t decommission = 0;
    uint64_t balancing = 0;  ///< to even out replica counts
    uint64_t disk = 0;       ///< to even out disk usage
  };
  [[nodiscard]] moves_started automatic_moves() const {
    return {decommission_moves_.load(std::memory_order_relaxed),
            balancing_moves_.load(std::memory_order_relaxed),
            disk_moves_.load(std::memory_order_relaxed)};
  }
  /// The bytes of the partitions this broker leads, as last measured (every usage_interval,
  /// in a cluster). Thread-safe.
  [[nodiscard]] std::vector<partition_bytes> local_usage() const;

  /// Decommissions broker `id` (`on`): it gets no new replicas, and the controller leader
  /// moves every replica it holds to other brokers, a few at a time (decommission_moves);
  /// the broker keeps serving meanwhile. `on` false recommissions it: the moves away from it
  /// that are in flight are cancelled. Answered once the controller recorded it. Errors:
  /// controller_errc::unknown_broker; topic_errc::invalid_replica_assignment on a single-node
  /// broker. On shard 0.
  awaitable<status> decommission_broker(int32_t id, bool on);
  struct decommission_progress {
    int32_t broker = 0;
    bool decommissioned = false;
    /// Partitions with a replica on the broker (moves in flight counted).
    int64_t replicas = 0;
    /// Moves in flight that take a replica off the broker.
    int64_t moving = 0;
    /// Partitions that cannot leave it: no other live broker can take their replica.
    int64_t stuck = 0;
  };
  /// How far the decommission of `id` is (done: decommissioned and no replica left).
  /// Thread-safe. Errors: controller_errc::unknown_broker.
  [[nodiscard]] result<decommission_progress> decommission_status(int32_t id) const;
  /// ElectLeaders (preferred): each of `partitions` of `topic` is to be led by its preferred
  /// replica (the first of its assignment); waits up to `timeout` until the controller records
  /// that, and returns each partition's outcome: ok, topic_errc::not_found (no such topic or
  /// partition), election_not_needed (it leads already), preferred_leader_unavailable (its
  /// broker is down), controller_errc::timeout (asked, not done in time: the leader hands the
  /// partition over once the replica caught up).
  awaitable<std::vector<std::pair<int32_t, status>>> elect_preferred(
      std::string topic, std::vector<int32_t> partitions, std::chrono::milliseconds timeout);
  /// Moves in flight at most that decommissions start (each a partition's replica set).
  static constexpr size_t decommission_moves = 4;

  /// The cluster-wide config defaults: the controller's (in a cluster), else this broker's.
  /// Thread-safe.
  [[nodiscard]] topic_configs cluster_configs() const;
  /// The cluster-wide config defaults a broker starts with (its copy in the topic store).
  /// Call before the shards start.
  void load_cluster_configs(const topic_configs& broker_level);

  /// Users and their credentials: the controller's (in a cluster), else this broker's own
  /// (its topic store's security.state). Thread-safe.
  [[nodiscard]] std::shared_ptr<const security_state> security() const;
  /// The users a broker without a controller starts with. Call before the shards start.
  void load_security(security_state s);
  /// A change of the users or the ACLs.
  using security_change = std::variant<upsert_scram_cmd, delete_scram_cmd, create_acls_cmd,
                                       delete_acls_cmd, alter_quotas_cmd>;
  /// Applies a change of the users or ACLs: through the controller in a cluster (answered once
  /// this broker applied it), else in this broker's file (answered once it is durable).
  /// Errors: those of security_state::apply.
  awaitable<status> alter_security(security_change change);

  /// Makes this a cluster broker's front end: every topic change goes to the controller (`ctl`,
  /// whose submit() runs on shard 0) and is answered once this broker applied it; the local
  /// topic table, topic files, logs and partition objects follow the controller's topics
  /// (reconcile: only the partitions with a replica on `self` get logs and objects). Topics this
  /// broker had before it joined (no topic id) are offered to the controller once it has a
  /// leader, all their partitions on this broker, and adopted; the reconciler never deletes
  /// them. Call before the shards start.
  void attach_controller(controller* ctl, int32_t self);
  /// On shard 0, after the controller's view changed: brings the local state up to it.
  void on_cluster_change();
  /// Whether this broker's topics are current: always on a single node; in a cluster once it
  /// caught up with the controller (as far as the controller leader had committed when this
  /// broker first reached it) and brought its topics up to that. Until then what it knows is
  /// what it knew when it stopped: its Metadata would name replicas and leaders that may have
  /// changed since. It stays current from then on. Thread-safe.
  [[nodiscard]] bool current() const {
    return ctl_ == nullptr || current_.load(std::memory_order_acquire);
  }
  /// Waits, at most `limit`, until current(); whether it is. Completes on the caller's
  /// executor.
  awaitable<bool> wait_current(std::chrono::milliseconds limit);

  /// A read barrier for requests about topics: once this returns true, this broker's topics
  /// reflect every change the controller leader had applied when it was called (a topic made
  /// through another broker and acknowledged is here). Waits at most `limit`; false when it
  /// could not (no controller leader reachable), and the caller goes on with what it has.
  /// Always true at once on a single node. Completes on the caller's executor.
  awaitable<bool> catch_up(std::chrono::milliseconds limit);

  /// Refuses the admin pool work of topic changes from now on and waits for the running
  /// task to end (a change stopped half way rolls itself back first; its completion is
  /// posted to a shard). Call after the shards stopped and before their contexts are
  /// destroyed.
  void stop();

 private:
  /// Topic changes one at a time, and the admin pool tasks they wait for.
  struct admin_state;

  /// Waits for the topic-change turn; unlock_admin() hands it to the next waiter. Not RAII:
  /// a coroutine destroyed at shutdown must not post anything.
  awaitable<void> lock_admin();
  void unlock_admin();
  /// Runs `fn` (returning status) on the admin pool; completes on the caller's executor.
  template <typename F>
  awaitable<status> on_admin_pool(F fn);

  awaitable<status> create_topic_locked(const topic_metadata& requested, bool validate_only,
                                        bool internal);
  awaitable<status> delete_topic_locked(const std::string& name);
  awaitable<status> create_partitions_locked(
      const std::string& name, int32_t count, bool validate_only,
      const std::optional<std::vector<std::vector<int32_t>>>& assignment);
  awaitable<status> set_topic_configs_locked(const std::string& name, const topic_configs& configs,
                                             bool validate_only);

  /// Makes `broker_level` the cluster-wide defaults here and applies them to every partition.
  /// Under the admin turn.
  awaitable<void> apply_cluster_configs(const topic_configs& broker_level);
  /// The cluster-wide config defaults in force on this broker's partitions.
  [[nodiscard]] topic_configs applied_cluster_configs() const;

  // The local steps of each change, after its checks: files, partition objects, table (the
  // single-node path and the reconciler both use them).
  awaitable<status> materialize_create(const topic_metadata& t);
  awaitable<status> materialize_delete(const topic_metadata& t);
  awaitable<status> materialize_grow(const topic_metadata& old, const topic_metadata& t);
  awaitable<status> materialize_configs(const topic_metadata& t);
  awaitable<status> materialize_adopt(const topic_metadata& old, const topic_metadata& t);
  awaitable<status> materialize_moves(const topic_metadata& old, const topic_metadata& t);
  /// On the controller leader's shard 0, after a view change: starts the moves that take the
  /// replicas off decommissioned brokers, then (continuous balancing) those that even out the
  /// brokers' replica counts, up to decommission_moves in flight.
  awaitable<void> drive_decommissions();
  /// On the controller leader's shard 0: has drive_decommissions() run (again) when there is
  /// something for it to do.
  void kick_moves();
  /// On shard 0 in a cluster: measures local_usage() every usage_interval and, on the
  /// controller leader with continuous balancing, has the balancer look at disk usage.
  awaitable<void> usage_loop();
  /// Continuous balancing: moves that bring the replica counts (`load`, by placeable broker)
  /// of the live brokers within one of each other, at most `room`.
  static std::vector<move_partition_cmd> balancing_moves(const cluster_view& view,
                                                         std::map<int32_t, int64_t> load,
                                                         size_t room);
  /// A replica set for partition `p` of `t` without broker `gone`: it is replaced by the live
  /// broker not being decommissioned that holds the fewest replicas (`load`), on `gone`'s rack
  /// when one there can take it; nullopt when none can.
  static std::optional<std::vector<int32_t>> without_broker(const cluster_view& view,
                                                            const topic_metadata& t, int32_t p,
                                                            int32_t gone,
                                                            const std::map<int32_t, int64_t>& load);

  // The cluster path.
  awaitable<status> submit(controller_command cmd);
  /// The controller read barrier alone (the view, not the local topics), at most `limit`:
  /// before a topic change is checked against the view. Whether it completed; failing, the
  /// change is checked against the view as it is.
  awaitable<bool> sync_view(std::chrono::milliseconds limit);
  /// submit(), then brings this broker up to the change (a local failure is logged: the
  /// reconciler retries it).
  awaitable<status> submit_and_reconcile(controller_command cmd, std::string topic);
  /// Brings the local state up to the controller's topics: one pass, under the admin turn.
  awaitable<status> reconcile();
  awaitable<status> reconcile_locked();
  awaitable<void> reconcile_loop();
  awaitable<void> import_local_topics();
  awaitable<status> cluster_create_topic(topic_metadata t, bool validate_only, bool internal);
  awaitable<status> cluster_delete_topic(std::string name);
  awaitable<status> cluster_create_partitions(
      std::string name, int32_t count, bool validate_only,
      std::optional<std::vector<std::vector<int32_t>>> assignment);
  awaitable<status> cluster_set_topic_configs(std::string name, topic_configs configs,
                                              bool validate_only);
  status validate(const topic_metadata& t, bool internal) const;
  /// `old` raised to `count` partitions, checked (a larger count, validate()).
  result<topic_metadata> with_partitions(const topic_metadata& old, int32_t count) const;
  /// The partition limits for adding `added` partitions to a topic that will have
  /// t.partitions (checked against the current table).
  status check_limits(const topic_metadata& t, int32_t added, bool internal) const;
  /// Admin pool: creates the logs of partitions [from, t.partitions), fsyncs the data
  /// directories and writes the topic file (`previous` is the version to restore on failure,
  /// if any). Removes what it made when a step fails or the broker stops.
  status create_files(const topic_metadata& t, int32_t from,
                      const std::optional<topic_metadata>& previous);
  /// Admin pool: removes the logs of partitions [from, to) (rollback).
  void remove_logs(const std::string& topic, int32_t from, int32_t to);
  /// Feeds a committed change to the table, at the revision after its current one. Changes
  /// are checked before they are committed and the table has no other writer, so the table
  /// accepts every one (asserted).
  void apply(const topic_command& cmd);

  partition_manager& partitions_;
  storage::log_manager& logs_;
  topic_store& store_;
  topic_table& table_;
  options opts_;
  std::shared_ptr<admin_state> admin_;
  controller* ctl_ = nullptr;
  int32_t self_ = 0;
  /// Reconciles waiting (shard 0 only): a change while one runs makes it run again.
  bool reconcile_pending_ = false;
  bool reconcile_running_ = false;
  std::atomic<bool> current_{false};
  /// The controller log index of the view the last reconcile pass brought this broker up to.
  std::atomic<int64_t> reconciled_index_{-1};
  /// The same for the decommission driver (shard 0 only).
  bool decommission_pending_ = false;
  bool decommission_running_ = false;
  std::atomic<uint64_t> decommission_moves_{0};
  std::atomic<uint64_t> balancing_moves_{0};
  std::atomic<uint64_t> disk_moves_{0};
  mutable std::mutex usage_mu_;  // guards local_usage_
  std::vector<partition_bytes> local_usage_;
  mutable std::mutex cluster_configs_mu_;  // guards cluster_configs_ and security_
  topic_configs cluster_configs_;
  std::shared_ptr<const security_state> security_ = std::make_shared<const security_state>();
};

}  // namespace strom::cluster
