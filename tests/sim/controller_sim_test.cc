// The controller's state machine over the simulated Raft cluster (the partition log as the Raft
// log, crashes that lose unsynced writes): commands submitted while the leader is killed and
// another takes over are applied exactly once, in the same order, on every node, and every
// node's state machine ends equal. Each simulator payload id stands for one controller command.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "sim/cluster.h"
#include "strom/cluster/controller_stm.h"
#include "strom/model/record_batch.h"

namespace strom::sim {
namespace {

/// The command a payload stands for: a producer-id block for one of three brokers, or (every
/// fifth) a broker registration.
strom::cluster::controller_command command_for(int64_t id) {
  if (id % 5 == 0) {
    auto b = static_cast<int32_t>(id % 3) + 1;
    return strom::cluster::register_broker_cmd{
        {b, "127.0.0.1", 9092, "127.0.0.1", 9093, std::nullopt}};
  }
  return strom::cluster::allocate_producer_ids_cmd{static_cast<int32_t>(id % 3) + 1, 10};
}

struct node_state {
  strom::cluster::controller_stm stm;
  std::vector<int64_t> applied_ids;  ///< payload ids in apply order
};

TEST(ControllerSim, CommandsApplyExactlyOnceAcrossControllerFailover) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    sim_options o;
    o.seed = seed;
    o.nodes = 3;
    o.random_faults = false;
    o.network_faults = true;  // drops, duplicates and delays all the same
    o.client = false;
    sim::cluster c(o);
    std::map<int, node_state> nodes;
    bool duplicate = false;
    c.on_start = [&](int n) { nodes[n] = node_state{}; };
    c.on_apply = [&](int n, const raft::entry& e) {
      if (e.kind != raft::entry_kind::data)
        return;
      auto h = model::decode_header(e.payload);
      ASSERT_TRUE(h.has_value());
      auto id = h->base_timestamp;
      auto& ns = nodes[n];
      for (auto seen : ns.applied_ids)
        duplicate = duplicate || seen == id;
      ns.applied_ids.push_back(id);
      (void)ns.stm.apply(e.index.value(), command_for(id));
    };

    ASSERT_TRUE(c.run_until([&] { return c.leader() > 0; }, 3000)) << "seed " << seed;
    int proposed = 0;
    auto propose_some = [&](int count) {
      for (int i = 0; i < count; ++i) {
        int l = c.leader();
        if (l > 0 && c.propose(l, 1))
          ++proposed;
        c.run_for(5);
      }
    };
    propose_some(15);
    // The controller leader dies with commands in flight; another one takes over.
    int old = c.leader();
    ASSERT_GT(old, 0);
    c.crash(old);
    ASSERT_TRUE(c.run_until([&] { return c.leader() > 0 && c.leader() != old; }, 5000))
        << "seed " << seed;
    propose_some(15);
    c.restart(old);
    c.settle();
    c.run_for(2000);  // quiet: every node learns the last commit
    ASSERT_FALSE(c.failed()) << "seed " << seed << ": " << *c.check().violation();
    ASSERT_FALSE(duplicate) << "seed " << seed << ": a command applied twice";

    // Every node applied the same commands in the same order, and its state machine agrees.
    const auto& first = nodes.at(1);
    EXPECT_GE(first.applied_ids.size(), c.acknowledged()) << "seed " << seed;
    int64_t blocks = 0;
    for (auto id : first.applied_ids)
      blocks += std::holds_alternative<strom::cluster::allocate_producer_ids_cmd>(command_for(id))
                    ? 1
                    : 0;
    EXPECT_EQ(first.stm.next_producer_id(), 10 * blocks) << "seed " << seed;
    for (int n = 2; n <= 3; ++n) {
      EXPECT_EQ(nodes.at(n).applied_ids, first.applied_ids) << "seed " << seed << " node " << n;
      EXPECT_TRUE(nodes.at(n).stm == first.stm) << "seed " << seed << " node " << n;
      EXPECT_EQ(nodes.at(n).stm.snapshot(), first.stm.snapshot()) << "seed " << seed;
    }
    EXPECT_LE(first.applied_ids.size(), static_cast<size_t>(proposed));
    // Commands on both sides of the failover made it.
    EXPECT_GE(first.applied_ids.size(), 20u) << "seed " << seed << ": " << proposed << " proposed";
  }
}

}  // namespace
}  // namespace strom::sim
