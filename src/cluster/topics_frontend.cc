#include "strom/cluster/topics_frontend.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string_view>
#include <tuple>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "strom/base/assert.h"
#include "strom/base/logging.h"
#include "strom/base/random.h"
#include "strom/net/await.h"

namespace strom::cluster {

namespace {
/// Waits `d` on the caller's executor.
awaitable<void> pause_for(std::chrono::steady_clock::duration d) {
  net::asio::steady_timer t(co_await net::asio::this_coro::executor);
  t.expires_after(d);
  boost::system::error_code ec;
  auto wait = t.async_wait(net::asio::redirect_error(net::asio::use_awaitable, ec));
  co_await std::move(wait);
}

spdlog::logger& lg() {
  return logging::get("cluster");
}
error shutting_down() {
  return error(std::make_error_code(std::errc::operation_canceled), "the broker is shutting down");
}
size_t digits(int64_t v) {
  return fmt::formatted_size("{}", v);
}
}  // namespace

namespace {

topic_uuid new_topic_id() {
  topic_uuid id{};
  while (id == topic_uuid{}) {
    for (size_t i = 0; i < id.size(); i += 8) {
      auto v = default_random().next();
      for (size_t j = 0; j < 8; ++j)
        id[i + j] = static_cast<std::byte>(v >> (8 * j));
    }
    // The layout of a random (version 4) UUID.
    id[6] = (id[6] & std::byte{0x0f}) | std::byte{0x40};
    id[8] = (id[8] & std::byte{0x3f}) | std::byte{0x80};
  }
  return id;
}

}  // namespace

/// Topic changes one at a time, and the admin pool tasks they wait for.
struct topics_frontend::admin_state {
  std::mutex mu;  // guards busy, waiters, running
  bool busy = false;
  std::deque<std::function<void(int)>> waiters;
  size_t running = 0;  ///< admin pool tasks not yet finished
  std::condition_variable idle;
  std::atomic<bool> stopping{false};
};

topics_frontend::topics_frontend(partition_manager& partitions, topic_store& store,
                                 topic_table& table, options opts)
    : partitions_(partitions),
      logs_(partitions.logs()),
      store_(store),
      table_(table),
      opts_(std::move(opts)),
      admin_(std::make_shared<admin_state>()) {}

topics_frontend::~topics_frontend() = default;

void topics_frontend::stop() {
  admin_->stopping = true;
  std::unique_lock lock(admin_->mu);
  admin_->idle.wait(lock, [&] { return admin_->running == 0; });
}

awaitable<void> topics_frontend::lock_admin() {
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

void topics_frontend::unlock_admin() {
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
awaitable<status> topics_frontend::on_admin_pool(F fn) {
  auto admin = admin_;
  auto* pool = &logs_.admin_pool();
  auto start = [admin, pool, fn = std::move(fn)](std::function<void(status)> done) mutable {
    {
      std::lock_guard lock(admin->mu);
      ++admin->running;
    }
    pool->submit([admin, fn, done = std::move(done)]() mutable {
      status s = admin->stopping ? status(shutting_down()) : fn();
      // The completion holds the awaiting coroutine's handler: it goes before the count
      // does, for once the count is 0 a stop may destroy the shards' executors.
      std::exchange(done, nullptr)(std::move(s));
      std::lock_guard lock(admin->mu);
      --admin->running;
      admin->idle.notify_all();
    });
  };
  co_return co_await net::await_callback<status>(start);
}

void topics_frontend::apply(const topic_command& cmd) {
  auto rev = topic_revision(table_.revision().value() + 1);
  auto s = table_.apply(rev, cmd);
  STROM_ASSERT(s, "the topic table refused committed change {}: {}", rev.value(),
               s.error().message());
}

status topics_frontend::validate(const topic_metadata& t, bool internal) const {
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
  if (!ctl_ && t.replication_factor != 1) {
    return error(topic_errc::invalid_replication_factor,
                 fmt::format("replication factor {} is larger than the 1 available broker",
                             t.replication_factor));
  }
  if (t.replication_factor < 1 || t.replication_factor > max_replication_factor) {
    return error(topic_errc::invalid_replication_factor,
                 fmt::format("replication factor {}: from 1 to {}", t.replication_factor,
                             max_replication_factor));
  }
  // The offsets topic is compacted through its coordinator's snapshots when replicated.
  if (internal)
    return validate_topic_configs(t.configs);
  return validate_replicated_configs(t.replication_factor, t.configs);
}

result<topic_metadata> topics_frontend::with_partitions(const topic_metadata& old,
                                                        int32_t count) const {
  if (count <= old.partitions) {
    return error(topic_errc::invalid_partitions,
                 fmt::format("topic {} has {} partitions; the new count {} must be larger",
                             old.name, old.partitions, count));
  }
  auto t = old;
  t.partitions = count;
  STROM_TRY(validate(t, is_internal_topic(old.name)));
  return t;
}

status topics_frontend::check_limits(const topic_metadata& t, int32_t added, bool internal) const {
  if (internal)
    return ok();
  int64_t total = 0;
  for (const auto& [_, existing] : *table_.snapshot())
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

void topics_frontend::remove_logs(const std::string& topic, int32_t from, int32_t to) {
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

status topics_frontend::create_files(const topic_metadata& t, int32_t from,
                                     const std::optional<topic_metadata>& previous) {
  auto cfg =
      effective_log_config(partitions_.defaults(), partitions_.with_cluster_defaults(t.configs));
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
    if (!t.hosted_on(made, partitions_.node()))
      continue;
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

awaitable<status> topics_frontend::create_topic(topic_metadata t, bool validate_only,
                                                bool internal) {
  if (ctl_) {
    auto op = cluster_create_topic(std::move(t), validate_only, internal);
    co_return co_await std::move(op);
  }
  co_await lock_admin();
  auto s = co_await create_topic_locked(t, validate_only, internal);
  unlock_admin();
  co_return s;
}

awaitable<status> topics_frontend::create_topic_locked(const topic_metadata& requested,
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
  if (!t.replicas.empty()) {
    // Before validate(): a list naming a second broker is a bad assignment, not a replication
    // factor this broker could never have. Every partition of a single node is here, which
    // the topic records as no replicas.
    if (auto s = check_assignment(t.replicas, t.replication_factor, 0,
                                  [this](int32_t id) { return id == opts_.node_id; });
        !s)
      co_return s;
    t.replicas.clear();
  }
  if (auto s = validate(t, internal); !s)
    co_return s;
  if (table_.snapshot()->contains(t.name))
    co_return error(topic_errc::exists, t.name);
  if (auto s = check_limits(t, t.partitions, internal); !s)
    co_return s;
  if (validate_only)
    co_return ok();
  t.id = new_topic_id();
  auto op = materialize_create(t);
  co_return co_await std::move(op);
}

awaitable<status> topics_frontend::materialize_create(const topic_metadata& t) {
  // Logs, then the topic file (the commit point), off the shards; then the partition objects
  // on their shards; the topic enters the table once it can take writes.
  auto files = [this, t]() -> status { return create_files(t, 0, std::nullopt); };
  if (auto s = co_await on_admin_pool(files); !s)
    co_return s;
  auto make = partitions_.make_partitions(t, 0);
  if (auto s = co_await std::move(make); !s) {
    auto drop = partitions_.drop_partitions(t.name, 0, t.partitions);
    co_await std::move(drop);
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

awaitable<status> topics_frontend::delete_topic(std::string name) {
  if (ctl_) {
    auto op = cluster_delete_topic(std::move(name));
    co_return co_await std::move(op);
  }
  co_await lock_admin();
  auto s = co_await delete_topic_locked(name);
  unlock_admin();
  co_return s;
}

awaitable<status> topics_frontend::delete_topic_locked(const std::string& name) {
  auto topics = table_.snapshot();
  auto it = topics->find(name);
  if (it == topics->end())
    co_return error(topic_errc::not_found, name);
  if (is_internal_topic(name))
    co_return error(topic_errc::reserved_name, name);
  auto op = materialize_delete(it->second);
  co_return co_await std::move(op);
}

awaitable<status> topics_frontend::materialize_delete(const topic_metadata& t) {
  const auto& name = t.name;
  // Off the shards, then the topic file goes (the commit point) and the partition
  // directories are renamed to delete markers and removed; then the topic leaves the table.
  auto drop = partitions_.drop_partitions(name, 0, t.partitions);
  co_await std::move(drop);
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
    auto make = partitions_.make_partitions(t, 0);
    if (auto r = co_await std::move(make); !r) {
      lg().error("topic {}: deletion failed and its partitions could not be reopened: {}", name,
                 r.error().message());
    }
    co_return s;
  }
  apply(delete_topic_cmd{name});
  lg().info("deleted topic {}", name);
  co_return ok();
}

namespace {
/// A client's placement of the partitions topic `old` gains to reach `count` (after
/// with_partitions()): one replica list per new partition, each as check_assignment() accepts
/// for the topic's replication factor.
status check_new_partitions(const topic_metadata& old, int32_t count,
                            const std::vector<std::vector<int32_t>>& assignment,
                            const std::function<bool(int32_t)>& registered) {
  auto added = static_cast<size_t>(count - old.partitions);
  if (assignment.size() != added) {
    return error(topic_errc::invalid_replica_assignment,
                 fmt::format("{} new partition(s) of topic {}, but {} assignment(s)", added,
                             old.name, assignment.size()));
  }
  return check_assignment(assignment, old.replication_factor, old.partitions, registered);
}
}  // namespace

awaitable<status> topics_frontend::create_partitions(
    std::string name, int32_t count, bool validate_only,
    std::optional<std::vector<std::vector<int32_t>>> assignment) {
  if (ctl_) {
    auto op =
        cluster_create_partitions(std::move(name), count, validate_only, std::move(assignment));
    co_return co_await std::move(op);
  }
  co_await lock_admin();
  auto s = co_await create_partitions_locked(name, count, validate_only, assignment);
  unlock_admin();
  co_return s;
}

awaitable<status> topics_frontend::create_partitions_locked(
    const std::string& name, int32_t count, bool validate_only,
    const std::optional<std::vector<std::vector<int32_t>>>& assignment) {
  auto topics = table_.snapshot();
  auto it = topics->find(name);
  if (it == topics->end())
    co_return error(topic_errc::not_found, name);
  const auto old = it->second;
  auto grown = with_partitions(old, count);
  if (!grown)
    co_return grown.error();
  const auto& t = *grown;
  // Every partition of a single node is here: an assignment can only name this broker, and
  // there is nothing to record of it.
  if (assignment) {
    auto here = [this](int32_t id) { return id == opts_.node_id; };
    if (auto s = check_new_partitions(old, count, *assignment, here); !s)
      co_return s;
  }
  bool internal = is_internal_topic(name);
  if (auto s = check_limits(t, count - old.partitions, internal); !s)
    co_return s;
  if (validate_only)
    co_return ok();
  auto op = materialize_grow(old, t);
  co_return co_await std::move(op);
}

awaitable<status> topics_frontend::materialize_grow(const topic_metadata& old,
                                                    const topic_metadata& t) {
  const auto& name = t.name;
  auto files = [this, t, old]() -> status { return create_files(t, old.partitions, old); };
  if (auto s = co_await on_admin_pool(files); !s)
    co_return s;
  auto make = partitions_.make_partitions(t, old.partitions);
  if (auto s = co_await std::move(make); !s) {
    auto drop = partitions_.drop_partitions(name, old.partitions, t.partitions);
    co_await std::move(drop);
    auto undo = [this, t, old]() -> status {
      auto e = store_.write(old);
      remove_logs(t.name, old.partitions, t.partitions);
      return e;
    };
    if (auto u = co_await on_admin_pool(undo); !u)
      lg().error("rolling back new partitions of {}: {}", name, u.error().message());
    co_return s;
  }
  apply(create_partitions_cmd{name, t.partitions, t.replicas});
  lg().info("topic {}: {} partition(s), was {}", name, t.partitions, old.partitions);
  co_return ok();
}

awaitable<status> topics_frontend::set_topic_configs(std::string name, topic_configs configs,
                                                     bool validate_only) {
  if (ctl_) {
    auto op = cluster_set_topic_configs(std::move(name), std::move(configs), validate_only);
    co_return co_await std::move(op);
  }
  co_await lock_admin();
  auto s = co_await set_topic_configs_locked(name, configs, validate_only);
  unlock_admin();
  co_return s;
}

awaitable<status> topics_frontend::set_topic_configs_locked(const std::string& name,
                                                            const topic_configs& configs,
                                                            bool validate_only) {
  auto topics = table_.snapshot();
  auto it = topics->find(name);
  if (it == topics->end())
    co_return error(topic_errc::not_found, name);
  if (auto s = validate_topic_configs(configs); !s)
    co_return s;
  if (validate_only)
    co_return ok();
  auto t = it->second;
  t.configs = configs;
  auto op = materialize_configs(t);
  co_return co_await std::move(op);
}

awaitable<status> topics_frontend::set_cluster_configs(topic_configs set,
                                                       std::vector<std::string> remove,
                                                       bool replace, bool validate_only) {
  for (const auto& [k, v] : set) {
    if (auto s = validate_cluster_config(k, v); !s)
      co_return s;
  }
  if (validate_only)
    co_return ok();
  if (ctl_) {
    // A broker behind the controller would describe (and so rewrite) an older set: wait a
    // little for it to catch up (it does within a heartbeat or two of starting).
    for (int i = 0; i < 100 && !ctl_->view()->caught_up && !admin_->stopping; ++i) {
      auto pause = pause_for(std::chrono::milliseconds(50));
      co_await std::move(pause);
    }
    if (!ctl_->view()->caught_up) {
      co_return error(controller_errc::not_controller,
                      "this broker has not caught up with the controller yet; retry");
    }
    auto op = submit_and_reconcile(
        set_cluster_configs_cmd{std::move(set), std::move(remove), replace}, "(cluster configs)");
    co_return co_await std::move(op);
  }
  co_await lock_admin();
  auto next = replace ? topic_configs{} : cluster_configs();
  for (const auto& [k, v] : set)
    next[k] = v;
  for (const auto& k : remove)
    next.erase(k);
  auto files = [this, next]() -> status { return store_.write_cluster_configs(next); };
  auto s = co_await on_admin_pool(files);
  if (s) {
    auto op = apply_cluster_configs(next);
    co_await std::move(op);
  }
  unlock_admin();
  co_return s;
}

awaitable<status> topics_frontend::reassign_partition(
    std::string topic, int32_t partition, std::optional<std::vector<int32_t>> replicas) {
  auto view = ctl_ ? ctl_->view() : nullptr;
  auto topics = view ? view->topics : table_.snapshot();
  auto it = topics->find(topic);
  if (it == topics->end())
    co_return error(topic_errc::not_found, topic);
  const auto& t = it->second;
  if (partition < 0 || partition >= t.partitions)
    co_return error(topic_errc::not_found, fmt::format("{} has no partition {}", topic, partition));
  if (!ctl_) {
    if (!replicas)
      co_return error(topic_errc::no_reassignment, fmt::format("{}-{}", topic, partition));
    co_return error(topic_errc::invalid_replica_assignment,
                    "a single-node broker has no other broker to move replicas to");
  }
  if (replicas) {
    const auto& r = *replicas;
    if (r.empty())
      co_return error(topic_errc::invalid_replica_assignment, "no replica named");
    if (r.size() > static_cast<size_t>(max_replication_factor))
      co_return error(
          topic_errc::invalid_replica_assignment,
          fmt::format("{} replicas; a partition has at most {}", r.size(), max_replication_factor));
    for (size_t i = 0; i < r.size(); ++i) {
      if (std::find(r.begin(), r.begin() + static_cast<ptrdiff_t>(i), r[i]) !=
          r.begin() + static_cast<ptrdiff_t>(i))
        co_return error(topic_errc::invalid_replica_assignment,
                        fmt::format("broker {} named twice", r[i]));
      if (!view->brokers.contains(r[i]))
        co_return error(topic_errc::invalid_replica_assignment,
                        fmt::format("broker {} is not registered", r[i]));
    }
  } else if (!t.moving.contains(partition)) {
    co_return error(topic_errc::no_reassignment, fmt::format("{}-{}", topic, partition));
  }
  move_partition_cmd cmd{topic, t.id, partition, replicas.value_or(std::vector<int32_t>{})};
  auto op = submit_and_reconcile(std::move(cmd), topic);
  co_return co_await std::move(op);
}

std::vector<topics_frontend::reassignment> topics_frontend::reassignments() const {
  std::vector<reassignment> out;
  if (!ctl_)
    return out;
  auto view = ctl_->view();
  for (const auto& [name, t] : *view->topics) {
    for (const auto& [p, target] : t.moving) {
      if (p < 0 || static_cast<size_t>(p) >= t.replicas.size())
        continue;
      const auto& from = t.replicas[static_cast<size_t>(p)];
      reassignment r;
      r.topic = name;
      r.partition = p;
      r.replicas = target;
      for (auto b : target) {
        if (std::find(from.begin(), from.end(), b) == from.end())
          r.adding.push_back(b);
      }
      for (auto b : from) {
        if (std::find(target.begin(), target.end(), b) == target.end()) {
          r.removing.push_back(b);
          r.replicas.push_back(b);
        }
      }
      out.push_back(std::move(r));
    }
  }
  return out;
}

topic_configs topics_frontend::cluster_configs() const {
  if (ctl_)
    return ctl_->view()->cluster_configs;
  std::lock_guard lock(cluster_configs_mu_);
  return cluster_configs_;
}

std::shared_ptr<const security_state> topics_frontend::security() const {
  if (ctl_)
    return ctl_->view()->security;
  std::lock_guard lock(cluster_configs_mu_);
  return security_;
}

void topics_frontend::load_security(security_state s) {
  std::lock_guard lock(cluster_configs_mu_);
  security_ = std::make_shared<const security_state>(std::move(s));
}

awaitable<status> topics_frontend::alter_security(security_change change) {
  if (ctl_) {
    auto cmd = std::visit([](auto& c) { return controller_command(c); }, change);
    auto op = submit(std::move(cmd));
    co_return co_await std::move(op);
  }
  co_await lock_admin();
  auto next = std::make_shared<security_state>(*security());
  auto s = std::visit([&next](const auto& c) { return next->apply(c); }, change);
  if (s) {
    auto files = [this, next]() -> status { return store_.write_security(*next); };
    auto op = on_admin_pool(files);
    s = co_await std::move(op);
  }
  if (s) {
    std::lock_guard lock(cluster_configs_mu_);
    security_ = std::move(next);
  }
  unlock_admin();
  co_return s;
}

topic_configs topics_frontend::applied_cluster_configs() const {
  std::lock_guard lock(cluster_configs_mu_);
  return cluster_configs_;
}

void topics_frontend::load_cluster_configs(const topic_configs& broker_level) {
  {
    std::lock_guard lock(cluster_configs_mu_);
    cluster_configs_ = broker_level;
  }
  partitions_.set_cluster_defaults(cluster_defaults_by_topic_name(broker_level));
}

awaitable<void> topics_frontend::apply_cluster_configs(const topic_configs& broker_level) {
  if (applied_cluster_configs() == broker_level)
    co_return;
  if (ctl_) {
    // This broker's copy, so that a restart starts with them before it caught up.
    auto files = [this, broker_level]() -> status {
      return store_.write_cluster_configs(broker_level);
    };
    auto op = on_admin_pool(files);
    if (auto s = co_await std::move(op); !s)
      lg().warn("cluster-wide configs: keeping this broker's copy failed: {}", s.error().message());
  }
  load_cluster_configs(broker_level);
  auto topics = table_.snapshot();
  for (const auto& [name, t] : *topics) {
    auto op = partitions_.update_configs(t);
    co_await std::move(op);
  }
  lg().info("cluster-wide configs: {}",
            broker_level.empty() ? std::string("none") : fmt::format("{}", broker_level));
}

awaitable<status> topics_frontend::materialize_configs(const topic_metadata& t) {
  auto files = [this, t]() -> status { return store_.write(t); };
  if (auto s = co_await on_admin_pool(files); !s)
    co_return s;
  apply(set_topic_configs_cmd{t.name, t.configs});
  auto update = partitions_.update_configs(t);
  co_await std::move(update);
  co_return ok();
}

// --- The cluster path -------------------------------------------------------------------

void topics_frontend::attach_controller(controller* ctl, int32_t self) {
  ctl_ = ctl;
  self_ = self;
  partitions_.runtime().spawn(0, [this] { return import_local_topics(); });
  partitions_.runtime().spawn(0, [this] { return usage_loop(); });
}

void topics_frontend::kick_moves() {
  auto view = ctl_->view();
  bool decommissions = view->controller_id == self_ &&
                       (opts_.continuous_balancing ||
                        std::any_of(view->brokers.begin(), view->brokers.end(),
                                    [](const auto& b) { return b.second.decommissioned; }));
  if (!decommissions || admin_->stopping)
    return;
  decommission_pending_ = true;
  if (!decommission_running_) {
    decommission_running_ = true;
    partitions_.runtime().spawn(0, [this] { return drive_decommissions(); });
  }
}

std::vector<partition_bytes> topics_frontend::local_usage() const {
  std::lock_guard lock(usage_mu_);
  return local_usage_;
}

awaitable<void> topics_frontend::usage_loop() {
  while (!admin_->stopping) {
    auto infos = partitions_.partition_infos();
    auto parts = co_await std::move(infos);
    std::vector<partition_bytes> led;
    for (const auto& i : parts) {
      if (i.leader && i.online)
        led.push_back({i.name.topic, i.name.partition.value(),
                       static_cast<int64_t>(std::min<uint64_t>(i.size_bytes, INT64_MAX))});
    }
    {
      std::lock_guard lock(usage_mu_);
      local_usage_ = std::move(led);
    }
    if (opts_.continuous_balancing)
      kick_moves();
    auto pause = pause_for(opts_.usage_interval);
    co_await std::move(pause);
  }
}

void topics_frontend::on_cluster_change() {
  kick_moves();
  reconcile_pending_ = true;
  if (reconcile_running_ || admin_->stopping)
    return;
  reconcile_running_ = true;
  partitions_.runtime().spawn(0, [this] { return reconcile_loop(); });
}

std::optional<std::vector<int32_t>> topics_frontend::without_broker(
    const cluster_view& view, const topic_metadata& t, int32_t p, int32_t gone,
    const std::map<int32_t, int64_t>& load) {
  auto target = t.target_replicas(p);
  auto pos = std::find(target.begin(), target.end(), gone);
  if (pos == target.end())
    return target;
  std::optional<std::string> rack;
  if (auto g = view.brokers.find(gone); g != view.brokers.end())
    rack = g->second.reg.rack;
  std::optional<int32_t> best;
  bool best_same_rack = false;
  for (const auto& b : view.placeable_brokers()) {
    if (std::find(target.begin(), target.end(), b.id) != target.end())
      continue;
    bool same_rack = rack && b.rack == rack;
    auto l = load.contains(b.id) ? load.at(b.id) : 0;
    auto best_load = best && load.contains(*best) ? load.at(*best) : 0;
    if (!best || (same_rack && !best_same_rack) || (same_rack == best_same_rack && l < best_load)) {
      best = b.id;
      best_same_rack = same_rack;
    }
  }
  if (!best)
    return std::nullopt;
  *pos = *best;
  return target;
}

awaitable<void> topics_frontend::drive_decommissions() {
  while (decommission_pending_ && !admin_->stopping) {
    decommission_pending_ = false;
    auto view = ctl_->view();
    if (view->controller_id != self_ || !view->caught_up)
      continue;
    size_t in_flight = 0;
    std::map<int32_t, int64_t> load;  // replicas per broker, moves' targets counted
    for (const auto& [name, t] : *view->topics) {
      in_flight += t.moving.size();
      for (int32_t p = 0; p < t.partitions; ++p) {
        for (auto b : t.target_replicas(p))
          ++load[b];
      }
    }
    std::vector<move_partition_cmd> moves;
    for (const auto& [id, b] : view->brokers) {
      if (!b.decommissioned)
        continue;
      for (const auto& [name, t] : *view->topics) {
        for (int32_t p = 0; p < t.partitions && in_flight + moves.size() < decommission_moves;
             ++p) {
          auto target = t.target_replicas(p);
          if (t.moving.contains(p) || std::find(target.begin(), target.end(), id) == target.end())
            continue;
          auto next = without_broker(*view, t, p, id, load);
          if (!next)
            continue;  // nowhere to go: decommission_status() counts it as stuck
          for (auto r : *next)
            ++load[r];
          moves.push_back(move_partition_cmd{name, t.id, p, std::move(*next)});
        }
      }
    }
    enum class why { decommission, balancing, disk } reason = why::decommission;
    if (moves.empty() && opts_.continuous_balancing && in_flight < decommission_moves) {
      moves = balancing_moves(*view, load, decommission_moves - in_flight);
      reason = why::balancing;
      if (moves.empty()) {
        // Replica counts are even: disk usage next, once every broker reported it.
        if (auto sizes = ctl_->partition_usage()) {
          moves = disk_balancing_moves(*view, *sizes, opts_.disk, decommission_moves - in_flight);
          reason = why::disk;
        }
      }
    }
    static constexpr std::array<std::string_view, 3> names{"decommission", "balancing",
                                                           "balancing disk usage"};
    for (auto& m : moves) {
      auto name = names[static_cast<size_t>(reason)];
      lg().info("{}: moving {}-{} to brokers {}", name, m.name, m.partition,
                fmt::join(m.target, ","));
      auto op = submit(std::move(m));
      if (auto s = co_await std::move(op); !s)
        lg().warn("{}: a move: {}", name, s.error().message());
      else
        ++(reason == why::decommission ? decommission_moves_
           : reason == why::balancing  ? balancing_moves_
                                       : disk_moves_);
    }
  }
  decommission_running_ = false;
}

awaitable<std::vector<std::pair<int32_t, status>>> topics_frontend::elect_preferred(
    std::string topic, std::vector<int32_t> partitions, std::chrono::milliseconds timeout) {
  std::vector<std::pair<int32_t, status>> out;
  auto view = ctl_ ? ctl_->view() : nullptr;
  auto topics = view ? view->topics : table_.snapshot();
  auto it = topics->find(topic);
  std::vector<int32_t> asked;
  for (auto p : partitions) {
    if (it == topics->end() || p < 0 || p >= it->second.partitions) {
      out.emplace_back(p, error(topic_errc::not_found, fmt::format("{}-{}", topic, p)));
      continue;
    }
    const auto& t = it->second;
    auto target = t.target_replicas(p);
    auto leader = view ? view->elected_leader(topic, p) : std::nullopt;
    if (!view || target.size() < 2 || (leader && leader->leader == target.front())) {
      out.emplace_back(p, error(topic_errc::election_not_needed, fmt::format("{}-{}", topic, p)));
      continue;
    }
    auto b = view->brokers.find(target.front());
    if (b == view->brokers.end() || b->second.fenced) {
      out.emplace_back(p, error(topic_errc::preferred_leader_unavailable,
                                fmt::format("{}-{}: broker {}", topic, p, target.front())));
      continue;
    }
    asked.push_back(p);
  }
  if (asked.empty())
    co_return out;
  auto op = submit(elect_preferred_cmd{topic, it->second.id, asked});
  if (auto s = co_await std::move(op); !s) {
    for (auto p : asked)
      out.emplace_back(p, s);
    co_return out;
  }
  // Done once the controller records the preferred replica as the leader.
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    view = ctl_->view();
    bool pending = false;
    for (auto p : asked)
      pending = pending || view->preferred_elections->contains({topic, p});
    if (!pending || std::chrono::steady_clock::now() >= deadline || admin_->stopping)
      break;
    auto pause = pause_for(std::chrono::milliseconds(50));
    co_await std::move(pause);
  }
  for (auto p : asked) {
    if (view->preferred_elections->contains({topic, p}))
      out.emplace_back(p, error(controller_errc::timeout,
                                fmt::format("{}-{}: its preferred replica does not lead yet; "
                                            "it will once it holds the whole log",
                                            topic, p)));
    else
      out.emplace_back(p, ok());
  }
  co_return out;
}

std::vector<move_partition_cmd> topics_frontend::balancing_moves(const cluster_view& view,
                                                                 std::map<int32_t, int64_t> load,
                                                                 size_t room) {
  std::vector<move_partition_cmd> out;
  std::map<int32_t, int64_t> count;  // the brokers that may take replicas
  for (const auto& b : view.placeable_brokers())
    count[b.id] = load.contains(b.id) ? load.at(b.id) : 0;
  if (count.size() < 2)
    return out;
  std::set<std::pair<std::string, int32_t>> taken;
  while (out.size() < room) {
    auto [lo, hi] = std::minmax_element(count.begin(), count.end(), [](auto& a, auto& b) {
      return a.second < b.second || (a.second == b.second && a.first < b.first);
    });
    if (hi->second - lo->second <= 1)
      break;
    auto from = hi->first;
    auto to = lo->first;
    std::optional<move_partition_cmd> found;
    for (const auto& [name, t] : *view.topics) {
      for (int32_t p = 0; p < t.partitions && !found; ++p) {
        if (t.replicas.empty() || t.moving.contains(p) || taken.contains({name, p}))
          continue;
        auto target = t.target_replicas(p);
        if (std::find(target.begin(), target.end(), from) == target.end() ||
            std::find(target.begin(), target.end(), to) != target.end())
          continue;
        if (!keeps_racks_apart(view, target, from, to))
          continue;
        std::replace(target.begin(), target.end(), from, to);
        found = move_partition_cmd{name, t.id, p, std::move(target)};
      }
      if (found)
        break;
    }
    if (!found)
      break;
    taken.insert({found->name, found->partition});
    --count[from];
    ++count[to];
    out.push_back(std::move(*found));
  }
  return out;
}

awaitable<status> topics_frontend::decommission_broker(int32_t id, bool on) {
  if (!ctl_)
    co_return error(topic_errc::invalid_replica_assignment,
                    "a single-node broker has no other broker to move replicas to");
  auto view = ctl_->view();
  if (!view->brokers.contains(id))
    co_return error(controller_errc::unknown_broker, fmt::format("broker {}", id));
  auto op = submit(decommission_broker_cmd{id, on});
  if (auto s = co_await std::move(op); !s)
    co_return s;
  if (on)
    co_return ok();
  // Recommissioned: the moves taking replicas off it stop (their partitions keep it).
  view = ctl_->view();
  for (const auto& [name, t] : *view->topics) {
    for (const auto& [p, target] : t.moving) {
      const auto& from = t.replicas[static_cast<size_t>(p)];
      if (std::find(from.begin(), from.end(), id) == from.end() ||
          std::find(target.begin(), target.end(), id) != target.end())
        continue;
      auto cancel = submit(move_partition_cmd{name, t.id, p, {}});
      if (auto s = co_await std::move(cancel); !s && !s.error().is(topic_errc::no_reassignment))
        lg().warn("recommission of broker {}: cancelling the move of {}-{}: {}", id, name, p,
                  s.error().message());
    }
  }
  co_return ok();
}

result<topics_frontend::decommission_progress> topics_frontend::decommission_status(
    int32_t id) const {
  if (!ctl_)
    return error(controller_errc::unknown_broker, "a single-node broker");
  auto view = ctl_->view();
  auto b = view->brokers.find(id);
  if (b == view->brokers.end())
    return error(controller_errc::unknown_broker, fmt::format("broker {}", id));
  decommission_progress out;
  out.broker = id;
  out.decommissioned = b->second.decommissioned;
  std::map<int32_t, int64_t> none;
  for (const auto& [name, t] : *view->topics) {
    for (int32_t p = 0; p < t.partitions; ++p) {
      if (!t.hosted_on(p, id) || t.replicas.empty())
        continue;
      ++out.replicas;
      auto target = t.target_replicas(p);
      bool leaving = std::find(target.begin(), target.end(), id) == target.end();
      if (t.moving.contains(p) && leaving)
        ++out.moving;
      else if (out.decommissioned && !leaving && !without_broker(*view, t, p, id, none))
        ++out.stuck;
    }
  }
  return out;
}

awaitable<void> topics_frontend::reconcile_loop() {
  while (reconcile_pending_ && !admin_->stopping) {
    reconcile_pending_ = false;
    auto op = reconcile();
    if (auto s = co_await std::move(op); !s && !admin_->stopping) {
      STROM_LOG_LIMITED(lg(), warn,
                        "topics: bringing this broker up to the controller failed ({}); retrying",
                        s.error().message());
      auto pause = pause_for(std::chrono::seconds(1));
      co_await std::move(pause);
      reconcile_pending_ = true;
    }
  }
  reconcile_running_ = false;
}

awaitable<status> topics_frontend::reconcile() {
  co_await lock_admin();
  auto op = reconcile_locked();
  auto s = co_await std::move(op);
  unlock_admin();
  co_return s;
}

awaitable<status> topics_frontend::reconcile_locked() {
  auto view = ctl_->view();
  if (!view->caught_up)
    co_return ok();  // the view may be older than the topic files: wait for it
  auto configs = apply_cluster_configs(view->cluster_configs);
  co_await std::move(configs);
  const auto& desired = *view->topics;
  status result = ok();
  auto note = [&result](status s) {
    if (!s && result)
      result = s;
  };
  // Topics the controller deleted (or replaced by a new topic of the same name). Topics
  // without replicas are this broker's own from before it joined: never deleted here.
  auto actual = table_.snapshot();
  for (const auto& [name, t] : *actual) {
    if (t.replicas.empty())
      continue;
    auto it = desired.find(name);
    if (it != desired.end() && it->second.id == t.id)
      continue;
    auto op = materialize_delete(t);
    auto s = co_await std::move(op);
    note(s);
  }
  actual = table_.snapshot();
  for (const auto& [name, d] : desired) {
    auto it = actual->find(name);
    if (it == actual->end()) {
      auto op = materialize_create(d);
      auto s = co_await std::move(op);
      note(s);
      continue;
    }
    const auto& a = it->second;
    if (a.replicas.empty()) {
      auto op = materialize_adopt(a, d);
      auto s = co_await std::move(op);
      note(s);
      continue;
    }
    if (a.id != d.id)
      continue;  // its deletion failed above: the next pass
    if (d.partitions > a.partitions) {
      auto grown = a;
      grown.partitions = d.partitions;
      grown.replicas = d.replicas;
      auto op = materialize_grow(a, grown);
      auto s = co_await std::move(op);
      note(s);
      if (!s)
        continue;
    }
    if (d.configs != a.configs) {
      auto t = d;
      auto op = materialize_configs(t);
      auto s = co_await std::move(op);
      note(s);
    }
    auto now = table_.snapshot()->find(name);
    if (now != table_.snapshot()->end() && now->second.partitions == d.partitions &&
        (now->second.replicas != d.replicas || now->second.moving != d.moving)) {
      auto before = now->second;
      auto op = materialize_moves(before, d);
      auto s = co_await std::move(op);
      note(s);
    }
  }
  // Brought up to a view that caught up: this broker's topics are current (a step that failed
  // is retried, and is logged).
  if (result)
    partitions_.replicas_restored();
  current_.store(true, std::memory_order_release);
  if (view->applied_index > reconciled_index_.load(std::memory_order_relaxed))
    reconciled_index_.store(view->applied_index, std::memory_order_release);
  co_return result;
}

awaitable<bool> topics_frontend::sync_view(std::chrono::milliseconds limit) {
  auto* ctl = ctl_;
  auto op = partitions_.runtime().invoke_on(0, [ctl, limit]() { return ctl->sync(limit); });
  auto s = co_await std::move(op);
  if (!s)
    STROM_LOG_LIMITED(lg(), debug, "catching up with the controller: {}", s.error().message());
  co_return s.has_value();
}

awaitable<bool> topics_frontend::catch_up(std::chrono::milliseconds limit) {
  if (!ctl_)
    co_return true;
  auto deadline = std::chrono::steady_clock::now() + limit;
  auto synced = sync_view(limit);
  if (!co_await std::move(synced))
    co_return false;
  // The view has it; the reconciler (woken by the view's change) brings the topics up to it.
  auto target = ctl_->view()->applied_index;
  while (reconciled_index_.load(std::memory_order_acquire) < target && !admin_->stopping &&
         std::chrono::steady_clock::now() < deadline) {
    auto pause = pause_for(std::chrono::milliseconds(5));
    co_await std::move(pause);
  }
  co_return reconciled_index_.load(std::memory_order_acquire) >= target;
}

awaitable<bool> topics_frontend::wait_current(std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!current() && !admin_->stopping && std::chrono::steady_clock::now() < deadline) {
    auto pause = pause_for(std::chrono::milliseconds(20));
    co_await std::move(pause);
  }
  co_return current();
}

awaitable<status> topics_frontend::materialize_moves(const topic_metadata& old,
                                                     const topic_metadata& t) {
  // Each partition whose assignment changed: its replica here is made, told its new
  // assignment, or dropped (a move that ended without this broker, or was cancelled before it
  // joined); then the logs of the dropped ones go and the topic file takes the assignment.
  std::vector<int32_t> dropped;
  status result = ok();
  for (int32_t p = 0; p < t.partitions; ++p) {
    auto idx = static_cast<size_t>(p);
    auto moving_to = [p](const topic_metadata& x) {
      auto m = x.moving.find(p);
      return m == x.moving.end() ? std::vector<int32_t>{} : m->second;
    };
    if (idx < old.replicas.size() && old.replicas[idx] == t.replicas[idx] &&
        moving_to(old) == moving_to(t))
      continue;
    auto op = partitions_.reassign(t, p);
    auto r = co_await std::move(op);
    if (!r) {
      lg().warn("{}-{}: taking its new replica assignment here: {}", t.name, p,
                r.error().message());
      if (result)
        result = r.error();
      continue;
    }
    if (*r)
      dropped.push_back(p);
  }
  if (!result)
    co_return result;  // the next pass tries again; the table keeps the old assignment
  auto files = [this, t, dropped]() -> status {
    for (auto p : dropped) {
      model::ntp n{t.name, model::partition_id(p)};
      if (logs_.get(n) == nullptr)
        continue;
      if (auto s = logs_.remove(n); !s)
        lg().warn("{}: removing the replica that left: {}", n.dir_name(), s.error().message());
      else
        lg().info("{}: the replica here left the partition; its log is removed", n.dir_name());
    }
    return store_.write(t);
  };
  if (auto s = co_await on_admin_pool(files); !s)
    co_return s;  // the next pass writes it again
  apply(replace_topic_cmd{t});
  co_return ok();
}

awaitable<status> topics_frontend::materialize_adopt(const topic_metadata& old,
                                                     const topic_metadata& t) {
  // The data stays: the topic gets the cluster's id and assignment. Partitions the cluster
  // has elsewhere stop serving here (their directories stay, set aside at the next start).
  if (t.partitions > old.partitions) {
    auto files = [this, t, old]() -> status { return create_files(t, old.partitions, old); };
    if (auto s = co_await on_admin_pool(files); !s)
      co_return s;
    auto make = partitions_.make_partitions(t, old.partitions);
    if (auto s = co_await std::move(make); !s)
      co_return s;
  } else {
    auto files = [this, t]() -> status { return store_.write(t); };
    if (auto s = co_await on_admin_pool(files); !s)
      co_return s;
  }
  for (int32_t p = 0; p < std::min(old.partitions, t.partitions); ++p) {
    if (!t.hosted_on(p, partitions_.node())) {
      auto drop = partitions_.drop_partitions(t.name, p, p + 1);
      co_await std::move(drop);
    }
  }
  apply(replace_topic_cmd{t});
  if (t.configs != old.configs) {
    auto update = partitions_.update_configs(t);
    co_await std::move(update);
  }
  lg().info("topic {} joined the cluster's topics", t.name);
  co_return ok();
}

awaitable<void> topics_frontend::import_local_topics() {
  // Once this broker caught up with the controller, offer it the topics it had before it
  // joined.
  while (!admin_->stopping && !ctl_->view()->caught_up) {
    auto pause = pause_for(std::chrono::milliseconds(100));
    co_await std::move(pause);
  }
  auto topics = table_.snapshot();
  for (const auto& [name, t] : *topics) {
    if (admin_->stopping)
      co_return;
    if (!t.replicas.empty() || ctl_->view()->topics->contains(name))
      continue;
    auto offered = t;
    if (offered.id == topic_uuid{})
      offered.id = new_topic_id();
    offered.replication_factor = 1;
    offered.replicas.assign(static_cast<size_t>(t.partitions), std::vector<int32_t>{self_});
    auto op = submit(add_topic_cmd{offered});
    auto s = co_await std::move(op);
    if (s)
      lg().info("topic {} (this broker's before it joined the cluster) offered to the controller",
                name);
    else if (!s.error().is(topic_errc::exists))
      lg().warn("topic {} could not be offered to the controller: {}", name, s.error().message());
  }
  auto op = reconcile();
  if (auto s = co_await std::move(op); !s)
    lg().warn("topics: {}", s.error().message());
}

awaitable<status> topics_frontend::submit_and_reconcile(controller_command cmd, std::string topic) {
  auto op = submit(std::move(cmd));
  if (auto s = co_await std::move(op); !s)
    co_return s;
  // The cluster took the change: it is answered as done even when this broker's part of it
  // failed (the reconciler retries that).
  auto rec = reconcile();
  if (auto s = co_await std::move(rec); !s)
    lg().warn("topic {}: applying the cluster's change on this broker failed: {}", topic,
              s.error().message());
  co_return ok();
}

awaitable<status> topics_frontend::submit(controller_command cmd) {
  auto* ctl = ctl_;
  auto op = partitions_.runtime().invoke_on(0, [ctl, cmd]() { return ctl->submit(cmd); });
  auto r = co_await std::move(op);
  if (!r)
    co_return r.error();
  co_return ok();
}

result<std::vector<std::vector<int32_t>>> place_replicas(const cluster_view& view, int32_t count,
                                                         int16_t replication_factor,
                                                         int64_t max_per_broker) {
  struct load {
    int64_t replicas = 0;
    int64_t leaders = 0;
    std::optional<std::string> rack;
  };
  std::map<int32_t, load> brokers;
  for (const auto& b : view.placeable_brokers())
    brokers[b.id].rack = b.rack;
  if (brokers.empty())
    return error(controller_errc::not_controller, "no live broker is registered yet");
  if (static_cast<size_t>(replication_factor) > brokers.size()) {
    return error(topic_errc::invalid_replication_factor,
                 fmt::format("replication factor {} is larger than the {} live broker(s)",
                             replication_factor, brokers.size()));
  }
  for (const auto& [name, t] : *view.topics) {
    for (const auto& r : t.replicas) {
      for (size_t i = 0; i < r.size(); ++i) {
        auto it = brokers.find(r[i]);
        if (it == brokers.end())
          continue;
        ++it->second.replicas;
        if (i == 0)
          ++it->second.leaders;
      }
    }
  }
  std::vector<std::vector<int32_t>> out;
  out.reserve(static_cast<size_t>(count));
  for (int32_t p = 0; p < count; ++p) {
    std::vector<int32_t> chosen;
    std::set<std::string> racks;
    for (int16_t k = 0; k < replication_factor; ++k) {
      std::optional<int32_t> best;
      auto key = [&](int32_t id) {
        const auto& l = brokers.at(id);
        bool rack_used = l.rack && racks.contains(*l.rack);
        return std::make_tuple(rack_used, l.replicas, k == 0 ? l.leaders : 0, id);
      };
      for (const auto& [id, l] : brokers) {
        if (std::find(chosen.begin(), chosen.end(), id) != chosen.end())
          continue;
        if (!best || key(id) < key(*best))
          best = id;
      }
      auto& l = brokers.at(*best);
      ++l.replicas;
      if (k == 0)
        ++l.leaders;
      if (l.rack)
        racks.insert(*l.rack);
      chosen.push_back(*best);
    }
    out.push_back(std::move(chosen));
  }
  for (const auto& [id, l] : brokers) {
    if (max_per_broker >= 0 && l.replicas > max_per_broker) {
      return error(topic_errc::partition_limit,
                   fmt::format("{} new partition(s) would make {} on broker {}, more than the {} "
                               "allowed (cluster_defaults.topics.max_partitions_per_broker)",
                               count, l.replicas, id, max_per_broker));
    }
  }
  return out;
}

status check_assignment(const std::vector<std::vector<int32_t>>& replicas,
                        int16_t replication_factor, int32_t first,
                        const std::function<bool(int32_t)>& registered) {
  for (size_t p = 0; p < replicas.size(); ++p) {
    const auto& r = replicas[p];
    auto partition = first + static_cast<int32_t>(p);
    if (r.empty() || r.size() != static_cast<size_t>(replication_factor)) {
      return error(topic_errc::invalid_replica_assignment,
                   fmt::format("partition {}: {} replica(s), where the replication factor is {}",
                               partition, r.size(), replication_factor));
    }
    for (size_t i = 0; i < r.size(); ++i) {
      if (std::find(r.begin(), r.begin() + static_cast<ptrdiff_t>(i), r[i]) !=
          r.begin() + static_cast<ptrdiff_t>(i)) {
        return error(topic_errc::invalid_replica_assignment,
                     fmt::format("partition {}: broker {} named twice", partition, r[i]));
      }
      if (!registered(r[i])) {
        return error(topic_errc::invalid_replica_assignment,
                     fmt::format("partition {}: broker {} is not registered", partition, r[i]));
      }
    }
  }
  return ok();
}

status check_broker_limit(const cluster_view& view, const std::vector<std::vector<int32_t>>& added,
                          int64_t max_per_broker) {
  if (max_per_broker < 0)
    return ok();
  std::map<int32_t, int64_t> load;
  for (const auto& r : added) {
    for (auto id : r)
      ++load[id];
  }
  for (const auto& [name, t] : *view.topics) {
    for (const auto& r : t.replicas) {
      for (auto id : r) {
        if (auto it = load.find(id); it != load.end())
          ++it->second;
      }
    }
  }
  for (const auto& [id, n] : load) {
    if (n > max_per_broker) {
      return error(topic_errc::partition_limit,
                   fmt::format("{} new partition(s) would make {} on broker {}, more than the {} "
                               "allowed (cluster_defaults.topics.max_partitions_per_broker)",
                               added.size(), n, id, max_per_broker));
    }
  }
  return ok();
}

awaitable<status> topics_frontend::cluster_create_topic(topic_metadata t, bool validate_only,
                                                        bool internal) {
  if (is_internal_topic(t.name) && !internal) {
    co_return error(topic_errc::reserved_name,
                    t.name + ": names starting with \"__\" are reserved");
  }
  if (t.partitions == -1)
    t.partitions = opts_.default_partitions;
  if (t.replication_factor == -1)
    t.replication_factor = opts_.default_replication_factor;
  if (t.replicas.empty()) {
    if (auto s = validate(t, internal); !s)
      co_return s;
  }
  auto synced = sync_view(opts_.catch_up_wait);
  co_await std::move(synced);
  auto view = ctl_->view();
  if (view->topics->contains(t.name))
    co_return error(topic_errc::exists, t.name);
  if (!t.replicas.empty()) {
    // The client's own assignment (CreateTopics assignments), checked before validate(), as
    // on a single node: lists naming brokers that are not there are a bad assignment, not a
    // replication factor out of range.
    auto registered = [&view](int32_t id) { return view->brokers.contains(id); };
    if (auto s = check_assignment(t.replicas, t.replication_factor, 0, registered); !s)
      co_return s;
    if (auto s = validate(t, internal); !s)
      co_return s;
    auto limit = internal ? -1 : opts_.max_partitions_per_broker;
    if (auto s = check_broker_limit(*view, t.replicas, limit); !s)
      co_return s;
  } else {
    auto placed = place_replicas(*view, t.partitions, t.replication_factor,
                                 internal ? -1 : opts_.max_partitions_per_broker);
    if (!placed)
      co_return placed.error();
    t.replicas = std::move(*placed);
  }
  if (validate_only)
    co_return ok();
  t.id = new_topic_id();
  auto op = submit_and_reconcile(add_topic_cmd{t}, t.name);
  co_return co_await std::move(op);
}

awaitable<status> topics_frontend::cluster_delete_topic(std::string name) {
  auto synced = sync_view(opts_.catch_up_wait);
  co_await std::move(synced);
  auto view = ctl_->view();
  auto it = view->topics->find(name);
  if (it == view->topics->end())
    co_return error(topic_errc::not_found, name);
  if (is_internal_topic(name))
    co_return error(topic_errc::reserved_name, name);
  auto op = submit_and_reconcile(remove_topic_cmd{name, it->second.id}, name);
  co_return co_await std::move(op);
}

awaitable<status> topics_frontend::cluster_create_partitions(
    std::string name, int32_t count, bool validate_only,
    std::optional<std::vector<std::vector<int32_t>>> assignment) {
  auto synced = sync_view(opts_.catch_up_wait);
  co_await std::move(synced);
  auto view = ctl_->view();
  auto it = view->topics->find(name);
  if (it == view->topics->end())
    co_return error(topic_errc::not_found, name);
  const auto& old = it->second;
  if (auto grown = with_partitions(old, count); !grown)
    co_return grown.error();
  bool internal = is_internal_topic(name);
  auto limit = internal ? -1 : opts_.max_partitions_per_broker;
  std::vector<std::vector<int32_t>> added;
  if (assignment) {
    // The client's own assignment (CreatePartitions assignments).
    auto registered = [&view](int32_t id) { return view->brokers.contains(id); };
    if (auto s = check_new_partitions(old, count, *assignment, registered); !s)
      co_return s;
    if (auto s = check_broker_limit(*view, *assignment, limit); !s)
      co_return s;
    added = std::move(*assignment);
  } else {
    auto placed = place_replicas(*view, count - old.partitions, old.replication_factor, limit);
    if (!placed)
      co_return placed.error();
    added = std::move(*placed);
  }
  if (validate_only)
    co_return ok();
  auto op = submit_and_reconcile(add_partitions_cmd{name, old.id, std::move(added)}, name);
  co_return co_await std::move(op);
}

awaitable<status> topics_frontend::cluster_set_topic_configs(std::string name,
                                                             topic_configs configs,
                                                             bool validate_only) {
  auto synced = sync_view(opts_.catch_up_wait);
  co_await std::move(synced);
  auto view = ctl_->view();
  auto it = view->topics->find(name);
  if (it == view->topics->end())
    co_return error(topic_errc::not_found, name);
  if (auto s = validate_replicated_configs(it->second.replication_factor, configs); !s)
    co_return s;
  if (validate_only)
    co_return ok();
  auto op = submit_and_reconcile(update_topic_configs_cmd{name, it->second.id, configs}, name);
  co_return co_await std::move(op);
}

}  // namespace strom::cluster
