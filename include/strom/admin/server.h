#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "strom/cluster/controller.h"
#include "strom/cluster/partition_manager.h"
#include "strom/cluster/topics_frontend.h"
#include "strom/groups/coordinator.h"
#include "strom/metrics/metrics.h"
#include "strom/security/audit.h"
#include "strom/security/scram.h"
#include "strom/storage/log_manager.h"

namespace strom::admin {

struct options {
  std::string host = "127.0.0.1";
  uint16_t port = 9644;
  bool metrics_enabled = true;
  bool per_partition = false;  ///< per-partition log series
  bool consumer_lag = false;   ///< per-partition consumer lag series
  int32_t max_connections = 64;
  std::chrono::milliseconds io_timeout{10000};  ///< to read a request or write a response
  size_t max_header_bytes = 8192;
  size_t max_body_bytes = 64 * 1024;
  /// `authorization.enabled`: every endpoint but liveness and readiness needs HTTP basic
  /// authentication as a user with a SCRAM credential (401 otherwise).
  bool require_auth = false;
  /// A user accepted besides the cluster's (STROM_BOOTSTRAP_USER).
  std::optional<std::pair<std::string, security::scram_credential>> bootstrap_user;
  /// HTTPS when set: each connection takes the context current when it is accepted. A verified
  /// client certificate authenticates its requests when require_auth is set.
  std::shared_ptr<net::tls_config> tls;
  /// Where the changes made through the API (PUT, POST) are recorded; none when null.
  std::shared_ptr<security::audit_log> audit;
};

/// What the admin API reports on; every pointer outlives the server. The broker's parts
/// (partitions, coordinator, logs) are null until attach(): the listener starts before log
/// recovery so that liveness and readiness can be probed meanwhile.
struct sources {
  cluster::partition_manager* partitions = nullptr;
  /// The topics front end: decommissioning brokers goes through it.
  cluster::topics_frontend* topics = nullptr;
  groups::coordinator* groups = nullptr;
  storage::log_manager* logs = nullptr;
  /// Open Kafka connections on every listener.
  std::function<int64_t()> connections;
  /// Set once logs are recovered and the listeners accept connections.
  const std::atomic<bool>* ready = nullptr;
  int32_t node_id = 0;
  std::string version;
  /// The broker's metrics registry, rendered by `/metrics`; null: metrics::default_registry.
  metrics::registry* metrics = nullptr;
  /// In a cluster: the brokers and the controller as the controller log describes them
  /// (`/v1/cluster/health` lists every broker); unset on a single-node broker.
  std::function<std::shared_ptr<const cluster::cluster_view>()> cluster;
  /// The users, for require_auth (null until attach()).
  std::function<std::shared_ptr<const cluster::security_state>()> security;
  /// The effective configuration as (key path, value) pairs, secrets already masked.
  std::vector<std::pair<std::string, std::string>> config;
};

/// The admin HTTP listener: Prometheus `/metrics`, `/v1/status/live`, `/v1/status/ready`,
/// `/v1/cluster/health`, `/v1/config` and `PUT /v1/log-level/{component}`.
///
/// Runs on its own thread and io_context, apart from the shards: a slow scraper never delays
/// Kafka traffic. State that lives on shards (partitions, groups) is gathered by carrying
/// small coroutines to each shard. Requests are bounded (header and body limits, a read and
/// write deadline, a connection cap); malformed ones get a 4xx answer and a closed connection.
class server {
 public:
  server(options opts, sources src);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Binds and starts the thread. Throws on bind failure.
  void start();
  /// Hands over the broker's parts once they exist (after log recovery).
  void attach(cluster::partition_manager* partitions, groups::coordinator* groups,
              storage::log_manager* logs, std::function<int64_t()> connections,
              std::function<std::shared_ptr<const cluster::cluster_view>()> cluster = {},
              cluster::topics_frontend* topics = nullptr,
              std::function<std::shared_ptr<const cluster::security_state>()> security = {});
  /// Closes the listener and every connection, and joins the thread.
  void stop();
  [[nodiscard]] uint16_t port() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Whether a configuration key holds a secret (its value is masked in /v1/config).
bool is_secret_key(std::string_view path);

}  // namespace strom::admin
