// Scripted scenarios of the Raft simulator (raft-design §5.3). Each drives the cluster through a
// known-dangerous sequence and relies on the checker, which runs after every event.
#include <gtest/gtest.h>

#include "sim/cluster.h"

namespace strom::sim {
namespace {

using raft::role;

sim_options quiet(int nodes, uint64_t seed = 7) {
  sim_options o;
  o.seed = seed;
  o.nodes = nodes;
  o.random_faults = false;
  o.client = false;
  return o;
}

::testing::AssertionResult healthy(const cluster& c) {
  if (c.failed()) {
    return ::testing::AssertionFailure() << *c.check().violation() << "\n" << c.describe();
  }
  return ::testing::AssertionSuccess();
}

bool elect(cluster& c, int n) {
  c.force_election(n);
  return c.run_until([&] { return c.leader() == n; }, 3000);
}

// Quiescence: an idle group stops its heartbeats but for rare keepalives; a write wakes it; a
// dead leader's quiet followers notice through the liveness signal and elect another.
TEST(Scenarios, AnIdleGroupGoesQuietAndWakesWhenItsLeaderDies) {
  auto o = quiet(3);
  o.quiesce = 1;
  cluster c(o);
  ASSERT_TRUE(c.run_until([&] { return c.leader() > 0; }, 2000));
  int l = c.leader();
  ASSERT_TRUE(c.propose(l, 2).has_value());
  ASSERT_TRUE(c.run_until([&] { return c.acknowledged() == 1; }, 1000));
  ASSERT_TRUE(c.run_until([&] { return c.core(l).quiet(); }, 1000));
  auto before = c.messages();
  c.run_for(2000);
  // Keepalives every 500 ms (two heartbeats and two answers) instead of a heartbeat to each
  // follower and its answer every 20 ms (400 messages).
  EXPECT_LE(c.messages() - before, 20);
  EXPECT_EQ(c.leader(), l);
  for (int n = 1; n <= 3; ++n) {
    EXPECT_TRUE(c.core(n).quiet()) << n;
  }
  ASSERT_TRUE(c.propose(l, 1).has_value());
  ASSERT_TRUE(c.run_until([&] { return c.acknowledged() == 2; }, 500));
  ASSERT_TRUE(c.run_until([&] { return c.core(l).quiet(); }, 1000));
  c.crash(l);
  ASSERT_TRUE(c.run_until(
      [&] {
        int n = c.leader();
        return n > 0 && n != l;
      },
      3000));
  int m = c.leader();
  ASSERT_TRUE(c.propose(m, 1).has_value());
  ASSERT_TRUE(c.run_until([&] { return c.acknowledged() == 3; }, 1000));
  c.restart(l);
  ASSERT_TRUE(c.run_until(
      [&] {
        return c.core(l).leader() == raft::node_id(m) &&
               c.core(l).commit_index() == c.core(m).commit_index();
      },
      3000));
  EXPECT_TRUE(healthy(c));
}

// A follower of a quiet group restarts before its node is missed: its campaign (a pre-vote
// the others ignore) wakes the leader, which it then follows.
TEST(Scenarios, AFollowerRestartedInAQuietGroupFindsItsLeader) {
  auto o = quiet(3);
  o.quiesce = 1;
  cluster c(o);
  ASSERT_TRUE(c.run_until([&] { return c.leader() > 0; }, 2000));
  int l = c.leader();
  ASSERT_TRUE(c.propose(l, 1).has_value());
  ASSERT_TRUE(c.run_until([&] { return c.acknowledged() == 1; }, 1000));
  ASSERT_TRUE(c.run_until([&] { return c.core(l).quiet(); }, 1000));
  int f = l % 3 + 1;
  c.crash(f);
  c.restart(f);
  ASSERT_TRUE(c.run_until([&] { return c.core(f).leader() == raft::node_id(l); }, 3000));
  EXPECT_EQ(c.leader(), l);
  EXPECT_TRUE(healthy(c));
}

TEST(Scenarios, ElectsALeaderAndCommits) {
  cluster c(quiet(3));
  ASSERT_TRUE(c.run_until([&] { return c.leader() > 0; }, 2000));
  auto t = c.propose(c.leader(), 3);
  ASSERT_TRUE(t.has_value());
  ASSERT_TRUE(c.run_until([&] { return c.acknowledged() == 1; }, 1000));
  EXPECT_TRUE(healthy(c));
}

// Raft paper, Figure 8: an entry of an earlier term stored on a majority is not committed by
// counting replicas; a later leader may still overwrite it. Returns the cluster at the end.
void figure8(cluster& c) {
  ASSERT_TRUE(elect(c, 1));
  c.run_for(100);
  // (a) Node 1 (term t1) writes X; only node 2 receives it.
  for (int n : {3, 4, 5}) {
    c.block(1, n);
  }
  auto x = c.propose(1, 1);
  ASSERT_TRUE(x.has_value());
  ASSERT_TRUE(c.run_until([&] { return c.disk(2).durably_holds(x->index, x->term); }, 500));
  // (b) Node 1 crashes; node 5 wins with 3 and 4, its term-start entry never leaves it.
  c.crash(1);
  c.force_election(5);
  ASSERT_TRUE(c.run_until([&] { return c.core(5).role() == role::leader; }, 2000));
  for (int n : {1, 2, 3, 4}) {
    c.block(5, n);
  }
  c.run_for(30);
  c.crash(5);
  // (c) Node 1 restarts and wins (2, 3, 4); it copies X to node 3 but nothing of its own term
  // reaches a durable majority (2 and 4 hold their flushes).
  for (int n : {3, 4}) {
    c.unblock(1, n);
  }
  c.hold_flushes(2, true);
  c.hold_flushes(4, true);
  c.restart(1);
  c.force_election(1);
  ASSERT_TRUE(c.run_until([&] { return c.core(1).role() == role::leader; }, 2000));
  ASSERT_TRUE(c.run_until([&] { return c.log(3).last_index() >= x->index; }, 1000));
  for (int n : {2, 3, 4}) {
    c.block(1, n);
  }
  c.run_for(50);  // node 3 flushes X: X is durable on 1, 2 and 3
  ASSERT_TRUE(c.disk(3).durably_holds(x->index, x->term));
  // (d) Node 1 crashes; 2 and 4 lose their unflushed tails; node 5 restarts and wins with 2, 3
  // and 4 (its last term is higher than X's), overwriting X everywhere.
  c.crash(1);
  c.crash(2);
  c.crash(3);
  c.crash(4);
  c.hold_flushes(2, false);
  c.hold_flushes(4, false);
  c.heal();
  for (int n : {2, 3, 4}) {
    c.block(1, n);  // node 1 stays down
  }
  c.restart(2);
  c.restart(3);
  c.restart(4);
  c.restart(5);
  // Node 5's first pre-vote (term t3) is refused and teaches it the term; the next one wins.
  for (int attempt = 0; attempt < 5 && !c.failed() && c.leader() != 5; ++attempt) {
    c.force_election(5);
    c.run_until([&] { return c.failed() || c.leader() == 5; }, 200);
  }
}

TEST(Scenarios, Figure8OldTermEntryIsNotCommittedByCounting) {
  sim_options o = quiet(5);
  o.max_append_bytes = 1;  // one entry per append, so X can travel without the term start
  o.election_ticks = 50;   // scripted elections win before any timer fires
  o.check_quorum = false;  // no lease: scripted candidates are heard at once
  cluster c(o);
  figure8(c);
  EXPECT_TRUE(healthy(c));
  EXPECT_EQ(c.leader(), 5);
  EXPECT_EQ(c.acknowledged(), 0u);
}

TEST(Scenarios, Figure8WithCommitOldTermLosesACommittedEntry) {
  sim_options o = quiet(5);
  o.max_append_bytes = 1;
  o.election_ticks = 50;
  o.check_quorum = false;
  o.mutations.commit_old_term = true;
  o.check_commit_rule = false;  // let the consequence show, not the broken rule
  cluster c(o);
  figure8(c);
  ASSERT_TRUE(c.failed());
  EXPECT_NE(c.check().violation()->find("leader completeness"), std::string::npos)
      << *c.check().violation();
}

void crash_loses_unflushed_tail(cluster& c) {
  ASSERT_TRUE(elect(c, 1));
  c.run_for(100);
  size_t acked = c.acknowledged();
  c.hold_flushes(2, true);
  c.hold_flushes(3, true);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(c.propose(1, 2).has_value());
  }
  c.run_for(100);
  if (c.failed()) {
    return;  // a mutation was caught
  }
  EXPECT_EQ(c.acknowledged(), acked) << c.describe();  // durable only on the leader
  c.crash(1);
  c.crash(2);
  c.crash(3);
  c.hold_flushes(2, false);
  c.hold_flushes(3, false);
  c.restart(2);
  c.restart(3);
  ASSERT_TRUE(c.run_until([&] { return c.leader() > 0; }, 3000));
  ASSERT_TRUE(c.propose(c.leader(), 1).has_value());
  c.run_for(200);
  c.restart(1);
  c.run_for(500);
}

TEST(Scenarios, CrashLosesAnUnflushedTail) {
  cluster c(quiet(3));
  crash_loses_unflushed_tail(c);
  EXPECT_TRUE(healthy(c));
  EXPECT_EQ(c.acknowledged(), 1u);
  EXPECT_EQ(c.log(1).last_index(), c.log(2).last_index());
}

TEST(Scenarios, CrashLosesAnUnflushedTailWithAckBeforeFlushIsCaught) {
  sim_options o = quiet(3);
  o.mutations.ack_before_flush = true;
  cluster c(o);
  crash_loses_unflushed_tail(c);
  ASSERT_TRUE(c.failed());
  EXPECT_NE(c.check().violation()->find("durability"), std::string::npos) << *c.check().violation();
}

// Nodes 1 and 2 hold committed entries node 3 missed; the leader goes down and node 2 loses
// its disk. Node 3 must not be elected with the vote of the node that forgot what it held.
void stale_candidate_after_a_wipe(cluster& c) {
  ASSERT_TRUE(elect(c, 1));
  c.run_for(100);
  size_t acked = c.acknowledged();
  c.isolate(3);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(c.propose(1, 2).has_value());
  }
  c.run_for(200);
  ASSERT_EQ(c.acknowledged(), acked + 5) << c.describe();
  c.crash(1);
  c.heal();
  c.wipe(2);
  ASSERT_TRUE(c.core(2).rebuilding());
  c.run_for(3000);
}

TEST(Scenarios, AVoterThatLostItsDiskDoesNotElectACandidateLackingCommits) {
  cluster c(quiet(3));
  stale_candidate_after_a_wipe(c);
  ASSERT_TRUE(healthy(c));
  EXPECT_EQ(c.leader(), -1) << c.describe();  // nobody without node 1's entries can win
  EXPECT_GT(c.core(2).votes_while_rebuilding(), 0u);
  c.restart(1);
  ASSERT_TRUE(c.run_until([&] { return c.leader() > 0; }, 3000)) << c.describe();
  ASSERT_TRUE(c.propose(c.leader(), 1).has_value());
  c.run_for(500);
  EXPECT_TRUE(healthy(c));
  EXPECT_FALSE(c.core(2).rebuilding()) << c.describe();
  EXPECT_EQ(c.log(2).last_index(), c.log(c.leader()).last_index());
}

TEST(Scenarios, AVoterThatLostItsDiskVotingAsUsualIsCaught) {
  sim_options o = quiet(3);
  o.mutations.count_rebuilding_votes = true;
  cluster c(o);
  stale_candidate_after_a_wipe(c);
  c.restart(1);
  c.run_for(1000);
  ASSERT_TRUE(c.failed()) << c.describe();
  EXPECT_NE(c.check().violation()->find("leader completeness"), std::string::npos)
      << *c.check().violation();
}

TEST(Scenarios, IsolatedLeaderKeepsTakingWritesNoneAcknowledged) {
  cluster c(quiet(3));
  ASSERT_TRUE(elect(c, 1));
  c.run_for(100);
  size_t acked = c.acknowledged();
  c.isolate(1);
  int taken = 0;
  for (int i = 0; i < 20 && c.core(1).role() == role::leader; ++i) {
    taken += c.propose(1, 1).has_value() ? 1 : 0;
    c.run_for(5);
  }
  EXPECT_GT(taken, 5);
  ASSERT_TRUE(c.run_until([&] { return c.leader() == 2 || c.leader() == 3; }, 3000));
  EXPECT_EQ(c.acknowledged(), acked);
  int l = c.leader();
  ASSERT_TRUE(c.propose(l, 1).has_value());
  c.heal();
  c.run_for(1000);
  EXPECT_TRUE(healthy(c));
  EXPECT_EQ(c.acknowledged(), acked + 1);
  EXPECT_EQ(c.log(1).last_index(), c.log(l).last_index());  // node 1's writes were replaced
}

TEST(Scenarios, LeadershipTransferDuringWrites) {
  sim_options o = quiet(3, 11);
  o.client = true;
  o.network_faults = true;
  cluster c(o);
  ASSERT_TRUE(c.run_until([&] { return c.leader() > 0; }, 3000));
  for (int round = 0; round < 6; ++round) {
    int from = c.leader();
    ASSERT_GT(from, 0);
    int to = from % 3 + 1;
    size_t acked = c.acknowledged();
    ASSERT_TRUE(c.transfer(from, to).has_value());
    ASSERT_TRUE(c.run_until([&] { return c.failed() || c.leader() == to; }, 3000))
        << "round " << round;
    c.run_for(200);
    EXPECT_GT(c.acknowledged(), acked);
  }
  EXPECT_TRUE(healthy(c));
}

TEST(Scenarios, RejoiningNodeDoesNotDeposeAHealthyLeader) {
  cluster c(quiet(3));
  ASSERT_TRUE(elect(c, 1));
  c.run_for(100);
  raft::term t = c.core(1).term();
  c.isolate(3);
  c.run_for(3000);  // node 3 times out again and again, but only pre-votes
  EXPECT_EQ(c.core(3).term(), t);
  c.heal();
  c.run_for(2000);
  EXPECT_EQ(c.leader(), 1);
  EXPECT_EQ(c.core(1).term(), t);
  EXPECT_TRUE(healthy(c));
}

TEST(Scenarios, CheckQuorumStepsDownALeaderThatHearsNobody) {
  cluster c(quiet(3));
  ASSERT_TRUE(elect(c, 1));
  c.run_for(100);
  // One-way: node 1 still reaches the others but hears nothing back.
  c.block(2, 1);
  c.block(3, 1);
  c.run_for(2 * 10 * 10 + 50);
  EXPECT_NE(c.core(1).role(), role::leader);
  c.heal();
  ASSERT_TRUE(c.run_until([&] { return c.leader() > 0; }, 3000));
  EXPECT_TRUE(healthy(c));
}

// The single-server membership change bug (Ongaro, raft-dev, 2015): a leader elected in the
// old configuration must commit an entry of its term before it changes the configuration, or
// two leaders of disjoint quorums can commit conflicting configurations.
TEST(Scenarios, SingleServerChangeWaitsForAnEntryOfTheNewTerm) {
  sim_options o = quiet(4);
  o.learners = 1;  // node 5
  o.election_ticks = 50;
  o.check_quorum = false;
  cluster c(o);
  ASSERT_TRUE(elect(c, 1));
  c.run_for(300);
  // Node 1 promotes 5; only 5 hears of it (C1 = {1,2,3,4,5}).
  for (int n : {2, 3, 4}) {
    c.block(1, n);
  }
  ASSERT_TRUE(c.change_config(1, {raft::config_change::kind::promote, raft::node_id(5)}));
  c.run_for(50);
  // Node 2 is elected in C0 = {1,2,3,4} by 3 and 4 and wants to remove 4.
  c.isolate(1);
  c.isolate(5);
  c.force_election(2);
  ASSERT_TRUE(c.run_until([&] { return c.core(2).role() == role::leader; }, 2000));
  auto early = c.change_config(2, {raft::config_change::kind::remove, raft::node_id(4)});
  ASSERT_FALSE(early.has_value());
  EXPECT_EQ(early.error().code(), make_error_code(raft::errc::leader_not_ready));
  ASSERT_TRUE(c.run_until([&] { return c.leader() == 2; }, 2000));
  ASSERT_TRUE(c.change_config(2, {raft::config_change::kind::remove, raft::node_id(4)}));
  c.run_for(300);
  // Node 1 returns with C1 and campaigns where 4 and 5 hear it: 4 holds node 2's term-start
  // entry, so 1 cannot gather a majority of C1.
  c.heal();
  for (int n : {2, 3}) {
    c.block(1, n);
    c.block(n, 1);
  }
  c.force_election(1);
  c.run_for(1000);
  EXPECT_NE(c.core(1).role(), role::leader);
  EXPECT_TRUE(healthy(c));
}

// A follower with a divergent uncommitted tail is repaired by a snapshot while old appends that
// would truncate it are still in flight (duplicated and reordered by the network).
TEST(Scenarios, SnapshotInstallRacingATruncation) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    sim_options o = quiet(3, seed);
    o.network_faults = true;
    cluster c(o);
    ASSERT_TRUE(elect(c, 3));
    c.run_for(100);
    c.isolate(3);
    for (int i = 0; i < 5; ++i) {
      (void)c.propose(3, 2);  // node 3's divergent tail
    }
    ASSERT_TRUE(c.run_until([&] { return c.leader() == 1 || c.leader() == 2; }, 3000));
    int l = c.leader();
    for (int i = 0; i < 20; ++i) {
      (void)c.propose(l, 1);
      c.run_for(3);
    }
    ASSERT_TRUE(c.run_until([&] { return c.failed() || c.acknowledged() >= 15; }, 2000));
    ASSERT_TRUE(c.compact(l).has_value());
    c.heal();
    for (int i = 0; i < 5; ++i) {
      (void)c.propose(l, 1);  // appends racing the snapshot
      c.run_for(2);
    }
    ASSERT_TRUE(c.run_until(
        [&] {
          return c.failed() || (c.log(3).snapshot_meta().last_index > raft::raft_index(0) &&
                                c.core(3).commit_index() == c.core(l).commit_index());
        },
        3000))
        << "seed " << seed;
    c.crash(3);
    c.restart(3);
    c.run_for(500);
    ASSERT_TRUE(healthy(c)) << "seed " << seed;
    EXPECT_EQ(c.core(3).commit_index(), c.core(l).commit_index()) << "seed " << seed;
  }
}

}  // namespace
}  // namespace strom::sim
