// stromd: the Strom broker. Wiring only: command line, configuration, logging, storage,
// signals and the housekeeping timer.
#include <fcntl.h>
#include <malloc.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>
#include <atomic>

#include <utility>  // before Asio: Boost 1.74 with GCC 12 in C++20 needs it

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <CLI/CLI.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "app/wiring.h"
#include "strom/admin/server.h"
#include "strom/base/logging.h"
#include "strom/cluster/housekeeping.h"
#include "strom/cluster/partition_manager.h"
#include "strom/cluster/producer_ids.h"
#include "strom/cluster/topic_store.h"
#include "strom/cluster/topic_table.h"
#include "strom/cluster/topics_frontend.h"
#include "strom/config/loader.h"
#include "strom/io/file_system.h"
#include "strom/kafka/server/handler.h"
#include "strom/net/server.h"
#include "strom/storage/log_manager.h"

namespace {

/// Exit codes: 0 clean stop, 1 runtime failure, 2 bad command line, 78 bad configuration
/// (EX_CONFIG: a service manager should not restart in a loop on it).
constexpr int exit_runtime = 1;
constexpr int exit_config = 78;

/// Holds an exclusive lock on each data directory so that two brokers never share one.
class dir_locks {
 public:
  bool lock(const std::filesystem::path& dir, std::string& why) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    auto p = dir / ".lock";
    int fd = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 || ::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      why = fmt::format("data directory {} is in use by another process", dir.string());
      if (fd >= 0)
        ::close(fd);
      return false;
    }
    fds_.push_back(fd);
    return true;
  }
  ~dir_locks() {
    for (int fd : fds_)
      ::close(fd);
  }

 private:
  std::vector<int> fds_;
};

/// Raises the soft descriptor limit to the hard one (each connection and each open segment
/// file takes a descriptor), and warns when the connection limits do not fit under it.
void raise_descriptor_limit(const strom::config::broker_config& cfg, spdlog::logger& log) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return;
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0)
      rl = raised;
  }
  log.info("descriptor limit {}", static_cast<uint64_t>(rl.rlim_cur));
  uint64_t connections = static_cast<uint64_t>(cfg.network.max_connections) * cfg.listeners.size();
  if (rl.rlim_cur != RLIM_INFINITY &&
      (cfg.network.max_connections == 0 || connections + 256 > rl.rlim_cur)) {
    log.warn(
        "network.max_connections ({} per listener) leaves too few of the {} descriptors for "
        "the logs: running out makes requests fail and new connections wait",
        cfg.network.max_connections, static_cast<uint64_t>(rl.rlim_cur));
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace strom;
  CLI::App cli{"stromd: a Kafka-protocol commit-log broker"};
  std::string config_path = "config/strom.yaml";
  bool check = false;
  cli.add_option("-c,--config", config_path, "YAML configuration file")->capture_default_str();
  cli.add_flag("--check", check, "validate the configuration, print the effective one, exit");
  cli.set_version_flag("--version", std::string("stromd ") + STROM_VERSION);
  CLI11_PARSE(cli, argc, argv);

  // STROM_<KEY> environment variables override the file (containers): STROM_NODE__ID=2.
  auto overrides = config::environment_overrides(environ);
  if (!overrides) {
    std::fprintf(stderr, "stromd: invalid configuration: %s\n",
                 overrides.error().message().c_str());
    return exit_config;
  }
  auto cfg = config::load_file(config_path, *overrides);
  if (!cfg) {
    std::fprintf(stderr, "stromd: invalid configuration: %s\n", cfg.error().message().c_str());
    return exit_config;
  }
  if (check) {
    std::fputs(config::to_yaml(*cfg).c_str(), stdout);
    std::fprintf(stderr, "stromd: %s is valid\n", config_path.c_str());
    return 0;
  }

  ::signal(SIGPIPE, SIG_IGN);  // a peer closing its socket is an error code, not a signal
#ifdef __GLIBC__
  // Buffers of 4 MiB and more (request frames of that size are rare: clients send about 1 MiB
  // at most) come straight from the kernel and go back to it when freed. Without a fixed
  // threshold glibc raises it after each such free, and memory a hostile 100 MiB request used
  // would stay with the process long after the request.
  ::mallopt(M_MMAP_THRESHOLD, 4 << 20);
#endif
  logging::configure(config::logging_options(cfg->logging));
  auto& log = logging::get("main");
  log.info("stromd {} starting, node {}, configuration {}", STROM_VERSION, cfg->node.id,
           config_path);
  log.info("effective configuration:\n{}", config::to_yaml(*cfg));

  raise_descriptor_limit(*cfg, log);

  dir_locks locks;
  for (const auto& d : cfg->node.data_dirs) {
    std::string why;
    if (!locks.lock(d, why)) {
      log.critical("{}", why);
      return exit_runtime;
    }
  }

  // The admin listener comes first: liveness and readiness answer during log recovery.
  std::atomic<bool> ready{false};
  std::unique_ptr<admin::server> admin_api;
  try {
    admin_api = std::make_unique<admin::server>(app::admin_options(*cfg),
                                                app::admin_sources(*cfg, STROM_VERSION, &ready));
    admin_api->start();
  } catch (const std::exception& e) {
    log.critical("cannot listen for the admin API on {}:{}: {}", cfg->admin.bind.host,
                 cfg->admin.bind.port, e.what());
    return exit_runtime;
  }

  auto fs = io::make_posix_file_system();
  // The topic table first: partition directories that no topic claims are the remains of an
  // interrupted topic creation or deletion (docs/storage-format.md, "Topics").
  auto store = cluster::topic_store::open(
      fs, std::filesystem::path(cfg->node.data_dirs.front()) / ".strom" / "topics");
  auto loaded = store ? (*store)->load() : result<cluster::topic_map>(store.error());
  if (!loaded) {
    log.critical("cannot open the topic table: {}", loaded.error().message());
    return exit_runtime;
  }
  auto topics = std::make_unique<cluster::topic_table>(std::move(*loaded));
  auto storage_opts = app::storage_options(*cfg, fs);
  storage_opts.claimed = [table = topics.get()](const model::ntp& n) { return table->claims(n); };
  auto logs = storage::log_manager::open(std::move(storage_opts));
  if (!logs) {
    log.critical("cannot open storage: {}", logs.error().message());
    return exit_runtime;
  }
  auto& mgr = **logs;
  for (const auto& note : mgr.recovery_summary().notes)
    log.warn("recovery: {}", note);
  auto producer_ids = cluster::producer_id_allocator::open(
      fs, std::filesystem::path(cfg->node.data_dirs.front()) / ".strom" / "producer-id-block");
  if (!producer_ids) {
    log.critical("cannot open the producer id block: {}", producer_ids.error().message());
    return exit_runtime;
  }
  auto rt = std::make_unique<net::shard_runtime>(static_cast<size_t>(cfg->network.shards));
  auto partitions =
      std::make_unique<cluster::partition_manager>(*rt, mgr, app::topic_defaults(*cfg));
  if (auto s = partitions->load(*topics->snapshot()); !s) {
    log.critical("cannot load partitions: {}", s.error().message());
    return exit_runtime;
  }
  auto frontend = std::make_unique<cluster::topics_frontend>(*partitions, **store, *topics,
                                                             app::topics_frontend_options(*cfg));
  auto upkeep = std::make_unique<cluster::housekeeping>(*partitions);

  auto coord = std::make_unique<groups::coordinator>(*partitions, *frontend, *topics,
                                                     app::coordinator_options(*cfg));

  std::vector<std::unique_ptr<net::server>> servers;
  for (const auto& l : cfg->listeners) {
    if (l.protocol != config::security_protocol::plaintext) {
      log.critical("listener {}: security protocol {} is not supported yet", l.name,
                   config::to_string(l.protocol));
      return exit_config;
    }
    if (cfg->inter_broker_listener && l.name == *cfg->inter_broker_listener &&
        cfg->listeners.size() > 1) {
      continue;  // the inter-broker RPC listener arrives with replication
    }
    auto handler =
        kafka::server::make_handler(*partitions, *frontend, *topics, app::broker_identity(*cfg, l),
                                    **producer_ids, *coord, app::request_limits(*cfg));
    servers.push_back(
        std::make_unique<net::server>(*rt, app::server_options(*cfg, l), std::move(handler)));
  }
  try {
    for (auto& s : servers)
      s->start();
  } catch (const std::exception& e) {
    log.critical("cannot listen: {}", e.what());
    return exit_runtime;
  }
  rt->start();
  upkeep->start(app::housekeeping_interval(*cfg),
                std::chrono::milliseconds(cfg->cluster_defaults.log.retention_check_interval_ms));
  coord->start();
  admin_api->attach(partitions.get(), coord.get(), &mgr, [&servers] {
    int64_t n = 0;
    for (const auto& s : servers)
      n += s->connections();
    return n;
  });
  ready = true;

  boost::asio::io_context io;
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec)
      return;
    log.info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    io.stop();
  });
  log.info("stromd started: {} partition log(s) in {} data dir(s), {} shard(s)",
           mgr.partitions().size(), mgr.dirs().size(), rt->count());
  io.run();

  // Stop taking requests, finish the ones in flight, then stop the shards and close the logs.
  ready = false;
  admin_api->stop();  // its requests reach into the shards
  auto drain = std::chrono::milliseconds(cfg->shutdown.drain_timeout_ms);
  for (auto& s : servers)
    s->stop(drain);
  rt->stop();
  // Groups holding requests, timers and fetch waiters die before the contexts they use; a
  // topic change's file work and running compactions end (or roll back) first.
  coord->release_shard_objects();
  frontend->stop();
  upkeep->release_shard_objects();
  partitions->release_shard_objects();
  mgr.wait_flushes();  // flush completions post to the shards' executors, destroyed below
  rt.reset();          // destroys what the shards still held before the objects they point to
  servers.clear();
  coord.reset();
  upkeep.reset();
  frontend.reset();
  partitions.reset();  // the partitions hand their logs the final producer state

  auto s = mgr.shutdown();
  if (!s) {
    log.error("shutdown finished with errors: {}", s.error().message());
    return exit_runtime;
  }
  log.info("stromd stopped cleanly");
  return 0;
}
