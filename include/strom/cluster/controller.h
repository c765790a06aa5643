#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "strom/base/clock.h"
#include "strom/base/result.h"
#include "strom/cluster/controller_stm.h"
#include "strom/io/file_system.h"
#include "strom/net/asio.h"
#include "strom/raft/message.h"

namespace strom::net {
class tls_config;
}

namespace strom::rpc {
class peer_board;
}

namespace strom::cluster {

/// The cluster as one broker knows it, for readers on any thread: a consistent copy, replaced
/// (never changed) when the controller log or the controller leadership moves.
/// The bytes of one partition's log where it is led.
struct partition_bytes {
  std::string topic;
  int32_t partition = 0;
  int64_t bytes = 0;
  friend bool operator==(const partition_bytes&, const partition_bytes&) = default;
};
/// Bytes of partitions, by topic and partition.
using partition_usage_map = std::map<std::pair<std::string, int32_t>, int64_t>;

struct cluster_view {
  std::string cluster_id;
  /// The controller leader, when this broker knows one.
  std::optional<int32_t> controller_id;
  /// Every registered broker with its liveness.
  std::map<int32_t, broker_record> brokers;
  /// The topics of the cluster (ids, partitions, replicas, configs).
  std::shared_ptr<const topic_map> topics = std::make_shared<const topic_map>();
  /// The cluster-wide config defaults, by broker-level names.
  topic_configs cluster_configs;
  /// The elected leaders of the replicated partitions, with their terms (leader epochs).
  std::shared_ptr<const leader_map> leaders = std::make_shared<const leader_map>();
  /// By topic name, the leader epoch a topic created again under a deleted topic's name
  /// starts from (controller_stm::epoch_floors).
  std::map<std::string, int64_t> epoch_floors;
  /// The partitions asked to be led by their preferred replica that are not yet.
  std::shared_ptr<const partition_set> preferred_elections =
      std::make_shared<const partition_set>();
  /// Users and their credentials.
  std::shared_ptr<const security_state> security = std::make_shared<const security_state>();
  /// Times this broker saw the controller leadership move to a known leader since it started.
  uint64_t leader_changes = 0;
  /// This broker's controller replica started without its state (raft::node::rebuilding) and
  /// does not yet hold what the group committed (its votes count only among rebuilding ones).
  bool rebuilding = false;
  /// Controller vote requests this broker answered while rebuilding, since it started.
  uint64_t votes_while_rebuilding = 0;
  /// The controller log index the view reflects.
  int64_t applied_index = 0;
  /// This broker applied at least what the controller leader had applied when it first heard
  /// from it after starting (the leader: everything before its term). Until then the view may
  /// be older than what the broker's own files hold, and nothing may be deleted to match it.
  /// It also takes this broker registered (as it is now) and unfenced in the view.
  bool caught_up = false;
  /// The elected leader of a replicated partition and its term, when one is known.
  [[nodiscard]] std::optional<partition_leader> elected_leader(const std::string& topic,
                                                               int32_t partition) const {
    auto it = leaders->find({topic, partition});
    return it == leaders->end() ? std::nullopt : std::optional(it->second);
  }
  /// Brokers not fenced, in id order.
  [[nodiscard]] std::vector<broker_registration> live_brokers() const {
    std::vector<broker_registration> out;
    for (const auto& [id, b] : brokers) {
      if (!b.fenced)
        out.push_back(b.reg);
    }
    return out;
  }
  /// Brokers that may take new replicas: live and not decommissioned, in id order.
  [[nodiscard]] std::vector<broker_registration> placeable_brokers() const {
    std::vector<broker_registration> out;
    for (const auto& [id, b] : brokers) {
      if (!b.fenced && !b.decommissioned)
        out.push_back(b.reg);
    }
    return out;
  }
};

/// The controller of one broker: its member of the controller Raft group (group 0) and the
/// state machine that group replicates (raft-design §4), served over the internal listener.
///
/// The voters are the `cluster.seeds`; the group's log is a partition log in
/// `<dir>/__controller-0` with its snapshot and hard state beside it. The first leader writes
/// the cluster id; every broker registers with the leader and heartbeats it, and the leader
/// fences a broker whose heartbeats stop for `broker_session_timeout` (and unfences it when
/// they come back). Commands from any broker go to the leader (submit) and are answered once
/// the broker applied them itself.
///
/// Threading: everything but view() runs on the io_context given (shard 0); flushes complete
/// on a pool thread of the controller's own and are posted back. start() and stop() are
/// called while that io_context does not run (before the shards start; after they stopped).
class controller {
 public:
  struct voter {
    int32_t id = 0;
    std::string host;
    uint16_t port = 0;
  };
  struct options {
    /// This broker as it registers.
    broker_registration self;
    /// The voters of the controller group (cluster.seeds). This broker must be one.
    std::vector<voter> voters;
    /// Where the internal listener binds (port 0: any).
    std::string listen_host = "127.0.0.1";
    uint16_t listen_port = 0;
    /// TLS on the internal listener (server role) and on the connections to other brokers
    /// (client role, with this broker's certificate: mutual TLS); plaintext when null.
    std::shared_ptr<net::tls_config> listener_tls;
    std::shared_ptr<net::tls_config> peer_tls;
    /// The cluster id the first leader writes (cluster.id); a random one when empty.
    std::string cluster_id;
    /// The directory that holds the controller log.
    std::filesystem::path dir;
    std::chrono::milliseconds tick{50};
    std::chrono::milliseconds election_timeout{1500};
    std::chrono::milliseconds raft_heartbeat{150};
    std::chrono::milliseconds broker_heartbeat{500};
    std::chrono::milliseconds broker_session_timeout{4500};
    /// The longest submit() waits (forwarding and retries included).
    std::chrono::milliseconds request_timeout{10000};
    /// Entries applied between two snapshots of the state machine.
    int64_t snapshot_every = 1000;
    /// Segment size of the controller log.
    size_t segment_bytes = 8u << 20;
    /// Called on the controller's io_context after the view changed (the log applied more,
    /// or the leadership moved); it must not block.
    std::function<void()> on_change;
    /// Called on the controller's io_context with the Raft messages of other groups (the
    /// partitions') of each batch that arrives at the internal listener; it must not block.
    std::function<void(std::vector<std::pair<uint64_t, raft::message>>)> on_group_messages;
    /// Called on the controller's io_context every `usage_interval`: the bytes of the
    /// partitions this broker leads, which it reports to the controller leader (continuous
    /// balancing evens out disk usage with them); it must not block. Nothing is reported
    /// when unset.
    std::function<std::vector<partition_bytes>()> local_usage;
    std::chrono::milliseconds usage_interval{5000};
  };

  controller(net::asio::io_context& io, std::shared_ptr<io::file_system> fs, clock& clk, options o);
  ~controller();
  controller(const controller&) = delete;
  controller& operator=(const controller&) = delete;

  /// Opens the controller log (recovering it) and the hard state, binds the internal
  /// listener and schedules the group's loops on the io_context.
  status start();
  /// Stops the loops, closes the listener and the connections, waits for flushes, closes the
  /// log. Idempotent.
  void stop();

  /// The internal listener's bound port. REQUIRES: start() succeeded.
  [[nodiscard]] uint16_t port() const;
  /// Thread-safe.
  [[nodiscard]] std::shared_ptr<const cluster_view> view() const;
  /// When each other broker was last heard from over the internal listener (null before
  /// start()). Thread-safe.
  [[nodiscard]] std::shared_ptr<rpc::peer_board> peers_heard() const;

  /// The controller leader: the bytes of every partition as its leader last reported them,
  /// by topic and partition, once the reports are complete (this broker has led for two
  /// usage intervals, and every live broker that may take replicas reported within three);
  /// nullopt otherwise. Thread-safe.
  [[nodiscard]] std::optional<partition_usage_map> partition_usage() const;

  /// Has `cmd` applied by the cluster (forwarded to the controller leader when this broker is
  /// not it) and waits until this broker applied it too; the command's value (see
  /// controller_stm::apply) or why it failed. Retries while no leader is known, up to
  /// options::request_timeout. On the controller's io_context.
  net::awaitable<result<int64_t>> submit(controller_command cmd);

  /// A read barrier: completes once this broker applied at least what the controller leader
  /// had applied when it was asked, after this call began (so every change a client saw
  /// acknowledged before it sent the request this serves). Concurrent callers share one
  /// question to the leader at a time. Fails after `limit`, or when no leader is known. On the
  /// controller's io_context.
  net::awaitable<status> sync(std::chrono::milliseconds limit);

  /// Controlled shutdown (`shutdown.controlled`): stops this broker's heartbeats, has the
  /// controller fence it (clients stop being sent here at once, not after the session
  /// timeout) and, when this broker leads the controller group, hands the leadership to
  /// another live voter. Returns when both are done, or at `limit`, or at once when no quorum
  /// of live voters is left to take them. On the controller's io_context, before stop().
  net::awaitable<void> leave(std::chrono::milliseconds limit);

  /// Sends the Raft messages of other groups (partitions) to their brokers over the
  /// controller's connections, batched per broker. On the controller's io_context.
  void send_group_messages(const std::vector<std::pair<uint64_t, raft::message>>& msgs);

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace strom::cluster
