#pragma once

#include <chrono>
#include <memory>

#include "strom/admin/server.h"
#include "strom/base/logging.h"
#include "strom/cluster/controller.h"
#include "strom/cluster/topics_frontend.h"
#include "strom/config/broker_config.h"
#include "strom/groups/coordinator.h"
#include "strom/io/file_system.h"
#include "strom/kafka/server/handler.h"
#include "strom/net/server.h"
#include "strom/storage/log_manager.h"

/// Translations from the parsed configuration to each module's own options: the only place
/// where configuration structs meet module structs.
namespace strom::app {

storage::log_config log_config(const config::log_defaults& d);
/// storage.max_open_segment_files, capped at a quarter of the descriptor limit (at least 16).
size_t max_open_segment_files(const config::broker_config& c);
storage::log_manager::options storage_options(const config::broker_config& c,
                                              std::shared_ptr<io::file_system> fs);
/// How often roll-by-age and time-based flushes are checked (retention has its own interval).
std::chrono::milliseconds housekeeping_interval(const config::broker_config& c);

/// Broker defaults of the topic configs.
cluster::topic_defaults topic_defaults(const config::broker_config& c);
cluster::topics_frontend::options topics_frontend_options(const config::broker_config& c);
groups::coordinator::options coordinator_options(const config::broker_config& c);
admin::options admin_options(const config::broker_config& c);
/// The admin API's view of this node before the logs are open (the rest comes by attach()).
admin::sources admin_sources(const config::broker_config& c, std::string version,
                             const std::atomic<bool>* ready);
net::server_options server_options(const config::broker_config& c,
                                   const config::listener_config& l);
/// The TLS configuration of an SSL or SASL_SSL listener (null for the others); an error names
/// the listener and the file that could not be used.
result<std::shared_ptr<net::tls_config>> tls_config(const config::listener_config& l);
/// The admin listener's TLS configuration (null without `admin.tls.cert_file`).
result<std::shared_ptr<net::tls_config>> admin_tls_config(const config::broker_config& c);
/// SASL_PLAINTEXT or SASL_SSL.
bool is_sasl(config::security_protocol p);
/// The largest frame a client sends before it authenticated on a SASL listener.
inline constexpr int32_t sasl_max_receive_bytes = 512 << 10;
/// The user of STROM_BOOTSTRAP_USER ("name:password", a SCRAM-SHA-256 credential kept in
/// memory only), none when `env` is null or empty; an error when it is malformed.
result<std::optional<std::pair<std::string, security::scram_credential>>> bootstrap_user(
    const char* env);

/// The bounds on what one Kafka request may ask for.
kafka::server::request_limits request_limits(const config::broker_config& c);

/// The controller of a cluster broker (cluster.seeds set): this broker's registration (its
/// first client listener, its internal listener, its rack), the voters, the timings of
/// cluster_defaults.replication and the controller log's directory. An error when the
/// configuration has no inter-broker listener.
result<cluster::controller::options> controller_options(const config::broker_config& c);
/// How replicated partitions run their Raft groups: the controller's clock and timeouts, and its
/// connections (on shard 0) for their messages and their leadership reports.
cluster::partition_manager::replication_config replication_config(const config::broker_config& c,
                                                                  net::shard_runtime& rt,
                                                                  cluster::controller& ctl,
                                                                  io::file_system& fs);

/// How the broker describes itself on listener `l` (advertised address, broker configs).
kafka::server::broker_identity broker_identity(const config::broker_config& c,
                                               const config::listener_config& l);

}  // namespace strom::app
