// stromd: the Strom broker. Wiring only: command line, configuration, logging, storage,
// signals and the housekeeping timer.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <utility>  // before Asio: Boost 1.74 with GCC 12 in C++20 needs it

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "app/wiring.h"
#include "strom/base/logging.h"
#include "strom/config/loader.h"
#include "strom/io/file_system.h"
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

  auto cfg = config::load_file(config_path);
  if (!cfg) {
    std::fprintf(stderr, "stromd: invalid configuration: %s\n", cfg.error().message().c_str());
    return exit_config;
  }
  if (check) {
    std::fputs(config::to_yaml(*cfg).c_str(), stdout);
    std::fprintf(stderr, "stromd: %s is valid\n", config_path.c_str());
    return 0;
  }

  logging::configure(config::logging_options(cfg->logging));
  auto& log = logging::get("main");
  log.info("stromd {} starting, node {}, configuration {}", STROM_VERSION, cfg->node.id,
           config_path);
  log.info("effective configuration:\n{}", config::to_yaml(*cfg));

  dir_locks locks;
  for (const auto& d : cfg->node.data_dirs) {
    std::string why;
    if (!locks.lock(d, why)) {
      log.critical("{}", why);
      return exit_runtime;
    }
  }

  auto storage_opts = app::storage_options(*cfg, io::make_posix_file_system());
  auto logs = storage::log_manager::open(storage_opts);
  if (!logs) {
    log.critical("cannot open storage: {}", logs.error().message());
    return exit_runtime;
  }
  auto& mgr = **logs;
  for (const auto& note : mgr.recovery_summary().notes)
    log.warn("recovery: {}", note);

  boost::asio::io_context io;
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  boost::asio::steady_timer housekeeping(io);
  auto interval = app::housekeeping_interval(*cfg);
  auto retention_every =
      std::chrono::milliseconds(cfg->cluster_defaults.log.retention_check_interval_ms);
  auto next_retention = std::chrono::steady_clock::now() + retention_every;
  std::function<void()> arm = [&] {
    housekeeping.expires_after(interval);
    housekeeping.async_wait([&](const boost::system::error_code& ec) {
      if (ec)
        return;
      auto now = std::chrono::steady_clock::now();
      bool retention = now >= next_retention;
      if (retention)
        next_retention = now + retention_every;
      mgr.housekeeping(retention);
      arm();
    });
  };
  arm();
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec)
      return;
    log.info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    housekeeping.cancel();
    io.stop();
  });
  log.info("stromd started: {} partition log(s) in {} data dir(s)", mgr.partitions().size(),
           mgr.dirs().size());
  io.run();

  auto s = mgr.shutdown();
  if (!s) {
    log.error("shutdown finished with errors: {}", s.error().message());
    return exit_runtime;
  }
  log.info("stromd stopped cleanly");
  return 0;
}
