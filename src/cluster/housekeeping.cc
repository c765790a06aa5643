#include "strom/cluster/housekeeping.h"

#include "strom/base/logging.h"
#include "strom/cluster/topic_table.h"

namespace strom::cluster {

namespace {
spdlog::logger& lg() {
  return logging::get("cluster");
}
}  // namespace

housekeeping::housekeeping(partition_manager& partitions, timer_clock& timers)
    : partitions_(partitions),
      timers_(timers),
      pending_(partitions.runtime().count(), 0),
      next_retention_(partitions.runtime().count()) {}

housekeeping::~housekeeping() = default;

void housekeeping::start(std::chrono::milliseconds tick, std::chrono::milliseconds retention) {
  tick_ = tick;
  retention_ = retention;
  for (size_t i = 0; i < pending_.size(); ++i) {
    next_retention_[i] = timers_.steady_now() + retention;
    arm(i);
  }
}

void housekeeping::arm(size_t shard) {
  std::lock_guard lock(mu_);
  if (released_)
    return;
  pending_[shard] = timers_.schedule_after(
      tick_, [this, shard] { partitions_.runtime().spawn(shard, [this, shard] { tick(shard); }); });
}

void housekeeping::tick(size_t shard) {
  auto now = timers_.steady_now();
  bool run_retention = now >= next_retention_[shard];
  if (run_retention)
    next_retention_[shard] = now + retention_;
  partitions_.for_each_local(shard, [this, shard, run_retention](partition& p) {
    p.expire_producers();
    // A replicated partition's log is cut through a Raft snapshot (partition::apply_retention),
    // never under the group's feet.
    if (run_retention && p.replicated())
      p.apply_retention();
    auto r = p.log().housekeeping(run_retention && !p.replicated());
    if (!r && !r.error().is(storage::errc::log_dir_offline)) {
      lg().warn("{}: housekeeping: {}", p.name().dir_name(), r.error().message());
    }
    // A replicated __consumer_offsets partition is compacted into its Raft snapshots by its
    // coordinator instead.
    if ((!p.replicated() || !is_internal_topic(p.name().topic)) && p.log().compaction_due())
      start_compaction(shard, p);
  });
  arm(shard);
}

void housekeeping::start_compaction(size_t shard, partition& p) {
  // A replicated log is compacted below its high watermark only (a truncation may cut what
  // lies beyond, superseding records included), and every batch keeps its offsets in the
  // Raft log: one whose records all went stays, empty. What a follower catching up then
  // receives is the compacted batches, at the same offsets and terms.
  storage::compaction_bounds bounds;
  if (p.replicated()) {
    bounds.limit = p.high_watermark();
    bounds.keep_empty_batches = true;
  }
  auto job = p.log().prepare_compaction(bounds);
  if (!job)
    return;
  {
    std::lock_guard lock(compactions_->mu);
    ++compactions_->running;
  }
  auto tasks = compactions_;
  auto n = p.name();
  partitions_.logs().compaction_pool().submit([this, shard, job, n, tasks]() mutable {
    // The heavy part, off the shard: read, filter, write and fsync the staged segments.
    (void)job->run();
    // Posted before the count drops: once it is 0 a stop may destroy the shards.
    partitions_.runtime().spawn(shard, [this, job, n] { finish_compaction(n, *job); });
    std::lock_guard lock(tasks->mu);
    --tasks->running;
    tasks->idle.notify_all();
  });
}

void housekeeping::finish_compaction(const model::ntp& n, storage::compaction_job& job) {
  // Back on the owner shard. The partition may have been deleted (and even re-created).
  auto* p = partitions_.local(n);
  if (p == nullptr || p->log().id() != job.log_id())
    return;
  auto r = p->log().finish_compaction(job);
  if (!r && !r.error().is(storage::errc::log_dir_offline) &&
      !r.error().is(storage::errc::compaction_aborted)) {
    lg().warn("{}: compaction: {}", n.dir_name(), r.error().message());
  }
}

void housekeeping::release_shard_objects() {
  {
    std::lock_guard lock(mu_);
    released_ = true;
    for (auto& id : pending_) {
      if (id != 0)
        timers_.cancel(id);
      id = 0;
    }
  }
  partitions_.logs().stop_compactions();
  {
    std::unique_lock lock(compactions_->mu);
    compactions_->idle.wait(lock, [&] { return compactions_->running == 0; });
  }
}

}  // namespace strom::cluster
