#include "strom/cluster/controller.h"

#include <atomic>
#include <deque>
#include <functional>

#include <fmt/format.h>

#include "strom/base/assert.h"
#include "strom/base/logging.h"
#include "strom/net/await.h"

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

/// Topic changes one at a time, and the admin pool tasks they wait for.
struct controller::admin_state {
  std::mutex mu;  // guards busy, waiters, running
  bool busy = false;
  std::deque<std::function<void(int)>> waiters;
  size_t running = 0;  ///< admin pool tasks not yet finished
  std::condition_variable idle;
  std::atomic<bool> stopping{false};
};

controller::controller(net::shard_runtime& rt, storage::log_manager& logs, topic_store& store,
                       topic_table& topics, options opts, clock& clk)
    : rt_(rt),
      logs_(logs),
      store_(store),
      topics_(topics),
      opts_(std::move(opts)),
      clock_(clk),
      admin_(std::make_shared<admin_state>()) {
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
  admin_->stopping = true;
  {
    std::unique_lock lock(admin_->mu);
    admin_->idle.wait(lock, [&] { return admin_->running == 0; });
  }
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

// --- topic changes ---------------------------------------------------------------------------

namespace {
error shutting_down() {
  return error(std::make_error_code(std::errc::operation_canceled), "the broker is shutting down");
}
size_t digits(int64_t v) {
  return fmt::formatted_size("{}", v);
}
}  // namespace

awaitable<void> controller::lock_admin() {
  auto admin = admin_;
  auto start = [admin](std::function<void(int)> done) {
    std::unique_lock lock(admin->mu);
    if (admin->busy) {
      admin->waiters.push_back(std::move(done));
      return;
    }
    admin->busy = true;
    lock.unlock();
    done(0);
  };
  co_await net::await_callback<int>(start);
}

void controller::unlock_admin() {
  std::function<void(int)> next;
  {
    std::lock_guard lock(admin_->mu);
    if (admin_->waiters.empty()) {
      admin_->busy = false;
      return;
    }
    next = std::move(admin_->waiters.front());
    admin_->waiters.pop_front();
  }
  next(0);  // the turn passes on: busy stays set
}

template <typename F>
awaitable<status> controller::on_admin_pool(F fn) {
  auto admin = admin_;
  auto* pool = &logs_.admin_pool();
  auto start = [admin, pool, fn = std::move(fn)](std::function<void(status)> done) mutable {
    {
      std::lock_guard lock(admin->mu);
      ++admin->running;
    }
    pool->submit([admin, fn, done] {
      status s = admin->stopping ? status(shutting_down()) : fn();
      done(std::move(s));
      std::lock_guard lock(admin->mu);
      --admin->running;
      admin->idle.notify_all();
    });
  };
  co_return co_await net::await_callback<status>(start);
}

void controller::apply(const topic_command& cmd) {
  auto rev = topic_revision(topics_.revision().value() + 1);
  auto s = topics_.apply(rev, cmd);
  STROM_ASSERT(s, "the topic table refused committed change {}: {}", rev.value(),
               s.error().message());
}

status controller::validate(const topic_metadata& t, bool internal) const {
  STROM_TRY(validate_topic_name(t.name));
  int32_t most = internal ? max_partitions_hard_limit
                          : std::min(opts_.max_partitions_per_topic, max_partitions_hard_limit);
  if (t.partitions < 1 || t.partitions > most) {
    return error(
        topic_errc::invalid_partitions,
        fmt::format("{} partitions; a topic has 1 to {} on this broker{}", t.partitions, most,
                    internal ? "" : " (cluster_defaults.topics.max_partitions_per_topic)"));
  }
  // Every file and directory name of the topic fits a path component: `<topic>.topic` (and
  // its temp file, see io::temp_path_for) and `<topic>-<partition>`. Checked before anything
  // is created; max_partitions_hard_limit makes it hold for every valid name.
  if (t.name.size() + 1 + digits(t.partitions - 1) > io::max_name_bytes ||
      t.name.size() + 6 > io::max_name_bytes) {
    return error(topic_errc::invalid_partitions,
                 fmt::format("{} partitions of a {}-character topic name make directory names "
                             "longer than {} bytes",
                             t.partitions, t.name.size(), io::max_name_bytes));
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

status controller::check_limits(const topic_metadata& t, int32_t added, bool internal) const {
  if (internal)
    return ok();
  int64_t total = 0;
  for (const auto& [_, existing] : *topics_.snapshot())
    total += existing.partitions;
  if (total + added > opts_.max_partitions_per_broker) {
    return error(
        topic_errc::partition_limit,
        fmt::format("{} new partition(s) of topic {} would make {} on this broker, more "
                    "than the {} allowed (cluster_defaults.topics.max_partitions_per_broker)",
                    added, t.name, total + added, opts_.max_partitions_per_broker));
  }
  return ok();
}

std::vector<std::vector<int32_t>> controller::by_shard(const std::string& topic, int32_t from,
                                                       int32_t to) const {
  std::vector<std::vector<int32_t>> out(shards_.size());
  for (int32_t p = from; p < to; ++p)
    out[shard_of(model::ntp{topic, model::partition_id(p)})].push_back(p);
  return out;
}

awaitable<status> controller::install_task(controller* self, size_t shard, topic_metadata t,
                                           std::vector<int32_t> ids) {
  for (auto id : ids) {
    if (auto s = self->make_partition(model::ntp{t.name, model::partition_id(id)}, t, shard); !s)
      co_return s;
  }
  co_return ok();
}

awaitable<void> controller::drop_task(controller* self, size_t shard, std::string topic,
                                      std::vector<int32_t> ids) {
  auto& parts = self->shards_[shard]->partitions;
  for (auto id : ids)
    parts.erase(model::ntp{topic, model::partition_id(id)});
  co_return;
}

awaitable<status> controller::install_partitions(const topic_metadata& t, int32_t from) {
  auto groups = by_shard(t.name, from, t.partitions);
  for (size_t shard = 0; shard < groups.size(); ++shard) {
    if (groups[shard].empty())
      continue;
    auto work = install_task(this, shard, t, std::move(groups[shard]));
    auto s = co_await net::asio::co_spawn(rt_.executor(shard), std::move(work),
                                          net::asio::use_awaitable);
    if (!s)
      co_return s;
  }
  co_return ok();
}

awaitable<void> controller::drop_partitions(const std::string& topic, int32_t from, int32_t to) {
  auto groups = by_shard(topic, from, to);
  for (size_t shard = 0; shard < groups.size(); ++shard) {
    if (groups[shard].empty())
      continue;
    auto work = drop_task(this, shard, topic, std::move(groups[shard]));
    co_await net::asio::co_spawn(rt_.executor(shard), std::move(work), net::asio::use_awaitable);
  }
}

void controller::remove_logs(const std::string& topic, int32_t from, int32_t to) {
  for (int32_t p = from; p < to; ++p) {
    model::ntp n{topic, model::partition_id(p)};
    if (logs_.get(n) == nullptr)
      continue;
    if (auto s = logs_.remove(n); !s) {
      // The directory stays; a new log of this name removes it first, and a restart after a
      // crash removes it as unclaimed.
      lg().warn("rolling back {}: {}", n.dir_name(), s.error().message());
    }
  }
}

status controller::create_files(const topic_metadata& t, int32_t from,
                                const std::optional<topic_metadata>& previous) {
  auto cfg = effective_log_config(opts_.defaults, t.configs);
  int32_t made = from;
  auto fail = [&](const error& e) -> status {
    remove_logs(t.name, from, made);
    lg().warn("creating partitions {}..{} of {} failed, rolled back: {}", from, t.partitions - 1,
              t.name, e.message());
    return e;
  };
  for (; made < t.partitions; ++made) {
    if (admin_->stopping)
      return fail(shutting_down());
    auto l = logs_.create(model::ntp{t.name, model::partition_id(made)}, cfg, false);
    if (!l)
      return fail(l.error());
  }
  // The new directories are durable before the topic file names them.
  if (auto s = logs_.sync_dirs(); !s)
    return fail(s.error());
  if (auto s = store_.write(t); !s) {
    // The rename may have happened before the failure: put back what was there.
    auto undo = previous ? store_.write(*previous) : store_.erase(t.name);
    if (!undo)
      lg().error("restoring the topic file of {}: {}", t.name, undo.error().message());
    return fail(s.error());
  }
  return ok();
}

awaitable<status> controller::create_topic(topic_metadata t, bool validate_only, bool internal) {
  co_await lock_admin();
  auto s = co_await create_topic_locked(t, validate_only, internal);
  unlock_admin();
  co_return s;
}

awaitable<status> controller::create_topic_locked(const topic_metadata& requested,
                                                  bool validate_only, bool internal) {
  if (is_internal_topic(requested.name) && !internal) {
    co_return error(topic_errc::reserved_name,
                    requested.name + ": names starting with \"__\" are reserved");
  }
  auto t = requested;
  if (t.partitions == -1)
    t.partitions = opts_.default_partitions;
  if (t.replication_factor == -1)
    t.replication_factor = opts_.default_replication_factor;
  if (auto s = validate(t, internal); !s)
    co_return s;
  if (topics_.snapshot()->contains(t.name))
    co_return error(topic_errc::exists, t.name);
  if (auto s = check_limits(t, t.partitions, internal); !s)
    co_return s;
  if (validate_only)
    co_return ok();
  // Logs, then the topic file (the commit point), off the shards; then the partition objects
  // on their shards; the topic enters the table once it can take writes.
  auto files = [this, t]() -> status { return create_files(t, 0, std::nullopt); };
  if (auto s = co_await on_admin_pool(files); !s)
    co_return s;
  if (auto s = co_await install_partitions(t, 0); !s) {
    co_await drop_partitions(t.name, 0, t.partitions);
    auto undo = [this, t]() -> status {
      auto e = store_.erase(t.name);
      remove_logs(t.name, 0, t.partitions);
      return e;
    };
    if (auto u = co_await on_admin_pool(undo); !u)
      lg().error("rolling back topic {}: {}", t.name, u.error().message());
    co_return s;
  }
  apply(create_topic_cmd{t});
  lg().info("created topic {} with {} partition(s)", t.name, t.partitions);
  co_return ok();
}

awaitable<status> controller::delete_topic(std::string name) {
  co_await lock_admin();
  auto s = co_await delete_topic_locked(name);
  unlock_admin();
  co_return s;
}

awaitable<status> controller::delete_topic_locked(const std::string& name) {
  auto topics = topics_.snapshot();
  auto it = topics->find(name);
  if (it == topics->end())
    co_return error(topic_errc::not_found, name);
  if (is_internal_topic(name))
    co_return error(topic_errc::reserved_name, name);
  auto t = it->second;
  // Off the shards, then the topic file goes (the commit point) and the partition
  // directories are renamed to delete markers and removed; then the topic leaves the table.
  co_await drop_partitions(name, 0, t.partitions);
  auto files = [this, t]() -> status {
    STROM_TRY(store_.erase(t.name));
    std::vector<std::filesystem::path> dirs;
    for (int32_t p = 0; p < t.partitions; ++p) {
      auto d = logs_.release(model::ntp{t.name, model::partition_id(p)});
      if (d)
        dirs.push_back(*d);
    }
    if (auto s = logs_.delete_directories(dirs); !s) {
      // Deleted all the same: what is left is removed at a restart or by a new topic of the
      // same name before it creates its logs.
      lg().warn("deleting the partition directories of {}: {}", t.name, s.error().message());
    }
    return ok();
  };
  if (auto s = co_await on_admin_pool(files); !s) {
    // The topic file is still there: the topic was not deleted. Serve it again.
    if (auto r = co_await install_partitions(t, 0); !r) {
      lg().error("topic {}: deletion failed and its partitions could not be reopened: {}", name,
                 r.error().message());
    }
    co_return s;
  }
  apply(delete_topic_cmd{name});
  lg().info("deleted topic {}", name);
  co_return ok();
}

awaitable<status> controller::create_partitions(std::string name, int32_t count,
                                                bool validate_only) {
  co_await lock_admin();
  auto s = co_await create_partitions_locked(name, count, validate_only);
  unlock_admin();
  co_return s;
}

awaitable<status> controller::create_partitions_locked(const std::string& name, int32_t count,
                                                       bool validate_only) {
  auto topics = topics_.snapshot();
  auto it = topics->find(name);
  if (it == topics->end())
    co_return error(topic_errc::not_found, name);
  const auto old = it->second;
  if (count <= old.partitions) {
    co_return error(topic_errc::invalid_partitions,
                    fmt::format("topic {} has {} partitions; the new count {} must be larger", name,
                                old.partitions, count));
  }
  auto t = old;
  t.partitions = count;
  bool internal = is_internal_topic(name);
  if (auto s = validate(t, internal); !s)
    co_return s;
  if (auto s = check_limits(t, count - old.partitions, internal); !s)
    co_return s;
  if (validate_only)
    co_return ok();
  auto files = [this, t, old]() -> status { return create_files(t, old.partitions, old); };
  if (auto s = co_await on_admin_pool(files); !s)
    co_return s;
  if (auto s = co_await install_partitions(t, old.partitions); !s) {
    co_await drop_partitions(name, old.partitions, t.partitions);
    auto undo = [this, t, old]() -> status {
      auto e = store_.write(old);
      remove_logs(t.name, old.partitions, t.partitions);
      return e;
    };
    if (auto u = co_await on_admin_pool(undo); !u)
      lg().error("rolling back new partitions of {}: {}", name, u.error().message());
    co_return s;
  }
  apply(create_partitions_cmd{name, count});
  lg().info("topic {}: {} partition(s), was {}", name, t.partitions, old.partitions);
  co_return ok();
}

awaitable<status> controller::set_topic_configs(std::string name, topic_configs configs,
                                                bool validate_only) {
  co_await lock_admin();
  auto s = co_await set_topic_configs_locked(name, configs, validate_only);
  unlock_admin();
  co_return s;
}

awaitable<status> controller::set_topic_configs_locked(const std::string& name,
                                                       const topic_configs& configs,
                                                       bool validate_only) {
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
  auto files = [this, t]() -> status { return store_.write(t); };
  if (auto s = co_await on_admin_pool(files); !s)
    co_return s;
  apply(set_topic_configs_cmd{name, configs});
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
