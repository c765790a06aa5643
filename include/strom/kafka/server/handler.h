#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "strom/cluster/controller.h"
#include "strom/cluster/producer_ids.h"
#include "strom/groups/coordinator.h"
#include "strom/net/server.h"

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
};

/// The Kafka front end: decodes each request frame, dispatches it to the handler of its API,
/// and encodes the response. Unknown APIs and versions are answered as Kafka does (the
/// ApiVersions v0 fallback, otherwise a closed connection). Stateless apart from the
/// controller it serves; runs on every shard.
std::shared_ptr<net::request_handler> make_handler(cluster::controller& ctl, broker_identity id,
                                                   cluster::producer_id_allocator& producer_ids,
                                                   groups::coordinator& groups);

}  // namespace strom::kafka::server
