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
    : rt_(rt), logs_(logs), defaults_(std::move(defaults)), clock_(clk), metrics_(m) {
  for (size_t i = 0; i < rt_.count(); ++i)
    shards_.push_back(std::make_unique<shard_partitions>());
}

partition_manager::~partition_manager() = default;

size_t partition_manager::shard_of(const model::ntp& n) const {
  auto h = std::hash<std::string>{}(n.topic) * 31 + static_cast<size_t>(n.partition.value());
  return h % shards_.size();
}

partition* partition_manager::local(const model::ntp& n) {
  auto& parts = shards_[shard_of(n)]->partitions;
  auto it = parts.find(n);
  return it == parts.end() ? nullptr : it->second.get();
}

status partition_manager::make_partition(const model::ntp& n, const topic_metadata& t,
                                         size_t shard) {
  auto cfg = effective_log_config(defaults_, t.configs);
  storage::log* log = logs_.get(n);
  if (log == nullptr) {
    auto created = logs_.create(n, cfg);
    if (!created)
      return created.error();
    log = *created;
  } else {
    log->set_config(cfg);
  }
  auto p =
      std::make_unique<partition>(n, log, settings_for(defaults_, t.configs), clock_, metrics_);
  STROM_TRY(p->load_producer_state());
  shards_[shard]->partitions[n] = std::move(p);
  return ok();
}

status partition_manager::load(const topic_map& topics) {
  for (const auto& [name, t] : topics) {
    for (int32_t p = 0; p < t.partitions; ++p) {
      model::ntp n{name, model::partition_id(p)};
      STROM_TRY(make_partition(n, t, shard_of(n)));
    }
  }
  lg().info("{} topic(s) loaded", topics.size());
  return ok();
}

void partition_manager::release_shard_objects() {
  for (auto& sp : shards_) {
    for (auto& [n, p] : sp->partitions)
      p->clear_waiters();
  }
}

awaitable<std::vector<partition_manager::partition_info>> partition_manager::shard_partition_infos(
    partition_manager* self, size_t shard) {
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

awaitable<std::vector<partition_manager::partition_info>> partition_manager::partition_infos() {
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

std::vector<std::vector<int32_t>> partition_manager::by_shard(const std::string& topic,
                                                              int32_t from, int32_t to) const {
  std::vector<std::vector<int32_t>> out(shards_.size());
  for (int32_t p = from; p < to; ++p)
    out[shard_of(model::ntp{topic, model::partition_id(p)})].push_back(p);
  return out;
}

awaitable<status> partition_manager::make_task(partition_manager* self, size_t shard,
                                               topic_metadata t, std::vector<int32_t> ids) {
  for (auto id : ids) {
    if (auto s = self->make_partition(model::ntp{t.name, model::partition_id(id)}, t, shard); !s)
      co_return s;
  }
  co_return ok();
}

awaitable<void> partition_manager::drop_task(partition_manager* self, size_t shard,
                                             std::string topic, std::vector<int32_t> ids) {
  auto& parts = self->shards_[shard]->partitions;
  for (auto id : ids)
    parts.erase(model::ntp{topic, model::partition_id(id)});
  co_return;
}

awaitable<status> partition_manager::make_partitions(topic_metadata t, int32_t from) {
  auto groups = by_shard(t.name, from, t.partitions);
  for (size_t shard = 0; shard < groups.size(); ++shard) {
    if (groups[shard].empty())
      continue;
    auto work = make_task(this, shard, t, std::move(groups[shard]));
    auto s = co_await net::asio::co_spawn(rt_.executor(shard), std::move(work),
                                          net::asio::use_awaitable);
    if (!s)
      co_return s;
  }
  co_return ok();
}

awaitable<void> partition_manager::drop_partitions(std::string topic, int32_t from, int32_t to) {
  auto groups = by_shard(topic, from, to);
  for (size_t shard = 0; shard < groups.size(); ++shard) {
    if (groups[shard].empty())
      continue;
    auto work = drop_task(this, shard, topic, std::move(groups[shard]));
    co_await net::asio::co_spawn(rt_.executor(shard), std::move(work), net::asio::use_awaitable);
  }
}

awaitable<void> partition_manager::update_configs(topic_metadata t) {
  auto cfg = effective_log_config(defaults_, t.configs);
  auto ps = settings_for(defaults_, t.configs);
  for (int32_t p = 0; p < t.partitions; ++p) {
    model::ntp n{t.name, model::partition_id(p)};
    auto apply = [cfg, ps](partition* part) {
      if (part != nullptr) {
        part->log().set_config(cfg);
        part->set_settings(ps);
      }
      return 0;
    };
    co_await on_partition(n, std::move(apply));
  }
}

}  // namespace strom::cluster
