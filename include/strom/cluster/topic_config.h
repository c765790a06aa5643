#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "strom/base/result.h"
#include "strom/storage/log_config.h"

namespace strom::cluster {

/// Topic-level configuration overrides, by Kafka's exact dotted names ("retention.ms").
using topic_configs = std::map<std::string, std::string>;

/// One topic config Strom understands: its Kafka name, the broker-level synonym, and how
/// values are checked.
struct topic_config_key {
  std::string_view name;            ///< e.g. "retention.ms"
  std::string_view broker_synonym;  ///< e.g. "log.retention.ms"
  enum class kind { long_, int_, boolean, string, double_ } type;
  int64_t min = INT64_MIN;
  int64_t max = INT64_MAX;
  std::vector<std::string_view> allowed;  ///< for strings; empty = anything
  std::string_view doc;
  /// Why the minimum is what it is, when it is stricter than Kafka's; quoted in the error.
  std::string_view min_reason{};
};

/// Strom's floors for the segment and index configs (docs/configuration.md, "Topic configs"):
/// stricter than Kafka 3.x so that no client setting can make a partition roll a new segment
/// every few batches. The broker-wide YAML defaults have the same minimums.
inline constexpr int64_t min_segment_bytes = 1 << 20;        ///< segment.bytes: Kafka 4.0's
inline constexpr int64_t min_segment_ms = 1000;              ///< segment.ms
inline constexpr int64_t min_segment_index_bytes = 1 << 16;  ///< segment.index.bytes

/// Every topic config key, in a stable order.
const std::vector<topic_config_key>& topic_config_keys();
const topic_config_key* find_topic_config_key(std::string_view name);

enum class config_errc { unknown_key = 1, invalid_value };
const std::error_category& config_category();
inline std::error_code make_error_code(config_errc e) {
  return {static_cast<int>(e), config_category()};
}

/// Checks one name/value pair; the error detail says what was expected.
status validate_topic_config(std::string_view name, std::string_view value);
/// Checks every pair of `configs`; the first failure.
status validate_topic_configs(const topic_configs& configs);

/// The topic config whose broker-level synonym is `broker_name` ("log.retention.ms" ->
/// "retention.ms"): the broker configs that can be set cluster-wide at run time.
const topic_config_key* find_cluster_config_key(std::string_view broker_name);
/// Checks one cluster-wide default (a broker-level name and its value).
status validate_cluster_config(std::string_view broker_name, std::string_view value);
/// Cluster-wide defaults by broker-level names, as the topic configs they default (unknown
/// names are left out).
topic_configs cluster_defaults_by_topic_name(const topic_configs& broker_level);

/// Broker defaults that topic configs override.
struct topic_defaults {
  storage::log_config log;
  std::string cleanup_policy = "delete";
  std::string compression_type = "producer";
  std::string message_timestamp_type = "CreateTime";
  bool write_caching = false;
  int32_t min_insync_replicas = 1;
  /// producer.id.expiration.ms (a broker config in Kafka; a topic may override it here).
  int64_t producer_id_expiration_ms = 86'400'000;
  /// Idempotent producers remembered per partition at most (Strom's; Kafka has no bound).
  size_t max_producers_per_partition = 10'000;
};

/// The effective value of a key for a topic and where it came from.
struct effective_config {
  std::string name;
  std::string value;
  bool is_default = true;  ///< false when the topic overrides it
  std::string_view broker_synonym;
};

/// Every key with its effective value for `overrides` over `defaults`.
std::vector<effective_config> effective_configs(const topic_defaults& defaults,
                                                const topic_configs& overrides);
/// The storage settings of a topic.
storage::log_config effective_log_config(const topic_defaults& defaults,
                                         const topic_configs& overrides);
/// Whether acks=all waits for fsync (write.caching=false).
bool flush_before_ack(const topic_defaults& defaults, const topic_configs& overrides);
/// validate_topic_configs(), and what a topic of `replication_factor` replicas adds: a
/// min.insync.replicas of at most a majority.
status validate_replicated_configs(int32_t replication_factor, const topic_configs& configs);
/// min.insync.replicas: the in-sync replicas an acks=all write needs.
int32_t min_insync_replicas(const topic_defaults& defaults, const topic_configs& overrides);
bool log_append_time(const topic_defaults& defaults, const topic_configs& overrides);
int64_t producer_id_expiration_ms(const topic_defaults& defaults, const topic_configs& overrides);

}  // namespace strom::cluster

template <>
struct std::is_error_code_enum<strom::cluster::config_errc> : std::true_type {};
