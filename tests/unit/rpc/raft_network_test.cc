// Three Raft nodes in one process, each with its own rpc server and raft_network on loopback:
// real sockets between them, a 10 ms tick per node. They elect a leader and commit proposals;
// a node whose server goes away and comes back (its peers reconnect) catches up.
#include "strom/rpc/raft_network.h"

#include <gtest/gtest.h>

#include <cstring>

#include "strom/raft/memory_log.h"
#include "strom/raft/node.h"

namespace strom::rpc {
namespace {

namespace asio = net::asio;
using namespace std::chrono_literals;
using net::tcp;
using raft::node_id;
using raft::raft_index;

struct member {
  node_id id;
  std::unique_ptr<raft::memory_log_store> log;
  raft::memory_hard_state_store hs;
  std::unique_ptr<raft::node> core;
  std::unique_ptr<server> srv;
  std::unique_ptr<raft_network> net;
  uint16_t port = 0;
};

class RaftNetworkTest : public ::testing::Test {
 protected:
  asio::io_context io;
  std::vector<std::unique_ptr<member>> members;
  std::map<node_id, tcp::endpoint> endpoints;
  bool ticking = true;
  /// Messages of groups other than 0 delivered, per receiving node.
  std::map<node_id, size_t> other_groups;

  void SetUp() override {
    raft::snapshot initial;
    for (int i = 1; i <= 3; ++i)
      initial.meta.config.voters.insert(node_id(i));
    for (int i = 1; i <= 3; ++i) {
      auto m = std::make_unique<member>();
      m->id = node_id(i);
      m->log = std::make_unique<raft::memory_log_store>(initial);
      m->srv = std::make_unique<server>(io, server::options{});
      auto p = m->srv->listen(tcp::endpoint(asio::ip::address_v4::loopback(), 0));
      ASSERT_TRUE(p.has_value()) << p.error().message();
      m->port = *p;
      endpoints[m->id] = tcp::endpoint(asio::ip::address_v4::loopback(), m->port);
      members.push_back(std::move(m));
    }
    client::options co;
    co.backoff_min = 5ms;
    co.backoff_max = 50ms;
    for (auto& m : members) {
      m->net = std::make_unique<raft_network>(io, m->id, endpoints, co);
      serve(*m);
      raft::options o;
      o.id = m->id;
      o.random_seed = static_cast<uint64_t>(m->id.value()) * 7919;
      m->core = std::make_unique<raft::node>(o, *m->log, m->hs.load());
    }
    asio::co_spawn(io, tick_loop(), asio::detached);
  }

  void TearDown() override {
    ticking = false;
    for (auto& m : members) {
      m->net->stop();
      m->srv->stop();
    }
    io.restart();
    io.run_for(20ms);
  }

  void serve(member& m) {
    m.net->serve(*m.srv, [this, &m](group_id g, raft::message msg) {
      if (g != 0) {
        ++other_groups[m.id];
        return;
      }
      if (!m.core)
        return;
      m.core->step(msg);
      drain(m);
    });
  }

  net::awaitable<void> tick_loop() {
    asio::steady_timer t(io);
    while (ticking) {
      t.expires_after(10ms);
      co_await t.async_wait(asio::use_awaitable);
      for (auto& m : members) {
        if (m->core) {
          m->core->tick();
          drain(*m);
        }
      }
    }
  }

  /// What a Raft runtime does with a node's output: persist, append, flush, send, flush the
  /// network.
  void drain(member& m) {
    while (m.core->has_ready()) {
      auto r = m.core->take_ready();
      if (r.install) {
        ASSERT_TRUE(m.log->install(*r.install).has_value());
      }
      if (r.hard_state) {
        ASSERT_TRUE(m.hs.save(*r.hard_state).has_value());
      }
      if (r.truncate_from || !r.entries.empty()) {
        ASSERT_TRUE(m.log->append(r.truncate_from, r.entries).has_value());
      }
      for (const auto& o : r.messages)
        m.net->group(0).send(o.msg);
      if (m.log->dirty()) {
        m.log->begin_flush();
        m.core->on_flushed(m.log->complete_flush());
      }
    }
    m.net->flush();
  }

  bool run_until(const std::function<bool()>& pred, std::chrono::seconds limit = 20s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred() && std::chrono::steady_clock::now() < deadline) {
      io.restart();
      io.run_for(5ms);
    }
    return pred();
  }

  member* leader() {
    for (auto& m : members) {
      if (m->core && m->core->is_ready_leader())
        return m.get();
    }
    return nullptr;
  }
};

TEST_F(RaftNetworkTest, ThreeNodesElectALeaderAndCommitOverSockets) {
  ASSERT_TRUE(run_until([&] { return leader() != nullptr; }));
  auto* l = leader();
  raft_index last{0};
  for (int i = 0; i < 100; ++i) {
    uint64_t v = static_cast<uint64_t>(i);
    std::vector<std::byte> payload(sizeof(v));
    std::memcpy(payload.data(), &v, sizeof(v));
    auto t = l->core->propose(std::move(payload), 1);
    ASSERT_TRUE(t.has_value()) << t.error().message();
    last = t->last;
    drain(*l);
  }
  ASSERT_TRUE(run_until([&] {
    for (auto& m : members) {
      if (m->core->commit_index() < last)
        return false;
    }
    return true;
  })) << "not every node committed the proposals";
  for (auto& m : members)
    EXPECT_EQ(m->log->term_at(last), l->log->term_at(last));
}

TEST_F(RaftNetworkTest, AFollowerWhoseListenerRestartsCatchesUp) {
  ASSERT_TRUE(run_until([&] { return leader() != nullptr; }));
  auto* l = leader();
  member* f = nullptr;
  for (auto& m : members) {
    if (m.get() != l)
      f = m.get();
  }
  // The follower's listener goes: its peers' connections to it break.
  f->srv->stop();
  raft_index last{0};
  for (int i = 0; i < 20; ++i) {
    auto t = l->core->propose(std::vector<std::byte>(8, std::byte{1}), 1);
    ASSERT_TRUE(t.has_value()) << t.error().message();
    last = t->last;
    drain(*l);
  }
  ASSERT_TRUE(run_until([&] { return l->core->commit_index() >= last; }));
  EXPECT_LT(f->core->commit_index(), last);
  // It listens again on the same port; the leader's client reconnects and catches it up.
  f->srv = std::make_unique<server>(io, server::options{});
  ASSERT_TRUE(f->srv->listen(endpoints[f->id]).has_value());
  serve(*f);
  ASSERT_TRUE(run_until([&] { return f->core->commit_index() >= last; }));
}

TEST_F(RaftNetworkTest, ANodeAddedAtRunTimeFollowsAsALearner) {
  ASSERT_TRUE(run_until([&] { return leader() != nullptr; }));
  // Node 4 knows the three as peers (it starts with them as the voters); they learn its
  // address only now, as from its registration.
  raft::snapshot initial;
  for (int i = 1; i <= 3; ++i)
    initial.meta.config.voters.insert(node_id(i));
  auto m = std::make_unique<member>();
  m->id = node_id(4);
  m->log = std::make_unique<raft::memory_log_store>(initial);
  m->srv = std::make_unique<server>(io, server::options{});
  auto p = m->srv->listen(tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  ASSERT_TRUE(p.has_value()) << p.error().message();
  m->port = *p;
  auto at = tcp::endpoint(asio::ip::address_v4::loopback(), m->port);
  m->net = std::make_unique<raft_network>(io, m->id, endpoints);
  serve(*m);
  raft::options o;
  o.id = m->id;
  m->core = std::make_unique<raft::node>(o, *m->log, m->hs.load());
  EXPECT_EQ(members[0]->net->peer(m->id), nullptr);
  for (auto& other : members) {
    other->net->add_peer(m->id, at);
    EXPECT_EQ(other->net->address(m->id), at);
  }
  auto* learner = m.get();
  members.push_back(std::move(m));

  auto* l = leader();
  ASSERT_NE(l, nullptr);
  auto added = l->core->change_config({raft::config_change::kind::add_learner, node_id(4)});
  ASSERT_TRUE(added.has_value()) << added.error().message();
  drain(*l);
  raft_index last{0};
  for (int i = 0; i < 20; ++i) {
    auto t = l->core->propose(std::vector<std::byte>(8, std::byte{2}), 1);
    ASSERT_TRUE(t.has_value()) << t.error().message();
    last = t->last;
    drain(*l);
  }
  ASSERT_TRUE(run_until([&] { return learner->core->commit_index() >= last; }));
  EXPECT_TRUE(learner->core->config().learners.contains(node_id(4)));
  EXPECT_EQ(learner->core->leader(), l->id);
  EXPECT_EQ(learner->log->term_at(last), l->log->term_at(last));

  // Its address changes (a restart elsewhere): the peers move their connection.
  learner->srv->stop();
  learner->srv = std::make_unique<server>(io, server::options{});
  auto q = learner->srv->listen(tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  ASSERT_TRUE(q.has_value());
  serve(*learner);
  for (auto& other : members) {
    if (other.get() != learner)
      other->net->add_peer(node_id(4), tcp::endpoint(asio::ip::address_v4::loopback(), *q));
  }
  for (int i = 0; i < 5; ++i) {
    auto t = l->core->propose(std::vector<std::byte>(8, std::byte{3}), 1);
    ASSERT_TRUE(t.has_value()) << t.error().message();
    last = t->last;
    drain(*l);
  }
  ASSERT_TRUE(run_until([&] { return learner->core->commit_index() >= last; }));
}

TEST_F(RaftNetworkTest, ABurstOfLargeAppendsOfManyGroupsLeavesInFramesThePeerQueueTakes) {
  // 24 groups' appends of 1 MiB each for one peer in one flush: 24 MiB, more than the
  // connection's queue takes (16 MiB). As one frame, the queue refuses it whole and nothing
  // arrives; in frames of about 1 MiB, those the queue takes arrive.
  auto& from = *members[0];
  auto to = members[1]->id;
  constexpr size_t groups = 24;
  auto before = from.net->dropped();
  for (size_t g = 1; g <= groups; ++g) {
    raft::message m;
    m.type = raft::message_type::append;
    m.from = from.id;
    m.to = to;
    m.term = raft::term(1);
    raft::entry e;
    e.index = raft_index(1);
    e.term = raft::term(1);
    e.kafka_count = 1;
    e.payload = std::vector<std::byte>(1 << 20, std::byte{7});
    m.entries.push_back(std::move(e));
    from.net->group(g).send(m);
  }
  from.net->flush();
  ASSERT_TRUE(run_until([&] { return other_groups[to] >= 12; }));
  EXPECT_LT(from.net->dropped() - before, groups - 12);
}

}  // namespace
}  // namespace strom::rpc
