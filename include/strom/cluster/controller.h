#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "strom/base/clock.h"
#include "strom/base/result.h"
#include "strom/cluster/partition.h"
#include "strom/cluster/topic_config.h"
#include "strom/cluster/topic_store.h"
#include "strom/cluster/topic_table.h"
#include "strom/net/asio.h"
#include "strom/net/shard_runtime.h"
#include "strom/storage/log_manager.h"

namespace strom::cluster {

using net::awaitable;

/// Topic and partition management on this node, and where each partition lives.
///
/// Today the single node is its own controller: topic changes are applied to the local topic
/// table and logs. With replication this becomes the controller Raft group's state machine.
/// Partitions are spread over shards by a hash of their name; a partition object is created,
/// used and destroyed only on its shard. Coroutine methods may be awaited from any shard and
/// complete on the caller's executor.
///
/// Topic changes (create, delete, create partitions, set configs) run one at a time, in
/// arrival order, whatever shard they come from: a create racing a delete of the same name
/// never interleaves with it. Their file work (logs, directory fsyncs, the topic file) runs on
/// the log manager's admin pool, never on a shard thread; partition objects are installed on
/// and removed from their owner shards. The topic file is the commit point of every change,
/// so that a crash at any step leaves either the old or the new topic (docs/storage-format.md,
/// "Topics"); a failure at any step rolls back what was done. The topic table changes only
/// through topic_table::apply, once a change is committed (in revision order, numbered from the
/// table's revision); the controller is the only writer of the table and the store.
class controller {
 public:
  struct options {
    topic_defaults defaults;
    int32_t default_partitions = 1;
    int16_t default_replication_factor = 1;
    bool auto_create_topics = false;
    bool delete_topic_enable = true;
    int32_t node_id = 0;
    /// Most partitions of one topic (at most max_partitions_hard_limit): CreateTopics and
    /// CreatePartitions beyond get INVALID_PARTITIONS. Internal topics are exempt.
    int32_t max_partitions_per_topic = 1000;
    /// Most partitions on this broker, every topic counted (internal ones too): a creation
    /// that would go beyond is refused with topic_errc::partition_limit (POLICY_VIOLATION).
    /// Internal topics are created regardless.
    int32_t max_partitions_per_broker = 4000;
  };

  controller(net::shard_runtime& rt, storage::log_manager& logs, topic_store& store,
             topic_table& topics, options opts, clock& clk = clock::system());
  ~controller();
  controller(const controller&) = delete;
  controller& operator=(const controller&) = delete;

  /// Creates the partition objects (and any missing logs) of every topic in the table.
  /// Call before the shards start.
  status load();
  /// Starts a housekeeping timer on every shard for the partitions it owns: roll by age,
  /// time-based flushes, retention every `retention`, and compaction of the logs whose
  /// cleanup.policy has compact when it is due (checked every tick).
  void start_housekeeping(std::chrono::milliseconds tick, std::chrono::milliseconds retention);
  /// Drops every object that belongs to a shard's io_context (timers, fetch waiters), after
  /// cancelling running compactions and topic changes and waiting for their pool tasks to end
  /// (they post their completion to a shard; a topic change stopped half way rolls itself
  /// back first). Call after the shards stopped and before their contexts are destroyed.
  void release_shard_objects();

  [[nodiscard]] size_t shard_of(const model::ntp& n) const;
  /// The partition, when this shard owns it; nullptr otherwise. Owner shard only.
  partition* local(const model::ntp& n);
  [[nodiscard]] std::shared_ptr<const topic_map> topics() const { return topics_.snapshot(); }
  [[nodiscard]] const options& opts() const { return opts_; }
  [[nodiscard]] int32_t node_id() const { return opts_.node_id; }
  net::shard_runtime& runtime() { return rt_; }
  storage::log_manager& logs() { return logs_; }

  /// Creates a topic and its partitions. `validate_only` checks without creating. Names
  /// starting with "__" are reserved for the broker's own topics (`internal` = true).
  /// Every check (name, partition limits, configs) happens before any file is created.
  /// Arguments are taken by value: the coroutine may outlive the caller's objects.
  awaitable<status> create_topic(topic_metadata t, bool validate_only, bool internal = false);
  /// Deletes a topic: its partitions stop serving, its file goes (from then on the topic is
  /// deleted and leaves the table), and its partition directories are renamed to delete
  /// markers and removed. If the file cannot be removed, the topic is served again.
  awaitable<status> delete_topic(std::string name);
  /// Raises a topic's partition count.
  awaitable<status> create_partitions(std::string name, int32_t count, bool validate_only);
  /// Replaces a topic's config overrides; takes effect on every partition without restart.
  awaitable<status> set_topic_configs(std::string name, topic_configs configs, bool validate_only);

  /// A partition as monitoring sees it.
  struct partition_info {
    model::ntp name;
    int64_t log_start = 0;
    int64_t high_watermark = 0;
    uint64_t size_bytes = 0;
    bool online = true;  ///< false when its data directory went offline
  };
  /// Every local partition, gathered from all shards.
  awaitable<std::vector<partition_info>> partition_infos();

  /// Runs `fn(partition*)` on the owner shard of `n` and returns its result on the caller's
  /// executor; `fn` gets nullptr when the partition does not exist.
  /// Not itself a coroutine: the work is a coroutine taking copies of `n` and `fn`.
  template <typename F>
  auto on_partition(const model::ntp& n, F fn) -> awaitable<decltype(fn(nullptr))> {
    return net::asio::co_spawn(rt_.executor(shard_of(n)), call_on_partition(this, n, std::move(fn)),
                               net::asio::use_awaitable);
  }

 private:
  template <typename F>
  static auto call_on_partition(controller* self, model::ntp n, F fn)
      -> awaitable<decltype(fn(nullptr))> {
    co_return fn(self->local(n));
  }
  static awaitable<status> install_task(controller* self, size_t shard, topic_metadata t,
                                        std::vector<int32_t> ids);
  static awaitable<void> drop_task(controller* self, size_t shard, std::string topic,
                                   std::vector<int32_t> ids);
  static awaitable<std::vector<partition_info>> shard_partition_infos(controller* self,
                                                                      size_t shard);
  static awaitable<void> housekeeping_loop(controller* self, size_t shard,
                                           std::chrono::milliseconds tick,
                                           std::chrono::milliseconds retention);

  /// Starts a compaction of `p`'s log: the job runs on the log manager's compaction pool and
  /// its swap is posted back to `shard`, the owner (docs/architecture.md). Owner shard only.
  void start_compaction(size_t shard, partition& p);
  void finish_compaction(const model::ntp& n, storage::compaction_job& job);

  struct shard_partitions;
  /// Compaction tasks on the pool that have not yet posted their completion.
  struct compaction_tasks {
    std::mutex mu;  // guards running
    std::condition_variable idle;
    size_t running = 0;
  };
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
  awaitable<status> create_partitions_locked(const std::string& name, int32_t count,
                                             bool validate_only);
  awaitable<status> set_topic_configs_locked(const std::string& name, const topic_configs& configs,
                                             bool validate_only);

  status validate(const topic_metadata& t, bool internal) const;
  /// The partition limits for adding `added` partitions to a topic that will have
  /// t.partitions (checked against the current table).
  status check_limits(const topic_metadata& t, int32_t added, bool internal) const;
  status make_partition(const model::ntp& n, const topic_metadata& t, size_t shard);
  /// Admin pool: creates the logs of partitions [from, t.partitions), fsyncs the data
  /// directories and writes the topic file (`previous` is the version to restore on failure,
  /// if any). Removes what it made when a step fails or the broker stops.
  status create_files(const topic_metadata& t, int32_t from,
                      const std::optional<topic_metadata>& previous);
  /// Admin pool: removes the logs of partitions [from, to) (rollback).
  void remove_logs(const std::string& topic, int32_t from, int32_t to);
  /// Installs partition objects [from, t.partitions) on their owner shards.
  awaitable<status> install_partitions(const topic_metadata& t, int32_t from);
  /// Removes partition objects [from, to) from their owner shards.
  awaitable<void> drop_partitions(const std::string& topic, int32_t from, int32_t to);
  /// Groups partition ids [from, to) of `topic` by owner shard.
  std::vector<std::vector<int32_t>> by_shard(const std::string& topic, int32_t from,
                                             int32_t to) const;
  /// Feeds a committed change to the table, at the revision after its current one. Changes
  /// are checked before they are committed and the table has no other writer, so the table
  /// accepts every one (asserted).
  void apply(const topic_command& cmd);

  net::shard_runtime& rt_;
  storage::log_manager& logs_;
  topic_store& store_;
  topic_table& topics_;
  options opts_;
  clock& clock_;
  std::vector<std::unique_ptr<shard_partitions>> shards_;
  std::shared_ptr<compaction_tasks> compactions_ = std::make_shared<compaction_tasks>();
  std::shared_ptr<admin_state> admin_;
};

}  // namespace strom::cluster
