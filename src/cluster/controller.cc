#include "strom/cluster/controller.h"

#include <fmt/format.h>

#include "strom/base/logging.h"

namespace strom::cluster {

namespace {
spdlog::logger& lg() {
  return logging::get("cluster");
}
}  // namespace

/// Partitions owned by one shard, and its housekeeping timer.
struct controller::shard_partitions {
  std::map<model::ntp, std::unique_ptr<partition>> partitions;
  std::unique_ptr<net::asio::steady_timer> timer;
};

controller::controller(net::shard_runtime& rt, storage::log_manager& logs, topic_table& topics,
                       options opts, clock& clk)
    : rt_(rt), logs_(logs), topics_(topics), opts_(std::move(opts)), clock_(clk) {
  for (size_t i = 0; i < rt_.count(); ++i)
    shards_.push_back(std::make_unique<shard_partitions>());
}

controller::~controller() = default;

size_t controller::shard_of(const model::ntp& n) const {
  auto h = std::hash<std::string>{}(n.topic) * 31 + static_cast<size_t>(n.partition.value());
  return h % shards_.size();
}

partition* controller::local(const model::ntp& n) {
  auto& parts = shards_[shard_of(n)]->partitions;
  auto it = parts.find(n);
  return it == parts.end() ? nullptr : it->second.get();
}

status controller::make_partition(const model::ntp& n, const topic_metadata& t, size_t shard) {
  auto cfg = effective_log_config(opts_.defaults, t.configs);
  storage::log* log = logs_.get(n);
  if (log == nullptr) {
    auto created = logs_.create(n, cfg);
    if (!created)
      return created.error();
    log = *created;
  } else {
    log->set_config(cfg);
  }
  auto p = std::make_unique<partition>(n, log, settings_for(opts_.defaults, t.configs), clock_);
  STROM_TRY(p->load_producer_state());
  shards_[shard]->partitions[n] = std::move(p);
  return ok();
}

status controller::load() {
  auto topics = topics_.snapshot();
  for (const auto& [name, t] : *topics) {
    for (int32_t p = 0; p < t.partitions; ++p) {
      model::ntp n{name, model::partition_id(p)};
      STROM_TRY(make_partition(n, t, shard_of(n)));
    }
  }
  lg().info("{} topic(s) loaded", topics->size());
  return ok();
}

void controller::start_housekeeping(std::chrono::milliseconds tick,
                                    std::chrono::milliseconds retention) {
  for (size_t i = 0; i < shards_.size(); ++i) {
    shards_[i]->timer = std::make_unique<net::asio::steady_timer>(rt_.context(i));
    net::asio::co_spawn(rt_.context(i), housekeeping_loop(this, i, tick, retention),
                        net::asio::detached);
  }
}

awaitable<void> controller::housekeeping_loop(controller* self, size_t shard,
                                              std::chrono::milliseconds tick,
                                              std::chrono::milliseconds retention) {
  auto& sp = *self->shards_[shard];
  auto next_retention = std::chrono::steady_clock::now() + retention;
  while (sp.timer) {
    sp.timer->expires_after(tick);
    boost::system::error_code ec;
    co_await sp.timer->async_wait(net::asio::redirect_error(net::asio::use_awaitable, ec));
    if (ec || !sp.timer)
      break;
    auto now = std::chrono::steady_clock::now();
    bool run_retention = now >= next_retention;
    if (run_retention)
      next_retention = now + retention;
    for (auto& [n, p] : sp.partitions) {
      p->expire_producers();
      auto r = p->log().housekeeping(run_retention);
      if (!r && !r.error().is(storage::errc::log_dir_offline)) {
        lg().warn("{}: housekeeping: {}", n.dir_name(), r.error().message());
      }
      if (p->log().compaction_due())
        self->start_compaction(shard, *p);
    }
  }
}

awaitable<std::vector<controller::partition_info>> controller::shard_partition_infos(
    controller* self, size_t shard) {
  std::vector<partition_info> out;
  for (auto& [n, p] : self->shards_[shard]->partitions) {
    partition_info i;
    i.name = n;
    i.log_start = p->log_start().value();
    i.high_watermark = p->high_watermark().value();
    i.size_bytes = p->size_bytes();
    i.online = !p->log().offline();
    out.push_back(std::move(i));
  }
  co_return out;
}

awaitable<std::vector<controller::partition_info>> controller::partition_infos() {
  std::vector<partition_info> all;
  for (size_t shard = 0; shard < shards_.size(); ++shard) {
    auto task = shard_partition_infos(this, shard);
    auto part = co_await net::asio::co_spawn(rt_.executor(shard), std::move(task),
                                             net::asio::use_awaitable);
    for (auto& i : part)
      all.push_back(std::move(i));
  }
  co_return all;
}

void controller::start_compaction(size_t shard, partition& p) {
  auto job = p.log().prepare_compaction();
  if (!job)
    return;
  {
    std::lock_guard lock(compactions_->mu);
    ++compactions_->running;
  }
  auto tasks = compactions_;
  auto ex = rt_.executor(shard);
  auto n = p.name();
  logs_.compaction_pool().submit([this, job, ex, n, tasks] {
    // The heavy part, off the shard: read, filter, write and fsync the staged segments.
    (void)job->run();
    net::asio::post(ex, [this, job, n] { finish_compaction(n, *job); });
    std::lock_guard lock(tasks->mu);
    --tasks->running;
    tasks->idle.notify_all();
  });
}

void controller::finish_compaction(const model::ntp& n, storage::compaction_job& job) {
  // Back on the owner shard. The partition may have been deleted (and even re-created).
  auto* p = local(n);
  if (p == nullptr || p->log().id() != job.log_id())
    return;
  auto r = p->log().finish_compaction(job);
  if (!r && !r.error().is(storage::errc::log_dir_offline) &&
      !r.error().is(storage::errc::compaction_aborted)) {
    lg().warn("{}: compaction: {}", n.dir_name(), r.error().message());
  }
}

void controller::release_shard_objects() {
  logs_.stop_compactions();
  {
    std::unique_lock lock(compactions_->mu);
    compactions_->idle.wait(lock, [&] { return compactions_->running == 0; });
  }
  for (auto& sp : shards_) {
    sp->timer.reset();
    for (auto& [n, p] : sp->partitions)
      p->clear_waiters();
  }
}

status controller::validate(const topic_metadata& t) const {
  STROM_TRY(validate_topic_name(t.name));
  if (t.partitions < 1 || t.partitions > 100000) {
    return error(topic_errc::invalid_partitions,
                 fmt::format("{} partitions; expected 1 to 100000", t.partitions));
  }
  if (t.replication_factor != 1) {
    return error(topic_errc::invalid_replication_factor,
                 fmt::format("replication factor {} is larger than the 1 available broker",
                             t.replication_factor));
  }
  for (const auto& [k, v] : t.configs)
    STROM_TRY(validate_topic_config(k, v));
  return ok();
}

awaitable<status> controller::create_partitions_on_shards(const topic_metadata& t, int32_t from) {
  for (int32_t p = from; p < t.partitions; ++p) {
    model::ntp n{t.name, model::partition_id(p)};
    auto shard = shard_of(n);
    auto work = make_partition_task(this, n, t, shard);
    auto s = co_await net::asio::co_spawn(rt_.executor(shard), std::move(work),
                                          net::asio::use_awaitable);
    if (!s)
      co_return s;
  }
  co_return ok();
}

awaitable<status> controller::create_topic(const topic_metadata& requested, bool validate_only,
                                           bool internal) {
  if (is_internal_topic(requested.name) && !internal) {
    co_return error(topic_errc::reserved_name,
                    requested.name + ": names starting with \"__\" are reserved");
  }
  auto t = requested;
  if (t.partitions == -1)
    t.partitions = opts_.default_partitions;
  if (t.replication_factor == -1)
    t.replication_factor = opts_.default_replication_factor;
  if (auto s = validate(t); !s)
    co_return s;
  if (topics_.snapshot()->contains(t.name))
    co_return error(topic_errc::exists, t.name);
  if (validate_only)
    co_return ok();
  // Partitions first, then the table entry: a topic is visible once it can take writes.
  if (auto s = co_await create_partitions_on_shards(t, 0); !s)
    co_return s;
  if (auto s = topics_.create(t); !s)
    co_return s;
  lg().info("created topic {} with {} partition(s)", t.name, t.partitions);
  co_return ok();
}

awaitable<status> controller::drop_partition_task(controller* self, model::ntp n, size_t shard) {
  self->shards_[shard]->partitions.erase(n);
  co_return self->logs_.remove(n);
}

awaitable<status> controller::delete_topic(const std::string& name) {
  auto topics = topics_.snapshot();
  auto it = topics->find(name);
  if (it == topics->end())
    co_return error(topic_errc::not_found, name);
  if (is_internal_topic(name))
    co_return error(topic_errc::reserved_name, name);
  auto t = it->second;
  if (auto s = topics_.remove(name); !s)
    co_return s;
  for (int32_t p = 0; p < t.partitions; ++p) {
    model::ntp n{name, model::partition_id(p)};
    auto shard = shard_of(n);
    auto work = drop_partition_task(this, n, shard);
    auto s = co_await net::asio::co_spawn(rt_.executor(shard), std::move(work),
                                          net::asio::use_awaitable);
    if (!s)
      lg().warn("deleting {}: {}", n.dir_name(), s.error().message());
  }
  lg().info("deleted topic {}", name);
  co_return ok();
}

awaitable<status> controller::create_partitions(const std::string& name, int32_t count,
                                                bool validate_only) {
  auto topics = topics_.snapshot();
  auto it = topics->find(name);
  if (it == topics->end())
    co_return error(topic_errc::not_found, name);
  auto t = it->second;
  if (count <= t.partitions) {
    co_return error(topic_errc::invalid_partitions,
                    fmt::format("topic {} has {} partitions; the new count {} must be larger", name,
                                t.partitions, count));
  }
  if (count > 100000)
    co_return error(topic_errc::invalid_partitions, "at most 100000");
  if (validate_only)
    co_return ok();
  auto from = t.partitions;
  t.partitions = count;
  if (auto s = co_await create_partitions_on_shards(t, from); !s)
    co_return s;
  co_return topics_.update(t);
}

awaitable<status> controller::set_topic_configs(const std::string& name,
                                                const topic_configs& configs, bool validate_only) {
  auto topics = topics_.snapshot();
  auto it = topics->find(name);
  if (it == topics->end())
    co_return error(topic_errc::not_found, name);
  for (const auto& [k, v] : configs) {
    if (auto s = validate_topic_config(k, v); !s)
      co_return s;
  }
  if (validate_only)
    co_return ok();
  auto t = it->second;
  t.configs = configs;
  if (auto s = topics_.update(t); !s)
    co_return s;
  auto cfg = effective_log_config(opts_.defaults, t.configs);
  auto ps = settings_for(opts_.defaults, t.configs);
  for (int32_t p = 0; p < t.partitions; ++p) {
    model::ntp n{name, model::partition_id(p)};
    auto apply = [cfg, ps](partition* part) {
      if (part != nullptr) {
        part->log().set_config(cfg);
        part->set_settings(ps);
      }
      return 0;
    };
    co_await on_partition(n, std::move(apply));
  }
  co_return ok();
}

}  // namespace strom::cluster
