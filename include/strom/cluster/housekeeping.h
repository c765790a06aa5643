#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "strom/cluster/partition_manager.h"
#include "strom/net/asio.h"

namespace strom::cluster {

/// The periodic upkeep of the local partitions: a timer on every shard that, for the
/// partitions the shard owns, forgets expired idempotent producers, runs the log's
/// housekeeping (roll by age, time-based flushes, retention every `retention`) and starts the
/// compactions that are due. A compaction's heavy part runs on the log manager's compaction
/// pool; its swap is posted back to the owner shard (docs/architecture.md, "Threading").
/// start() and release_shard_objects() are called from the thread that builds the broker
/// (start() before or after the shards start); the rest runs on the shards.
class housekeeping {
 public:
  explicit housekeeping(partition_manager& partitions);
  ~housekeeping();
  housekeeping(const housekeeping&) = delete;
  housekeeping& operator=(const housekeeping&) = delete;

  /// Starts the timer of every shard: a tick every `tick`, retention every `retention`, and
  /// compaction of the logs whose cleanup.policy has compact when it is due (checked every
  /// tick).
  void start(std::chrono::milliseconds tick, std::chrono::milliseconds retention);
  /// Cancels running compactions, waits for their pool tasks to end (they post their
  /// completion to a shard) and drops the timers. Call after the shards stopped and before
  /// their contexts are destroyed.
  void release_shard_objects();

 private:
  static awaitable<void> loop(housekeeping* self, size_t shard, std::chrono::milliseconds tick,
                              std::chrono::milliseconds retention);
  /// Starts a compaction of `p`'s log: the job runs on the log manager's compaction pool and
  /// its swap is posted back to `shard`, the owner. Owner shard only.
  void start_compaction(size_t shard, partition& p);
  void finish_compaction(const model::ntp& n, storage::compaction_job& job);

  /// Compaction tasks on the pool that have not yet posted their completion.
  struct compaction_tasks {
    std::mutex mu;  // guards running
    std::condition_variable idle;
    size_t running = 0;
  };

  partition_manager& partitions_;
  /// Each shard's timer, made by its loop; null before the loop runs and after release.
  net::sharded<std::unique_ptr<net::asio::steady_timer>> timers_;
  std::shared_ptr<compaction_tasks> compactions_ = std::make_shared<compaction_tasks>();
};

}  // namespace strom::cluster
