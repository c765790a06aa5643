#include "app/wiring.h"

#include "strom/config/errc.h"
#include "strom/config/schema.h"
#include "strom/rpc/raft_network.h"

#include <sys/resource.h>

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace strom::app {

storage::log_config log_config(const config::log_defaults& d) {
  storage::log_config l;
  l.segment_bytes = static_cast<uint64_t>(d.segment_bytes);
  l.segment_ms = d.segment_ms;
  l.segment_jitter_ms = d.segment_jitter_ms;
  l.index_max_bytes = static_cast<uint64_t>(d.segment_index_bytes);
  l.retention_ms = d.retention_ms;
  l.retention_bytes = d.retention_bytes;
  l.index_interval_bytes = static_cast<uint32_t>(d.index_interval_bytes);
  l.writeback_bytes = static_cast<uint64_t>(d.writeback_bytes);
  l.max_batch_bytes = static_cast<uint32_t>(d.message_max_bytes);
  l.flush_messages = d.flush_interval_messages;
  l.flush_ms = d.flush_interval_ms;
  l.cleanup_delete = d.cleanup != config::cleanup_policy::compact;
  l.cleanup_compact = d.cleanup != config::cleanup_policy::delete_;
  l.delete_retention_ms = d.delete_retention_ms;
  l.min_compaction_lag_ms = d.min_compaction_lag_ms;
  return l;
}

size_t max_open_segment_files(const config::broker_config& c) {
  auto n = static_cast<size_t>(c.storage.max_open_segment_files);
  struct rlimit lim {};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY)
    n = std::min<size_t>(n, std::max<size_t>(16, static_cast<size_t>(lim.rlim_cur / 4)));
  return n;
}

storage::log_manager::options storage_options(const config::broker_config& c,
                                              std::shared_ptr<io::file_system> fs) {
  storage::log_manager::options o;
  for (const auto& d : c.node.data_dirs)
    o.data_dirs.emplace_back(d);
  o.fs = std::move(fs);
  o.defaults = log_config(c.cluster_defaults.log);
  o.flush_threads = 1;
  o.max_open_segment_files = max_open_segment_files(c);
  return o;
}

std::chrono::milliseconds housekeeping_interval(const config::broker_config& c) {
  const auto& l = c.cluster_defaults.log;
  int64_t ms = std::min<int64_t>(l.retention_check_interval_ms, 1000);
  if (l.flush_interval_ms)
    ms = std::min(ms, *l.flush_interval_ms);
  return std::chrono::milliseconds(std::max<int64_t>(ms, 10));
}

cluster::topic_defaults topic_defaults(const config::broker_config& c) {
  const auto& l = c.cluster_defaults.log;
  cluster::topic_defaults d;
  d.log = log_config(l);
  d.cleanup_policy = std::string(config::to_string(l.cleanup));
  d.compression_type = std::string(config::to_string(l.compression));
  d.message_timestamp_type = std::string(config::to_string(l.message_timestamp_type));
  d.write_caching = l.write_caching;
  d.min_insync_replicas = c.cluster_defaults.topics.min_insync_replicas;
  d.producer_id_expiration_ms = c.cluster_defaults.producers.id_expiration_ms;
  d.max_producers_per_partition =
      static_cast<size_t>(c.cluster_defaults.producers.max_per_partition);
  return d;
}

cluster::topics_frontend::options topics_frontend_options(const config::broker_config& c) {
  cluster::topics_frontend::options o;
  const auto& t = c.cluster_defaults.topics;
  o.default_partitions = t.default_partitions;
  o.default_replication_factor = static_cast<int16_t>(t.default_replication_factor);
  o.auto_create_topics = t.auto_create;
  o.delete_topic_enable = t.delete_enable;
  o.max_partitions_per_topic = t.max_partitions_per_topic;
  o.max_partitions_per_broker = t.max_partitions_per_broker;
  o.continuous_balancing = c.cluster_defaults.replication.continuous_balancing;
  o.disk.threshold_percent = c.cluster_defaults.replication.balancing_disk_threshold_percent;
  o.disk.min_bytes = c.cluster_defaults.replication.balancing_disk_min_bytes;
  o.node_id = c.node.id;
  return o;
}

groups::coordinator::options coordinator_options(const config::broker_config& c) {
  groups::coordinator::options o;
  const auto& g = c.cluster_defaults.groups;
  o.partitions = g.offsets_topic_partitions;
  // A node without cluster.seeds holds one replica: a larger factor would leave the topic
  // uncreatable.
  o.replication_factor = c.cluster.seeds.empty()
                             ? int16_t{1}
                             : static_cast<int16_t>(g.offsets_topic_replication_factor);
  o.limits.min_session_timeout_ms = g.min_session_timeout_ms;
  o.limits.max_session_timeout_ms = g.max_session_timeout_ms;
  o.limits.initial_rebalance_delay_ms = g.initial_rebalance_delay_ms;
  o.offsets_retention_ms = int64_t{g.offsets_retention_minutes} * 60 * 1000;
  o.compaction_bytes = static_cast<uint64_t>(g.offsets_compaction_bytes);
  return o;
}

admin::options admin_options(const config::broker_config& c) {
  admin::options o;
  o.host = c.admin.bind.host;
  o.port = static_cast<uint16_t>(c.admin.bind.port);
  o.metrics_enabled = c.metrics.enabled;
  o.per_partition = c.metrics.per_partition;
  o.consumer_lag = c.metrics.consumer_lag;
  o.require_auth = c.authorization.enabled;
  return o;
}

admin::sources admin_sources(const config::broker_config& c, std::string version,
                             const std::atomic<bool>* ready) {
  admin::sources s;
  s.node_id = c.node.id;
  s.version = std::move(version);
  s.ready = ready;
  for (const auto& k : config::schema()) {
    if (k.path.find("[]") != std::string_view::npos)
      continue;
    auto v = config::value_text(c, k.path);
    if (!v)
      continue;
    auto text = *v;
    if (text.size() >= 2 && text.front() == '"' && text.back() == '"')
      text = text.substr(1, text.size() - 2);
    s.config.emplace_back(std::string(k.path), admin::is_secret_key(k.path) ? "******" : text);
  }
  for (size_t i = 0; i < c.listeners.size(); ++i) {
    const auto& l = c.listeners[i];
    s.config.emplace_back(fmt::format("listeners[{}]", i),
                          fmt::format("{} {}:{} advertised {}:{}", l.name, l.bind.host, l.bind.port,
                                      l.advertise.host, l.advertise.port));
  }
  return s;
}

net::server_options server_options(const config::broker_config& c,
                                   const config::listener_config& l) {
  net::server_options o;
  o.name = l.name;
  o.host = l.bind.host;
  o.port = static_cast<uint16_t>(l.bind.port);
  const auto& n = c.network;
  o.max_frame_bytes = n.socket_request_max_bytes;
  o.max_connections = n.max_connections;
  o.max_connections_per_ip = n.max_connections_per_ip;
  o.max_inflight = n.max_inflight_requests_per_connection;
  o.idle_timeout = std::chrono::milliseconds(n.connections_max_idle_ms);
  o.request_timeout = std::chrono::milliseconds(n.request_timeout_ms);
  o.send_buffer_bytes = n.socket_send_buffer_bytes;
  o.receive_buffer_bytes = n.socket_receive_buffer_bytes;
  if (l.tls.cert_file && (l.protocol == config::security_protocol::ssl ||
                          l.protocol == config::security_protocol::sasl_ssl)) {
    o.handshake_timeout = std::chrono::milliseconds(std::min<int64_t>(n.request_timeout_ms, 10000));
  }
  if (is_sasl(l.protocol)) {
    // Before authentication a client sends SASL tokens only (Kafka's
    // sasl.server.max.receive.size): a larger frame closes the connection unread.
    o.initial_max_frame_bytes = std::min(o.max_frame_bytes, sasl_max_receive_bytes);
  }
  return o;
}

namespace {
result<std::shared_ptr<net::tls_config>> load_tls(const config::tls_listener_config& t,
                                                  std::string_view what,
                                                  net::tls_role role = net::tls_role::server) {
  net::tls_options o;
  o.role = role;
  o.cert_file = t.cert_file.value_or("");
  o.key_file = t.key_file.value_or("");
  o.ca_file = t.ca_file;
  o.auth = t.client_auth == config::tls_client_auth::required    ? net::client_auth::required
           : t.client_auth == config::tls_client_auth::requested ? net::client_auth::requested
                                                                 : net::client_auth::none;
  auto c = net::tls_config::load(std::move(o));
  if (!c)
    return error(config::errc::invalid_value, fmt::format("{}: {}", what, c.error().detail()));
  return c;
}

/// The controller's record of partition `n` when it names `self` leader in `term`; null when it
/// records another leader or another term, or none.
const cluster::partition_leader* own_leadership(const cluster::cluster_view& v, const model::ntp& n,
                                                int32_t self, int64_t term) {
  auto it = v.leaders->find({n.topic, n.partition.value()});
  if (it == v.leaders->end() || it->second.term != term || it->second.leader != self)
    return nullptr;
  return &it->second;
}
}  // namespace

result<std::shared_ptr<net::tls_config>> tls_config(const config::listener_config& l) {
  if (l.protocol != config::security_protocol::ssl &&
      l.protocol != config::security_protocol::sasl_ssl)
    return std::shared_ptr<net::tls_config>();
  return load_tls(l.tls, fmt::format("listener {}", l.name));
}

result<std::shared_ptr<net::tls_config>> admin_tls_config(const config::broker_config& c) {
  if (!c.admin.tls.cert_file)
    return std::shared_ptr<net::tls_config>();
  return load_tls(c.admin.tls, "admin listener");
}

bool is_sasl(config::security_protocol p) {
  return p == config::security_protocol::sasl_plaintext || p == config::security_protocol::sasl_ssl;
}

result<std::optional<std::pair<std::string, security::scram_credential>>> bootstrap_user(
    const char* env) {
  if (env == nullptr || *env == '\0')
    return std::optional<std::pair<std::string, security::scram_credential>>();
  std::string_view v(env);
  auto colon = v.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == v.size() ||
      colon > cluster::security_state::max_user_name) {
    return error(config::errc::invalid_value,
                 "STROM_BOOTSTRAP_USER: expected name:password (both non-empty)");
  }
  auto name = std::string(v.substr(0, colon));
  auto credential = security::make_credential(security::scram_mechanism::sha256,
                                              v.substr(colon + 1), {}, security::min_iterations);
  return std::optional(std::pair(std::move(name), std::move(credential)));
}

kafka::server::request_limits request_limits(const config::broker_config& c) {
  kafka::server::request_limits l;
  l.fetch_max_bytes = c.network.fetch_max_bytes;
  l.fetch_max_wait = std::chrono::milliseconds(c.network.fetch_max_wait_ms);
  return l;
}

result<cluster::controller::options> controller_options(const config::broker_config& c) {
  const config::listener_config* internal = nullptr;
  const config::listener_config* client = nullptr;
  for (const auto& l : c.listeners) {
    if (c.inter_broker_listener && l.name == *c.inter_broker_listener)
      internal = &l;
    else if (!client)
      client = &l;
  }
  if (!internal || !client) {
    return error(config::errc::invalid_value,
                 "cluster.seeds needs an inter_broker_listener naming one of the listeners, "
                 "and a listener for clients beside it");
  }
  cluster::controller::options o;
  o.self.id = c.node.id;
  o.self.host = client->advertise.host;
  o.self.port = client->advertise.port;
  o.self.internal_host = internal->advertise.host;
  o.self.internal_port = internal->advertise.port;
  o.self.rack = c.node.rack;
  for (const auto& s : c.cluster.seeds)
    o.voters.push_back({s.node_id, s.host, static_cast<uint16_t>(s.port)});
  o.listen_host = internal->bind.host;
  o.listen_port = static_cast<uint16_t>(internal->bind.port);
  if (internal->protocol == config::security_protocol::ssl) {
    // Mutual TLS between brokers: the listener's certificate is also the one this broker
    // presents when it connects to the others, verified against the same CA file.
    auto listener = tls_config(*internal);
    if (!listener)
      return listener.error();
    auto connecting =
        load_tls(internal->tls, fmt::format("listener {}", internal->name), net::tls_role::client);
    if (!connecting)
      return connecting.error();
    o.listener_tls = std::move(*listener);
    o.peer_tls = std::move(*connecting);
  }
  o.dir = std::filesystem::path(c.node.data_dirs.front()) / ".strom" / "controller";
  const auto& r = c.cluster_defaults.replication;
  o.election_timeout = std::chrono::milliseconds(r.election_timeout_ms);
  o.raft_heartbeat = std::chrono::milliseconds(r.heartbeat_interval_ms);
  o.tick = std::chrono::milliseconds(std::max(10, r.heartbeat_interval_ms / 3));
  // KRaft's ratio (broker.heartbeat.interval.ms 2 s, broker.session.timeout.ms 9 s), scaled to
  // the election timeout: a broker is fenced after three election timeouts without a word.
  o.broker_heartbeat = std::chrono::milliseconds(std::max(100, r.election_timeout_ms / 3));
  o.broker_session_timeout = std::chrono::milliseconds(3 * r.election_timeout_ms);
  if (c.cluster.id)
    o.cluster_id = *c.cluster.id;
  return o;
}

cluster::partition_manager::replication_config replication_config(const config::broker_config& c,
                                                                  net::shard_runtime& rt,
                                                                  cluster::controller& ctl,
                                                                  io::file_system& fs) {
  const auto& r = c.cluster_defaults.replication;
  cluster::partition_manager::replication_config o;
  o.self = c.node.id;
  o.tick = std::chrono::milliseconds(std::max(10, r.heartbeat_interval_ms / 3));
  auto ticks = [&o](int64_t ms) { return std::max<int64_t>(1, ms / o.tick.count()); };
  o.election_ticks = static_cast<int>(std::max<int64_t>(3, ticks(r.election_timeout_ms)));
  o.heartbeat_ticks = static_cast<int>(ticks(r.heartbeat_interval_ms));
  // An append travels in one inter-broker frame with other groups' messages: at most 8 MiB.
  o.max_append_bytes = static_cast<size_t>(std::clamp(r.replica_fetch_max_bytes, 1024, 8 << 20));
  o.in_sync_ticks = ticks(r.replica_lag_time_max_ms);
  // Idle groups go quiet: their followers wait for the leader's broker, silent once nothing
  // came from it for an election timeout, with a keepalive every 10 s.
  o.silent_peers = [&ctl, within = std::chrono::milliseconds(r.election_timeout_ms)] {
    auto board = ctl.peers_heard();
    return board ? board->silent(within) : std::set<raft::node_id>{};
  };
  o.quiet_keepalive_ticks = static_cast<int>(ticks(10'000));
  o.fs = &fs;
  // Out through the controller's connections (shard 0), one post per batch.
  o.send = [&rt, &ctl](std::vector<std::pair<uint64_t, raft::message>> msgs) {
    net::asio::post(rt.context(0),
                    [&ctl, msgs = std::move(msgs)] { ctl.send_group_messages(msgs); });
  };
  o.report_leader = [&rt, &ctl, self = c.node.id](const model::ntp& n,
                                                  const cluster::topic_uuid& id, int64_t term) {
    cluster::partition_leader_cmd cmd{n.topic, id, n.partition.value(), self, term};
    rt.spawn(0, [&ctl, cmd]() -> net::awaitable<void> {
      auto op = ctl.submit(cmd);
      auto done = co_await std::move(op);
      if (!done) {
        logging::get("cluster").debug("{}-{}: reporting leadership in term {}: {}", cmd.name,
                                      cmd.partition, cmd.term, done.error().message());
      }
    });
  };
  o.report_moved = [&rt, &ctl](const model::ntp& n, const cluster::topic_uuid& id,
                               std::vector<int32_t> replicas) {
    cluster::finish_move_cmd cmd{n.topic, id, n.partition.value(), std::move(replicas)};
    rt.spawn(0, [&ctl, cmd]() -> net::awaitable<void> {
      auto op = ctl.submit(cmd);
      auto done = co_await std::move(op);
      if (done) {
        logging::get("cluster").info("{}-{}: move to brokers {} done", cmd.name, cmd.partition,
                                     fmt::join(cmd.replicas, ","));
      } else {
        logging::get("cluster").debug("{}-{}: reporting the end of a move: {}", cmd.name,
                                      cmd.partition, done.error().message());
      }
    });
  };
  o.preferred_elections = [&ctl] { return ctl.view()->preferred_elections; };
  o.auto_leader_rebalance = r.auto_leader_rebalance;
  o.recovery_bytes_per_sec = r.recovery_max_bytes_per_sec;
  o.broker_live = [&ctl](int32_t id) {
    auto v = ctl.view();
    auto it = v->brokers.find(id);
    return it != v->brokers.end() && !it->second.fenced;
  };
  o.epoch_floor = [&ctl](const std::string& topic) -> int64_t {
    auto v = ctl.view();
    auto it = v->epoch_floors.find(topic);
    return it == v->epoch_floors.end() ? 0 : it->second;
  };
  o.recorded_term = [&ctl](const model::ntp& n) -> int64_t {
    auto v = ctl.view();
    auto it = v->leaders->find({n.topic, n.partition.value()});
    return it == v->leaders->end() ? -1 : it->second.term;
  };
  o.recorded_isr = [&ctl, self = c.node.id](const model::ntp& n,
                                            int64_t term) -> std::optional<std::vector<int32_t>> {
    auto v = ctl.view();
    const auto* own = own_leadership(*v, n, self, term);
    if (own == nullptr)
      return std::nullopt;
    return own->isr;
  };
  o.named_leader = [&ctl, self = c.node.id](const model::ntp& n, int64_t term) {
    auto v = ctl.view();
    if (!v->controller_id)
      return false;  // cut off from the controller: its record may be stale
    return own_leadership(*v, n, self, term) != nullptr;
  };
  o.report_isr = [&rt, &ctl, self = c.node.id](const model::ntp& n, const cluster::topic_uuid& id,
                                               int64_t term, std::vector<int32_t> isr) {
    cluster::partition_isr_cmd cmd{n.topic, id, n.partition.value(), self, term, std::move(isr)};
    rt.spawn(0, [&ctl, cmd]() -> net::awaitable<void> {
      auto op = ctl.submit(cmd);
      auto done = co_await std::move(op);
      if (!done) {
        logging::get("cluster").debug("{}-{}: reporting in-sync replicas {} in term {}: {}",
                                      cmd.name, cmd.partition, fmt::join(cmd.isr, ","), cmd.term,
                                      done.error().message());
      }
    });
  };
  return o;
}

kafka::server::broker_identity broker_identity(const config::broker_config& c,
                                               const config::listener_config& l) {
  kafka::server::broker_identity id;
  id.node_id = c.node.id;
  id.host = l.advertise.host;
  id.port = l.advertise.port;
  id.rack = c.node.rack;
  // In a cluster without a configured id, the id is the one the first controller leader
  // wrote: none is named until this broker's view holds it (a placeholder would make a client
  // see the id change and think it had met another cluster).
  id.cluster_id = c.cluster.id.value_or(c.cluster.seeds.empty() ? "strom-cluster" : "");
  for (const auto& k : config::schema()) {
    if (k.kafka_name.empty())
      continue;
    auto value = config::value_text(c, k.path);
    if (!value)
      continue;
    // "log.segment.bytes (topic: segment.bytes)" -> "log.segment.bytes"
    auto name = k.kafka_name.substr(0, k.kafka_name.find_first_of(" ,"));
    std::string v = *value;
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"')
      v = v.substr(1, v.size() - 2);
    id.broker_configs.emplace_back(std::string(name), v);
  }
  return id;
}

}  // namespace strom::app
