#include "strom/cluster/partition_manager.h"

#include <functional>

#include <fmt/format.h>

#include "strom/base/logging.h"

namespace strom::cluster {

namespace {
spdlog::logger& lg() {
  return logging::get("cluster");
}
}  // namespace

partition_manager::partition_manager(net::shard_runtime& rt, storage::log_manager& logs,
                                     topic_defaults defaults, clock& clk, metrics::registry& m)
    : rt_(rt), logs_(logs), defaults_(std::move(defaults)), clock_(clk), metrics_(m), shards_(rt) {}

partition_manager::~partition_manager() = default;

void partition_manager::set_cluster_defaults(topic_configs by_topic_name) {
  std::lock_guard lock(cluster_mu_);
  cluster_defaults_ = std::move(by_topic_name);
}

topic_configs partition_manager::cluster_defaults() const {
  std::lock_guard lock(cluster_mu_);
  return cluster_defaults_;
}

topic_configs partition_manager::with_cluster_defaults(const topic_configs& overrides) const {
  auto merged = cluster_defaults();
  for (const auto& [k, v] : overrides)
    merged[k] = v;
  return merged;
}

size_t partition_manager::shard_of(const model::ntp& n) const {
  auto h = std::hash<std::string>{}(n.topic) * 31 + static_cast<size_t>(n.partition.value());
  return h % shards_.size();
}

partition* partition_manager::local(const model::ntp& n) {
  auto& parts = shards_.on(shard_of(n)).partitions;
  auto it = parts.find(n);
  return it == parts.end() ? nullptr : it->second.get();
}

status partition_manager::make_partition(const model::ntp& n, const topic_metadata& t,
                                         size_t shard) {
  auto configs = with_cluster_defaults(t.configs);
  auto cfg = effective_log_config(defaults_, configs);
  storage::log* log = logs_.get(n);
  if (log == nullptr) {
    auto created = logs_.create(n, cfg);
    if (!created)
      return created.error();
    log = *created;
  } else {
    log->set_config(cfg);
  }
  auto& sp = shards_.on(shard);
  auto p = std::make_unique<partition>(n, log, settings_for(defaults_, configs), clock_, metrics_);
  p->bind_shard(net::shard_affinity(rt_, shard));
  STROM_TRY(p->load_producer_state());
  const auto idx = static_cast<size_t>(n.partition.value());
  // A group: more than one replica, a move in flight, or a log that was a group's before (a
  // move left it one replica; its log holds the group's entries).
  bool group = false;
  if (replication_ && idx < t.replicas.size()) {
    group = t.replicas[idx].size() > 1 || t.moving.contains(n.partition.value());
    if (!group && replication_->fs) {
      auto was = replication_->fs->exists(log->path() / "raft.state");
      group = was && *was;
    }
  }
  if (group) {
    const auto& rc = *replication_;
    replica_options o;
    o.self = rc.self;
    o.group = group_of(t.id, n.partition.value());
    o.replicas = t.target_replicas(n.partition.value());
    o.bootstrap = t.replicas[idx];
    o.moving = t.moving.contains(n.partition.value());
    o.election_ticks = rc.election_ticks;
    o.heartbeat_ticks = rc.heartbeat_ticks;
    o.tick = rc.tick;
    o.max_append_bytes = rc.max_append_bytes;
    o.in_sync_ticks = rc.in_sync_ticks;
    o.random_seed =
        o.group ^ (static_cast<uint64_t>(rc.self) << 32) ^ static_cast<uint64_t>(clock_.now_ms());
    o.fs = rc.fs;
    o.initial_term = rc.epoch_floor ? rc.epoch_floor(n.topic) : 0;
    o.may_replace_lost = replicas_lost_.load(std::memory_order_acquire);
    o.io = &rt_.context(shard);
    o.outbox = &sp.outbox;
    // Always given: without a rate it only counts what recovery sends (bytes moved).
    sp.recovery.limited = rc.recovery_bytes_per_sec > 0;
    o.recovery = &sp.recovery;
    o.liveness = rc.silent_peers ? &sp.liveness : nullptr;
    o.quiet_keepalive_ticks = rc.quiet_keepalive_ticks;
    o.on_leader = [this, n, id = t.id](int64_t term) {
      if (replication_->report_leader)
        replication_->report_leader(n, id, term);
    };
    if (rc.named_leader)
      o.named_leader = [this, n](int64_t term) { return replication_->named_leader(n, term); };
    bool registered = false;
    {
      std::lock_guard lock(groups_mu_);
      auto [it, fresh] = group_shards_.try_emplace(o.group, shard);
      registered = fresh;
      if (!fresh && sp.groups.find(o.group) == sp.groups.end()) {
        return error(
            std::make_error_code(std::errc::file_exists),
            fmt::format("{}: Raft group {} is taken by another partition", n.dir_name(), o.group));
      }
    }
    auto g = o.group;
    if (auto s = p->enable_replication(std::move(o)); !s) {
      if (registered) {
        std::lock_guard lock(groups_mu_);
        group_shards_.erase(g);
      }
      return s;
    }
    sp.groups[g] = {n, t.id, p.get()};
  }
  // A partition made in place of one of another Raft group: that group goes with it.
  if (auto old = sp.partitions.find(n);
      old != sp.partitions.end() && old->second->group() != 0 && old->second->group() != p->group())
    forget_group(shard, n);
  sp.partitions[n] = std::move(p);
  return ok();
}

uint64_t partition_manager::group_of(const topic_uuid& id, int32_t p) {
  // FNV-1a over the topic id and the partition: the same on every broker.
  uint64_t h = 14695981039346656037ull;
  auto mix = [&h](uint8_t b) {
    h ^= b;
    h *= 1099511628211ull;
  };
  for (auto b : id)
    mix(static_cast<uint8_t>(b));
  for (int i = 0; i < 4; ++i)
    mix(static_cast<uint8_t>(static_cast<uint32_t>(p) >> (8 * i)));
  return h == 0 ? 1 : h;
}

void partition_manager::enable_replication(replication_config c) {
  replication_ = std::move(c);
  if (!replication_->lost_replicas_marker.empty() && replication_->fs) {
    auto lost = replication_->fs->exists(replication_->lost_replicas_marker);
    replicas_lost_.store(!lost || *lost, std::memory_order_release);  // unreadable: assume so
  }
  for (size_t shard = 0; shard < shards_.size(); ++shard) {
    auto& out = shards_.on(shard).outbox;
    out.send = replication_->send;
    out.max_append_bytes = replication_->max_append_bytes;
    out.later = [&io = rt_.context(shard)](std::function<void()> fn) {
      net::asio::post(io, std::move(fn));
    };
  }
}

void partition_manager::replicas_restored() {
  if (!replicas_lost_.exchange(false, std::memory_order_acq_rel) || !replication_ ||
      !replication_->fs)
    return;
  if (auto s = replication_->fs->remove(replication_->lost_replicas_marker); !s) {
    lg().warn("removing {}: {}", replication_->lost_replicas_marker.string(), s.error().message());
  } else {
    lg().info("every replica this broker holds was created: new ones start as usual");
  }
}

void partition_manager::start_replication() {
  if (!replication_)
    return;
  for (size_t shard = 0; shard < shards_.size(); ++shard)
    rt_.spawn(shard, [this, shard] { return tick_loop(shard); });
}

awaitable<void> partition_manager::tick_loop(size_t shard) {
  using steady = std::chrono::steady_clock;
  net::asio::steady_timer t(rt_.context(shard));
  auto next = steady::now();
  while (!stopping_) {
    next += replication_->tick;
    t.expires_at(next);
    boost::system::error_code ec;
    auto op = t.async_wait(net::asio::redirect_error(net::asio::use_awaitable, ec));
    co_await std::move(op);
    if (stopping_)
      break;
    if (steady::now() - next > 10 * replication_->tick)
      next = steady::now();  // the thread was held up: do not tick in a burst
    tick_shard(shard);
  }
}

void partition_manager::tick_shard(size_t shard) {
  auto& sp = shards_.on(shard);
  auto now = std::chrono::steady_clock::now();
  if (replication_->recovery_bytes_per_sec > 0) {
    // A tick's share of the shard's rate; at most two ticks' worth is saved up.
    auto per_tick =
        std::max<int64_t>(1, replication_->recovery_bytes_per_sec * replication_->tick.count() /
                                 1000 / static_cast<int64_t>(rt_.count()));
    sp.recovery.available = std::min(sp.recovery.available + per_tick, 2 * per_tick);
  }
  // Leader balancing every few seconds: a partition led here for a while goes back to its
  // preferred replica when that one is live and caught up (Kafka's auto.leader.rebalance).
  bool balance = replication_->auto_leader_rebalance && !stopping_ &&
                 now - sp.balanced_at >= std::chrono::seconds(5);
  if (balance)
    sp.balanced_at = now;
  if (replication_->silent_peers)
    sp.liveness.silent = replication_->silent_peers();
  auto elections =
      replication_->preferred_elections ? replication_->preferred_elections() : nullptr;
  if (elections && elections->empty())
    elections = nullptr;
  sp.outbox.holding = true;
  for (const auto& [g, entry] : sp.groups) {
    auto* p = entry.part;
    p->tick();
    auto term = p->led_term();
    // ElectLeaders asked for the preferred replica: handed over as soon as it holds the log.
    if (term && elections && elections->contains({entry.ntp.topic, entry.ntp.partition.value()}))
      p->move_to_preferred_leader();
    if (balance) {
      if (term) {
        auto& since = sp.led_since[g];
        if (since.first != *term)
          since = {*term, now};
        const auto& replicas = p->replica_set();
        if (now - since.second >= std::chrono::seconds(10) && !replicas.empty() &&
            replicas.front() != replication_->self &&
            (!replication_->broker_live || replication_->broker_live(replicas.front())))
          p->move_to_preferred_leader();
      }
    }
    // A move led here: one step of it each tick; once done, the controller records it (at
    // most once a second until it did).
    if (term && p->converge_membership() == partition::membership::settled && p->moving() &&
        replication_->report_moved) {
      auto& last = sp.moves_reported[g];
      if (now - last >= std::chrono::seconds(1)) {
        last = now;
        replication_->report_moved(entry.ntp, entry.id, p->replica_set());
      }
    }
    // The ISR every broker answers Metadata with follows this leader's count: compared with
    // the controller's once a second, reported when they differ (the controller records it
    // once it records this leadership). None recorded stands for every live replica: a whole
    // ISR needs no report then, so a new leader whose followers keep up sends none.
    if (term && replication_->recorded_isr && replication_->report_isr) {
      auto& r = sp.isr_reports[g];
      if (r.compare_now(now)) {
        auto isr = p->in_sync_replicas();
        bool whole = isr.size() == p->replica_set().size() && !p->moving();
        if (r.due(now, *term, isr, replication_->recorded_isr(entry.ntp, *term), whole))
          replication_->report_isr(entry.ntp, entry.id, *term, std::move(isr));
      }
    }
    // A leader the controller does not know yet (its report was lost, or the controller had
    // no leader then) reports again: looked at once a second, and at once in a new term.
    if (!term || !replication_->recorded_term || !replication_->report_leader)
      continue;
    auto& last = sp.reported[g];
    if (last.first == *term && now - last.second < std::chrono::seconds(1))
      continue;
    last = {*term, now};
    if (replication_->recorded_term(entry.ntp) >= *term)
      continue;
    replication_->report_leader(entry.ntp, entry.id, *term);
  }
  sp.outbox.holding = false;
  sp.outbox.flush();
}

bool isr_report::due(std::chrono::steady_clock::time_point now, int64_t t,
                     const std::vector<int32_t>& set,
                     const std::optional<std::vector<int32_t>>& recorded, bool whole) {
  if (!compare_now(now))
    return false;
  checked = now;
  bool again = term == t && isr == set && now - at < std::chrono::seconds(5);
  if (set.empty() || !recorded || *recorded == set || (recorded->empty() && whole) || again)
    return false;
  term = t;
  isr = set;
  at = now;
  return true;
}

awaitable<void> partition_manager::leave(std::chrono::milliseconds limit) {
  if (!replication_)
    co_return;
  auto deadline = std::chrono::steady_clock::now() + limit;
  size_t led = 0;
  for (;;) {
    auto hand_over = [this](size_t shard) {
      size_t n = 0;
      for (const auto& [g, entry] : shards_.on(shard).groups) {
        if (entry.part->hand_over_leadership())
          ++n;
      }
      return n;
    };
    auto counts_op = rt_.invoke_on_all(hand_over);
    auto counts = co_await std::move(counts_op);
    led = 0;
    for (auto n : counts)
      led += n;
    if (led == 0 || std::chrono::steady_clock::now() >= deadline)
      break;
    net::asio::steady_timer t(co_await net::asio::this_coro::executor);
    t.expires_after(std::chrono::milliseconds(100));
    boost::system::error_code ec;
    auto op = t.async_wait(net::asio::redirect_error(net::asio::use_awaitable, ec));
    co_await std::move(op);
  }
  lg().info("controlled shutdown: {}", led == 0 ? "no partition led here any more"
                                                : fmt::format("still leading {} partition(s) at "
                                                              "the limit",
                                                              led));
}

void partition_manager::deliver(std::vector<std::pair<uint64_t, raft::message>> msgs) {
  using batch = std::vector<std::pair<uint64_t, raft::message>>;
  std::vector<batch> by_shard(rt_.count());
  {
    std::lock_guard lock(groups_mu_);
    for (auto& gm : msgs) {
      auto it = group_shards_.find(gm.first);
      if (it != group_shards_.end())
        by_shard[it->second].push_back(std::move(gm));
    }
  }
  for (size_t shard = 0; shard < by_shard.size(); ++shard) {
    if (by_shard[shard].empty())
      continue;
    net::asio::post(rt_.context(shard), [this, shard, b = std::move(by_shard[shard])]() mutable {
      auto& sp = shards_.on(shard);
      // The answers leave together too.
      sp.outbox.holding = true;
      for (auto& [group, m] : b) {
        auto it = sp.groups.find(group);
        if (it != sp.groups.end())
          it->second.part->step(std::move(m));
      }
      sp.outbox.holding = false;
      sp.outbox.flush();
    });
  }
}

void partition_manager::forget_group(size_t shard, const model::ntp& n) {
  auto& sp = shards_.on(shard);
  auto pit = sp.partitions.find(n);
  if (pit == sp.partitions.end() || pit->second->group() == 0)
    return;
  auto g = pit->second->group();
  sp.groups.erase(g);
  sp.reported.erase(g);
  sp.led_since.erase(g);
  sp.moves_reported.erase(g);
  sp.isr_reports.erase(g);
  std::lock_guard lock(groups_mu_);
  group_shards_.erase(g);
}

status partition_manager::load(const topic_map& topics) {
  for (const auto& [name, t] : topics) {
    for (int32_t p = 0; p < t.partitions; ++p) {
      if (!t.hosted_on(p, node_))
        continue;
      model::ntp n{name, model::partition_id(p)};
      STROM_TRY(make_partition(n, t, shard_of(n)));
    }
  }
  lg().info("{} topic(s) loaded", topics.size());
  return ok();
}

void partition_manager::release_shard_objects() {
  stopping_ = true;
  for (size_t shard = 0; shard < shards_.size(); ++shard) {
    for (auto& [n, p] : shards_.on(shard).partitions)
      p->clear_waiters();
  }
}

awaitable<std::vector<partition_manager::partition_info>> partition_manager::partition_infos() {
  auto on_shard = [](shard_partitions& sp) {
    std::vector<partition_info> out;
    for (auto& [n, p] : sp.partitions) {
      partition_info i;
      i.name = n;
      i.log_start = p->log_start().value();
      i.high_watermark = p->high_watermark().value();
      i.size_bytes = p->size_bytes();
      i.online = !p->log().offline();
      if (auto r = p->replica()) {
        i.replicated = true;
        i.leader = r->leader;
        i.follower_lag = r->follower_lag;
        i.under_replicated = r->leader && r->in_sync < r->voters;
        i.elections_won = r->elections_won;
        i.rebuilding = r->rebuilding;
        i.votes_while_rebuilding = r->votes_while_rebuilding;
        i.orphaned = p->orphaned();
      }
      out.push_back(std::move(i));
    }
    return out;
  };
  auto parts = co_await shards_.invoke_on_all(on_shard);
  std::vector<partition_info> all;
  for (auto& part : parts) {
    for (auto& i : part)
      all.push_back(std::move(i));
  }
  co_return all;
}

awaitable<partition_manager::replication_counts> partition_manager::replication_counters() {
  auto on_shard = [](shard_partitions& sp) {
    return replication_counts{sp.recovery.sent, sp.outbox.sent, sp.outbox.merged};
  };
  auto parts = co_await shards_.invoke_on_all(on_shard);
  replication_counts sum;
  for (const auto& n : parts) {
    sum.recovery_bytes += n.recovery_bytes;
    sum.messages_sent += n.messages_sent;
    sum.messages_merged += n.messages_merged;
  }
  co_return sum;
}

partition_manager::shard_groups partition_manager::by_shard(const std::string& topic, int32_t from,
                                                            int32_t to) const {
  std::vector<std::vector<int32_t>> all(shards_.size());
  for (int32_t p = from; p < to; ++p)
    all[shard_of(model::ntp{topic, model::partition_id(p)})].push_back(p);
  shard_groups out;
  for (size_t shard = 0; shard < all.size(); ++shard) {
    if (all[shard].empty())
      continue;
    out.shards.push_back(shard);
    out.ids.push_back(std::move(all[shard]));
  }
  return out;
}

awaitable<status> partition_manager::make_partitions(topic_metadata t, int32_t from) {
  auto groups = by_shard(t.name, from, t.partitions);
  auto make = [this, &groups, &t](size_t i) -> status {
    for (auto id : groups.ids[i]) {
      if (!t.hosted_on(id, node_))
        continue;
      STROM_TRY(make_partition(model::ntp{t.name, model::partition_id(id)}, t, groups.shards[i]));
    }
    return ok();
  };
  auto made = co_await rt_.invoke_on_each(groups.shards, make);
  for (auto& s : made) {
    if (!s)
      co_return s;
  }
  co_return ok();
}

awaitable<void> partition_manager::drop_partitions(std::string topic, int32_t from, int32_t to) {
  auto groups = by_shard(topic, from, to);
  auto drop = [this, &groups, &topic](size_t i) {
    auto& parts = shards_.on(groups.shards[i]).partitions;
    for (auto id : groups.ids[i]) {
      model::ntp n{topic, model::partition_id(id)};
      forget_group(groups.shards[i], n);
      parts.erase(n);
    }
  };
  co_await rt_.invoke_on_each(groups.shards, drop);
}

awaitable<result<bool>> partition_manager::reassign(topic_metadata t, int32_t p) {
  model::ntp n{t.name, model::partition_id(p)};
  auto shard = shard_of(n);
  auto work = [this, &t, &n, p, shard]() -> result<bool> {
    auto& parts = shards_.on(shard).partitions;
    auto it = parts.find(n);
    if (!t.hosted_on(p, node_)) {
      if (it == parts.end())
        return false;
      forget_group(shard, n);
      parts.erase(it);
      return true;
    }
    bool group = t.replicas[static_cast<size_t>(p)].size() > 1 || t.moving.contains(p);
    if (it == parts.end() || (group && !it->second->replicated())) {
      STROM_TRY(make_partition(n, t, shard));
      return false;
    }
    it->second->set_assignment(t.target_replicas(p), t.moving.contains(p));
    return false;
  };
  co_return co_await rt_.invoke_on(shard, work);
}

awaitable<void> partition_manager::update_configs(topic_metadata t) {
  auto configs = with_cluster_defaults(t.configs);
  auto cfg = effective_log_config(defaults_, configs);
  auto ps = settings_for(defaults_, configs);
  auto groups = by_shard(t.name, 0, t.partitions);
  auto apply = [this, &groups, &t, &cfg, &ps](size_t i) {
    for (auto id : groups.ids[i]) {
      if (auto* part = local(model::ntp{t.name, model::partition_id(id)})) {
        part->log().set_config(cfg);
        part->set_settings(ps);
      }
    }
  };
  co_await rt_.invoke_on_each(groups.shards, apply);
}

}  // namespace strom::cluster
