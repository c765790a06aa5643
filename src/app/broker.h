#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "strom/admin/server.h"
#include "strom/base/clock.h"
#include "strom/base/random.h"
#include "strom/base/result.h"
#include "strom/cluster/controller.h"
#include "strom/cluster/housekeeping.h"
#include "strom/cluster/partition_manager.h"
#include "strom/cluster/producer_ids.h"
#include "strom/cluster/topic_store.h"
#include "strom/cluster/topic_table.h"
#include "strom/cluster/topics_frontend.h"
#include "strom/config/broker_config.h"
#include "strom/groups/coordinator.h"
#include "strom/io/file_system.h"
#include "strom/metrics/metrics.h"
#include "strom/net/server.h"
#include "strom/net/shard_runtime.h"
#include "strom/storage/log_manager.h"

namespace strom::app {

/// One Strom broker, composed from a parsed configuration, a file system, a timer clock and a
/// random source: the admin API, the topic table and its files, the log manager, the
/// producer-id block, the shard runtime, the partitions, the topics front end, housekeeping,
/// the group coordinator and the Kafka listeners, with their start-up and shutdown order.
///
/// Several brokers may live in one process (tests; later a simulated cluster): a broker
/// shares nothing on its data path with another. It owns its metrics registry (its
/// `/metrics` shows its own series only), its threads log as `[<component>/<node.id>]`
/// (logging::thread_node), and its time and randomness come from the clock and the random
/// source it is given. What stays process-wide is listed in docs/architecture.md ("The
/// broker").
///
/// Not thread-safe: construct, start(), stop() and destroy from one thread (the process's
/// main thread in stromd). The file system, clock and random source outlive the broker.
class broker {
 public:
  struct options {
    /// Reported by the admin API (build info, cluster health).
    std::string version = "dev";
    /// Take an exclusive flock on `<data_dir>/.lock` of every data directory (a POSIX file
    /// system): a second broker on the same directories refuses to start. Off for brokers
    /// on an in-memory file system.
    bool lock_data_dirs = true;
  };

  broker(config::broker_config cfg, std::shared_ptr<io::file_system> fs, timer_clock& clk,
         random_source& random, options opts);
  /// stop() if still running.
  ~broker();
  broker(const broker&) = delete;
  broker& operator=(const broker&) = delete;

  /// Builds and starts everything: admin listener first (liveness and readiness answer
  /// during recovery), then the topic table, the logs (recovered), partitions, coordinator,
  /// Kafka listeners and shards; then reports ready. On failure the error says what failed
  /// (a `config::errc` error for a configuration the broker cannot serve, such as an
  /// unsupported listener protocol), what was built is torn down at stop() or destruction,
  /// and the logs get no clean-shutdown marker. Call once.
  status start();
  /// Stops taking requests, finishes those in flight (up to shutdown.drain_timeout_ms),
  /// stops the shards, closes every log and writes the clean-shutdown markers; then drops
  /// every part in the reverse order of construction. Idempotent; fails when a log could not
  /// be closed cleanly.
  status stop();
  /// Reads every TLS listener's certificate, key and CA files again (SIGHUP): new connections
  /// use them; a listener whose files cannot be read keeps its current ones (logged).
  void reload_tls();

  [[nodiscard]] bool ready() const { return ready_.load(); }
  [[nodiscard]] const config::broker_config& config() const { return cfg_; }
  [[nodiscard]] int32_t node_id() const { return cfg_.node.id; }
  /// The bound port of the i-th Kafka listener started (listeners in configuration order,
  /// without the inter-broker one). REQUIRES: start() succeeded.
  [[nodiscard]] uint16_t kafka_port(size_t i = 0) const;
  /// The bound port of the admin API. REQUIRES: start() got that far.
  [[nodiscard]] uint16_t admin_port() const;
  metrics::registry& metrics() { return metrics_; }
  /// The parts, for tests and tools. Null before start() and after stop().
  cluster::partition_manager* partitions() { return partitions_.get(); }
  storage::log_manager* logs() { return logs_.get(); }
  net::shard_runtime* runtime() { return rt_.get(); }
  /// The controller, in a cluster (cluster.seeds set); null on a single-node broker.
  cluster::controller* controller() { return controller_.get(); }

 private:
  status build();
  /// Teardown of a broker that never ran (start() failed): reverse order, no clean marker.
  void drop_all();

  enum class phase { created, running, stopped };

  const config::broker_config cfg_;
  const std::shared_ptr<io::file_system> fs_;
  timer_clock& clock_;
  random_source& random_;
  const options opts_;
  phase phase_ = phase::created;

  // In construction order; stop() and drop_all() take them down in reverse.
  metrics::registry metrics_;
  std::vector<int> lock_fds_;  ///< flocked `.lock` files of the data directories
  std::atomic<bool> ready_{false};
  std::unique_ptr<admin::server> admin_;
  std::unique_ptr<cluster::topic_store> store_;
  std::unique_ptr<cluster::topic_table> topics_;
  std::unique_ptr<storage::log_manager> logs_;
  std::unique_ptr<cluster::producer_id_allocator> producer_ids_;
  std::unique_ptr<net::shard_runtime> rt_;
  std::unique_ptr<cluster::controller> controller_;
  std::unique_ptr<cluster::partition_manager> partitions_;
  std::unique_ptr<cluster::topics_frontend> frontend_;
  std::unique_ptr<cluster::housekeeping> upkeep_;
  std::unique_ptr<groups::coordinator> coord_;
  std::vector<std::unique_ptr<net::server>> servers_;
  /// The TLS configurations of the listeners, for reload_tls().
  std::vector<std::shared_ptr<net::tls_config>> tls_;
};

}  // namespace strom::app
