#include "strom/groups/group.h"

#include <gtest/gtest.h>

#include <cstring>

namespace strom::groups {
namespace {

using namespace std::chrono_literals;

bytes b(std::string_view s) {
  bytes out(s.size());
  std::memcpy(out.data(), s.data(), s.size());
  return out;
}

class GroupTest : public ::testing::Test {
 protected:
  manual_clock clk;
  group_limits limits{1000, 60000, 0, 100};
  std::vector<group_snapshot> persisted;
  bool persist_ok = true;
  bool defer_persist = false;
  std::vector<std::function<void(bool)>> deferred;
  std::shared_ptr<group> g;

  void SetUp() override { g = make(); }

  std::shared_ptr<group> make() {
    return std::make_shared<group>("g", limits, clk,
                                   [this](const group_snapshot& s, std::function<void(bool)> done) {
                                     persisted.push_back(s);
                                     if (defer_persist)
                                       deferred.push_back(std::move(done));
                                     else
                                       done(persist_ok);
                                   });
  }

  static join_request req(std::string member = "", std::optional<std::string> iid = {},
                          std::vector<protocol_entry> protocols = {{"range", b("sub")}}) {
    join_request r;
    r.member_id = std::move(member);
    r.instance_id = std::move(iid);
    r.client_id = "client";
    r.client_host = "/127.0.0.1";
    r.session_timeout_ms = 10000;
    r.rebalance_timeout_ms = 20000;
    r.protocol_type = "consumer";
    r.protocols = std::move(protocols);
    return r;
  }

  using join_slot = std::shared_ptr<std::optional<join_result>>;
  using sync_slot = std::shared_ptr<std::optional<sync_result>>;

  join_slot join(join_request r) {
    auto slot = std::make_shared<std::optional<join_result>>();
    g->join(std::move(r), [slot](join_result x) { *slot = std::move(x); });
    return slot;
  }

  /// A first join (v4+): MEMBER_ID_REQUIRED, then the join with the handed-out id.
  std::pair<std::string, join_slot> add_member(std::vector<protocol_entry> protocols = {
                                                   {"range", b("sub")}}) {
    auto first = join(req("", std::nullopt, protocols));
    EXPECT_TRUE(first->has_value());
    EXPECT_EQ((*first)->error, errc::member_id_required);
    auto id = (*first)->member_id;
    EXPECT_FALSE(id.empty());
    return {id, join(req(id, std::nullopt, protocols))};
  }

  sync_slot sync(const std::string& member, int32_t generation,
                 std::vector<std::pair<std::string, bytes>> assignments = {},
                 std::optional<std::string> iid = {}) {
    auto slot = std::make_shared<std::optional<sync_result>>();
    sync_request r;
    r.member_id = member;
    r.instance_id = std::move(iid);
    r.generation = generation;
    r.assignments = std::move(assignments);
    g->sync(std::move(r), [slot](sync_result x) { *slot = std::move(x); });
    return slot;
  }

  /// Two members A (leader) and B in a stable generation.
  std::pair<std::string, std::string> stable_pair() {
    auto [a, ja] = add_member();
    EXPECT_TRUE(ja->has_value());
    auto sa = sync(a, (**ja).generation, {{a, b("A")}});
    EXPECT_EQ(g->state(), group_state::stable);
    auto [bm, jb] = add_member();
    EXPECT_FALSE(jb->has_value());  // held until A rejoins
    auto ja2 = join(req(a));
    EXPECT_TRUE(ja2->has_value());
    EXPECT_TRUE(jb->has_value());
    auto gen = (**ja2).generation;
    auto sb = sync(bm, gen);
    auto sa2 = sync(a, gen, {{a, b("A")}, {bm, b("B")}});
    EXPECT_EQ(g->state(), group_state::stable);
    EXPECT_TRUE(sb->has_value());
    return {a, bm};
  }
};

TEST_F(GroupTest, FirstJoinHandsOutAMemberIdThenFormsAGeneration) {
  auto [id, j] = add_member();
  ASSERT_TRUE(j->has_value());
  const auto& r = **j;
  EXPECT_EQ(r.error, errc::none);
  EXPECT_EQ(r.generation, 1);
  EXPECT_EQ(r.leader, id);
  EXPECT_EQ(r.member_id, id);
  EXPECT_EQ(r.protocol_name, "range");
  ASSERT_EQ(r.members.size(), 1u);
  EXPECT_EQ(r.members[0].metadata, b("sub"));
  EXPECT_EQ(g->state(), group_state::completing_rebalance);

  auto s = sync(id, 1, {{id, b("assignment")}});
  ASSERT_TRUE(s->has_value());
  EXPECT_EQ((**s).error, errc::none);
  EXPECT_EQ((**s).assignment, b("assignment"));
  EXPECT_EQ(g->state(), group_state::stable);
  ASSERT_FALSE(persisted.empty());
  EXPECT_EQ(persisted.back().members.size(), 1u);
  EXPECT_EQ(persisted.back().members[0].assignment, b("assignment"));
}

TEST_F(GroupTest, OldClientsJoinWithoutTheExtraRoundTrip) {
  auto r = req();
  r.require_known_member_id = false;
  auto j = join(std::move(r));
  ASSERT_TRUE(j->has_value());
  EXPECT_EQ((**j).error, errc::none);
  EXPECT_EQ((**j).generation, 1);
}

TEST_F(GroupTest, JoinDuringRebalanceWaitsForEveryKnownMember) {
  auto [a, bm] = stable_pair();
  EXPECT_EQ(g->generation(), 2);
  // C arrives: A and B learn of the rebalance through their heartbeats.
  auto [c, jc] = add_member();
  EXPECT_EQ(g->state(), group_state::preparing_rebalance);
  EXPECT_FALSE(jc->has_value());
  EXPECT_EQ(g->heartbeat(a, std::nullopt, 2), errc::rebalance_in_progress);
  auto ja = join(req(a));
  EXPECT_FALSE(ja->has_value());
  auto jb = join(req(bm));
  ASSERT_TRUE(ja->has_value());
  ASSERT_TRUE(jb->has_value());
  ASSERT_TRUE(jc->has_value());
  EXPECT_EQ((**ja).generation, 3);
  EXPECT_EQ((**ja).leader, a);  // the leader stays
  EXPECT_EQ((**ja).members.size(), 3u);
  EXPECT_TRUE((**jb).members.empty());
  EXPECT_TRUE((**jc).members.empty());
  // Followers' syncs are held until the leader's arrives.
  auto sc = sync(c, 3);
  EXPECT_FALSE(sc->has_value());
  auto sa = sync(a, 3, {{a, b("1")}, {bm, b("2")}, {c, b("3")}});
  ASSERT_TRUE(sc->has_value());
  EXPECT_EQ((**sc).assignment, b("3"));
  auto sb = sync(bm, 3);  // after the fact: answered at once in Stable
  ASSERT_TRUE(sb->has_value());
  EXPECT_EQ((**sb).assignment, b("2"));
}

TEST_F(GroupTest, SilentMemberExpiresAfterItsSessionTimeout) {
  auto [a, bm] = stable_pair();
  for (int i = 0; i < 12; ++i) {
    clk.advance(1000ms);
    EXPECT_EQ(g->heartbeat(a, std::nullopt, 2), i <= 10 ? errc::none : errc::rebalance_in_progress)
        << i;
    g->tick();
  }
  EXPECT_FALSE(g->has_member(bm));
  EXPECT_EQ(g->state(), group_state::preparing_rebalance);
  auto ja = join(req(a));
  ASSERT_TRUE(ja->has_value());
  EXPECT_EQ((**ja).generation, 3);
  EXPECT_EQ((**ja).members.size(), 1u);
  EXPECT_EQ(g->heartbeat(bm, std::nullopt, 2), errc::unknown_member_id);
}

TEST_F(GroupTest, MembersThatDoNotRejoinAreDroppedAtTheRebalanceTimeout) {
  auto [a, bm] = stable_pair();
  auto [c, jc] = add_member();
  auto ja = join(req(a));
  EXPECT_FALSE(ja->has_value());
  // B keeps heartbeating but never rejoins.
  for (int i = 0; i < 21; ++i) {
    clk.advance(1000ms);
    (void)g->heartbeat(bm, std::nullopt, 2);
    g->tick();
  }
  ASSERT_TRUE(ja->has_value());
  ASSERT_TRUE(jc->has_value());
  EXPECT_EQ((**ja).generation, 3);
  EXPECT_EQ((**ja).members.size(), 2u);
  EXPECT_FALSE(g->has_member(bm));
}

TEST_F(GroupTest, LeaderLeavingDuringCompletingRebalanceRestartsIt) {
  auto [a, ja] = add_member();
  auto sa = sync(a, 1, {{a, b("A")}});
  auto [bm, jb] = add_member();
  auto ja2 = join(req(a));
  ASSERT_TRUE(jb->has_value());
  EXPECT_EQ(g->state(), group_state::completing_rebalance);
  auto sb = sync(bm, 2);
  EXPECT_FALSE(sb->has_value());
  auto left = g->leave({{a, std::nullopt}});
  EXPECT_EQ(left, std::vector<errc>{errc::none});
  ASSERT_TRUE(sb->has_value());
  EXPECT_EQ((**sb).error, errc::rebalance_in_progress);
  EXPECT_EQ(g->state(), group_state::preparing_rebalance);
  auto jb2 = join(req(bm));
  ASSERT_TRUE(jb2->has_value());
  EXPECT_EQ((**jb2).generation, 3);
  EXPECT_EQ((**jb2).leader, bm);  // a new leader
}

TEST_F(GroupTest, StaleGenerationsAreRefused) {
  auto [a, bm] = stable_pair();
  EXPECT_EQ(g->heartbeat(a, std::nullopt, 1), errc::illegal_generation);
  EXPECT_EQ(g->check_commit(a, std::nullopt, 1), errc::illegal_generation);
  auto s = sync(a, 1);
  ASSERT_TRUE(s->has_value());
  EXPECT_EQ((**s).error, errc::illegal_generation);
  EXPECT_EQ(g->check_commit(a, std::nullopt, 2), errc::none);
  EXPECT_EQ(g->heartbeat("nobody", std::nullopt, 2), errc::unknown_member_id);
}

TEST_F(GroupTest, RestartedStaticMemberGetsItsAssignmentBackWithoutARebalance) {
  auto ja = join(req("", "instance-a"));  // static members get an id at once
  ASSERT_TRUE(ja->has_value());
  auto a = (**ja).member_id;
  auto sa = sync(a, 1, {}, "instance-a");
  auto jb = join(req("", "instance-b"));
  auto ja2 = join(req(a, "instance-a"));
  ASSERT_TRUE(jb->has_value());
  auto bm = (**jb).member_id;
  auto sb = sync(bm, 2, {}, "instance-b");
  auto sa2 = sync(a, 2, {{a, b("A")}, {bm, b("B")}}, "instance-a");
  ASSERT_EQ(g->state(), group_state::stable);
  ASSERT_TRUE(sb->has_value());

  // B restarts: it comes back with no member id but the same instance id.
  auto jb2 = join(req("", "instance-b"));
  ASSERT_TRUE(jb2->has_value());
  EXPECT_EQ((**jb2).error, errc::none);
  EXPECT_EQ((**jb2).generation, 2);
  EXPECT_NE((**jb2).member_id, bm);
  EXPECT_EQ(g->state(), group_state::stable);
  auto sb2 = sync((**jb2).member_id, 2, {}, "instance-b");
  ASSERT_TRUE(sb2->has_value());
  EXPECT_EQ((**sb2).assignment, b("B"));
  EXPECT_EQ(g->heartbeat(a, "instance-a", 2), errc::none);
  // The old incarnation is fenced.
  EXPECT_EQ(g->heartbeat(bm, "instance-b", 2), errc::fenced_instance_id);
}

TEST_F(GroupTest, InitialRebalanceDelayBatchesTheFirstJoins) {
  limits.initial_rebalance_delay_ms = 3000;
  g = make();
  auto [a, ja] = add_member();
  clk.advance(1000ms);
  g->tick();
  auto [bm, jb] = add_member();
  EXPECT_FALSE(ja->has_value());
  clk.advance(2500ms);
  g->tick();
  EXPECT_FALSE(ja->has_value());  // extended by B's arrival
  clk.advance(1000ms);
  g->tick();
  ASSERT_TRUE(ja->has_value());
  ASSERT_TRUE(jb->has_value());
  EXPECT_EQ((**ja).generation, 1);
  EXPECT_EQ((**ja).members.size() + (**jb).members.size(), 2u);
}

TEST_F(GroupTest, CommitRules) {
  // Offsets of a consumer without group management: only while the group has no members.
  EXPECT_EQ(g->check_commit("", std::nullopt, -1), errc::none);
  auto [a, ja] = add_member();
  EXPECT_EQ(g->state(), group_state::completing_rebalance);
  EXPECT_EQ(g->check_commit("", std::nullopt, -1), errc::unknown_member_id);
  EXPECT_EQ(g->check_commit(a, std::nullopt, 1), errc::rebalance_in_progress);
  auto sa = sync(a, 1);
  EXPECT_EQ(g->check_commit(a, std::nullopt, 1), errc::none);
  EXPECT_EQ(g->check_commit("other", std::nullopt, 1), errc::unknown_member_id);
}

TEST_F(GroupTest, ProtocolIsChosenByVotesAmongThoseEveryoneSupports) {
  auto both = [](std::string first, std::string second) {
    return std::vector<protocol_entry>{{first, b(first)}, {second, b(second)}};
  };
  auto ra = req("", std::nullopt, both("range", "roundrobin"));
  ra.require_known_member_id = false;
  limits.initial_rebalance_delay_ms = 100;
  g = make();
  auto ja = join(ra);
  auto rb = req("", std::nullopt, both("roundrobin", "range"));
  rb.require_known_member_id = false;
  auto jb = join(rb);
  auto jc = join(rb);
  // A member offering only an unknown protocol is refused.
  auto bad = req("", std::nullopt, {{"sticky", b("x")}});
  bad.require_known_member_id = false;
  auto jd = join(bad);
  ASSERT_TRUE(jd->has_value());
  EXPECT_EQ((**jd).error, errc::inconsistent_group_protocol);
  clk.advance(200ms);
  g->tick();
  ASSERT_TRUE(ja->has_value());
  EXPECT_EQ((**ja).protocol_name, "roundrobin");
  for (const auto& m : (**ja).members)
    EXPECT_EQ(m.metadata, b("roundrobin"));
}

TEST_F(GroupTest, FailedPersistenceAnswersSyncsAndRebalances) {
  auto [a, ja] = add_member();
  persist_ok = false;
  auto s = sync(a, 1, {{a, b("A")}});
  ASSERT_TRUE(s->has_value());
  EXPECT_EQ((**s).error, errc::storage_error);
  EXPECT_NE(g->state(), group_state::stable);
}

TEST_F(GroupTest, SyncIsAnsweredOnlyOnceTheGroupIsDurable) {
  auto [a, ja] = add_member();
  defer_persist = true;
  auto s = sync(a, 1, {{a, b("A")}});
  EXPECT_FALSE(s->has_value());
  EXPECT_EQ(g->state(), group_state::completing_rebalance);
  ASSERT_EQ(deferred.size(), 1u);
  deferred[0](true);
  ASSERT_TRUE(s->has_value());
  EXPECT_EQ(g->state(), group_state::stable);
}

TEST_F(GroupTest, UnusedPendingMemberIdsExpire) {
  auto first = join(req());
  auto id = (**first).member_id;
  clk.advance(11000ms);
  g->tick();
  auto again = join(req(id));
  ASSERT_TRUE(again->has_value());
  EXPECT_EQ((**again).error, errc::unknown_member_id);
}

TEST_F(GroupTest, SessionTimeoutOutsideTheBrokerLimitsIsRefused) {
  auto r = req();
  r.session_timeout_ms = 10;
  auto j = join(std::move(r));
  ASSERT_TRUE(j->has_value());
  EXPECT_EQ((**j).error, errc::invalid_session_timeout);
}

TEST_F(GroupTest, RestoredGroupIsStableAndAcceptsItsMembers) {
  auto [a, bm] = stable_pair();
  auto snap = g->snapshot();
  auto h = make();
  h->restore(snap);
  EXPECT_EQ(h->state(), group_state::stable);
  EXPECT_EQ(h->generation(), 2);
  EXPECT_EQ(h->heartbeat(a, std::nullopt, 2), errc::none);
  EXPECT_EQ(h->describe_members().size(), 2u);
  EXPECT_EQ(h->describe_members(), g->describe_members());
}

TEST_F(GroupTest, LastMemberLeavingEmptiesTheGroup) {
  auto [a, ja] = add_member();
  auto sa = sync(a, 1);
  EXPECT_EQ(g->leave({{a, std::nullopt}}), std::vector<errc>{errc::none});
  EXPECT_EQ(g->state(), group_state::empty);
  EXPECT_EQ(g->leave({{a, std::nullopt}}), std::vector<errc>{errc::unknown_member_id});
  EXPECT_EQ(g->check_commit("", std::nullopt, -1), errc::none);
}

TEST_F(GroupTest, SubscribedTopicsComeFromConsumerSubscriptions) {
  // ConsumerProtocol subscription v0: version, topics ["a", "b"], user data null.
  bytes sub{std::byte{0},    std::byte{0},    std::byte{0},    std::byte{0},
            std::byte{0},    std::byte{2},    std::byte{0},    std::byte{1},
            std::byte{'a'},  std::byte{0},    std::byte{1},    std::byte{'b'},
            std::byte{0xff}, std::byte{0xff}, std::byte{0xff}, std::byte{0xff}};
  auto r = req("", std::nullopt, {{"range", sub}});
  r.require_known_member_id = false;
  auto j = join(r);
  auto topics = g->subscribed_topics();
  ASSERT_TRUE(topics);
  EXPECT_EQ(*topics, (std::vector<std::string>{"a", "b"}));
}

TEST_F(GroupTest, HostileSubscriptionsNameNoTopics) {
  // A topic count of INT32_MAX, a string longer than the bytes, a negative string length,
  // and a cut-off count: each reads as "unknown" (nullopt), nothing is allocated for them.
  std::vector<bytes> hostile = {
      {std::byte{0}, std::byte{0}, std::byte{0x7f}, std::byte{0xff}, std::byte{0xff},
       std::byte{0xff}, std::byte{0}, std::byte{1}, std::byte{'a'}},
      {std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0}, std::byte{1},
       std::byte{0x7f}, std::byte{0xff}, std::byte{'a'}},
      {std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0}, std::byte{1},
       std::byte{0xff}, std::byte{0xfe}, std::byte{'a'}},
      {std::byte{0}, std::byte{0}, std::byte{0}},
  };
  for (const auto& sub : hostile) {
    g = make();
    auto r = req("", std::nullopt, {{"range", sub}});
    r.require_known_member_id = false;
    auto j = join(r);
    EXPECT_FALSE(g->subscribed_topics().has_value());
  }
}

}  // namespace
}  // namespace strom::groups
