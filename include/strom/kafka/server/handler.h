#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "strom/cluster/controller.h"
#include "strom/cluster/partition_manager.h"
#include "strom/cluster/producer_ids.h"
#include "strom/cluster/topic_table.h"
#include "strom/cluster/topics_frontend.h"
#include "strom/groups/coordinator.h"
#include "strom/kafka/server/quotas.h"
#include "strom/metrics/metrics.h"
#include "strom/net/server.h"
#include "strom/security/audit.h"
#include "strom/security/scram.h"

namespace strom::kafka::server {

/// How this broker describes itself to clients (Metadata, DescribeCluster).
struct broker_identity {
  int32_t node_id = 0;
  std::string host = "127.0.0.1";  ///< advertised host of the client listener
  int32_t port = 9092;             ///< advertised port
  std::optional<std::string> rack;
  std::string cluster_id = "strom";
  /// Broker configs by Kafka name with their values, for DescribeConfigs(BROKER).
  std::vector<std::pair<std::string, std::string>> broker_configs;
  /// In a cluster (cluster.seeds set): the cluster as the controller log describes it, for
  /// Metadata and DescribeCluster. Null on a single-node broker, which describes itself only.
  std::function<std::shared_ptr<const cluster::cluster_view>()> cluster;
};

/// The brokers, cluster id and controller id a Metadata or DescribeCluster answer lists: the
/// live brokers of the cluster view (this broker always among them), or this broker alone.
struct described_cluster {
  struct broker {
    int32_t node_id = 0;
    std::string host;
    int32_t port = 0;
    std::optional<std::string> rack;
  };
  std::vector<broker> brokers;
  std::string cluster_id;
  int32_t controller_id = -1;
};
described_cluster describe_cluster(const broker_identity& id);

/// Bounds the broker puts on what one request may ask for.
struct request_limits {
  /// fetch.max.bytes: the most record bytes one Fetch response carries, whatever the client
  /// asks (Kafka's default, 55 MiB). A first batch larger than this still goes out whole
  /// (KIP-74), one per shard read.
  int32_t fetch_max_bytes = 57671680;
  /// The longest a Fetch may wait for data (a client's max_wait_ms is clamped to it).
  std::chrono::milliseconds fetch_max_wait{30000};
  /// The longest a request waits, on a cluster broker that has not yet caught up with the
  /// controller since it started (topics_frontend::current()), before the connection is
  /// closed instead of answered from what the broker knew when it stopped.
  std::chrono::milliseconds catch_up_wait{10000};
};

/// How the clients of one listener authenticate.
struct listener_auth {
  /// SASL_PLAINTEXT or SASL_SSL: before a SASL authentication succeeds, only ApiVersions,
  /// SaslHandshake and SaslAuthenticate are served; any other request closes the connection.
  bool sasl = false;
  /// The mechanisms offered, in the listener's order: "SCRAM-SHA-256", "SCRAM-SHA-512",
  /// "PLAIN" (checked against the users' SCRAM credentials).
  std::vector<std::string> mechanisms;
  /// connections.max.reauth.ms (KIP-368): 0 = sessions never expire; else each session lasts
  /// this long, the client re-authenticates on the same connection, and a request after the
  /// expiry closes the connection.
  std::chrono::milliseconds max_reauth{0};
  /// A user this broker accepts besides the cluster's, not stored (STROM_BOOTSTRAP_USER).
  std::optional<std::pair<std::string, security::scram_credential>> bootstrap_user;
  /// Where authentication successes and failures are recorded; none when null.
  std::shared_ptr<security::audit_log> audit;
  /// `authorization.enabled`: every request is checked against the ACLs (Kafka's
  /// StandardAuthorizer: what no ACL allows is denied, a deny wins); the principals of
  /// `superusers` may do everything.
  bool authorize = false;
  std::vector<std::string> superusers;
  /// The broker's client quotas (shared by its listeners); none when null.
  std::shared_ptr<quota_manager> quotas;
};

/// The Kafka front end: decodes each request frame, dispatches it to the handler of its API,
/// and encodes the response. Unknown APIs and versions are answered as Kafka does (the
/// ApiVersions v0 fallback, otherwise a closed connection). Stateless apart from the services
/// it is given (each outlives it): the local partitions, the topic admin front end and the
/// topic table it reads, and the metrics registry it counts requests in. Runs on every shard.
std::shared_ptr<net::request_handler> make_handler(
    cluster::partition_manager& partitions, cluster::topics_frontend& frontend,
    const cluster::topic_table& topics, broker_identity id,
    cluster::producer_id_allocator& producer_ids, groups::coordinator& groups,
    request_limits limits = {}, metrics::registry& m = metrics::default_registry(),
    listener_auth auth = {});

}  // namespace strom::kafka::server
