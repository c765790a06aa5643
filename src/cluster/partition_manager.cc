#include "strom/cluster/partition_manager.h"

#include <functional>

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
  auto& parts = shards_.on(shard).partitions;
  auto p = std::make_unique<partition>(n, log, settings_for(defaults_, configs), clock_, metrics_);
  p->bind_shard(net::shard_affinity(rt_, shard));
  STROM_TRY(p->load_producer_state());
  parts[n] = std::move(p);
  return ok();
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
    for (auto id : groups.ids[i])
      parts.erase(model::ntp{topic, model::partition_id(id)});
  };
  co_await rt_.invoke_on_each(groups.shards, drop);
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
