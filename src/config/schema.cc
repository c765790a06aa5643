#include "strom/config/schema.h"

#include <fmt/format.h>

#include <algorithm>

#include "config/binding.h"
#include "strom/base/assert.h"

namespace strom::config {
namespace detail {
namespace {

// Accessors. `c` is the config, `i` the list item (for keys inside list items).
#define FIELD(expr) [](broker_config& c, std::size_t) -> field_ref { return &(c.expr); }
#define ENUM_FIELD(expr) \
  [](broker_config& c, std::size_t) -> field_ref { return make_enum_ref(&(c.expr)); }
#define ITEM(list, expr) \
  [](broker_config& c, std::size_t i) -> field_ref { return &(c.list[i].expr); }
#define ENUM_ITEM(list, expr) \
  [](broker_config& c, std::size_t i) -> field_ref { return make_enum_ref(&(c.list[i].expr)); }

using k = value_kind;
using req = requirement;

std::vector<entry> build() {
  return {
      // ---------------------------------------------------------------- top level
      {{.path = "mode",
        .kind = k::enumeration,
        .allowed = mode_values,
        .default_note = "`production`",
        .description = "Profile. `dev` changes the defaults of "
                       "`cluster_defaults.topics.auto_create` (true), "
                       "`default_replication_factor` and `min_insync_replicas` (1), "
                       "`cluster_defaults.groups.initial_rebalance_delay_ms` (0) and "
                       "`offsets_topic_replication_factor` (1), and makes `node.id` "
                       "optional. Values written in the file always win."},
       ENUM_FIELD(mode)},

      // ---------------------------------------------------------------- node
      {{.path = "node.id",
        .kind = k::integer,
        .min = 0,
        .max = i32_max,
        .kafka_name = "node.id",
        .required = req::required_in_production,
        .description = "Unique, immutable id of this broker in the cluster."},
       FIELD(node.id)},
      {{.path = "node.rack",
        .kind = k::nullable_string,
        .kafka_name = "broker.rack",
        .description = "Rack or availability zone; replica placement spreads each "
                       "partition over racks."},
       FIELD(node.rack)},
      {{.path = "node.data_dirs",
        .kind = k::string_list,
        .min = 1,
        .kafka_name = "log.dirs",
        .description = "Data directories (one log directory per disk). At least one; no "
                       "duplicates. Relative paths are relative to the working directory."},
       FIELD(node.data_dirs)},

      // ---------------------------------------------------------------- cluster
      {{.path = "cluster.id",
        .kind = k::nullable_string,
        .kafka_name = "cluster.id (meta.properties)",
        .description = "Cluster id. If set, the broker refuses data directories that "
                       "belong to another cluster. null = take the id found on disk, or "
                       "generate one when the cluster is created."},
       FIELD(cluster.id)},
      {{.path = "cluster.seeds",
        .kind = k::object_list,
        .kafka_name = "controller.quorum.voters",
        .default_note = "`[]` (a single-node cluster of this node)",
        .description = "Initial members of the cluster, used to form the controller "
                       "group and to find the cluster when joining. Node ids are unique."},
       FIELD(cluster.seeds)},
      {{.path = "cluster.seeds[].node_id",
        .kind = k::integer,
        .min = 0,
        .max = i32_max,
        .kafka_name = "controller.quorum.voters (id@...)",
        .required = req::required,
        .description = "`node.id` of the seed."},
       ITEM(cluster.seeds, node_id)},
      {{.path = "cluster.seeds[].host",
        .kind = k::string,
        .kafka_name = "controller.quorum.voters (...@host:port)",
        .required = req::required,
        .description = "Host of the seed's inter-broker listener."},
       ITEM(cluster.seeds, host)},
      {{.path = "cluster.seeds[].port",
        .kind = k::integer,
        .min = 1,
        .max = 65535,
        .kafka_name = "controller.quorum.voters (...@host:port)",
        .required = req::required,
        .description = "Port of the seed's inter-broker listener."},
       ITEM(cluster.seeds, port)},

      // ---------------------------------------------------------------- listeners
      {{.path = "listeners",
        .kind = k::object_list,
        .min = 1,
        .kafka_name = "listeners, advertised.listeners",
        .default_note = "one listener `client` on `127.0.0.1:9092`",
        .description = "Named Kafka listeners. At least one; names are unique and no two "
                       "listeners (nor `admin`) bind the same address and port."},
       FIELD(listeners)},
      {{.path = "listeners[].name",
        .kind = k::string,
        .kafka_name = "listener name (NAME://host:port)",
        .required = req::required,
        .description = "Listener name: letters, digits, `_` and `-`."},
       ITEM(listeners, name)},
      {{.path = "listeners[].bind.host",
        .kind = k::string,
        .kafka_name = "listeners",
        .required = req::required,
        .description = "Address to listen on; `0.0.0.0` or `::` for all interfaces."},
       ITEM(listeners, bind.host)},
      {{.path = "listeners[].bind.port",
        .kind = k::integer,
        .min = 1,
        .max = 65535,
        .kafka_name = "listeners",
        .required = req::required,
        .description = "Port to listen on."},
       ITEM(listeners, bind.port)},
      {{.path = "listeners[].advertise.host",
        .kind = k::string,
        .kafka_name = "advertised.listeners",
        .default_note = "= `bind.host`",
        .description = "Host that clients are told to connect to (Metadata responses). "
                       "Must not be a wildcard address (`0.0.0.0`, `::`): set it when "
                       "`bind.host` is one."},
       ITEM(listeners, advertise.host)},
      {{.path = "listeners[].advertise.port",
        .kind = k::integer,
        .min = 1,
        .max = 65535,
        .kafka_name = "advertised.listeners",
        .default_note = "= `bind.port`",
        .description = "Port that clients are told to connect to."},
       ITEM(listeners, advertise.port)},
      {{.path = "listeners[].security_protocol",
        .kind = k::enumeration,
        .allowed = security_protocol_values,
        .kafka_name = "listener.security.protocol.map",
        .description = "Security protocol of the listener."},
       ENUM_ITEM(listeners, protocol)},
      {{.path = "listeners[].sasl_mechanisms",
        .kind = k::string_list,
        .min = 1,
        .kafka_name = "sasl.enabled.mechanisms",
        .default_note = "`[SCRAM-SHA-256, SCRAM-SHA-512, PLAIN]`",
        .description = "SASL mechanisms offered on a `SASL_PLAINTEXT` or `SASL_SSL` listener, "
                       "in this order: `SCRAM-SHA-256`, `SCRAM-SHA-512`, `PLAIN` (checked "
                       "against the users' SCRAM credentials). Ignored on other listeners."},
       ITEM(listeners, sasl_mechanisms)},
      {{.path = "listeners[].tls.cert_file",
        .kind = k::nullable_string,
        .kafka_name = "ssl.keystore.location",
        .description = "PEM file with the listener's certificate chain, its own certificate "
                       "first. Required on `SSL` and `SASL_SSL` listeners. Read again on "
                       "SIGHUP (new connections use the renewed certificate)."},
       ITEM(listeners, tls.cert_file)},
      {{.path = "listeners[].tls.key_file",
        .kind = k::nullable_string,
        .kafka_name = "ssl.keystore.location",
        .description = "PEM file with the certificate's private key (unencrypted). Required "
                       "with `cert_file`."},
       ITEM(listeners, tls.key_file)},
      {{.path = "listeners[].tls.ca_file",
        .kind = k::nullable_string,
        .kafka_name = "ssl.truststore.location",
        .description = "PEM file with the CAs that sign client certificates. Required when "
                       "`client_auth` is not `none`."},
       ITEM(listeners, tls.ca_file)},
      {{.path = "listeners[].tls.client_auth",
        .kind = k::enumeration,
        .allowed = tls_client_auth_values,
        .kafka_name = "ssl.client.auth",
        .default_note = "`none`",
        .description = "Whether clients present a certificate: `none`, `requested` (verified "
                       "when given), `required` (mutual TLS: a client without a certificate the "
                       "CA signed fails the handshake). A client's certificate names its "
                       "principal (`User:<subject>`) where SASL does not."},
       ENUM_ITEM(listeners, tls.client_auth)},
      {{.path = "inter_broker_listener",
        .kind = k::nullable_string,
        .kafka_name = "inter.broker.listener.name",
        .description = "Name of the listener other brokers use to reach this one. null = "
                       "the first listener. It takes `PLAINTEXT` or `SSL`; with `SSL` brokers "
                       "talk over TLS, each presenting the listener's certificate when it "
                       "connects and verifying the other's against `tls.ca_file` (required "
                       "there; set `client_auth: required` for mutual TLS). Host names are not "
                       "checked: the CA should sign broker certificates only."},
       FIELD(inter_broker_listener)},

      // ---------------------------------------------------------------- admin
      {{.path = "admin.bind.host",
        .kind = k::string,
        .description = "Address of the admin HTTP listener (`/metrics`, `/v1/status/live`, "
                       "`/v1/status/ready`, admin API)."},
       FIELD(admin.bind.host)},
      {{.path = "admin.bind.port",
        .kind = k::integer,
        .min = 1,
        .max = 65535,
        .description = "Port of the admin HTTP listener."},
       FIELD(admin.bind.port)},
      {{.path = "admin.tls.cert_file",
        .kind = k::nullable_string,
        .description = "PEM file with the admin listener's certificate chain, its own "
                       "certificate first: set, the admin API speaks HTTPS only (TLS 1.2+). "
                       "Read again on SIGHUP."},
       FIELD(admin.tls.cert_file)},
      {{.path = "admin.tls.key_file",
        .kind = k::nullable_string,
        .description = "PEM file with the certificate's private key (unencrypted). Required "
                       "with `cert_file`."},
       FIELD(admin.tls.key_file)},
      {{.path = "admin.tls.ca_file",
        .kind = k::nullable_string,
        .description = "PEM file with the CAs that sign client certificates. Required when "
                       "`client_auth` is not `none`."},
       FIELD(admin.tls.ca_file)},
      {{.path = "admin.tls.client_auth",
        .kind = k::enumeration,
        .allowed = tls_client_auth_values,
        .default_note = "`none`",
        .description = "Whether admin clients present a certificate: `none`, `requested` "
                       "(verified when given), `required`. With authorization enabled, a "
                       "verified client certificate authenticates a request as HTTP basic "
                       "authentication does."},
       ENUM_FIELD(admin.tls.client_auth)},

      // ---------------------------------------------------------------- network
      {{.path = "network.shards",
        .kind = k::integer,
        .min = 0,
        .max = 1024,
        .kafka_name = "(replaces num.network.threads and num.io.threads)",
        .description = "Shard threads, each with its own event loop and its own "
                       "partitions. 0 = one per hardware thread."},
       FIELD(network.shards)},
      {{.path = "network.socket_send_buffer_bytes",
        .kind = k::integer,
        .min = -1,
        .max = i32_max,
        .kafka_name = "socket.send.buffer.bytes",
        .description = "SO_SNDBUF of client connections; -1 = the OS default."},
       FIELD(network.socket_send_buffer_bytes)},
      {{.path = "network.socket_receive_buffer_bytes",
        .kind = k::integer,
        .min = -1,
        .max = i32_max,
        .kafka_name = "socket.receive.buffer.bytes",
        .description = "SO_RCVBUF of client connections; -1 = the OS default."},
       FIELD(network.socket_receive_buffer_bytes)},
      {{.path = "network.socket_request_max_bytes",
        .kind = k::integer,
        .min = 1024,
        .max = i32_max,
        .kafka_name = "socket.request.max.bytes",
        .description = "Largest request accepted; a larger size prefix closes the "
                       "connection before anything is allocated. At least "
                       "`cluster_defaults.log.message_max_bytes`."},
       FIELD(network.socket_request_max_bytes)},
      {{.path = "network.max_connections",
        .kind = k::integer,
        .min = 0,
        .max = i32_max,
        .kafka_name = "max.connections",
        .description = "Open client connections per listener; 0 = unlimited. A connection "
                       "beyond it is closed as soon as it is accepted. Keep it well under the "
                       "descriptor limit (`stromd` raises its soft limit to the hard one at "
                       "start and warns when this does not fit)."},
       FIELD(network.max_connections)},
      {{.path = "network.max_connections_per_ip",
        .kind = k::integer,
        .min = 0,
        .max = i32_max,
        .kafka_name = "max.connections.per.ip",
        .description = "Open client connections from one address per listener; 0 = "
                       "unlimited. A connection beyond it is closed as soon as it is "
                       "accepted."},
       FIELD(network.max_connections_per_ip)},
      {{.path = "network.fetch_max_bytes",
        .kind = k::integer,
        .min = 1024,
        .max = i32_max,
        .kafka_name = "fetch.max.bytes",
        .description = "Record bytes one Fetch response carries at most, whatever the "
                       "client's `max_bytes`; the first batch of each shard's partitions "
                       "still goes out whole when larger (KIP-74)."},
       FIELD(network.fetch_max_bytes)},
      {{.path = "network.fetch_max_wait_ms",
        .kind = k::integer,
        .min = 0,
        .max = 300000,
        .description = "The longest a Fetch waits for `min_bytes` of data; a client's "
                       "`max_wait_ms` is clamped to it (clients give up on a request after "
                       "`request.timeout.ms`, 30 s by default). A parked Fetch also ends "
                       "when its connection closes."},
       FIELD(network.fetch_max_wait_ms)},
      {{.path = "network.max_inflight_requests_per_connection",
        .kind = k::integer,
        .min = 1,
        .max = 10000,
        .description = "Requests read from one connection while earlier responses are "
                       "pending; the connection stops being read beyond that "
                       "(backpressure). Responses are always sent in request order."},
       FIELD(network.max_inflight_requests_per_connection)},
      {{.path = "network.connections_max_idle_ms",
        .kind = k::integer,
        .min = 1000,
        .max = i64_max,
        .kafka_name = "connections.max.idle.ms",
        .description = "Idle client connections are closed after this long."},
       FIELD(network.connections_max_idle_ms)},
      {{.path = "network.connections_max_reauth_ms",
        .kind = k::integer,
        .min = 0,
        .max = i64_max,
        .kafka_name = "connections.max.reauth.ms",
        .description = "Lifetime of a SASL session (KIP-368): clients re-authenticate on the "
                       "same connection before it ends, and a connection whose session "
                       "expired is closed at its next request. 0 = sessions never expire."},
       FIELD(network.connections_max_reauth_ms)},
      {{.path = "network.request_timeout_ms",
        .kind = k::integer,
        .min = 100,
        .max = i64_max,
        .description = "Time allowed to receive the rest of a request once its first bytes "
                       "arrived; a slower connection is closed."},
       FIELD(network.request_timeout_ms)},

      // ---------------------------------------------------------------- storage
      {{.path = "storage.max_open_segment_files",
        .kind = k::integer,
        .min = 16,
        .max = i32_max,
        .description = "Log files of closed segments kept open at most, over all partitions: "
                       "an LRU cache, a read of an older segment reopens its file. Closed "
                       "segments' index files are closed once written and synced; active "
                       "segments hold their three files besides. Capped at a quarter of the "
                       "descriptor limit (RLIMIT_NOFILE) at start. Kafka has no equivalent: it "
                       "keeps every segment's log file open (and maps indexes lazily) and "
                       "relies on a high `ulimit -n`."},
       FIELD(storage.max_open_segment_files)},

      // ---------------------------------------------------------------- cluster_defaults
      {{.path = "cluster_defaults.topics.auto_create",
        .kind = k::boolean,
        .kafka_name = "auto.create.topics.enable",
        .restart_required = false,
        .description = "Create a topic when a client asks for metadata of, or produces "
                       "to, an unknown topic."},
       FIELD(cluster_defaults.topics.auto_create)},
      {{.path = "cluster_defaults.topics.default_partitions",
        .kind = k::integer,
        .min = 1,
        .max = i32_max,
        .kafka_name = "num.partitions",
        .restart_required = false,
        .description = "Partitions of auto-created topics and of CreateTopics requests "
                       "that give -1."},
       FIELD(cluster_defaults.topics.default_partitions)},
      {{.path = "cluster_defaults.topics.default_replication_factor",
        .kind = k::integer,
        .min = 1,
        .max = 32767,
        .kafka_name = "default.replication.factor",
        .restart_required = false,
        .description = "Replication factor of auto-created topics and of CreateTopics "
                       "requests that give -1."},
       FIELD(cluster_defaults.topics.default_replication_factor)},
      {{.path = "cluster_defaults.topics.min_insync_replicas",
        .kind = k::integer,
        .min = 1,
        .max = 32767,
        .kafka_name = "min.insync.replicas (topic: min.insync.replicas)",
        .restart_required = false,
        .description = "Replicas that must be in sync for an `acks=all` produce to "
                       "succeed. At most `default_replication_factor`."},
       FIELD(cluster_defaults.topics.min_insync_replicas)},
      {{.path = "cluster_defaults.topics.delete_enable",
        .kind = k::boolean,
        .kafka_name = "delete.topic.enable",
        .restart_required = false,
        .description = "Allow DeleteTopics."},
       FIELD(cluster_defaults.topics.delete_enable)},
      {{.path = "cluster_defaults.topics.max_partitions_per_topic",
        .kind = k::integer,
        .min = 1,
        .max = 100000,
        .restart_required = false,
        .description = "Most partitions of one topic. CreateTopics, CreatePartitions and "
                       "auto-creation asking for more get INVALID_PARTITIONS before anything is "
                       "created. Kafka has no such limit. The internal `__consumer_offsets` is "
                       "exempt. 100000 keeps every partition directory name of a 249-character "
                       "topic within 255 bytes."},
       FIELD(cluster_defaults.topics.max_partitions_per_topic)},
      {{.path = "cluster_defaults.topics.max_partitions_per_broker",
        .kind = k::integer,
        .min = 1,
        .max = i32_max,
        .restart_required = false,
        .description = "Most partitions on this broker, all topics counted (internal ones "
                       "too). A CreateTopics, CreatePartitions or auto-creation that would go "
                       "beyond gets POLICY_VIOLATION before anything is created; internal topics "
                       "are still created. Each partition holds three file descriptors for its "
                       "active segment. Kafka has no such limit (Redpanda: "
                       "`topic_partitions_per_shard`). At least `max_partitions_per_topic`."},
       FIELD(cluster_defaults.topics.max_partitions_per_broker)},

      {{.path = "cluster_defaults.log.segment_bytes",
        .kind = k::integer,
        .min = 1048576,
        .max = i32_max,
        .kafka_name = "log.segment.bytes (topic: segment.bytes)",
        .restart_required = false,
        .description = "A segment is rolled when it would grow beyond this size. At least "
                       "1 MiB (Kafka 4.0's minimum, KIP-1030; Kafka 3.x allows 14 bytes), "
                       "for topics too."},
       FIELD(cluster_defaults.log.segment_bytes)},
      {{.path = "cluster_defaults.log.segment_ms",
        .kind = k::integer,
        .min = 1000,
        .max = i64_max,
        .kafka_name = "log.roll.ms (topic: segment.ms)",
        .restart_required = false,
        .description = "A non-empty active segment is rolled once it is this old, so that "
                       "retention can delete it. At least 1 s (Kafka 3.x allows 1 ms; "
                       "KIP-1030 plans 1 min), for topics too."},
       FIELD(cluster_defaults.log.segment_ms)},
      {{.path = "cluster_defaults.log.segment_jitter_ms",
        .kind = k::integer,
        .min = 0,
        .max = i64_max,
        .kafka_name = "log.roll.jitter.ms (topic: segment.jitter.ms)",
        .restart_required = false,
        .description = "Each segment rolls by age a random time in [0, this) earlier than "
                       "`segment_ms`, never more than half of it, so that partitions created "
                       "together do not all roll at once."},
       FIELD(cluster_defaults.log.segment_jitter_ms)},
      {{.path = "cluster_defaults.log.segment_index_bytes",
        .kind = k::integer,
        .min = 65536,
        .max = i32_max,
        .kafka_name = "log.index.size.max.bytes (topic: segment.index.bytes)",
        .restart_required = false,
        .description = "A segment is rolled before its offset index (12 bytes per entry) "
                       "would grow beyond this, which bounds a segment's index in memory. At "
                       "least 64 KiB (Kafka 3.x allows 4 bytes; KIP-1030 plans 1 KiB), for "
                       "topics too, so that a segment holds at least 5461 index entries."},
       FIELD(cluster_defaults.log.segment_index_bytes)},
      {{.path = "cluster_defaults.log.retention_ms",
        .kind = k::integer,
        .min = -1,
        .max = i64_max,
        .kafka_name = "log.retention.ms (topic: retention.ms)",
        .restart_required = false,
        .description = "Closed segments whose newest record is older than this are "
                       "deleted; -1 = keep forever."},
       FIELD(cluster_defaults.log.retention_ms)},
      {{.path = "cluster_defaults.log.retention_bytes",
        .kind = k::integer,
        .min = -1,
        .max = i64_max,
        .kafka_name = "log.retention.bytes (topic: retention.bytes)",
        .restart_required = false,
        .description = "Oldest closed segments are deleted while a partition is larger "
                       "than this; -1 = no size limit."},
       FIELD(cluster_defaults.log.retention_bytes)},
      {{.path = "cluster_defaults.log.cleanup_policy",
        .kind = k::enumeration,
        .allowed = cleanup_policy_values,
        .kafka_name = "log.cleanup.policy (topic: cleanup.policy)",
        .restart_required = false,
        .description = "`delete`: retention by time and size; `compact`: keep the latest "
                       "record per key; both: compact, then delete by retention."},
       ENUM_FIELD(cluster_defaults.log.cleanup)},
      {{.path = "cluster_defaults.log.delete_retention_ms",
        .kind = k::integer,
        .min = 0,
        .max = i64_max,
        .kafka_name = "log.cleaner.delete.retention.ms (topic: delete.retention.ms)",
        .restart_required = false,
        .description = "In compacted topics, how long a tombstone (a record with a null "
                       "value) is kept after compaction first sees it, so that consumers "
                       "can observe the deletion."},
       FIELD(cluster_defaults.log.delete_retention_ms)},
      {{.path = "cluster_defaults.log.min_compaction_lag_ms",
        .kind = k::integer,
        .min = 0,
        .max = i64_max,
        .kafka_name = "log.cleaner.min.compaction.lag.ms (topic: min.compaction.lag.ms)",
        .restart_required = false,
        .description = "In compacted topics, a closed segment is compacted only once its "
                       "newest record is at least this old."},
       FIELD(cluster_defaults.log.min_compaction_lag_ms)},
      {{.path = "cluster_defaults.log.retention_check_interval_ms",
        .kind = k::integer,
        .min = 1,
        .max = i64_max,
        .kafka_name = "log.retention.check.interval.ms",
        .restart_required = false,
        .description = "How often retention runs. Compaction is checked on every "
                       "housekeeping tick: the smallest of this, 1 s and "
                       "`flush_interval_ms`, at least 10 ms."},
       FIELD(cluster_defaults.log.retention_check_interval_ms)},
      {{.path = "cluster_defaults.log.flush_interval_messages",
        .kind = k::nullable_integer,
        .min = 1,
        .max = i64_max,
        .kafka_name = "log.flush.interval.messages (topic: flush.messages)",
        .restart_required = false,
        .description = "fsync a partition after this many messages even without "
                       "`acks=all`; null = never force (durability comes from "
                       "`acks=all` and replication)."},
       FIELD(cluster_defaults.log.flush_interval_messages)},
      {{.path = "cluster_defaults.log.flush_interval_ms",
        .kind = k::nullable_integer,
        .min = 0,
        .max = i64_max,
        .kafka_name = "log.flush.interval.ms (topic: flush.ms)",
        .restart_required = false,
        .description = "fsync a partition when its oldest unflushed message is this old; "
                       "null = never force."},
       FIELD(cluster_defaults.log.flush_interval_ms)},
      {{.path = "cluster_defaults.log.write_caching",
        .kind = k::boolean,
        .kafka_name = "(topic: write.caching, as in Redpanda)",
        .restart_required = false,
        .description = "false: an `acks=all` produce is acknowledged only once the batch "
                       "is fsynced on a majority of replicas (on one node: fsynced). true: "
                       "acknowledged once a majority holds it in memory; fsync follows the "
                       "flush settings."},
       FIELD(cluster_defaults.log.write_caching)},
      {{.path = "cluster_defaults.log.message_max_bytes",
        .kind = k::integer,
        .min = 1,
        .max = i32_max,
        .kafka_name = "message.max.bytes (topic: max.message.bytes)",
        .restart_required = false,
        .description = "Largest record batch accepted, after compression."},
       FIELD(cluster_defaults.log.message_max_bytes)},
      {{.path = "cluster_defaults.log.compression_type",
        .kind = k::enumeration,
        .allowed = compression_type_values,
        .kafka_name = "compression.type (topic: compression.type)",
        .restart_required = false,
        .description = "`producer` stores batches as the producer compressed them. Other "
                       "values are accepted and reported, but batches are still stored as "
                       "produced (broker-side recompression is not built yet). `none` is a "
                       "synonym of `uncompressed`."},
       ENUM_FIELD(cluster_defaults.log.compression)},
      {{.path = "cluster_defaults.log.index_interval_bytes",
        .kind = k::integer,
        .min = 0,
        .max = i32_max,
        .kafka_name = "log.index.interval.bytes (topic: index.interval.bytes)",
        .restart_required = false,
        .description = "Bytes of log between two entries of the sparse offset and time "
                       "indexes; 0 = index every batch."},
       FIELD(cluster_defaults.log.index_interval_bytes)},
      {{.path = "cluster_defaults.log.writeback_bytes",
        .kind = k::integer,
        .min = 0,
        .max = i32_max,
        .restart_required = false,
        .description = "Start writing a segment's appended data to the device every this many "
                       "bytes (`sync_file_range`, no waiting and no durability promise), so "
                       "that dirty pages never pile up into the kernel's periodic writeback "
                       "bursts, which stall appends and reads for tens of milliseconds. 0 "
                       "leaves writeback to the kernel. Applies to segments opened after a "
                       "change."},
       FIELD(cluster_defaults.log.writeback_bytes)},
      {{.path = "cluster_defaults.log.message_timestamp_type",
        .kind = k::enumeration,
        .allowed = timestamp_type_values,
        .kafka_name = "log.message.timestamp.type (topic: message.timestamp.type)",
        .restart_required = false,
        .description = "`CreateTime` keeps the producer's timestamps; `LogAppendTime` "
                       "stamps batches with the broker's clock."},
       ENUM_FIELD(cluster_defaults.log.message_timestamp_type)},

      {{.path = "cluster_defaults.replication.replica_lag_time_max_ms",
        .kind = k::integer,
        .min = 1,
        .max = i64_max,
        .kafka_name = "replica.lag.time.max.ms",
        .restart_required = false,
        .description = "A follower that has not caught up with the leader for this long "
                       "leaves the in-sync replicas (one silent for an election timeout leaves "
                       "at once); it is back once it has caught up."},
       FIELD(cluster_defaults.replication.replica_lag_time_max_ms)},
      {{.path = "cluster_defaults.replication.replica_fetch_max_bytes",
        .kind = k::integer,
        .min = 1024,
        .max = i32_max,
        .kafka_name = "replica.fetch.max.bytes",
        .restart_required = true,
        .description = "Bytes of entries per partition in one append from a leader to a "
                       "follower (at least one batch is always sent); values above 8 MiB act "
                       "as 8 MiB (an append travels in one inter-broker frame)."},
       FIELD(cluster_defaults.replication.replica_fetch_max_bytes)},
      {{.path = "cluster_defaults.replication.unclean_leader_election",
        .kind = k::boolean,
        .kafka_name = "unclean.leader.election.enable (topic: unclean.leader.election.enable)",
        .restart_required = false,
        .description = "Allow an out-of-sync replica to become leader when no in-sync one "
                       "is left (loses acknowledged data)."},
       FIELD(cluster_defaults.replication.unclean_leader_election)},
      {{.path = "cluster_defaults.replication.auto_leader_rebalance",
        .kind = k::boolean,
        .kafka_name = "auto.leader.rebalance.enable",
        .restart_required = false,
        .description = "Move leadership back to preferred replicas in the background."},
       FIELD(cluster_defaults.replication.auto_leader_rebalance)},
      {{.path = "cluster_defaults.replication.continuous_balancing",
        .kind = k::boolean,
        .restart_required = true,
        .description = "Move replicas by themselves (up to 4 moves at a time) until the "
                       "replica counts of the live brokers differ by at most one, then until "
                       "their disk usage is even (see the two balancing_disk keys), keeping "
                       "each partition's racks apart: after a broker joins, comes back empty, "
                       "or its partitions grow faster than the others'."},
       FIELD(cluster_defaults.replication.continuous_balancing)},
      {{.path = "cluster_defaults.replication.balancing_disk_threshold_percent",
        .kind = k::integer,
        .min = 1,
        .max = 1000,
        .restart_required = true,
        .description = "Continuous balancing evens out disk usage while the broker holding "
                       "the most partition bytes holds more than this many percent more than "
                       "the one holding the fewest (and more than balancing_disk_min_bytes "
                       "more); the bytes of a partition are those of its leader's log."},
       FIELD(cluster_defaults.replication.balancing_disk_threshold_percent)},
      {{.path = "cluster_defaults.replication.balancing_disk_min_bytes",
        .kind = k::integer,
        .min = 0,
        .max = i64_max,
        .restart_required = true,
        .description = "Differences in disk usage up to this many bytes are left alone by "
                       "continuous balancing."},
       FIELD(cluster_defaults.replication.balancing_disk_min_bytes)},
      {{.path = "cluster_defaults.replication.election_timeout_ms",
        .kind = k::integer,
        .min = 10,
        .max = i32_max,
        .kafka_name = "(cf. controller.quorum.election.timeout.ms)",
        .description = "Raft election timeout: a follower that hears nothing from its "
                       "leader for this long (randomised up to twice) starts an election."},
       FIELD(cluster_defaults.replication.election_timeout_ms)},
      {{.path = "cluster_defaults.replication.heartbeat_interval_ms",
        .kind = k::integer,
        .min = 1,
        .max = i32_max,
        .description = "Raft leader heartbeat interval. Less than `election_timeout_ms`."},
       FIELD(cluster_defaults.replication.heartbeat_interval_ms)},
      {{.path = "cluster_defaults.replication.recovery_max_bytes_per_sec",
        .kind = k::integer,
        .min = 0,
        .max = i64_max,
        .kafka_name = "(cf. follower.replication.throttled.rate)",
        .description = "Bytes per second this broker's partition leaders send, together, to "
                       "followers out of sync catching up on entries a majority already holds "
                       "(a replica back from a restart or new); new writes, and followers in "
                       "sync, are never held back. 0: no limit."},
       FIELD(cluster_defaults.replication.recovery_max_bytes_per_sec)},

      {{.path = "cluster_defaults.groups.initial_rebalance_delay_ms",
        .kind = k::integer,
        .min = 0,
        .max = i32_max,
        .kafka_name = "group.initial.rebalance.delay.ms",
        .restart_required = false,
        .description = "Delay of the first rebalance of an empty group, so that members "
                       "starting together join one generation."},
       FIELD(cluster_defaults.groups.initial_rebalance_delay_ms)},
      {{.path = "cluster_defaults.groups.offsets_topic_replication_factor",
        .kind = k::integer,
        .min = 1,
        .max = 32767,
        .kafka_name = "offsets.topic.replication.factor",
        .description = "Replication factor of `__consumer_offsets`; it is created only "
                       "once the cluster has this many brokers."},
       FIELD(cluster_defaults.groups.offsets_topic_replication_factor)},
      {{.path = "cluster_defaults.groups.offsets_topic_partitions",
        .kind = k::integer,
        .min = 1,
        .max = 10000,
        .kafka_name = "offsets.topic.num.partitions",
        .description = "Partitions of `__consumer_offsets`; fixed once the topic exists."},
       FIELD(cluster_defaults.groups.offsets_topic_partitions)},
      {{.path = "cluster_defaults.groups.offsets_compaction_bytes",
        .kind = k::integer,
        .min = 65536,
        .max = i64_max,
        .kafka_name = "(cf. log.cleaner.min.cleanable.ratio)",
        .description = "A replicated `__consumer_offsets` partition is compacted once its log "
                       "holds this many bytes (or twice its last compacted state, if more): "
                       "every replica writes the newest record of each key into a Raft "
                       "snapshot and drops the log before it."},
       FIELD(cluster_defaults.groups.offsets_compaction_bytes)},
      {{.path = "cluster_defaults.groups.offsets_retention_minutes",
        .kind = k::integer,
        .min = 1,
        .max = i32_max,
        .kafka_name = "offsets.retention.minutes",
        .restart_required = false,
        .description = "Committed offsets of an empty group expire after this long."},
       FIELD(cluster_defaults.groups.offsets_retention_minutes)},
      {{.path = "cluster_defaults.groups.min_session_timeout_ms",
        .kind = k::integer,
        .min = 1,
        .max = i32_max,
        .kafka_name = "group.min.session.timeout.ms",
        .restart_required = false,
        .description = "Smallest session timeout a member may ask for. At most "
                       "`max_session_timeout_ms`."},
       FIELD(cluster_defaults.groups.min_session_timeout_ms)},
      {{.path = "cluster_defaults.groups.max_session_timeout_ms",
        .kind = k::integer,
        .min = 1,
        .max = i32_max,
        .kafka_name = "group.max.session.timeout.ms",
        .restart_required = false,
        .description = "Largest session timeout a member may ask for."},
       FIELD(cluster_defaults.groups.max_session_timeout_ms)},

      {{.path = "cluster_defaults.producers.id_expiration_ms",
        .kind = k::integer,
        .min = 1,
        .max = i64_max,
        .kafka_name = "producer.id.expiration.ms (topic: producer.id.expiration.ms)",
        .restart_required = false,
        .description = "An idempotent producer that has not appended to a partition for this "
                       "long is forgotten there (checked every housekeeping tick); if it comes "
                       "back it is accepted with any sequence, as Kafka does. Counted from the "
                       "broker's clock at its last append (Kafka counts from the batch's "
                       "timestamp). A topic may override it (a broker-only config in Kafka)."},
       FIELD(cluster_defaults.producers.id_expiration_ms)},
      {{.path = "cluster_defaults.producers.max_per_partition",
        .kind = k::integer,
        .min = 1,
        .max = i32_max,
        .restart_required = false,
        .description = "Idempotent producers remembered per partition at most (about 250 "
                       "bytes each). When full, the one that appended least recently is "
                       "forgotten to make room (later it counts as unknown: accepted with any "
                       "sequence, its old batches no longer recognised as retries). Kafka has "
                       "no bound (only the expiration); Redpanda's nearest is "
                       "`max_concurrent_producer_ids`."},
       FIELD(cluster_defaults.producers.max_per_partition)},

      // ---------------------------------------------------------------- shutdown
      {{.path = "shutdown.controlled",
        .kind = k::boolean,
        .kafka_name = "controlled.shutdown.enable",
        .restart_required = false,
        .description =
            "On SIGTERM or SIGINT, while the listeners still answer: have the controller fence "
            "this broker (Metadata stops naming it at once instead of after the broker session "
            "timeout) and, when it leads the controller group, hand that leadership to another "
            "live voter; bounded by `drain_timeout_ms` and three election timeouts, skipped when "
            "no quorum of live voters is left. Partition leadership moves too once partitions "
            "are replicated."},
       FIELD(shutdown.controlled)},
      {{.path = "shutdown.drain_timeout_ms",
        .kind = k::integer,
        .min = 0,
        .max = i64_max,
        .restart_required = false,
        .description = "Give up moving leadership and draining requests after this long "
                       "and stop anyway."},
       FIELD(shutdown.drain_timeout_ms)},

      // ---------------------------------------------------------------- logging
      {{.path = "logging.level",
        .kind = k::enumeration,
        .allowed = log_level_values,
        .restart_required = false,
        .description = "Level of every component without its own entry in `loggers`. "
                       "`warning` is a synonym of `warn`."},
       ENUM_FIELD(logging.level)},
      {{.path = "logging.format",
        .kind = k::enumeration,
        .allowed = log_format_values,
        .description = "`text`: human-readable lines, `[<component>/<node.id>]` naming the "
                       "logger; `json`: one JSON object per line (ts_ms, level, component, "
                       "node, thread, msg). Logs go to stderr."},
       ENUM_FIELD(logging.format)},
      {{.path = "logging.loggers",
        .kind = k::level_map,
        .allowed = log_level_values,
        .map_keys = strom::logging::components,
        .restart_required = false,
        .description = "Per-component levels, e.g. `{ kafka: debug, raft: trace }`."},
       FIELD(logging.loggers)},

      // ---------------------------------------------------------------- metrics
      {{.path = "metrics.enabled",
        .kind = k::boolean,
        .description = "Serve Prometheus metrics on the admin listener at `/metrics`."},
       FIELD(metrics.enabled)},
      {{.path = "metrics.per_partition",
        .kind = k::boolean,
        .restart_required = false,
        .description = "Also export per-partition series (high cardinality)."},
       FIELD(metrics.per_partition)},
      {{.path = "metrics.consumer_lag",
        .kind = k::boolean,
        .restart_required = false,
        .description = "Also export consumer-group lag per partition."},
       FIELD(metrics.consumer_lag)},

      // ---------------------------------------------------------------- security
      {{.path = "security.audit_log.path",
        .kind = k::nullable_string,
        .description = "File of the security audit trail (JSON lines: authentications, "
                       "authorization denials, admin operations; docs/security.md). null = "
                       "no audit trail."},
       FIELD(security.audit_log_path)},
      {{.path = "security.audit_log.max_file_bytes",
        .kind = k::integer,
        .min = 4096,
        .max = i64_max,
        .description = "Size past which the audit file is rotated (`<path>.1`, `<path>.2`, "
                       "...)."},
       FIELD(security.audit_log_max_file_bytes)},
      {{.path = "security.audit_log.max_files",
        .kind = k::integer,
        .min = 1,
        .max = 1000,
        .description = "Rotated audit files kept; the oldest beyond them is removed."},
       FIELD(security.audit_log_max_files)},

      // ---------------------------------------------------------------- authorization
      {{.path = "authorization.enabled",
        .kind = k::boolean,
        .kafka_name = "authorizer.class.name",
        .description = "Check every request against the ACLs (CreateAcls, `stromctl acl`): "
                       "what no ACL allows is denied, a deny wins over any allow; the admin "
                       "HTTP API then needs HTTP basic authentication but for liveness and "
                       "readiness (docs/security.md). false = every client may do everything, "
                       "and the ACL APIs answer SECURITY_DISABLED."},
       FIELD(authorization.enabled)},
      {{.path = "authorization.superusers",
        .kind = k::string_list,
        .kafka_name = "super.users",
        .default_note = "`[]`",
        .description = "Principals that may do everything, e.g. `[\"User:admin\"]`: a user "
                       "authenticated by SASL is `User:<name>`, a client certificate "
                       "`User:<subject>`."},
       FIELD(authorization.superusers)},
  };
}

#undef FIELD
#undef ENUM_FIELD
#undef ITEM
#undef ENUM_ITEM

}  // namespace

const std::vector<entry>& entries() {
  static const std::vector<entry> table = build();
  return table;
}

const entry* find_entry(std::string_view path) {
  for (const auto& e : entries()) {
    if (e.key.path == path) {
      return &e;
    }
  }
  return nullptr;
}

std::string_view enum_name(std::span<const enum_value> allowed, int value) {
  for (const auto& v : allowed) {
    if (v.value == value) {
      return v.name;
    }
  }
  return "?";
}

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    switch (ch) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) {
          out += fmt::format("\\x{:02x}", static_cast<unsigned>(static_cast<unsigned char>(ch)));
        } else {
          out += ch;
        }
    }
  }
  out += '"';
  return out;
}

std::string format_value(const key_descriptor& key, const field_ref& f) {
  struct visitor {
    const key_descriptor& key;
    std::string operator()(bool* v) const { return *v ? "true" : "false"; }
    std::string operator()(int32_t* v) const { return std::to_string(*v); }
    std::string operator()(int64_t* v) const { return std::to_string(*v); }
    std::string operator()(std::optional<int64_t>* v) const {
      return *v ? std::to_string(**v) : "null";
    }
    std::string operator()(std::string* v) const { return quote(*v); }
    std::string operator()(std::optional<std::string>* v) const { return *v ? quote(**v) : "null"; }
    std::string operator()(std::vector<std::string>* v) const {
      std::string out = "[";
      for (std::size_t i = 0; i < v->size(); ++i) {
        out += (i ? ", " : "") + quote((*v)[i]);
      }
      return out + "]";
    }
    std::string operator()(const enum_ref& v) const {
      return std::string(enum_name(key.allowed, v.get(v.p)));
    }
    std::string operator()(std::map<std::string, log_level>* v) const {
      std::string out = "{";
      bool first = true;
      for (const auto& [name, level] : *v) {
        out += fmt::format("{}{}: {}", first ? " " : ", ", name,
                           enum_name(key.allowed, static_cast<int>(level)));
        first = false;
      }
      return out + (first ? "}" : " }");
    }
    std::string operator()(std::vector<listener_config>* v) const {
      return v->empty() ? "[]" : fmt::format("[{} listeners]", v->size());
    }
    std::string operator()(std::vector<seed_config>* v) const {
      return v->empty() ? "[]" : fmt::format("[{} seeds]", v->size());
    }
  };
  return std::visit(visitor{key}, f);
}

void resize_list(const field_ref& f, std::size_t n) {
  if (auto* l = std::get_if<std::vector<listener_config>*>(&f)) {
    (*l)->assign(n, listener_config{});
  } else if (auto* s = std::get_if<std::vector<seed_config>*>(&f)) {
    (*s)->assign(n, seed_config{});
  }
}

std::size_t list_size(const field_ref& f) {
  if (auto* l = std::get_if<std::vector<listener_config>*>(&f)) {
    return (*l)->size();
  }
  if (auto* s = std::get_if<std::vector<seed_config>*>(&f)) {
    return (*s)->size();
  }
  return 0;
}

}  // namespace detail

namespace {

/// The value of `e` in `c`; for keys inside list items, in a default item.
std::string default_value_in(broker_config c, const detail::entry& e) {
  auto pos = e.key.path.find("[]");
  if (pos != std::string_view::npos) {
    const auto* list = detail::find_entry(e.key.path.substr(0, pos));
    STROM_ASSERT(list != nullptr, "list item key {} has no list", e.key.path);
    detail::resize_list(list->field(c, 0), 1);
  }
  return detail::format_value(e.key, e.field(c, 0));
}

std::string format_bound(int64_t v) {
  if (v == detail::i32_max) {
    return "2^31-1";
  }
  if (v == detail::i64_max) {
    return "2^63-1";
  }
  return std::to_string(v);
}

/// The docs section of a key: its first component, or two for cluster_defaults.
std::string section_of(std::string_view path) {
  auto dot = path.find('.');
  auto bracket = path.find('[');
  if (dot == std::string_view::npos && bracket == std::string_view::npos) {
    // inter_broker_listener is documented with the listeners it names.
    return path == "listeners" || path == "inter_broker_listener" ? "listeners" : "";
  }
  auto first = path.substr(0, std::min(dot, bracket));
  if (first == "cluster_defaults") {
    auto second = path.find('.', dot + 1);
    return std::string(path.substr(0, second));
  }
  return std::string(first);
}

std::string escape_cell(std::string_view s) {
  std::string out;
  for (char ch : s) {
    if (ch == '|') {
      out += "\\|";
    } else {
      out += ch;
    }
  }
  return out;
}

/// default_text() with values in code spans, for the docs.
std::string default_cell(const key_descriptor& key) {
  if (!key.default_note.empty()) {
    return std::string(key.default_note);
  }
  if (key.required == requirement::required) {
    return "required";
  }
  const auto* e = detail::find_entry(key.path);
  auto dev = default_value_in(default_config(mode::dev), *e);
  if (key.required == requirement::required_in_production) {
    return "required (dev: `" + dev + "`)";
  }
  auto production = default_value_in(default_config(mode::production), *e);
  return production == dev ? "`" + production + "`" : "`" + production + "` (dev: `" + dev + "`)";
}

}  // namespace

const std::vector<key_descriptor>& schema() {
  static const std::vector<key_descriptor> keys = [] {
    std::vector<key_descriptor> out;
    for (const auto& e : detail::entries()) {
      out.push_back(e.key);
    }
    return out;
  }();
  return keys;
}

const key_descriptor* find_key(std::string_view path) {
  for (const auto& key : schema()) {
    if (key.path == path) {
      return &key;
    }
  }
  return nullptr;
}

std::string type_text(const key_descriptor& key) {
  switch (key.kind) {
    case value_kind::boolean:
      return "boolean";
    case value_kind::integer:
      return "integer";
    case value_kind::nullable_integer:
      return "integer or null";
    case value_kind::string:
      return "string";
    case value_kind::nullable_string:
      return "string or null";
    case value_kind::string_list:
      return "list of strings";
    case value_kind::enumeration:
      return "enum";
    case value_kind::level_map:
      return "map: component → level";
    case value_kind::object_list:
      return "list of mappings";
  }
  return "?";
}

std::string constraint_text(const key_descriptor& key) {
  switch (key.kind) {
    case value_kind::integer:
    case value_kind::nullable_integer:
      return format_bound(key.min) + " .. " + format_bound(key.max);
    case value_kind::string_list:
    case value_kind::object_list:
      return key.min > 0 ? fmt::format("at least {} item{}", key.min, key.min == 1 ? "" : "s")
                         : std::string();
    case value_kind::enumeration: {
      std::string out;
      for (const auto& v : key.allowed) {
        out += (out.empty() ? "" : " | ") + std::string(v.name);
      }
      return out;
    }
    case value_kind::level_map: {
      std::string components;
      for (auto c : key.map_keys) {
        components += (components.empty() ? "" : " | ") + std::string(c);
      }
      std::string levels;
      for (const auto& v : key.allowed) {
        levels += (levels.empty() ? "" : " | ") + std::string(v.name);
      }
      return "component: " + components + "; level: " + levels;
    }
    case value_kind::boolean:
    case value_kind::string:
    case value_kind::nullable_string:
      break;
  }
  return {};
}

std::string default_text(const key_descriptor& key) {
  if (!key.default_note.empty()) {
    return std::string(key.default_note);
  }
  const auto* e = detail::find_entry(key.path);
  STROM_ASSERT(e != nullptr, "descriptor {} is not in the schema", key.path);
  if (key.required == requirement::required) {
    return "required";
  }
  auto dev = default_value_in(default_config(mode::dev), *e);
  if (key.required == requirement::required_in_production) {
    return "required (dev: " + dev + ")";
  }
  auto production = default_value_in(default_config(mode::production), *e);
  return production == dev ? production : production + " (dev: " + dev + ")";
}

std::optional<std::string> value_text(const broker_config& c, std::string_view path) {
  const auto* e = detail::find_entry(path);
  if (e == nullptr || e->key.kind == value_kind::object_list ||
      path.find("[]") != std::string_view::npos) {
    return std::nullopt;
  }
  broker_config copy = c;
  return detail::format_value(e->key, e->field(copy, 0));
}

std::string reference_markdown() {
  std::string out;
  std::string current = "-";
  for (const auto& key : schema()) {
    auto section = section_of(key.path);
    if (section != current) {
      current = section;
      std::string title = section.empty()          ? std::string("Top level")
                          : section == "listeners" ? "`listeners`, `inter_broker_listener`"
                                                   : "`" + section + "`";
      out += fmt::format("\n### {}\n\n", title);
      out +=
          "| Key | Type | Default | Range / allowed | Kafka name | Restart | Description |\n"
          "|---|---|---|---|---|---|---|\n";
    }
    auto constraint = constraint_text(key);
    out += fmt::format("| `{}` | {} | {} | {} | {} | {} | {} |\n", key.path,
                       escape_cell(type_text(key)), escape_cell(default_cell(key)),
                       constraint.empty() ? "" : "`" + escape_cell(constraint) + "`",
                       key.kafka_name.empty() ? "Strom-only" : escape_cell(key.kafka_name),
                       key.restart_required ? "yes" : "no", escape_cell(key.description));
  }
  return out;
}

}  // namespace strom::config
