#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "strom/cluster/partition_manager.h"
#include "strom/net/asio.h"

namespace strom::cluster {

/// The periodic upkeep of the local partitions: a tick on every shard that, for the
/// partitions the shard owns, forgets expired idempotent producers, runs the log's
/// housekeeping (roll by age, time-based flushes, retention every `retention`) and starts the
/// compactions that are due. A compaction's heavy part runs on the log manager's compaction
/// pool; its swap is posted back to the owner shard (docs/architecture.md, "Threading").
/// The ticks are timers of a timer_clock (the broker's; a manual_clock in tests, which then
/// decide when a tick comes): each fires on the clock's thread and posts the shard's tick to
/// it; the tick arms the next one.
/// start() and release_shard_objects() are called from the thread that builds the broker;
/// the rest runs on the shards.
class housekeeping {
 public:
  housekeeping(partition_manager& partitions, timer_clock& timers);
  ~housekeeping();
  housekeeping(const housekeeping&) = delete;
  housekeeping& operator=(const housekeeping&) = delete;

  /// Starts the timer of every shard: a tick every `tick`, retention every `retention`, and
  /// compaction of the logs whose cleanup.policy has compact when it is due (checked every
  /// tick).
  void start(std::chrono::milliseconds tick, std::chrono::milliseconds retention);
  /// Cancels the timers (none posts to a shard once this returns) and running compactions,
  /// and waits for their pool tasks to end (they post their completion to a shard). Call
  /// after the shards stopped and before their contexts are destroyed.
  void release_shard_objects();

 private:
  /// Arms `shard`'s next tick, unless released. Any thread.
  void arm(size_t shard);
  /// One tick of `shard`'s partitions, then arms the next. On `shard`.
  void tick(size_t shard);
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
  timer_clock& timers_;
  std::chrono::milliseconds tick_{1000};
  std::chrono::milliseconds retention_{300000};
  std::mutex mu_;                               // guards pending_ and released_
  std::vector<timer_clock::timer_id> pending_;  ///< per shard: its armed tick, 0 when none
  bool released_ = false;
  /// Per shard, used on that shard only: when retention runs next.
  std::vector<std::chrono::steady_clock::time_point> next_retention_;
  std::shared_ptr<compaction_tasks> compactions_ = std::make_shared<compaction_tasks>();
};

}  // namespace strom::cluster
