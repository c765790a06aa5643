#include "strom/raft/node.h"

#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <set>

#include "strom/raft/memory_log.h"

namespace strom::raft {
namespace {

/// A few nodes joined by a hand-driven mailbox: messages are delivered only when the test says
/// so, flushes complete only when the test says so.
struct group {
  struct member {
    std::unique_ptr<memory_log_store> log;
    memory_hard_state_store hs;
    std::unique_ptr<node> n;
  };
  std::vector<member> members;
  std::deque<message> mailbox;
  std::set<int> cut;  // nodes whose messages (both ways) are dropped
  std::vector<ticket_result> outcomes;
  std::vector<leadership_event> events;
  options base;

  explicit group(int voters, int learners = 0, options o = {}) : base(o) {
    snapshot initial;
    for (int i = 1; i <= voters; ++i) {
      initial.meta.config.voters.insert(node_id(i));
    }
    for (int i = voters + 1; i <= voters + learners; ++i) {
      initial.meta.config.learners.insert(node_id(i));
    }
    members.resize(static_cast<size_t>(voters + learners));
    for (int i = 1; i <= voters + learners; ++i) {
      m(i).log = std::make_unique<memory_log_store>(initial);
      start(i);
    }
  }
  member& m(int i) { return members[static_cast<size_t>(i - 1)]; }
  node& at(int i) { return *m(i).n; }
  void start(int i) {
    options o = base;
    o.id = node_id(i);
    o.random_seed = static_cast<uint64_t>(i);
    m(i).n = std::make_unique<node>(o, *m(i).log, m(i).hs.load());
  }
  /// Node i loses its disk (log and hard state) and starts again empty, a voter still.
  void wipe(int i) {
    snapshot initial;
    initial.meta.config = at(i).config();
    m(i).log = std::make_unique<memory_log_store>(initial);
    m(i).hs = memory_hard_state_store{};
    // What a missing state file reads as (file_hard_state_store::open).
    EXPECT_TRUE(m(i).hs.save(hard_state{term(0), std::nullopt, true}).has_value());
    start(i);
  }
  /// Starts node i again (its log still empty) as the replica preferred as the group's leader.
  void prefer(int i) {
    base.eager_first_election = true;
    start(i);
    base.eager_first_election = false;
  }
  ready handle(int i) {
    ready all;
    while (at(i).has_ready()) {
      ready r = at(i).take_ready();
      if (r.install) {
        EXPECT_TRUE(m(i).log->install(*r.install).has_value());
      }
      if (r.hard_state) {
        EXPECT_TRUE(m(i).hs.save(*r.hard_state).has_value());
      }
      if (r.truncate_from || !r.entries.empty()) {
        EXPECT_TRUE(m(i).log->append(r.truncate_from, r.entries).has_value());
      }
      if (r.compact) {
        EXPECT_TRUE(m(i).log->compact(*r.compact).has_value());
      }
      for (auto& o : r.messages) {
        if (!cut.contains(o.msg.from.value()) && !cut.contains(o.msg.to.value())) {
          mailbox.push_back(o.msg);
        }
        all.messages.push_back(o);
      }
      outcomes.insert(outcomes.end(), r.outcomes.begin(), r.outcomes.end());
      events.insert(events.end(), r.events.begin(), r.events.end());
      all.hard_state = r.hard_state ? r.hard_state : all.hard_state;
      all.commit = r.commit ? r.commit : all.commit;
      all.entries.insert(all.entries.end(), r.entries.begin(), r.entries.end());
    }
    return all;
  }
  void flush(int i) {
    if (m(i).log->dirty()) {
      m(i).log->begin_flush();
    }
    while (m(i).log->flushes_in_progress() > 0) {
      at(i).on_flushed(m(i).log->complete_flush());
    }
    handle(i);
  }
  void flush_all() {
    for (int i = 1; i <= size(); ++i) {
      flush(i);
    }
  }
  int size() const { return static_cast<int>(members.size()); }
  /// Delivers messages (flushing every node between rounds) until none are left.
  void settle(bool flushing = true) {
    for (int rounds = 0; rounds < 1000; ++rounds) {
      if (flushing) {
        flush_all();
      }
      if (mailbox.empty()) {
        return;
      }
      message msg = mailbox.front();
      mailbox.pop_front();
      if (cut.contains(msg.from.value()) || cut.contains(msg.to.value())) {
        continue;
      }
      at(msg.to.value()).step(msg);
      handle(msg.to.value());
    }
  }
  void tick_all(int times) {
    for (int t = 0; t < times; ++t) {
      for (int i = 1; i <= size(); ++i) {
        at(i).tick();
        handle(i);
      }
    }
  }
  /// Makes node i campaign and runs the election to its end.
  void elect(int i) {
    while (at(i).role() == role::follower) {
      at(i).tick();
      handle(i);
    }
    settle();
  }
};

std::vector<std::byte> payload(int v) {
  return std::vector<std::byte>(4, std::byte(v));
}

TEST(RaftNode, PreVoteDoesNotRaiseTerms) {
  group g(3);
  g.cut = {2, 3};
  for (int t = 0; t < 100; ++t) {
    g.at(1).tick();
    g.handle(1);
  }
  EXPECT_EQ(g.at(1).role(), role::pre_candidate);
  EXPECT_EQ(g.at(1).term(), term(0));  // pre-votes never move the term
}

TEST(RaftNode, ElectsALeaderWithTermStartEntry) {
  group g(3);
  g.elect(1);
  ASSERT_EQ(g.at(1).role(), role::leader);
  EXPECT_EQ(g.at(1).term(), term(1));
  auto es = g.m(1).log->entries(raft_index(1), 1024);
  ASSERT_EQ(es.size(), 1u);
  EXPECT_EQ(es[0].kind, entry_kind::term_start);
  EXPECT_TRUE(g.at(1).is_ready_leader());
  EXPECT_EQ(g.at(2).leader(), node_id(1));
  g.tick_all(2);  // a heartbeat carries the commit index
  g.settle();
  EXPECT_EQ(g.at(2).commit_index(), raft_index(1));
}

TEST(RaftNode, ThePreferredReplicaOfANewGroupLeadsItFirst) {
  group g(3);
  g.prefer(2);
  int ticks = 0;
  while (g.at(2).role() != role::leader && ticks < 20) {
    g.tick_all(1);
    g.settle();
    ++ticks;
  }
  ASSERT_EQ(g.at(2).role(), role::leader);
  EXPECT_LE(ticks, 2 + 2);  // within [2, 2 + heartbeat_ticks) ticks, not election_ticks
  EXPECT_EQ(g.at(2).term(), term(1));
  EXPECT_EQ(g.at(1).leader(), node_id(2));
  EXPECT_EQ(g.at(3).leader(), node_id(2));
  // Leading, it stays leader: nobody campaigned in the first term.
  for (int t = 0; t < 50; ++t) {
    g.tick_all(1);
    g.settle();
  }
  EXPECT_EQ(g.at(2).role(), role::leader);
  EXPECT_EQ(g.at(2).term(), term(1));
}

TEST(RaftNode, APreferredReplicasRealElectionGetsTheFullTimeout) {
  // Quick pre-votes, but the election they lead to persists a vote on every voter: under
  // load (a thousand new groups at once) a round of it can outlast a few ticks, and starting
  // the next one then would never let any of them finish.
  group g(3);
  g.prefer(2);
  while (g.at(2).role() == role::follower) {
    g.at(2).tick();
    g.handle(2);
  }
  ASSERT_EQ(g.at(2).role(), role::pre_candidate);
  // The pre-votes are granted; the votes they lead to are lost.
  while (!g.mailbox.empty() && g.at(2).role() == role::pre_candidate) {
    message msg = g.mailbox.front();
    g.mailbox.pop_front();
    g.at(msg.to.value()).step(msg);
    g.handle(msg.to.value());
  }
  ASSERT_EQ(g.at(2).role(), role::candidate);
  ASSERT_EQ(g.at(2).term(), term(1));
  g.mailbox.clear();
  for (int t = 0; t + 1 < g.base.election_ticks; ++t) {
    g.at(2).tick();
    g.handle(2);
    EXPECT_EQ(g.at(2).role(), role::candidate) << "tick " << t;  // no new campaign yet
  }
}

TEST(RaftNode, APreferredReplicaThatHeardALeaderWaitsAFullElectionTimeout) {
  group g(3);
  g.prefer(3);
  g.elect(1);  // node 3 is not ticked meanwhile: node 1 leads first
  ASSERT_EQ(g.at(1).role(), role::leader);
  ASSERT_EQ(g.at(3).leader(), node_id(1));
  g.cut = {1};
  for (int t = 0; t < g.base.election_ticks; ++t) {
    g.at(3).tick();
    g.handle(3);
    EXPECT_EQ(g.at(3).role(), role::follower) << "tick " << t;
  }
}

TEST(RaftNode, ElectionTimeoutIsRandomisedFromTheSeed) {
  auto first_campaign = [](uint64_t seed) {
    options o;
    o.id = node_id(1);
    o.random_seed = seed;
    snapshot initial;
    initial.meta.config.voters = {node_id(1), node_id(2), node_id(3)};
    memory_log_store log(initial);
    node n(o, log, {});
    int t = 0;
    while (n.role() == role::follower) {
      n.tick();
      ++t;
    }
    return t;
  };
  EXPECT_EQ(first_campaign(5), first_campaign(5));
  std::set<int> seen;
  for (uint64_t s = 0; s < 20; ++s) {
    int t = first_campaign(s);
    EXPECT_GE(t, 10);
    EXPECT_LT(t, 20);
    seen.insert(t);
  }
  EXPECT_GT(seen.size(), 3u);
}

TEST(RaftNode, NotReadyUntilTheTermStartEntryCommits) {
  group g(3);
  while (g.at(1).role() == role::follower) {
    g.at(1).tick();
    g.handle(1);
  }
  g.settle(false);  // votes delivered, nothing flushed
  ASSERT_EQ(g.at(1).role(), role::leader);
  EXPECT_FALSE(g.at(1).is_ready_leader());
  EXPECT_EQ(g.at(1).propose(payload(1), 1).error().code(), make_error_code(errc::leader_not_ready));
  g.settle();
  EXPECT_TRUE(g.at(1).is_ready_leader());
  EXPECT_TRUE(g.at(1).propose(payload(1), 1).has_value());
}

TEST(RaftNode, CommitWaitsForFlushOnAMajorityIncludingTheLeader) {
  group g(3);
  g.elect(1);
  auto t = g.at(1).propose(payload(1), 2);
  ASSERT_TRUE(t.has_value());
  g.handle(1);
  g.settle(false);  // followers received, nobody flushed
  EXPECT_EQ(g.at(1).commit_index(), raft_index(1));
  g.flush(2);
  g.settle(false);  // follower 2 durable, the leader not yet
  EXPECT_EQ(g.at(1).commit_index(), raft_index(1));
  g.flush(1);
  EXPECT_EQ(g.at(1).commit_index(), t->last);
  ASSERT_FALSE(g.outcomes.empty());
  EXPECT_EQ(g.outcomes.back().outcome, ticket_outcome::committed);
}

TEST(RaftNode, WriteCachingCommitsOnceAMajorityReceivedTheEntry) {
  group g(3);
  g.elect(1);
  g.at(1).set_write_caching(true);
  auto t = g.at(1).propose(payload(1), 2);
  ASSERT_TRUE(t.has_value());
  g.handle(1);
  g.settle(false);  // followers received, nobody flushed: committed all the same
  EXPECT_EQ(g.at(1).commit_index(), t->last);
  // Turned off again, the next entry waits for the flushes.
  g.at(1).set_write_caching(false);
  auto u = g.at(1).propose(payload(2), 1);
  ASSERT_TRUE(u.has_value());
  g.handle(1);
  g.settle(false);
  EXPECT_EQ(g.at(1).commit_index(), t->last);
  g.flush_all();
  g.settle(false);
  EXPECT_EQ(g.at(1).commit_index(), u->last);
}

TEST(RaftNode, VotesArePersistedBeforeTheyAreSent) {
  group g(3);
  message req;
  req.type = message_type::vote_request;
  req.term = term(1);
  req.from = node_id(1);
  req.to = node_id(2);
  g.at(2).step(req);
  ready r = g.at(2).take_ready();
  ASSERT_TRUE(r.hard_state.has_value());
  EXPECT_EQ(r.hard_state->term, term(1));
  EXPECT_EQ(r.hard_state->vote, node_id(1));
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_TRUE(r.messages[0].msg.granted);
  EXPECT_TRUE(r.messages[0].after_persist);
}

TEST(RaftNode, GrantsOneVotePerTerm) {
  group g(3);
  message req;
  req.type = message_type::vote_request;
  req.term = term(5);
  req.to = node_id(3);
  req.from = node_id(1);
  g.at(3).step(req);
  EXPECT_TRUE(g.at(3).take_ready().messages.at(0).msg.granted);
  req.from = node_id(2);
  g.at(3).step(req);
  EXPECT_FALSE(g.at(3).take_ready().messages.at(0).msg.granted);
  EXPECT_EQ(g.at(3).vote(), node_id(1));
}

TEST(RaftNode, StickinessIgnoresVotesWhileTheLeaderIsAlive) {
  group g(3);
  g.elect(1);
  message req;
  req.type = message_type::vote_request;
  req.pre_vote = true;
  req.term = term(2);
  req.from = node_id(3);
  req.to = node_id(2);
  req.last_index = raft_index(100);
  req.last_term = term(1);
  g.at(2).step(req);
  EXPECT_TRUE(g.at(2).take_ready().messages.empty());
  req.transfer = true;  // a leadership transfer bypasses stickiness
  req.pre_vote = false;
  g.at(2).step(req);
  auto r = g.at(2).take_ready();
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_TRUE(r.messages[0].msg.granted);
}

TEST(RaftNode, CheckQuorumStepsDownAnIsolatedLeader) {
  group g(3);
  g.elect(1);
  g.cut = {1};
  for (int t = 0; t < 25 && g.at(1).role() == role::leader; ++t) {
    g.at(1).tick();
    g.handle(1);
  }
  EXPECT_EQ(g.at(1).role(), role::follower);
}

TEST(RaftNode, ALeaderHeldUpForAnElectionTimeoutStepsDown) {
  group g(3);
  g.elect(1);
  const auto& o = g.base;
  // A hiccup shorter than anyone needs to elect another leader: it keeps leading.
  g.at(1).held_up(o.election_ticks - o.heartbeat_ticks - 1);
  g.handle(1);
  EXPECT_TRUE(g.at(1).is_ready_leader());
  // Stopped long enough for the others to have elected another: it no longer takes writes,
  // whether or not it has heard of a successor, and it says so.
  g.events.clear();
  g.at(1).held_up(o.election_ticks - o.heartbeat_ticks);
  g.handle(1);
  EXPECT_EQ(g.at(1).role(), role::follower);
  EXPECT_FALSE(g.at(1).propose(payload(1), 1).has_value());
  ASSERT_EQ(g.events.size(), 1u);
  EXPECT_EQ(g.events[0].kind, leadership_event_kind::stepped_down);
  // A follower held up only learns the time passed through its next ticks.
  g.at(2).held_up(100);
  EXPECT_EQ(g.at(2).role(), role::follower);
  // The group elects a leader again.
  for (int t = 0; t < 100; ++t) {
    g.tick_all(1);
    g.settle();
  }
  int leaders = 0;
  for (int i = 1; i <= 3; ++i)
    leaders += g.at(i).is_ready_leader() ? 1 : 0;
  EXPECT_EQ(leaders, 1);
}

options no_lease() {
  options o;
  o.check_quorum = false;  // no stickiness: a second scripted election is heard at once
  return o;
}

TEST(RaftNode, OnlyAnEntryOfTheLeadersTermCommitsByCounting) {
  group g(3, 0, no_lease());
  g.elect(1);
  // Node 1 appends an entry that only it holds, then loses leadership to node 2.
  g.cut = {1};
  ASSERT_TRUE(g.at(1).propose(payload(1), 1).has_value());
  g.handle(1);
  g.flush(1);
  g.cut = {};
  g.mailbox.clear();
  g.cut = {1};
  g.elect(2);
  ASSERT_EQ(g.at(2).role(), role::leader);
  g.cut = {};
  // Node 1 rejoins: its old-term entry is replaced, never committed.
  g.tick_all(3);
  g.settle();
  EXPECT_EQ(g.at(1).term_at(raft_index(2)), g.at(2).term());
  ASSERT_FALSE(g.outcomes.empty());
  EXPECT_EQ(g.outcomes.front().outcome, ticket_outcome::lost);
}

TEST(RaftNode, BackpressureRefusesProposalsBeyondTheWindow) {
  options o;
  o.max_uncommitted = 3;
  group g(3, 0, o);
  g.elect(1);
  g.cut = {2, 3};
  ASSERT_TRUE(g.at(1).propose(payload(1), 2).has_value());
  ASSERT_TRUE(g.at(1).propose(payload(2), 1).has_value());
  EXPECT_EQ(g.at(1).propose(payload(3), 1).error().code(), make_error_code(errc::backpressure));
}

TEST(RaftNode, PipelinesAppendsUpToTheWindow) {
  options o;
  o.max_inflight = 4;
  o.max_append_bytes = 1;  // one entry per append
  group g(2, 0, o);
  g.elect(1);
  ASSERT_TRUE(g.at(1).is_ready_leader());
  g.handle(1);
  g.mailbox.clear();
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(g.at(1).propose(payload(i), 1).has_value());
  }
  g.handle(1);
  size_t appends = 0;
  for (const auto& m : g.mailbox) {
    appends += m.type == message_type::append ? 1 : 0;
  }
  EXPECT_EQ(appends, 4u);  // no answer yet: the window is full
  g.settle();
  g.tick_all(2);
  g.settle();
  EXPECT_EQ(g.at(2).commit_index(), raft_index(9));
}

TEST(RaftNode, TheRecoveryBudgetPacesAFollowerBehindButNotFreshEntries) {
  recovery_budget budget{.available = int64_t{1} << 40};
  options o;
  o.max_append_bytes = 1;  // one entry per append
  o.recovery = &budget;    // every member shares it; only a leader spends it
  group g(3, 0, o);
  g.elect(1);
  ASSERT_TRUE(g.at(1).is_ready_leader());
  g.cut = {3};
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(g.at(1).propose(payload(i), 1).has_value());
  }
  g.settle();
  g.tick_all(o.election_ticks + 2);  // silent for an election timeout: out of sync
  g.settle();
  ASSERT_EQ(g.at(1).commit_index(), raft_index(21));  // with node 2
  auto behind = g.at(3).last_index();
  ASSERT_LT(behind, raft_index(21));

  // Node 3 is back but the budget is spent: nothing committed reaches it, while a fresh entry
  // still commits on node 2 at once.
  g.cut.clear();
  budget.available = 0;
  for (int round = 0; round < 4; ++round) {
    g.tick_all(2);
    g.settle();
  }
  EXPECT_EQ(g.at(3).last_index(), behind);
  ASSERT_TRUE(g.at(1).propose(payload(99), 1).has_value());
  g.settle();
  EXPECT_EQ(g.at(1).commit_index(), raft_index(22));
  EXPECT_EQ(g.at(3).last_index(), behind);

  // Each refill lets one append (one entry here) through.
  for (int round = 0; round < 5; ++round) {
    budget.available = 1;
    g.tick_all(2);
    g.settle();
  }
  EXPECT_GT(g.at(3).last_index(), behind);
  EXPECT_LE(g.at(3).last_index().value(), behind.value() + 5);

  // Enough budget: it catches up entirely.
  budget.available = int64_t{1} << 40;
  g.tick_all(2);
  g.settle();
  g.tick_all(2);
  g.settle();
  EXPECT_EQ(g.at(3).last_index(), raft_index(22));
  EXPECT_EQ(g.at(3).commit_index(), raft_index(22));
}

TEST(RaftNode, AFollowerKeepingUpBehindTheCommitIsNotPacedByTheRecoveryBudget) {
  // Under a steady producer one follower may trail while the other carries the commit past
  // it. It still keeps up: paced as if it were recovering, it would fall further behind.
  recovery_budget budget{.available = 0};
  options o;
  o.max_append_bytes = 1;  // one entry per append
  o.recovery = &budget;
  group g(3, 0, o);
  g.elect(1);
  ASSERT_TRUE(g.at(1).is_ready_leader());
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(g.at(1).propose(payload(i), 1).has_value());
  }
  // Node 2 answers at once; node 3's messages wait in a slower link.
  std::deque<message> slow;
  for (int rounds = 0; rounds < 1000; ++rounds) {
    g.flush_all();
    for (auto& msg : g.mailbox) {
      if (msg.to == node_id(3) || msg.from == node_id(3)) {
        slow.push_back(msg);
      }
    }
    std::erase_if(g.mailbox, [](const message& msg) {
      return msg.to == node_id(3) || msg.from == node_id(3);
    });
    if (g.mailbox.empty()) {
      break;
    }
    message msg = g.mailbox.front();
    g.mailbox.pop_front();
    g.at(msg.to.value()).step(msg);
    g.handle(msg.to.value());
  }
  ASSERT_EQ(g.at(1).commit_index(), raft_index(31));  // with node 2
  auto behind = g.at(3).last_index();
  ASSERT_LT(behind, raft_index(31));

  // The slow link delivers: node 3's answers find the rest committed, and the rest goes at
  // once, with the budget spent.
  g.mailbox.insert(g.mailbox.end(), slow.begin(), slow.end());
  g.settle();
  EXPECT_EQ(g.at(3).last_index(), raft_index(31));
  EXPECT_EQ(budget.sent, 0);
}

TEST(RaftNode, TheOnlyVoterLeadsAtItsFirstTickWithLearnersBeside) {
  group g(1, 2);  // one voter, two learners (a partition of one replica being moved to three)
  g.tick_all(1);
  g.settle();
  EXPECT_EQ(g.at(1).role(), role::leader);
  EXPECT_EQ(g.at(2).role(), role::follower);
  EXPECT_EQ(g.at(3).role(), role::follower);
  // A group of three voters still waits for an election timeout.
  group three(3);
  three.tick_all(1);
  three.settle();
  for (int i = 1; i <= 3; ++i)
    EXPECT_EQ(three.at(i).role(), role::follower);
}

TEST(RaftNode, AnUnlimitedRecoveryBudgetHoldsNothingBackAndCountsWhatRecoverySent) {
  recovery_budget budget{.available = 0, .limited = false};
  options o;
  o.max_append_bytes = 1;  // one entry per append
  o.recovery = &budget;
  group g(3, 0, o);
  g.elect(1);
  ASSERT_TRUE(g.at(1).is_ready_leader());
  g.cut = {3};
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(g.at(1).propose(payload(i), 1).has_value());
  }
  g.settle();
  g.tick_all(o.election_ticks + 2);  // silent for an election timeout: out of sync
  g.settle();
  ASSERT_EQ(g.at(1).commit_index(), raft_index(21));
  auto behind = g.at(3).last_index();
  ASSERT_LT(behind, raft_index(21));
  auto before = budget.sent;  // probes to the cut node may have carried committed entries

  // Node 3 is back: nothing waits for a budget that never refills, and every committed entry
  // sent to it is counted.
  g.cut.clear();
  for (int round = 0; round < 4; ++round) {
    g.tick_all(2);
    g.settle();
  }
  EXPECT_EQ(g.at(3).last_index(), raft_index(21));
  EXPECT_GE(budget.sent - before, 21 - behind.value());  // at least a byte per entry
  auto counted = budget.sent;
  ASSERT_TRUE(g.at(1).propose(payload(99), 1).has_value());
  g.settle();
  EXPECT_EQ(budget.sent, counted);  // a fresh entry again goes uncounted
}

TEST(RaftNode, FastBacktrackingRepairsADivergentFollower) {
  group g(3, 0, no_lease());
  g.elect(1);
  g.cut = {1};  // node 1 keeps writing alone in term 1
  for (int i = 0; i < 30; ++i) {
    (void)g.at(1).propose(payload(i), 1);
  }
  g.handle(1);
  g.flush(1);
  g.mailbox.clear();
  g.cut = {1};
  g.elect(2);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(g.at(2).propose(payload(i), 1).has_value());
  }
  g.settle();
  g.cut = {};
  size_t before = 0;
  g.tick_all(2);  // heartbeats reach node 1, which learns the new leader
  for (int r = 0; r < 200 && !g.mailbox.empty(); ++r) {
    message msg = g.mailbox.front();
    g.mailbox.pop_front();
    before += msg.type == message_type::append && msg.to == node_id(1) ? 1 : 0;
    g.at(msg.to.value()).step(msg);
    g.handle(msg.to.value());
    g.flush_all();
  }
  EXPECT_EQ(g.at(1).last_index(), g.at(2).last_index());
  EXPECT_EQ(g.at(1).term_at(g.at(1).last_index()), g.at(2).term());
  EXPECT_LE(before, 4u);  // not one round trip per divergent entry
}

TEST(RaftNode, LeadershipTransferSendsTimeoutNowToACaughtUpTarget) {
  group g(3);
  g.elect(1);
  EXPECT_FALSE(g.at(1).handing_over());
  ASSERT_TRUE(g.at(1).transfer_leadership(node_id(2)).has_value());
  EXPECT_EQ(g.at(1).propose(payload(1), 1).error().code(),
            make_error_code(errc::transfer_in_progress));
  // timeout_now is on its way: node 2 may win at once, the lease notwithstanding.
  EXPECT_TRUE(g.at(1).handing_over());
  g.handle(1);
  g.settle();
  EXPECT_EQ(g.at(2).role(), role::leader);
  EXPECT_EQ(g.at(1).role(), role::follower);
  EXPECT_EQ(g.at(1).leader(), node_id(2));
  EXPECT_FALSE(g.at(1).handing_over());
}

TEST(RaftNode, ATransferThatDoesNotEndInAnElectionTimeoutStopsHandingOver) {
  group g(3);
  g.elect(1);
  g.cut = {2};  // the target never hears timeout_now
  ASSERT_TRUE(g.at(1).transfer_leadership(node_id(2)).has_value());
  g.handle(1);
  g.settle();
  EXPECT_TRUE(g.at(1).handing_over());
  int ticks = 0;
  for (; ticks < g.base.election_ticks && g.at(1).transferring(); ++ticks) {
    g.at(1).tick();
    g.handle(1);
  }
  EXPECT_FALSE(g.at(1).transferring());
  EXPECT_EQ(g.at(1).role(), role::leader);
  // The target's campaign may still be under way, the lease notwithstanding: still handing
  // over until two election timeouts after timeout_now, and a new transfer does not clear it.
  EXPECT_TRUE(g.at(1).handing_over());
  ASSERT_TRUE(g.at(1).transfer_leadership(node_id(3)).has_value());
  EXPECT_TRUE(g.at(1).handing_over());
  g.handle(1);
  g.settle();
  // Node 3 held the log: timeout_now went to it, and it leads.
  EXPECT_EQ(g.at(3).role(), role::leader);
  EXPECT_FALSE(g.at(1).handing_over());
}

TEST(RaftNode, HandingOverEndsTwoElectionTimeoutsAfterTheLastTimeoutNow) {
  group g(3);
  g.elect(1);
  g.cut = {2};  // the target never hears timeout_now
  ASSERT_TRUE(g.at(1).transfer_leadership(node_id(2)).has_value());
  g.handle(1);
  g.settle();
  ASSERT_TRUE(g.at(1).handing_over());
  const int limit = 2 * g.base.election_ticks;
  for (int t = 1; t < limit; ++t) {
    g.at(1).tick();
    g.handle(1);
    g.settle();
    ASSERT_TRUE(g.at(1).handing_over()) << "tick " << t;
  }
  g.at(1).tick();
  g.handle(1);
  EXPECT_FALSE(g.at(1).handing_over());
  EXPECT_EQ(g.at(1).role(), role::leader);
}

TEST(RaftNode, AFollowerThatKeepsUpIsCaughtUpWhileEntriesAreInFlight) {
  group g(3);
  g.elect(1);
  ASSERT_TRUE(g.at(1).propose(payload(1), 1).has_value());
  g.handle(1);
  g.settle();
  g.tick_all(1);  // both hold what the leader had a tick ago
  g.settle();
  // New entries commit with node 2 alone: node 3 holds neither the whole log nor the commit,
  // yet it held everything a tick ago, so a transfer to it completes in a round trip.
  g.cut = {3};
  ASSERT_TRUE(g.at(1).propose(payload(2), 1).has_value());
  g.handle(1);
  g.settle();
  ASSERT_GT(g.at(1).commit_index(), g.at(3).last_index());
  EXPECT_TRUE(g.at(1).caught_up(node_id(2), 10));
  EXPECT_TRUE(g.at(1).caught_up(node_id(3), 10));
  // Cut off for an election timeout, it is no target any more.
  g.tick_all(g.base.election_ticks);
  g.settle();
  EXPECT_TRUE(g.at(1).caught_up(node_id(2), 10));
  EXPECT_FALSE(g.at(1).caught_up(node_id(3), 10));
  g.cut = {};
  ASSERT_TRUE(g.at(1).propose(payload(3), 1).has_value());
  g.handle(1);
  ASSERT_TRUE(g.at(1).transfer_leadership(node_id(2)).has_value());
  g.handle(1);
  g.settle();
  EXPECT_EQ(g.at(2).role(), role::leader);
  EXPECT_EQ(g.at(1).leader(), node_id(2));
  EXPECT_EQ(g.at(2).last_index(), g.at(1).last_index());  // nothing proposed before it lost
}

TEST(RaftNode, AFollowerSilentForAnElectionTimeoutIsOutOfSyncUntilItHasCaughtUp) {
  group g(3);
  g.elect(1);
  ASSERT_TRUE(g.at(1).propose(payload(1), 1).has_value());
  g.handle(1);
  g.settle();
  g.tick_all(1);
  g.settle();
  const int64_t lag = 1000;  // replica.lag.time.max.ms, far longer than this test
  EXPECT_EQ(g.at(1).in_sync_voters(lag), 3u);
  g.cut = {3};
  for (int t = 0; t < 3 * g.base.election_ticks; ++t) {
    if (t % 5 == 0) {
      ASSERT_TRUE(g.at(1).propose(payload(t), 1).has_value());
      g.handle(1);
    }
    g.tick_all(1);
    g.settle();
  }
  EXPECT_EQ(g.at(1).role(), role::leader);
  EXPECT_EQ(g.at(1).in_sync_voters(lag), 2u);  // gone: out, long before the lag time
  EXPECT_EQ(g.at(1).heard_voters(lag), 3u);
  EXPECT_FALSE(g.at(1).caught_up(node_id(3), lag));
  // Back, it is in sync again once it holds the log.
  g.cut = {};
  g.tick_all(1);
  g.settle();
  EXPECT_EQ(g.at(3).last_index(), g.at(1).last_index());
  EXPECT_EQ(g.at(1).in_sync_voters(lag), 3u);
}

TEST(RaftNode, FollowersWhoseRoundTripsTakeLongerThanATickStayInSyncUnderSteadyProposals) {
  group g(3);
  g.elect(1);
  const int64_t lag = 20;  // ticks of replica.lag.time.max.ms
  size_t queued = 0;
  for (int r = 0; r < 6 * lag; ++r) {
    // What was sent a round ago arrives now: each hop takes a tick, a round trip two, and a
    // new entry every tick, so no follower ever holds what the leader had a tick before.
    for (size_t k = 0; k < queued && !g.mailbox.empty(); ++k) {
      message msg = g.mailbox.front();
      g.mailbox.pop_front();
      g.at(msg.to.value()).step(msg);
      g.handle(msg.to.value());
    }
    g.flush_all();
    ASSERT_TRUE(g.at(1).propose(payload(r), 1).has_value());
    g.handle(1);
    g.tick_all(1);
    queued = g.mailbox.size();
    ASSERT_LT(g.at(2).last_index(), g.at(1).last_index());
  }
  EXPECT_GT(g.at(1).commit_index(), raft_index(5 * lag));
  EXPECT_EQ(g.at(1).in_sync_voters(lag), 3u);
  EXPECT_TRUE(g.at(1).caught_up(node_id(2), lag));
  EXPECT_TRUE(g.at(1).caught_up(node_id(3), lag));
}

TEST(RaftNode, ANodeThatIsNotElectableIgnoresATransferAndNeverCampaigns) {
  group g(3);
  g.elect(1);
  g.at(2).set_electable(false);
  ASSERT_TRUE(g.at(1).transfer_leadership(node_id(2)).has_value());
  g.handle(1);
  g.settle();
  EXPECT_EQ(g.at(1).role(), role::leader);
  EXPECT_EQ(g.at(2).role(), role::follower);
}

TEST(RaftNode, LearnersReplicateButDoNotVoteOrCount) {
  group g(3, 1);
  g.elect(1);
  g.cut = {3};
  ASSERT_TRUE(g.at(1).propose(payload(1), 1).has_value());
  g.settle();
  g.tick_all(2);
  g.settle();
  EXPECT_EQ(g.at(4).commit_index(), g.at(1).commit_index());
  EXPECT_EQ(g.at(1).commit_index(), raft_index(2));
  g.cut = {2, 3};
  ASSERT_TRUE(g.at(1).propose(payload(2), 1).has_value());
  g.settle();
  EXPECT_EQ(g.at(1).commit_index(), raft_index(2));  // 1 + the learner are no majority
  for (int t = 0; t < 100; ++t) {
    g.at(4).tick();
    g.handle(4);
  }
  EXPECT_EQ(g.at(4).role(), role::follower);  // a learner never campaigns
}

TEST(RaftNode, MembershipChangesOneAtATimeAfterTheLeaderIsReady) {
  group g(3, 1);
  while (g.at(1).role() == role::follower) {
    g.at(1).tick();
    g.handle(1);
  }
  g.settle(false);
  ASSERT_EQ(g.at(1).role(), role::leader);
  config_change promote{config_change::kind::promote, node_id(4)};
  EXPECT_EQ(g.at(1).change_config(promote).error().code(), make_error_code(errc::leader_not_ready));
  g.settle();
  // The learner holds every committed entry: it may be promoted.
  EXPECT_TRUE(g.at(1).holds_commit(node_id(4), 100));
  EXPECT_FALSE(g.at(2).holds_commit(node_id(4), 100));  // only a leader knows
  EXPECT_FALSE(g.at(1).config_pending());
  ASSERT_TRUE(g.at(1).change_config(promote).has_value());
  EXPECT_TRUE(g.at(1).config_pending());
  EXPECT_TRUE(g.at(1).config().is_voter(node_id(4)));  // in effect once appended
  EXPECT_EQ(g.at(1).change_config({config_change::kind::remove, node_id(3)}).error().code(),
            make_error_code(errc::config_change_pending));
  g.settle();
  EXPECT_TRUE(g.at(1).change_config({config_change::kind::remove, node_id(3)}).has_value());
  g.settle();
  EXPECT_EQ(g.at(2).config().voters, (std::set<node_id>{node_id(1), node_id(2), node_id(4)}));
}

TEST(RaftNode, RemovedLeaderStepsDownOnceTheChangeCommits) {
  group g(3);
  g.elect(1);
  ASSERT_TRUE(g.at(1).change_config({config_change::kind::remove, node_id(1)}).has_value());
  g.settle();
  EXPECT_NE(g.at(1).role(), role::leader);
}

TEST(RaftNode, InstallsASnapshotOnAFollowerBehindTheLogStart) {
  group g(3);
  g.elect(1);
  g.cut = {3};
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(g.at(1).propose(payload(i), 2).has_value());
  }
  g.settle();
  ASSERT_EQ(g.at(1).commit_index(), raft_index(11));
  ASSERT_TRUE(g.at(1).compact(raft_index(11), payload(42)).has_value());
  g.handle(1);
  EXPECT_EQ(g.m(1).log->first_index(), raft_index(12));
  EXPECT_EQ(g.m(1).log->snapshot_meta().next_kafka_offset, kafka_offset(10));
  g.cut = {};
  for (int r = 0; r < 5; ++r) {
    g.tick_all(2);  // heartbeats: the leader notices the lost appends and probes
    g.settle();
  }
  EXPECT_EQ(g.m(3).log->snapshot_meta().last_index, raft_index(11));
  EXPECT_EQ(g.m(3).log->load_snapshot().data, payload(42));
  EXPECT_EQ(g.at(3).commit_index(), raft_index(11));
  ASSERT_TRUE(g.at(1).propose(payload(9), 1).has_value());
  g.settle();
  EXPECT_EQ(g.m(3).log->entries(raft_index(12), 100).front().kafka_base, kafka_offset(10));
}

TEST(RaftNode, AFollowerThatLostItsDiskIsCaughtUpAgain) {
  // Its rejections report less than the leader knew it had flushed: the leader believes them
  // and sends everything again, instead of waiting for what the follower no longer holds.
  for (bool heartbeat_first : {false, true}) {
    group g(3);
    g.elect(1);
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(g.at(1).propose(payload(i), 1).has_value());
      g.handle(1);
      g.settle();
    }
    ASSERT_EQ(g.at(3).flushed_index(), g.at(1).last_index());
    g.wipe(3);
    ASSERT_EQ(g.at(3).last_index(), raft_index(0));
    if (heartbeat_first) {
      g.tick_all(3);  // the next heartbeat finds it behind
    } else {
      ASSERT_TRUE(g.at(1).propose(payload(7), 1).has_value());  // the next append
      g.handle(1);
    }
    for (int r = 0; r < 5 && g.at(3).last_index() != g.at(1).last_index(); ++r) {
      g.settle();
      g.tick_all(3);
    }
    g.settle();
    EXPECT_EQ(g.at(3).last_index(), g.at(1).last_index()) << heartbeat_first;
    EXPECT_EQ(g.at(3).commit_index(), g.at(1).commit_index()) << heartbeat_first;
    // With the other follower gone, the leader and the one that lost its disk commit.
    g.cut = {2};
    auto before = g.at(1).commit_index();
    ASSERT_TRUE(g.at(1).propose(payload(8), 1).has_value());
    g.handle(1);
    g.settle();
    EXPECT_GT(g.at(1).commit_index(), before) << heartbeat_first;
  }
}

// Two of three voters hold the committed entries; one of them loses its disk and restarts
// empty while the other is down; the third, which missed the entries, campaigns. Returns
// whether the third won.
bool stale_candidate_wins_after_a_wipe(group& g) {
  g.elect(1);
  g.cut = {3};  // node 3 misses what follows
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(g.at(1).propose(payload(i), 1).has_value());
    g.handle(1);
    g.settle();
  }
  EXPECT_EQ(g.at(1).commit_index(), raft_index(6));
  g.cut = {1};  // the leader goes down
  g.wipe(2);    // node 2 restarts without its disk
  EXPECT_TRUE(g.at(2).rebuilding());
  for (int t = 0; t < 100 && g.at(3).role() != role::leader; ++t) {
    g.tick_all(1);
    g.settle();
  }
  return g.at(3).role() == role::leader;
}

TEST(RaftNode, TheVoteOfAVoterThatLostItsStateCountsOnlyOnceRebuilt) {
  auto g = std::make_unique<group>(3);
  EXPECT_FALSE(stale_candidate_wins_after_a_wipe(*g));
  EXPECT_GT(g->at(2).votes_while_rebuilding(), 0u);
  EXPECT_TRUE(g->at(2).rebuilding());
  // The leader returns: the voter that lost its disk gets everything again, and votes.
  g->cut.clear();
  for (int t = 0; t < 100 && g->at(1).role() != role::leader; ++t) {
    g->tick_all(1);
    g->settle();
  }
  ASSERT_EQ(g->at(1).role(), role::leader);
  g->tick_all(2);
  g->settle();
  EXPECT_EQ(g->at(2).last_index(), g->at(1).last_index());
  EXPECT_FALSE(g->at(2).rebuilding());
  EXPECT_FALSE(g->m(2).hs.load().rebuilding);  // saved: a restart does not rebuild again
  // Rebuilt, it votes: with the leader down, node 2 or 3 is elected, and holds entry 6.
  g->cut = {1};
  for (int t = 0; t < 100 && g->at(2).role() != role::leader && g->at(3).role() != role::leader;
       ++t) {
    g->tick_all(1);
    g->settle();
  }
  int l = g->at(2).role() == role::leader ? 2 : 3;
  ASSERT_EQ(g->at(l).role(), role::leader);
  EXPECT_GE(g->at(l).commit_index(), raft_index(6));
}

TEST(RaftNode, AVoterVotingAsUsualAfterLosingItsStateElectsACandidateLackingCommits) {
  // The hazard the rule above guards against, shown with it off.
  options o;
  o.mutations.count_rebuilding_votes = true;
  group g(3, 0, o);
  ASSERT_TRUE(stale_candidate_wins_after_a_wipe(g));
  EXPECT_LT(g.at(3).commit_index(), raft_index(6));  // leads without the committed entries
}

TEST(RaftNode, ANewGroupWhoseFirstLeaderDiesBeforeItsFirstCommitElectsAnother) {
  // Every voter started without state and none has seen a commit: their grants count, as a
  // majority of rebuilding voters, so the group is not stuck for want of a voter that
  // rebuilt.
  group g(3);
  for (int i = 1; i <= 3; ++i)
    g.wipe(i);
  g.elect(1);
  ASSERT_EQ(g.at(1).role(), role::leader);
  g.cut = {1};  // its term-start entry reached the others, its commit did not
  EXPECT_TRUE(g.at(2).rebuilding());
  EXPECT_TRUE(g.at(3).rebuilding());
  for (int t = 0; t < 100 && g.at(2).role() != role::leader && g.at(3).role() != role::leader;
       ++t) {
    g.tick_all(1);
    g.settle();
  }
  int l = g.at(2).role() == role::leader ? 2 : 3;
  ASSERT_EQ(g.at(l).role(), role::leader);
  g.tick_all(2);
  g.settle();
  EXPECT_FALSE(g.at(2).rebuilding());
  EXPECT_FALSE(g.at(3).rebuilding());
}

TEST(RaftNode, ANewGroupOfVotersWithoutStateElectsAndEndsRebuilding) {
  group g(3);
  for (int i = 1; i <= 3; ++i)
    g.wipe(i);
  g.elect(2);
  ASSERT_EQ(g.at(2).role(), role::leader);
  g.tick_all(2);  // heartbeats carry the commit index of the term-start entry
  g.settle();
  for (int i = 1; i <= 3; ++i) {
    EXPECT_FALSE(g.at(i).rebuilding()) << i;
  }
}

TEST(RaftNode, RestartKeepsTermAndVote) {
  group g(3);
  g.elect(1);
  term t = g.at(2).term();
  g.start(2);  // a restart from what was saved
  EXPECT_EQ(g.at(2).term(), t);
  EXPECT_EQ(g.at(2).vote(), node_id(1));
}

}  // namespace
}  // namespace strom::raft
