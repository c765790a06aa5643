#include "strom/rpc/raft_network.h"

#include "strom/base/logging.h"

namespace strom::rpc {

namespace {
spdlog::logger& lg() {
  return logging::get("rpc");
}
}  // namespace

class raft_network::group_transport final : public raft::transport {
 public:
  group_transport(raft_network& n, group_id g) : net_(n), group_(g) {}
  void send(const raft::message& m) override { net_.queue(group_, m); }

 private:
  raft_network& net_;
  group_id group_;
};

raft_network::raft_network(net::asio::io_context& io, raft::node_id self,
                           std::map<raft::node_id, net::tcp::endpoint> peers, client::options o)
    : io_(io), self_(self), opts_(o) {
  for (const auto& [id, at] : peers)
    add_peer(id, at);
}

void peer_board::heard_from(raft::node_id n, clock::time_point at) {
  std::lock_guard lock(mu_);
  auto& h = heard_[n];
  h = std::max(h, at);
}

void peer_board::add(raft::node_id n, clock::time_point at) {
  std::lock_guard lock(mu_);
  heard_.try_emplace(n, at);
}

std::set<raft::node_id> peer_board::silent(std::chrono::milliseconds within,
                                           clock::time_point now) const {
  std::lock_guard lock(mu_);
  std::set<raft::node_id> out;
  for (const auto& [n, at] : heard_) {
    if (now - at > within)
      out.insert(n);
  }
  return out;
}

void raft_network::add_peer(raft::node_id n, const net::tcp::endpoint& at) {
  if (n == self_)
    return;
  board_->add(n);
  auto known = addresses_.find(n);
  if (known != addresses_.end() && known->second == at)
    return;
  if (auto old = peers_.find(n); old != peers_.end()) {
    old->second->stop();
    retired_.push_back(std::move(old->second));
    peers_.erase(old);
  }
  peers_.emplace(n, std::make_unique<client>(io_, at, opts_));
  addresses_[n] = at;
}

raft_network::~raft_network() {
  stop();
}

raft::transport& raft_network::group(group_id g) {
  auto& t = groups_[g];
  if (!t)
    t = std::make_unique<group_transport>(*this, g);
  return *t;
}

void raft_network::queue(group_id g, const raft::message& m) {
  if (!peers_.contains(m.to)) {
    ++dropped_;
    return;
  }
  auto& batch = pending_[m.to];
  batch.add(g, m);
  // Many groups' appends do not pile up into one frame the peer's queue would refuse whole.
  if (batch.size_bytes() >= frame_bytes)
    send(m.to, batch);
}

void raft_network::keepalive(std::chrono::milliseconds idle) {
  auto now = peer_board::clock::now();
  for (const auto& [n, c] : peers_) {
    auto it = sent_.find(n);
    if (it != sent_.end() && now - it->second < idle)
      continue;
    raft::message m;
    m.from = self_;
    m.to = n;
    pending_[n].add(ping_group, m);
    send(n, pending_[n]);
  }
}

void raft_network::send(raft::node_id to, batch_builder& batch) {
  sent_[to] = peer_board::clock::now();
  if (auto s = peers_.at(to)->send_frame(raft_batch_method, batch.take_frame()); !s) {
    ++dropped_;
    STROM_LOG_LIMITED(lg(), debug, "Raft messages to node {} dropped: {}", to.value(),
                      s.error().message());
  }
}

void raft_network::flush() {
  for (auto& [to, batch] : pending_) {
    if (batch.parts() > 0)
      send(to, batch);
  }
}

void raft_network::serve(server& srv, std::function<void(group_id, raft::message)> deliver,
                         std::function<void()> delivered) {
  srv.handle_oneway(raft_batch_method, [board = board_, deliver = std::move(deliver),
                                        delivered = std::move(delivered)](bytes_t payload) {
    auto parts = split_batch(payload);
    if (!parts) {
      STROM_LOG_LIMITED(lg(), warn, "a Raft batch dropped: {}", parts.error().message());
      return;
    }
    for (const auto& p : *parts) {
      auto m = decode_message(p.bytes);
      if (!m) {
        STROM_LOG_LIMITED(lg(), warn, "a Raft message of group {} dropped: {}", p.group,
                          m.error().message());
        continue;
      }
      board->heard_from(m->from);
      if (p.group != ping_group)
        deliver(p.group, std::move(*m));
    }
    if (delivered)
      delivered();
  });
}

void raft_network::stop() {
  for (auto& [id, c] : peers_)
    c->stop();
  for (auto& c : retired_)
    c->stop();
}

}  // namespace strom::rpc
