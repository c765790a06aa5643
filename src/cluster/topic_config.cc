#include "strom/cluster/topic_config.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace strom::cluster {

namespace {
class config_category_impl final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "strom.topic_config"; }
  [[nodiscard]] std::string message(int c) const override {
    return static_cast<config_errc>(c) == config_errc::unknown_key ? "unknown topic config"
                                                                   : "invalid topic config value";
  }
};

using K = topic_config_key::kind;
constexpr int64_t i32max = INT32_MAX;

std::optional<int64_t> parse_long(std::string_view v) {
  int64_t x = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (ec != std::errc() || p != v.data() + v.size())
    return std::nullopt;
  return x;
}

std::optional<double> parse_double(std::string_view v) {
  double x = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (ec != std::errc() || p != v.data() + v.size() || !std::isfinite(x))
    return std::nullopt;
  return x;
}

std::string opt(const std::optional<int64_t>& v) {
  return v ? std::to_string(*v) : std::to_string(INT64_MAX);
}
}  // namespace

const std::error_category& config_category() {
  static config_category_impl c;
  return c;
}

const std::vector<topic_config_key>& topic_config_keys() {
  static const std::vector<topic_config_key> keys = {
      {"cleanup.policy",
       "log.cleanup.policy",
       K::string,
       0,
       0,
       {"delete", "compact", "compact,delete", "delete,compact"},
       "delete old segments, keep the newest record per key, or both"},
      {"compression.type",
       "compression.type",
       K::string,
       0,
       0,
       {"producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"},
       "codec of stored batches; producer keeps the producer's"},
      {"delete.retention.ms",
       "log.cleaner.delete.retention.ms",
       K::long_,
       0,
       INT64_MAX,
       {},
       "compacted topics: how long tombstones are kept once compaction has seen them"},
      {"flush.messages",
       "log.flush.interval.messages",
       K::long_,
       1,
       INT64_MAX,
       {},
       "force an fsync after this many messages"},
      {"flush.ms",
       "log.flush.interval.ms",
       K::long_,
       0,
       INT64_MAX,
       {},
       "force an fsync when unflushed data is this old"},
      {"index.interval.bytes",
       "log.index.interval.bytes",
       K::int_,
       0,
       i32max,
       {},
       "bytes between offset-index entries"},
      {"max.message.bytes",
       "message.max.bytes",
       K::int_,
       0,
       i32max,
       {},
       "largest record batch accepted"},
      {"message.timestamp.type",
       "log.message.timestamp.type",
       K::string,
       0,
       0,
       {"CreateTime", "LogAppendTime"},
       "timestamp stored: the producer's or the broker's"},
      {"min.cleanable.dirty.ratio",
       "log.cleaner.min.cleanable.ratio",
       K::double_,
       0,
       1,
       {},
       "compacted topics: share of not yet compacted closed bytes that starts a compaction"},
      {"min.insync.replicas",
       "min.insync.replicas",
       K::int_,
       1,
       i32max,
       {},
       "replicas that must have a write for acks=all"},
      {"min.compaction.lag.ms",
       "log.cleaner.min.compaction.lag.ms",
       K::long_,
       0,
       INT64_MAX,
       {},
       "compacted topics: the age a segment's newest record must reach before compaction"},
      {"producer.id.expiration.ms",
       "producer.id.expiration.ms",
       K::long_,
       1,
       INT64_MAX,
       {},
       "forget an idempotent producer this long after its last append (a broker config in "
       "Kafka)"},
      {"retention.bytes",
       "log.retention.bytes",
       K::long_,
       -1,
       INT64_MAX,
       {},
       "delete old segments beyond this size; -1 = no limit"},
      {"retention.ms",
       "log.retention.ms",
       K::long_,
       -1,
       INT64_MAX,
       {},
       "delete segments older than this; -1 = forever"},
      {"segment.bytes",
       "log.segment.bytes",
       K::int_,
       min_segment_bytes,
       i32max,
       {},
       "segment size",
       "1 MiB, Kafka 4.0's minimum (KIP-1030)"},
      {"segment.index.bytes",
       "log.index.size.max.bytes",
       K::int_,
       min_segment_index_bytes,
       i32max,
       {},
       "offset-index size before a roll",
       "64 KiB: at least 5461 index entries per segment"},
      {"segment.jitter.ms",
       "log.roll.jitter.ms",
       K::long_,
       0,
       INT64_MAX,
       {},
       "random time subtracted from segment.ms per segment (at most half of it)"},
      {"segment.ms",
       "log.roll.ms",
       K::long_,
       min_segment_ms,
       INT64_MAX,
       {},
       "segment age before a roll",
       "1 s: a shorter age would roll a segment for every few batches"},
      {"write.caching",
       "write_caching",
       K::boolean,
       0,
       0,
       {},
       "true: acks=all is acknowledged before fsync"},
  };
  return keys;
}

const topic_config_key* find_topic_config_key(std::string_view name) {
  for (const auto& k : topic_config_keys()) {
    if (k.name == name)
      return &k;
  }
  return nullptr;
}

status validate_topic_configs(const topic_configs& configs) {
  for (const auto& [k, v] : configs)
    STROM_TRY(validate_topic_config(k, v));
  return ok();
}

const topic_config_key* find_cluster_config_key(std::string_view broker_name) {
  for (const auto& k : topic_config_keys()) {
    if (k.broker_synonym == broker_name)
      return &k;
  }
  return nullptr;
}

status validate_cluster_config(std::string_view broker_name, std::string_view value) {
  const auto* k = find_cluster_config_key(broker_name);
  if (k == nullptr) {
    std::vector<std::string_view> names;
    for (const auto& key : topic_config_keys()) {
      if (!key.broker_synonym.empty())
        names.push_back(key.broker_synonym);
    }
    return error(config_errc::unknown_key,
                 fmt::format("{} cannot be changed at run time (the cluster-wide ones: {}); set "
                             "it in each node's YAML",
                             broker_name, fmt::join(names, ", ")));
  }
  auto s = validate_topic_config(k->name, value);
  if (!s)
    return error(s.error().code(), fmt::format("{} (as {})", s.error().detail(), broker_name));
  return s;
}

topic_configs cluster_defaults_by_topic_name(const topic_configs& broker_level) {
  topic_configs out;
  for (const auto& [name, value] : broker_level) {
    if (const auto* k = find_cluster_config_key(name))
      out[std::string(k->name)] = value;
  }
  return out;
}

status validate_topic_config(std::string_view name, std::string_view value) {
  const auto* k = find_topic_config_key(name);
  if (k == nullptr)
    return error(config_errc::unknown_key, std::string(name));
  switch (k->type) {
    case K::long_:
    case K::int_: {
      auto v = parse_long(value);
      if (v && *v < k->min && !k->min_reason.empty()) {
        return error(config_errc::invalid_value, fmt::format("{}={} is below the minimum {} ({})",
                                                             name, value, k->min, k->min_reason));
      }
      if (!v || *v < k->min || *v > k->max) {
        return error(
            config_errc::invalid_value,
            fmt::format("{}={}: expected an integer in [{}, {}]", name, value, k->min, k->max));
      }
      return ok();
    }
    case K::double_: {
      auto v = parse_double(value);
      if (!v || *v < static_cast<double>(k->min) || *v > static_cast<double>(k->max)) {
        return error(config_errc::invalid_value, fmt::format("{}={}: expected a number in [{}, {}]",
                                                             name, value, k->min, k->max));
      }
      return ok();
    }
    case K::boolean:
      if (value != "true" && value != "false") {
        return error(config_errc::invalid_value,
                     fmt::format("{}={}: expected true or false", name, value));
      }
      return ok();
    case K::string:
      if (!k->allowed.empty() &&
          std::find(k->allowed.begin(), k->allowed.end(), value) == k->allowed.end()) {
        return error(config_errc::invalid_value, fmt::format("{}={}: expected one of {}", name,
                                                             value, fmt::join(k->allowed, ", ")));
      }
      return ok();
  }
  return ok();
}

std::vector<effective_config> effective_configs(const topic_defaults& d,
                                                const topic_configs& overrides) {
  std::map<std::string_view, std::string> defaults = {
      {"cleanup.policy", d.cleanup_policy},
      {"compression.type", d.compression_type},
      {"delete.retention.ms", std::to_string(d.log.delete_retention_ms)},
      {"flush.messages", opt(d.log.flush_messages)},
      {"flush.ms", opt(d.log.flush_ms)},
      {"index.interval.bytes", std::to_string(d.log.index_interval_bytes)},
      {"max.message.bytes", std::to_string(d.log.max_batch_bytes)},
      {"message.timestamp.type", d.message_timestamp_type},
      {"min.cleanable.dirty.ratio", fmt::format("{}", d.log.min_cleanable_dirty_ratio)},
      {"min.compaction.lag.ms", std::to_string(d.log.min_compaction_lag_ms)},
      {"min.insync.replicas", std::to_string(d.min_insync_replicas)},
      {"producer.id.expiration.ms", std::to_string(d.producer_id_expiration_ms)},
      {"retention.bytes", std::to_string(d.log.retention_bytes)},
      {"retention.ms", std::to_string(d.log.retention_ms)},
      {"segment.bytes", std::to_string(d.log.segment_bytes)},
      {"segment.index.bytes", std::to_string(d.log.index_max_bytes)},
      {"segment.jitter.ms", std::to_string(d.log.segment_jitter_ms)},
      {"segment.ms", std::to_string(d.log.segment_ms)},
      {"write.caching", d.write_caching ? "true" : "false"},
  };
  std::vector<effective_config> out;
  for (const auto& k : topic_config_keys()) {
    effective_config e{std::string(k.name), defaults[k.name], true, k.broker_synonym};
    if (auto it = overrides.find(std::string(k.name)); it != overrides.end()) {
      e.value = it->second;
      e.is_default = false;
    }
    out.push_back(std::move(e));
  }
  return out;
}

storage::log_config effective_log_config(const topic_defaults& d, const topic_configs& o) {
  auto l = d.log;
  auto num = [&](const char* key) -> std::optional<int64_t> {
    auto it = o.find(key);
    return it == o.end() ? std::nullopt : parse_long(it->second);
  };
  if (auto v = num("segment.bytes"))
    l.segment_bytes = static_cast<uint64_t>(*v);
  if (auto v = num("segment.ms"))
    l.segment_ms = *v;
  if (auto v = num("segment.index.bytes"))
    l.index_max_bytes = static_cast<uint64_t>(*v);
  if (auto v = num("segment.jitter.ms"))
    l.segment_jitter_ms = *v;
  if (auto v = num("retention.ms"))
    l.retention_ms = *v;
  if (auto v = num("retention.bytes"))
    l.retention_bytes = *v;
  if (auto v = num("index.interval.bytes"))
    l.index_interval_bytes = static_cast<uint32_t>(*v);
  if (auto v = num("max.message.bytes"))
    l.max_batch_bytes = static_cast<uint32_t>(*v);
  if (auto v = num("flush.messages"))
    l.flush_messages = *v;
  if (auto v = num("flush.ms"))
    l.flush_ms = *v;
  if (auto v = num("delete.retention.ms"))
    l.delete_retention_ms = *v;
  if (auto v = num("min.compaction.lag.ms"))
    l.min_compaction_lag_ms = *v;
  if (auto it = o.find("min.cleanable.dirty.ratio"); it != o.end()) {
    if (auto v = parse_double(it->second))
      l.min_cleanable_dirty_ratio = *v;
  }
  auto policy = d.cleanup_policy;
  if (auto it = o.find("cleanup.policy"); it != o.end())
    policy = it->second;
  l.cleanup_delete = policy.find("delete") != std::string::npos;
  l.cleanup_compact = policy.find("compact") != std::string::npos;
  return l;
}

bool flush_before_ack(const topic_defaults& d, const topic_configs& o) {
  auto it = o.find("write.caching");
  bool caching = it == o.end() ? d.write_caching : it->second == "true";
  return !caching;
}

int64_t producer_id_expiration_ms(const topic_defaults& d, const topic_configs& o) {
  auto it = o.find("producer.id.expiration.ms");
  if (it != o.end()) {
    if (auto v = parse_long(it->second); v && *v >= 1)
      return *v;
  }
  return d.producer_id_expiration_ms;
}

status validate_replicated_configs(int32_t replication_factor, const topic_configs& configs) {
  STROM_TRY(validate_topic_configs(configs));
  if (replication_factor <= 1)
    return ok();
  // An acks=all write is acknowledged once on a majority: asking for more in-sync replicas
  // than that would stop writes on one failure fewer than the group survives.
  auto majority = replication_factor / 2 + 1;
  if (configs.contains("min.insync.replicas")) {
    auto n = min_insync_replicas(topic_defaults{}, configs);
    if (n > majority) {
      return error(config_errc::invalid_value,
                   fmt::format("min.insync.replicas {} is above a majority ({}) of the {} replicas",
                               n, majority, replication_factor));
    }
  }
  return ok();
}

int32_t min_insync_replicas(const topic_defaults& d, const topic_configs& o) {
  auto it = o.find("min.insync.replicas");
  if (it != o.end()) {
    if (auto v = parse_long(it->second); v && *v >= 1 && *v <= INT32_MAX)
      return static_cast<int32_t>(*v);
  }
  return d.min_insync_replicas;
}

bool log_append_time(const topic_defaults& d, const topic_configs& o) {
  auto it = o.find("message.timestamp.type");
  return (it == o.end() ? d.message_timestamp_type : it->second) == "LogAppendTime";
}

}  // namespace strom::cluster
