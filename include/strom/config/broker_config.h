#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "strom/base/logging.h"

/// Typed configuration of one broker node, as read from its YAML file.
///
/// Every member has a default. `broker_config{}` holds the production defaults;
/// `default_config(mode::dev)` the development profile. Values are plain data: copy them
/// freely, compare them with `==`. The loader (strom/config/loader.h) guarantees every
/// documented range and cross-field rule; code that builds a config by hand does not.
/// The schema (strom/config/schema.h) documents every key: YAML path, Kafka name, range.
namespace strom::config {

/// `mode`: a profile that changes some defaults (values written in the file still win).
enum class mode { production, dev };

/// `listeners[].security_protocol`, as in Kafka's listener.security.protocol.map.
enum class security_protocol { plaintext, ssl, sasl_plaintext, sasl_ssl };

/// `listeners[].tls.client_auth` (Kafka's ssl.client.auth).
enum class tls_client_auth { none, requested, required };

/// `cleanup_policy` (log.cleanup.policy / topic cleanup.policy).
enum class cleanup_policy { delete_, compact, compact_delete };

/// `compression_type` (compression.type): `producer` keeps the producer's codec.
/// YAML accepts `none` as a synonym of `uncompressed`.
enum class compression_type { producer, uncompressed, gzip, snappy, lz4, zstd };

/// `message_timestamp_type` (log.message.timestamp.type / topic message.timestamp.type).
enum class timestamp_type { create_time, log_append_time };

/// Log levels, in spdlog's order.
enum class log_level { trace, debug, info, warn, error, critical, off };

enum class log_format { text, json };

/// Canonical YAML spelling of each enum value ("dev", "SASL_SSL", "compact,delete", ...).
std::string_view to_string(mode v);
std::string_view to_string(security_protocol v);
std::string_view to_string(tls_client_auth v);
std::string_view to_string(cleanup_policy v);
std::string_view to_string(compression_type v);
std::string_view to_string(timestamp_type v);
std::string_view to_string(log_level v);
std::string_view to_string(log_format v);

/// A host and a port. The host is a name, an IPv4 address or an IPv6 address without brackets.
struct endpoint {
  std::string host;
  int32_t port = 0;
  bool operator==(const endpoint&) const = default;
};

/// `node`: the identity and disks of this broker. Node-local.
struct node_config {
  /// node.id: unique and immutable within the cluster. Required in production mode.
  int32_t id = 0;
  /// broker.rack: rack or availability zone, used for replica placement.
  std::optional<std::string> rack;
  /// log.dirs: data directories (JBOD); never empty, no duplicates.
  std::vector<std::string> data_dirs{"./data"};
  bool operator==(const node_config&) const = default;
};

/// `cluster.seeds[]`: one member of the initial cluster (cf. controller.quorum.voters).
struct seed_config {
  int32_t node_id = 0;
  std::string host;
  int32_t port = 0;
  bool operator==(const seed_config&) const = default;
};

/// `cluster`: which cluster this node belongs to and how to find it.
struct cluster_config {
  /// cluster.id: if set, the node refuses data directories of another cluster.
  std::optional<std::string> id;
  /// Initial members; node ids are unique. Empty = a single-node cluster of this node.
  std::vector<seed_config> seeds;
  bool operator==(const cluster_config&) const = default;
};

/// `listeners[].tls`: the listener's certificate (SSL and SASL_SSL listeners); `admin.tls`:
/// the admin listener's (HTTPS when `cert_file` is set).
struct tls_listener_config {
  std::optional<std::string> cert_file;
  std::optional<std::string> key_file;
  std::optional<std::string> ca_file;
  tls_client_auth client_auth = tls_client_auth::none;
  bool operator==(const tls_listener_config&) const = default;
};

/// `listeners[]`: one named Kafka listener. After loading, `advertise` is always filled in
/// (it defaults to `bind`) and never holds a wildcard address.
struct listener_config {
  std::string name;
  endpoint bind;
  endpoint advertise;
  security_protocol protocol = security_protocol::plaintext;
  /// `sasl_mechanisms`: offered on SASL_PLAINTEXT and SASL_SSL listeners, in this order.
  std::vector<std::string> sasl_mechanisms{"SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"};
  tls_listener_config tls = {};
  bool operator==(const listener_config&) const = default;
};

/// `admin`: the HTTP listener for /metrics, health and the admin API.
struct admin_config {
  endpoint bind{"127.0.0.1", 9644};
  tls_listener_config tls = {};
  bool operator==(const admin_config&) const = default;
};

/// `network`: shard threads and per-connection limits.
struct network_config {
  /// Shard threads (one io_context each); 0 = one per hardware thread.
  int32_t shards = 0;
  /// socket.send.buffer.bytes / socket.receive.buffer.bytes; -1 = the OS default.
  int32_t socket_send_buffer_bytes = 102400;
  int32_t socket_receive_buffer_bytes = 102400;
  /// socket.request.max.bytes: the largest request accepted (checked before allocating).
  int32_t socket_request_max_bytes = 104857600;
  /// max.connections over all listeners; 0 = unlimited.
  int32_t max_connections = 10000;
  /// max.connections.per.ip: open connections from one client address; 0 = unlimited.
  int32_t max_connections_per_ip = 1000;
  /// fetch.max.bytes: record bytes in one Fetch response, whatever the client asks.
  int32_t fetch_max_bytes = 57671680;
  /// The longest a Fetch waits for data; a client's max_wait_ms is clamped to it.
  int64_t fetch_max_wait_ms = 30000;
  /// Requests read from one connection before its response queue is drained.
  int32_t max_inflight_requests_per_connection = 100;
  /// connections.max.idle.ms.
  int64_t connections_max_idle_ms = 600000;
  /// Time allowed to receive the rest of a request once its first byte arrived.
  int64_t request_timeout_ms = 30000;
  /// connections.max.reauth.ms: the lifetime of a SASL session; 0 = unlimited.
  int64_t connections_max_reauth_ms = 0;
  bool operator==(const network_config&) const = default;
};

/// `storage`: node-local limits of the storage engine.
struct storage_config {
  /// Log files of closed segments kept open at most, over all partitions (a cache; a read of
  /// an older segment reopens its file). Also capped at a quarter of the process's descriptor
  /// limit (RLIMIT_NOFILE) at start.
  int32_t max_open_segment_files = 1024;
  bool operator==(const storage_config&) const = default;
};

/// `cluster_defaults.topics`: defaults for created topics.
struct topic_defaults {
  bool auto_create = false;                  // auto.create.topics.enable (dev: true)
  int32_t default_partitions = 1;            // num.partitions
  int32_t default_replication_factor = 3;    // default.replication.factor (dev: 1)
  int32_t min_insync_replicas = 2;           // min.insync.replicas (dev: 1)
  bool delete_enable = true;                 // delete.topic.enable
  int32_t max_partitions_per_topic = 1000;   // Strom: INVALID_PARTITIONS beyond
  int32_t max_partitions_per_broker = 4000;  // Strom: POLICY_VIOLATION beyond
  bool operator==(const topic_defaults&) const = default;
};

/// `cluster_defaults.log`: broker-wide defaults of the topic log configs.
struct log_defaults {
  int32_t segment_bytes = 1073741824;                // log.segment.bytes
  int64_t segment_ms = 604800000;                    // log.roll.ms
  int64_t segment_jitter_ms = 0;                     // log.roll.jitter.ms
  int32_t segment_index_bytes = 10485760;            // log.index.size.max.bytes
  int64_t retention_ms = 604800000;                  // log.retention.ms; -1 = forever
  int64_t retention_bytes = -1;                      // log.retention.bytes; -1 = unlimited
  cleanup_policy cleanup = cleanup_policy::delete_;  // log.cleanup.policy
  int64_t delete_retention_ms = 86400000;            // log.cleaner.delete.retention.ms
  int64_t min_compaction_lag_ms = 0;                 // log.cleaner.min.compaction.lag.ms
  int64_t retention_check_interval_ms = 300000;      // log.retention.check.interval.ms
  std::optional<int64_t> flush_interval_messages;    // log.flush.interval.messages; none = never
  std::optional<int64_t> flush_interval_ms;          // log.flush.interval.ms; none = never
  /// false: acks=all is acknowledged only once the batch is fsynced (on a majority).
  bool write_caching = false;
  int32_t message_max_bytes = 1048588;                        // message.max.bytes
  compression_type compression = compression_type::producer;  // compression.type
  int32_t index_interval_bytes = 4096;                        // log.index.interval.bytes
  /// Appended data is handed to the device every this many bytes per segment; 0 = never.
  int64_t writeback_bytes = 1048576;
  timestamp_type message_timestamp_type = timestamp_type::create_time;
  bool operator==(const log_defaults&) const = default;
};

/// `cluster_defaults.replication`: Raft and ISR settings.
struct replication_defaults {
  int64_t replica_lag_time_max_ms = 30000;    // replica.lag.time.max.ms
  int32_t replica_fetch_max_bytes = 1048576;  // replica.fetch.max.bytes
  bool unclean_leader_election = false;       // unclean.leader.election.enable
  bool auto_leader_rebalance = true;          // auto.leader.rebalance.enable
  /// Replicas move by themselves to even out the replica counts of the brokers.
  bool continuous_balancing = false;
  /// With continuous balancing, disk usage is uneven when the broker holding the most bytes
  /// holds more than this many percent more than the one holding the fewest...
  int32_t balancing_disk_threshold_percent = 10;
  /// ...and more than this many bytes more.
  int64_t balancing_disk_min_bytes = 67108864;
  int32_t election_timeout_ms = 1500;   // Raft election timeout
  int32_t heartbeat_interval_ms = 150;  // Raft leader heartbeat; < election_timeout_ms
  /// What leaders send to followers catching up on committed entries, per broker; 0: no limit.
  int64_t recovery_max_bytes_per_sec = 104857600;
  bool operator==(const replication_defaults&) const = default;
};

/// `cluster_defaults.groups`: consumer-group coordinator.
struct group_defaults {
  int32_t initial_rebalance_delay_ms = 3000;     // group.initial.rebalance.delay.ms (dev: 0)
  int32_t offsets_topic_replication_factor = 3;  // offsets.topic.replication.factor (dev: 1)
  int32_t offsets_topic_partitions = 50;         // offsets.topic.num.partitions
  int32_t offsets_retention_minutes = 10080;     // offsets.retention.minutes
  /// A replicated offsets partition's log is compacted into a snapshot of its committed state
  /// once it holds this many bytes (cf. log.cleaner.min.cleanable.ratio).
  int64_t offsets_compaction_bytes = 16777216;
  int32_t min_session_timeout_ms = 6000;     // group.min.session.timeout.ms
  int32_t max_session_timeout_ms = 1800000;  // group.max.session.timeout.ms
  bool operator==(const group_defaults&) const = default;
};

/// `cluster_defaults.producers`: idempotent-producer state kept per partition.
struct producer_defaults {
  int64_t id_expiration_ms = 86400000;  // producer.id.expiration.ms
  int32_t max_per_partition = 10000;    // Strom-only: producers remembered per partition
  bool operator==(const producer_defaults&) const = default;
};

/// `cluster_defaults`: settings that must be identical on every node of a cluster.
struct cluster_defaults_config {
  topic_defaults topics;
  log_defaults log;
  replication_defaults replication;
  group_defaults groups;
  producer_defaults producers;
  bool operator==(const cluster_defaults_config&) const = default;
};

/// `shutdown`.
struct shutdown_config {
  bool controlled = true;            // controlled.shutdown.enable: move leadership away first
  int64_t drain_timeout_ms = 30000;  // then stop anyway
  bool operator==(const shutdown_config&) const = default;
};

/// `logging`.
struct logging_config {
  log_level level = log_level::info;
  log_format format = log_format::text;
  /// Per-component levels; keys are names from strom::logging::components.
  std::map<std::string, log_level> loggers;
  bool operator==(const logging_config&) const = default;
};

/// `authorization`: Kafka's ACLs.
struct authorization_config {
  bool enabled = false;
  /// Principals ("User:admin") that may do everything.
  std::vector<std::string> superusers;
  bool operator==(const authorization_config&) const = default;
};

/// `security`: what is not per listener.
struct security_config {
  /// `audit_log.path`: the JSON-lines audit trail; null = none.
  std::optional<std::string> audit_log_path;
  int64_t audit_log_max_file_bytes = int64_t{100} << 20;
  int32_t audit_log_max_files = 10;
  bool operator==(const security_config&) const = default;
};

/// `metrics`.
struct metrics_config {
  bool enabled = true;
  bool per_partition = false;  // high-cardinality series are opt-in
  bool consumer_lag = false;
  bool operator==(const metrics_config&) const = default;
};

/// The whole file. Node-local sections first, then `cluster_defaults`.
struct broker_config {
  config::mode mode = config::mode::production;
  node_config node;
  cluster_config cluster;
  std::vector<listener_config> listeners{listener_config{
      "client", {"127.0.0.1", 9092}, {"127.0.0.1", 9092}, security_protocol::plaintext}};
  /// inter.broker.listener.name: a name from `listeners`; unset = the first listener.
  std::optional<std::string> inter_broker_listener;
  admin_config admin;
  network_config network;
  storage_config storage;
  cluster_defaults_config cluster_defaults;
  shutdown_config shutdown;
  logging_config logging;
  metrics_config metrics;
  security_config security;
  authorization_config authorization;
  bool operator==(const broker_config&) const = default;

  /// The listener brokers use to reach this one: `inter_broker_listener`, else the first.
  [[nodiscard]] const listener_config& inter_broker() const;
};

/// The defaults of a profile: `broker_config{}` for production; for dev also
/// default_replication_factor 1, min_insync_replicas 1, auto_create true,
/// initial_rebalance_delay_ms 0 and offsets_topic_replication_factor 1.
broker_config default_config(mode m);

/// The `logging` section as options for strom::logging::configure().
strom::logging::options logging_options(const logging_config& c);

}  // namespace strom::config
