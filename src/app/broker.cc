#include "app/broker.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <span>
#include <string>

#include <fmt/format.h>

#include "app/wiring.h"
#include "strom/base/logging.h"
#include "strom/config/errc.h"
#include "strom/kafka/server/handler.h"

namespace strom::app {

namespace {
spdlog::logger& lg() {
  return logging::get("main");
}

/// A block of producer ids from the controller (on shard 0), after raising the controller's
/// counter to `floor` (the ids this broker handed out before it joined a cluster).
net::awaitable<void> fetch_producer_ids(cluster::controller* c, int32_t self, int64_t floor,
                                        std::function<void(result<int64_t>)> done) {
  if (floor > 0) {
    auto op = c->submit(cluster::producer_id_floor_cmd{floor});
    auto r = co_await std::move(op);
    if (!r) {
      done(r.error());
      co_return;
    }
  }
  auto op = c->submit(
      cluster::allocate_producer_ids_cmd{self, cluster::producer_id_allocator::block_size});
  auto r = co_await std::move(op);
  done(std::move(r));
}
}  // namespace

broker::broker(config::broker_config cfg, std::shared_ptr<io::file_system> fs, timer_clock& clk,
               random_source& random, options opts)
    : cfg_(std::move(cfg)),
      fs_(std::move(fs)),
      clock_(clk),
      random_(random),
      opts_(std::move(opts)) {}

broker::~broker() {
  (void)stop();
}

status broker::start() {
  STROM_ASSERT(phase_ == phase::created, "broker::start called twice");
  // This thread, and every thread the broker starts from it (pools, admin, timers), logs
  // for this node.
  logging::node_scope scope(cfg_.node.id);
  if (auto s = build(); !s) {
    phase_ = phase::stopped;
    drop_all();
    return s;
  }
  phase_ = phase::running;
  ready_ = true;
  lg().info("stromd started: {} partition log(s) in {} data dir(s), {} shard(s)",
            logs_->partitions().size(), logs_->dirs().size(), rt_->count());
  return {};
}

status broker::build() {
  if (opts_.lock_data_dirs) {
    for (const auto& d : cfg_.node.data_dirs) {
      std::error_code ec;
      std::filesystem::create_directories(d, ec);
      auto p = std::filesystem::path(d) / ".lock";
      int fd = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
      if (fd < 0 || ::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (fd >= 0)
          ::close(fd);
        auto why = fmt::format("data directory {} is in use by another process", d);
        lg().critical("{}", why);
        return error(std::make_error_code(std::errc::device_or_resource_busy), why);
      }
      lock_fds_.push_back(fd);
    }
  }

  std::shared_ptr<security::audit_log> audit;
  if (cfg_.security.audit_log_path) {
    auto opened =
        security::audit_log::open({*cfg_.security.audit_log_path,
                                   static_cast<uint64_t>(cfg_.security.audit_log_max_file_bytes),
                                   cfg_.security.audit_log_max_files});
    if (!opened) {
      lg().critical("{}", opened.error().message());
      return opened.error();
    }
    audit = std::move(*opened);
  }
  // The admin listener comes first: liveness and readiness answer during log recovery.
  auto sources = admin_sources(cfg_, opts_.version, &ready_);
  sources.metrics = &metrics_;
  auto admin_opts = admin_options(cfg_);
  if (auto u = bootstrap_user(std::getenv("STROM_BOOTSTRAP_USER")); u && *u)
    admin_opts.bootstrap_user = **u;
  auto admin_tls = admin_tls_config(cfg_);
  if (!admin_tls) {
    lg().critical("{}", admin_tls.error().detail());
    return admin_tls.error();
  }
  admin_opts.tls = *admin_tls;
  admin_opts.audit = audit;
  if (*admin_tls)
    tls_.push_back(*admin_tls);
  admin_ = std::make_unique<admin::server>(std::move(admin_opts), std::move(sources));
  try {
    admin_->start();
  } catch (const std::exception& e) {
    lg().critical("cannot listen for the admin API on {}:{}: {}", cfg_.admin.bind.host,
                  cfg_.admin.bind.port, e.what());
    return error(std::make_error_code(std::errc::address_in_use), e.what());
  }

  // The topic table first: partition directories that no topic claims are the remains of an
  // interrupted topic creation or deletion (docs/storage-format.md, "Topics").
  auto store = cluster::topic_store::open(
      fs_, std::filesystem::path(cfg_.node.data_dirs.front()) / ".strom" / "topics");
  auto loaded = store ? (*store)->load() : result<cluster::topic_map>(store.error());
  if (!loaded) {
    lg().critical("cannot open the topic table: {}", loaded.error().message());
    return loaded.error();
  }
  store_ = std::move(*store);
  topics_ = std::make_unique<cluster::topic_table>(std::move(*loaded));
  auto storage_opts = storage_options(cfg_, fs_);
  storage_opts.clk = &clock_;
  storage_opts.random = &random_;
  // In a cluster only the partitions with a replica here are this broker's.
  std::optional<int32_t> host;
  if (!cfg_.cluster.seeds.empty())
    host = cfg_.node.id;
  storage_opts.claimed = [table = topics_.get(), host](const model::ntp& n) {
    if (!table->claims(n))
      return false;
    auto topics = table->snapshot();
    auto it = topics->find(n.topic);
    return it != topics->end() && it->second.hosted_on(n.partition.value(), host);
  };
  auto logs = storage::log_manager::open(std::move(storage_opts));
  if (!logs) {
    lg().critical("cannot open storage: {}", logs.error().message());
    return logs.error();
  }
  logs_ = std::move(*logs);
  for (const auto& note : logs_->recovery_summary().notes)
    lg().warn("recovery: {}", note);
  auto producer_ids = cluster::producer_id_allocator::open(
      fs_, std::filesystem::path(cfg_.node.data_dirs.front()) / ".strom" / "producer-id-block");
  if (!producer_ids) {
    lg().critical("cannot open the producer id block: {}", producer_ids.error().message());
    return producer_ids.error();
  }
  producer_ids_ = std::move(*producer_ids);

  rt_ = std::make_unique<net::shard_runtime>(static_cast<size_t>(cfg_.network.shards));
  for (size_t i = 0; i < rt_->count(); ++i) {
    // The first thing each shard thread runs: it logs for this node.
    net::asio::post(rt_->context(i), [node = cfg_.node.id] { logging::set_thread_node(node); });
  }
  std::filesystem::path lost_replicas;
  if (!cfg_.cluster.seeds.empty()) {
    auto opts = controller_options(cfg_);
    if (!opts) {
      lg().critical("{}", opts.error().message());
      return opts.error();
    }
    // No controller state: a data directory that is new, or replaced (a lost disk). Until
    // this broker has created every replica the controller assigns it, those it creates may
    // stand for replicas it held and lost (partition_manager::replicas_restored). The marker
    // outlives a crash before that.
    lost_replicas = opts->dir.parent_path() / "replicas-lost";
    auto had_state = fs_->exists(opts->dir);
    if (had_state && !*had_state) {
      std::string note = "this broker started without its controller state\n";
      auto s = fs_->create_directories(lost_replicas.parent_path());
      if (s)
        s = fs_->write_file_atomic(lost_replicas, std::as_bytes(std::span(note)));
      if (!s) {
        lg().critical("cannot write {}: {}", lost_replicas.string(), s.error().message());
        return s.error();
      }
      lg().info(
          "no controller state in {}: a new or replaced data directory; replicas "
          "created until this broker holds all it is assigned start rebuilding",
          opts->dir.string());
    }
    for (const auto& t : {opts->listener_tls, opts->peer_tls}) {
      if (t)
        tls_.push_back(t);  // reloaded on SIGHUP with the listeners'
    }
    // Runs on shard 0, which starts after the front end exists and stops before it goes.
    opts->on_change = [this] {
      if (frontend_)
        frontend_->on_cluster_change();
    };
    // The partitions' Raft messages arrive over the controller's listener, on shard 0.
    opts->on_group_messages = [this](std::vector<std::pair<uint64_t, raft::message>> msgs) {
      if (partitions_)
        partitions_->deliver(std::move(msgs));
    };
    opts->local_usage = [this] {
      return frontend_ ? frontend_->local_usage() : std::vector<cluster::partition_bytes>{};
    };
    controller_ = std::make_unique<cluster::controller>(rt_->context(0), fs_, clock_, *opts);
    if (auto s = controller_->start(); !s) {
      lg().critical("cannot start the controller: {}", s.error().message());
      return s.error();
    }
  }
  partitions_ = std::make_unique<cluster::partition_manager>(*rt_, *logs_, topic_defaults(cfg_),
                                                             clock_, metrics_);
  if (host)
    partitions_->host_only(*host);
  if (controller_) {
    auto rc = replication_config(cfg_, *rt_, *controller_, *fs_);
    rc.lost_replicas_marker = lost_replicas;
    partitions_->enable_replication(std::move(rc));
  }
  // The cluster-wide config defaults as this broker last knew them: its own (single node), or
  // its copy of the controller's (a cluster; reconcile brings them up to date).
  auto cluster_configs = store_->load_cluster_configs();
  if (!cluster_configs) {
    lg().critical("cannot load the cluster-wide configs: {}", cluster_configs.error().message());
    return cluster_configs.error();
  }
  partitions_->set_cluster_defaults(cluster::cluster_defaults_by_topic_name(*cluster_configs));
  if (auto s = partitions_->load(*topics_->snapshot()); !s) {
    lg().critical("cannot load partitions: {}", s.error().message());
    return s.error();
  }
  frontend_ = std::make_unique<cluster::topics_frontend>(*partitions_, *store_, *topics_,
                                                         topics_frontend_options(cfg_));
  frontend_->load_cluster_configs(*cluster_configs);
  if (!controller_) {
    auto users = store_->load_security();
    if (!users) {
      lg().critical("cannot load the users: {}", users.error().message());
      return users.error();
    }
    frontend_->load_security(std::move(*users));
  }
  if (controller_) {
    frontend_->attach_controller(controller_.get(), cfg_.node.id);
    // Producer ids come in blocks from the controller, unique across the cluster; the block
    // this broker reserved on its own before is the floor.
    producer_ids_->use_blocks_from(
        [rt = rt_.get(), c = controller_.get(), self = cfg_.node.id,
         floor = producer_ids_->persisted_end()](std::function<void(result<int64_t>)> done) {
          rt->spawn(0, [c, self, floor, done = std::move(done)]() mutable {
            return fetch_producer_ids(c, self, floor, std::move(done));
          });
        });
  }
  upkeep_ = std::make_unique<cluster::housekeeping>(*partitions_, clock_);
  auto coord_opts = coordinator_options(cfg_);
  coord_opts.random = &random_;
  coord_opts.metrics = &metrics_;
  coord_ = std::make_unique<groups::coordinator>(*partitions_, *frontend_, *topics_,
                                                 std::move(coord_opts), clock_);

  auto first_user = bootstrap_user(std::getenv("STROM_BOOTSTRAP_USER"));
  if (!first_user) {
    lg().critical("{}", first_user.error().message());
    return first_user.error();
  }
  if (*first_user)
    lg().info("STROM_BOOTSTRAP_USER: user {} accepted (SCRAM-SHA-256, PLAIN)",
              (*first_user)->first);
  // One for all listeners: a client's quota counts what it moves through any of them.
  auto quotas = std::make_shared<kafka::server::quota_manager>();
  for (const auto& l : cfg_.listeners) {
    bool inter_broker = cfg_.inter_broker_listener && l.name == *cfg_.inter_broker_listener &&
                        cfg_.listeners.size() > 1;
    if (inter_broker)
      continue;  // the controller serves it (in a cluster)
    auto tls = tls_config(l);
    if (!tls) {
      lg().critical("{}", tls.error().detail());
      return tls.error();
    }
    if (*tls)
      tls_.push_back(*tls);
    auto identity = broker_identity(cfg_, l);
    if (controller_)
      identity.cluster = [c = controller_.get()] { return c->view(); };
    kafka::server::listener_auth auth;
    auth.sasl = is_sasl(l.protocol);
    auth.mechanisms = l.sasl_mechanisms;
    auth.max_reauth = std::chrono::milliseconds(cfg_.network.connections_max_reauth_ms);
    auth.bootstrap_user = *first_user;
    auth.audit = audit;
    auth.authorize = cfg_.authorization.enabled;
    auth.superusers = cfg_.authorization.superusers;
    auth.quotas = quotas;
    auto handler = kafka::server::make_handler(*partitions_, *frontend_, *topics_,
                                               std::move(identity), *producer_ids_, *coord_,
                                               request_limits(cfg_), metrics_, std::move(auth));
    auto opts = server_options(cfg_, l);
    opts.tls = *tls;
    if (*tls && audit) {
      opts.on_tls_failure = [audit](const net::connection_info& who, std::string_view why) {
        audit->record(
            {"authentication", "User:ANONYMOUS", who.peer, "TLS", "", "failure", std::string(why)});
      };
    }
    servers_.push_back(std::make_unique<net::server>(*rt_, std::move(opts), std::move(handler)));
  }
  try {
    for (auto& s : servers_)
      s->start();
  } catch (const std::exception& e) {
    lg().critical("cannot listen: {}", e.what());
    return error(std::make_error_code(std::errc::address_in_use), e.what());
  }
  rt_->start();
  partitions_->start_replication();
  upkeep_->start(housekeeping_interval(cfg_),
                 std::chrono::milliseconds(cfg_.cluster_defaults.log.retention_check_interval_ms));
  coord_->start();
  std::function<std::shared_ptr<const cluster::cluster_view>()> view;
  if (controller_)
    view = [c = controller_.get()] { return c->view(); };
  admin_->attach(
      partitions_.get(), coord_.get(), logs_.get(),
      [this] {
        int64_t n = 0;
        for (const auto& s : servers_)
          n += s->connections();
        return n;
      },
      std::move(view), controller_ ? frontend_.get() : nullptr,
      [f = frontend_.get()] { return f->security(); });
  return {};
}

void broker::reload_tls() {
  for (const auto& t : tls_) {
    if (auto s = t->reload(); !s)
      lg().error("TLS reload: keeping the current certificate: {}", s.error().detail());
    else
      lg().info("TLS reload: {} read again", t->options().cert_file);
  }
}

status broker::stop() {
  if (phase_ != phase::running) {
    if (phase_ == phase::created)
      phase_ = phase::stopped;
    return {};
  }
  phase_ = phase::stopped;
  logging::node_scope scope(cfg_.node.id);
  // Stop taking requests, finish the ones in flight, then stop the shards and close the logs.
  ready_ = false;
  auto drain = std::chrono::milliseconds(cfg_.shutdown.drain_timeout_ms);
  if (controller_ && cfg_.shutdown.controlled) {
    // Controlled shutdown, while every listener still answers: the partitions this broker
    // leads handed to other replicas, then this broker fenced and, when it leads, the
    // controller handed over. Each bounded by the drain timeout and a broker session.
    auto limit = std::min(drain, std::chrono::milliseconds(
                                     3 * cfg_.cluster_defaults.replication.election_timeout_ms));
    auto left = std::make_shared<std::promise<void>>();
    auto done = left->get_future();
    auto leave = [](cluster::partition_manager* parts, cluster::controller* ctl,
                    std::chrono::milliseconds within) -> net::awaitable<void> {
      auto handed = parts->leave(within);
      co_await std::move(handed);
      auto fenced = ctl->leave(within);
      co_await std::move(fenced);
    };
    net::asio::co_spawn(rt_->context(0), leave(partitions_.get(), controller_.get(), limit),
                        [left](const std::exception_ptr&) { left->set_value(); });
    if (done.wait_for(2 * limit + std::chrono::seconds(1)) != std::future_status::ready)
      lg().warn("controlled shutdown did not finish in {} ms", 2 * limit.count());
  }
  admin_->stop();  // its requests reach into the shards
  for (auto& s : servers_)
    s->stop(drain);
  rt_->stop();
  if (controller_)
    controller_->stop();  // its loops ran on shard 0; its log closes here
  // Groups holding requests, timers and fetch waiters die before the contexts they use; a
  // topic change's file work and running compactions end (or roll back) first; no
  // housekeeping tick posts to a shard any more.
  coord_->release_shard_objects();
  frontend_->stop();
  upkeep_->release_shard_objects();
  partitions_->release_shard_objects();
  logs_->wait_flushes();  // flush completions post to the shards' executors, destroyed below
  rt_.reset();            // destroys what the shards still held before the objects they point to
  servers_.clear();
  controller_.reset();
  coord_.reset();
  upkeep_.reset();
  frontend_.reset();
  partitions_.reset();  // the partitions hand their logs the final producer state

  auto s = logs_->shutdown();
  if (!s)
    lg().error("shutdown finished with errors: {}", s.error().message());
  else
    lg().info("stromd stopped cleanly");
  drop_all();
  return s;
}

void broker::drop_all() {
  // Reverse order of construction. After a failed start the shards never ran: nothing was
  // posted that needs them, and the logs get no clean-shutdown marker.
  if (admin_)
    admin_->stop();
  servers_.clear();
  coord_.reset();
  if (upkeep_)
    upkeep_->release_shard_objects();
  upkeep_.reset();
  frontend_.reset();
  partitions_.reset();
  if (controller_)
    controller_->stop();
  rt_.reset();
  controller_.reset();
  producer_ids_.reset();
  logs_.reset();
  topics_.reset();
  store_.reset();
  admin_.reset();
  for (int fd : lock_fds_)
    ::close(fd);
  lock_fds_.clear();
}

uint16_t broker::kafka_port(size_t i) const {
  return servers_.at(i)->port();
}

uint16_t broker::admin_port() const {
  return admin_->port();
}

}  // namespace strom::app
