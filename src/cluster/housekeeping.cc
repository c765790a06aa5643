#include "strom/cluster/housekeeping.h"

#include "strom/base/logging.h"

namespace strom::cluster {

namespace {
spdlog::logger& lg() {
  return logging::get("cluster");
}
}  // namespace

housekeeping::housekeeping(partition_manager& partitions)
    : partitions_(partitions), timers_(partitions.runtime()) {}

housekeeping::~housekeeping() = default;

void housekeeping::start(std::chrono::milliseconds tick, std::chrono::milliseconds retention) {
  auto& rt = partitions_.runtime();
  for (size_t i = 0; i < timers_.size(); ++i)
    rt.spawn(i, [this, i, tick, retention] { return loop(this, i, tick, retention); });
}

awaitable<void> housekeeping::loop(housekeeping* self, size_t shard, std::chrono::milliseconds tick,
                                   std::chrono::milliseconds retention) {
  auto& timer = self->timers_.on(shard);
  timer = std::make_unique<net::asio::steady_timer>(co_await net::asio::this_coro::executor);
  auto next_retention = std::chrono::steady_clock::now() + retention;
  while (timer) {
    timer->expires_after(tick);
    boost::system::error_code ec;
    co_await timer->async_wait(net::asio::redirect_error(net::asio::use_awaitable, ec));
    if (ec || !timer)
      break;
    auto now = std::chrono::steady_clock::now();
    bool run_retention = now >= next_retention;
    if (run_retention)
      next_retention = now + retention;
    self->partitions_.for_each_local(shard, [self, shard, run_retention](partition& p) {
      p.expire_producers();
      auto r = p.log().housekeeping(run_retention);
      if (!r && !r.error().is(storage::errc::log_dir_offline)) {
        lg().warn("{}: housekeeping: {}", p.name().dir_name(), r.error().message());
      }
      if (p.log().compaction_due())
        self->start_compaction(shard, p);
    });
  }
}

void housekeeping::start_compaction(size_t shard, partition& p) {
  auto job = p.log().prepare_compaction();
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
  partitions_.logs().stop_compactions();
  {
    std::unique_lock lock(compactions_->mu);
    compactions_->idle.wait(lock, [&] { return compactions_->running == 0; });
  }
  for (size_t shard = 0; shard < timers_.size(); ++shard)
    timers_.on(shard).reset();
}

}  // namespace strom::cluster
