#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <vector>

#include "strom/raft/transport.h"
#include "strom/rpc/raft_codec.h"
#include "strom/rpc/rpc.h"

namespace strom::rpc {

/// The method of a batch of Raft messages (a one-way frame).
inline constexpr uint16_t raft_batch_method = 1;
/// The group of a ping: a batch of one part for it says "the sender is alive" (no group's).
inline constexpr group_id ping_group = ~group_id{0};

/// When this node last heard from each peer (any inbound batch, a ping included): the
/// liveness signal of each broker pair, which quiet Raft groups wait on
/// (raft::options::liveness). Thread-safe.
class peer_board {
 public:
  using clock = std::chrono::steady_clock;
  void heard_from(raft::node_id n, clock::time_point at = clock::now());
  /// A peer now known: as good as heard from now (it gets a timeout to show up).
  void add(raft::node_id n, clock::time_point at = clock::now());
  /// The known peers not heard from within `within`.
  [[nodiscard]] std::set<raft::node_id> silent(std::chrono::milliseconds within,
                                               clock::time_point now = clock::now()) const;

 private:
  mutable std::mutex mu_;
  std::map<raft::node_id, clock::time_point> heard_;
};

/// Raft's network between brokers: one `client` per peer node, and the messages of every group
/// batched per destination until flush() (a runtime flushes after it drained the ready output
/// of its groups), or until the batch reaches `frame_bytes`, then sent as one one-way frame. A
/// batch the peer's queue refuses is dropped: Raft retries. Inbound batches are split into their
/// groups' parts and delivered decoded; a part that does not decode is dropped and logged
/// (rate-limited). One io_context; not thread-safe.
class raft_network {
 public:
  raft_network(net::asio::io_context& io, raft::node_id self,
               std::map<raft::node_id, net::tcp::endpoint> peers, client::options o = {});
  ~raft_network();
  raft_network(const raft_network&) = delete;
  raft_network& operator=(const raft_network&) = delete;

  /// A destination's batch is sent once it holds this many bytes.
  static constexpr size_t frame_bytes = 1 << 20;

  /// The transport of group `g`: what it sends waits for flush().
  raft::transport& group(group_id g);
  /// Sends what every group queued, one frame per destination.
  void flush();
  /// Serves batches that arrive at `srv`: `deliver(group, message)` for each part, then
  /// `delivered()` (when given) once the batch's parts are delivered.
  void serve(server& srv, std::function<void(group_id, raft::message)> deliver,
             std::function<void()> delivered = nullptr);
  /// Makes `n` a peer at `at` (a broker that joined), or moves it there. A connection to an
  /// old address is stopped and kept until the network goes (calls may still hold it).
  void add_peer(raft::node_id n, const net::tcp::endpoint& at);
  /// The address of peer `n`, when it is one.
  [[nodiscard]] std::optional<net::tcp::endpoint> address(raft::node_id n) const {
    auto it = addresses_.find(n);
    return it == addresses_.end() ? std::nullopt : std::optional(it->second);
  }
  /// The outbound connection to `n` (shared with other inter-broker calls to that node), or
  /// null for a node that is not a peer.
  [[nodiscard]] client* peer(raft::node_id n) const {
    auto it = peers_.find(n);
    return it == peers_.end() ? nullptr : it->second.get();
  }
  /// Messages dropped so far: to an unknown node, or refused by a full queue.
  [[nodiscard]] uint64_t dropped() const { return dropped_; }
  /// Sends a ping to each peer nothing was sent to within `idle` (call it every tick).
  void keepalive(std::chrono::milliseconds idle);
  /// When each peer was last heard from.
  [[nodiscard]] const std::shared_ptr<peer_board>& board() const { return board_; }
  void stop();

 private:
  class group_transport;
  void queue(group_id g, const raft::message& m);
  void send(raft::node_id to, batch_builder& batch);

  net::asio::io_context& io_;
  raft::node_id self_;
  client::options opts_;
  std::map<raft::node_id, std::unique_ptr<client>> peers_;
  std::map<raft::node_id, net::tcp::endpoint> addresses_;
  std::vector<std::unique_ptr<client>> retired_;
  std::map<raft::node_id, batch_builder> pending_;
  std::map<group_id, std::unique_ptr<group_transport>> groups_;
  uint64_t dropped_ = 0;
  std::shared_ptr<peer_board> board_ = std::make_shared<peer_board>();
  std::map<raft::node_id, peer_board::clock::time_point> sent_;
};

}  // namespace strom::rpc
