#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
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

/// Topic and partition management on this node, and where each partition lives.
///
/// Today the single node is its own controller: topic changes are applied to the local topic
/// table and logs. With replication this becomes the controller Raft group's state machine.
/// Partitions are spread over shards by a hash of their name; a partition object is created,
/// used and destroyed only on its shard. Coroutine methods may be awaited from any shard and
/// complete on the caller's executor.
class controller {
 public:
  struct options {
    topic_defaults defaults;
    int32_t default_partitions = 1;
    int16_t default_replication_factor = 1;
    bool auto_create_topics = false;
    bool delete_topic_enable = true;
    int32_t node_id = 0;
  };

  controller(net::shard_runtime& rt, storage::log_manager& logs, topic_table& topics, options opts,
             clock& clk = clock::system());
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
  /// cancelling running compactions and waiting for their pool tasks to end (they post their
  /// completion to a shard). Call after the shards stopped and before their contexts are
  /// destroyed.
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
  awaitable<status> create_topic(const topic_metadata& t, bool validate_only,
                                 bool internal = false);
  awaitable<status> delete_topic(const std::string& name);
  /// Raises a topic's partition count.
  awaitable<status> create_partitions(const std::string& name, int32_t count, bool validate_only);
  /// Replaces a topic's config overrides; takes effect on every partition without restart.
  awaitable<status> set_topic_configs(const std::string& name, const topic_configs& configs,
                                      bool validate_only);

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
  static awaitable<status> make_partition_task(controller* self, model::ntp n, topic_metadata t,
                                               size_t shard) {
    co_return self->make_partition(n, t, shard);
  }
  static awaitable<std::vector<partition_info>> shard_partition_infos(controller* self,
                                                                      size_t shard);
  static awaitable<status> drop_partition_task(controller* self, model::ntp n, size_t shard);
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
  status validate(const topic_metadata& t) const;
  status make_partition(const model::ntp& n, const topic_metadata& t, size_t shard);
  awaitable<status> create_partitions_on_shards(const topic_metadata& t, int32_t from);

  net::shard_runtime& rt_;
  storage::log_manager& logs_;
  topic_table& topics_;
  options opts_;
  clock& clock_;
  std::vector<std::unique_ptr<shard_partitions>> shards_;
  std::shared_ptr<compaction_tasks> compactions_ = std::make_shared<compaction_tasks>();
};

}  // namespace strom::cluster
