// stromd: the Strom broker process. Command line, configuration, logging, process limits and
// signals; the broker itself is app::broker.
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <utility>  // before Asio: Boost 1.74 with GCC 12 in C++20 needs it

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <functional>
#include <memory>

#ifdef STROM_FAULT_HOOKS
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "strom/io/fault_file_system.h"
#endif

#include "app/broker.h"
#include "strom/base/clock.h"
#include "strom/base/logging.h"
#include "strom/base/random.h"
#include "strom/config/errc.h"
#include "strom/config/loader.h"
#include "strom/io/file_system.h"

namespace {

/// Exit codes: 0 clean stop, 1 runtime failure, 2 bad command line, 78 bad configuration
/// (EX_CONFIG: a service manager should not restart in a loop on it).
constexpr int exit_runtime = 1;
constexpr int exit_config = 78;

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

#ifdef STROM_FAULT_HOOKS
/// Test builds only (cmake -DSTROM_FAULT_HOOKS=ON; tests/chaos): with STROM_FAULT_DIR set, every
/// fsync fails while the file `<STROM_FAULT_DIR>/<node id>.fail-sync` exists, as a failing disk
/// would make them. `watcher` polls for the file every 50 ms.
std::shared_ptr<strom::io::file_system> file_system_with_hooks(int32_t node, std::jthread& watcher,
                                                               spdlog::logger& log) {
  auto fs = strom::io::make_posix_file_system();
  const char* dir = std::getenv("STROM_FAULT_DIR");
  if (dir == nullptr || *dir == '\0')
    return fs;
  auto faults = std::make_shared<strom::io::fault_file_system>(fs);
  auto flag = std::filesystem::path(dir) / (std::to_string(node) + ".fail-sync");
  log.warn("fault hooks: every fsync fails while {} exists", flag.string());
  watcher = std::jthread([faults, flag](const std::stop_token& stop) {
    bool failing = false;
    while (!stop.stop_requested()) {
      std::error_code ec;
      bool want = std::filesystem::exists(flag, ec);
      if (want != failing) {
        faults->fail_syncs(want);
        failing = want;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  return faults;
}
#endif

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
  auto log_opts = config::logging_options(cfg->logging);
  log_opts.node = cfg->node.id;  // every line names the node
  logging::configure(log_opts);
  auto& log = logging::get("main");
  log.info("stromd {} starting, node {}, configuration {}", STROM_VERSION, cfg->node.id,
           config_path);
  log.info("effective configuration:\n{}", config::to_yaml(*cfg));

  raise_descriptor_limit(*cfg, log);

  // Signals are caught from here on: one that arrives during start-up stops the broker as
  // soon as it has started (its "started" line is what supervisors and tests wait for).
  boost::asio::io_context io;
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec)
      return;
    log.info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    io.stop();
  });
  // SIGHUP reads the TLS certificates again; it is set up once the broker exists (below).
  boost::asio::signal_set hangups(io, SIGHUP);
  app::broker* running = nullptr;
  std::function<void()> on_hangup = [&] {
    hangups.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec)
        return;
      log.info("received SIGHUP, reloading the TLS certificates");
      if (running != nullptr)
        running->reload_tls();
      on_hangup();
    });
  };
  on_hangup();

  thread_timer_clock clk;
  auto random = make_system_random();
#ifdef STROM_FAULT_HOOKS
  std::jthread fault_watcher;
  auto fs = file_system_with_hooks(cfg->node.id, fault_watcher, log);
#else
  auto fs = io::make_posix_file_system();
#endif
  app::broker broker(*cfg, std::move(fs), clk, *random,
                     app::broker::options{.version = STROM_VERSION});
  if (auto s = broker.start(); !s) {
    // start() logged what failed.
    return s.error().code().category() == config::error_category() ? exit_config : exit_runtime;
  }
  running = &broker;
  io.run();

  if (!broker.stop())
    return exit_runtime;
  clk.stop();
  return 0;
}
