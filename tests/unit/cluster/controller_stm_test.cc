#include "strom/cluster/controller_stm.h"

#include <gtest/gtest.h>

#include "strom/base/random.h"

namespace strom::cluster {
namespace {

broker_registration reg(int32_t id, std::optional<std::string> rack = std::nullopt) {
  return {id, "127.0.0.1", 9092 + id, "127.0.0.1", 19093 + id, std::move(rack)};
}

topic_uuid uuid(uint8_t n) {
  topic_uuid id{};
  id[15] = std::byte{n};
  return id;
}

security::scram_credential credential(security::scram_mechanism m, std::string password,
                                      int32_t iterations = 4096) {
  return security::make_credential(m, password, "salt-" + password, iterations);
}

security::acl_binding acl(std::string principal, std::string topic) {
  security::acl_binding b;
  b.principal = std::move(principal);
  b.name = std::move(topic);
  return b;
}

security::acl_filter by_principal(std::string principal) {
  security::acl_filter f;
  f.principal = std::move(principal);
  f.name = "clicks";
  f.operation = security::acl_operation::read;
  return f;
}

topic_metadata topic(std::string name, uint8_t id, std::vector<std::vector<int32_t>> replicas) {
  topic_metadata t;
  t.name = std::move(name);
  t.partitions = static_cast<int32_t>(replicas.size());
  t.id = uuid(id);
  t.replicas = std::move(replicas);
  return t;
}

TEST(ControllerStm, CommandsRoundTripThroughTheirEncoding) {
  std::vector<controller_command> cmds = {
      bootstrap_cmd{"abc"},
      register_broker_cmd{reg(1, "r1")},
      register_broker_cmd{reg(2)},
      fence_broker_cmd{2, true},
      allocate_producer_ids_cmd{1, 1000},
      producer_id_floor_cmd{5000},
      set_cluster_configs_cmd{
          {{"log.retention.ms", "1000"}, {"log.cleanup.policy", "compact"}}, {}, true},
      set_cluster_configs_cmd{},
      set_cluster_configs_cmd{{{"log.retention.ms", "5"}}, {"message.max.bytes"}, false},
      partition_leader_cmd{"clicks", uuid(7), 3, 2, 41},
      move_partition_cmd{"clicks", uuid(7), 3, {4, 2, 3}},
      move_partition_cmd{"clicks", uuid(7), 3, {}},
      finish_move_cmd{"clicks", uuid(7), 3, {4, 2, 3}},
      decommission_broker_cmd{4, true},
      decommission_broker_cmd{4, false},
      elect_preferred_cmd{"clicks", uuid(7), {0, 3}},
      upsert_scram_cmd{"alice", credential(security::scram_mechanism::sha256, "pw")},
      upsert_scram_cmd{"bob", credential(security::scram_mechanism::sha512, "pw2", 8192)},
      delete_scram_cmd{"alice", security::scram_mechanism::sha512},
      create_acls_cmd{{acl("User:alice", "clicks"), acl("User:*", "billing-")}},
      delete_acls_cmd{{security::acl_filter{}, by_principal("User:bob")}},
      alter_quotas_cmd{{std::optional<std::string>("alice"), std::optional<std::string>()},
                       {{"producer_byte_rate", 1024.5}},
                       {"consumer_byte_rate"}},
      alter_quotas_cmd{{std::nullopt, std::optional<std::string>("app")}, {}, {}},
  };
  for (const auto& c : cmds) {
    auto back = decode_command(encode(c));
    ASSERT_TRUE(back.has_value()) << back.error().message();
    EXPECT_EQ(*back, c);
  }
}

TEST(ControllerStm, DecodingRefusesEveryTruncationAndTrailingBytes) {
  auto bytes = encode(register_broker_cmd{reg(7, "rack-a")});
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto r = decode_command(std::span(bytes).first(n));
    ASSERT_FALSE(r.has_value()) << n;
    EXPECT_TRUE(r.error().is(controller_errc::corrupt));
  }
  bytes.push_back(std::byte{0});
  EXPECT_FALSE(decode_command(bytes).has_value());
  std::vector<std::byte> unknown{std::byte{1}, std::byte{99}};
  EXPECT_FALSE(decode_command(unknown).has_value());
  std::vector<std::byte> future{std::byte{2}, std::byte{0}};
  EXPECT_FALSE(decode_command(future).has_value());
}

TEST(ControllerStm, AppliesEachIndexOnceAndRefusesWhatDoesNotFit) {
  controller_stm s;
  EXPECT_TRUE(s.apply(1, bootstrap_cmd{"one"}).has_value());
  auto again = s.apply(2, bootstrap_cmd{"two"});
  ASSERT_FALSE(again.has_value());
  EXPECT_TRUE(again.error().is(controller_errc::already_bootstrapped));
  EXPECT_EQ(s.cluster_id(), "one");
  EXPECT_EQ(s.applied_index(), 2);

  auto unknown = s.apply(3, fence_broker_cmd{9, true});
  EXPECT_TRUE(unknown.error().is(controller_errc::unknown_broker));
  ASSERT_TRUE(s.apply(4, register_broker_cmd{reg(9)}).has_value());
  ASSERT_TRUE(s.apply(5, fence_broker_cmd{9, true}).has_value());
  EXPECT_TRUE(s.brokers().at(9).fenced);
  // A replay of index 5 or below changes nothing.
  ASSERT_TRUE(s.apply(4, register_broker_cmd{reg(9)}).has_value());
  EXPECT_TRUE(s.brokers().at(9).fenced);
  // Registering again unfences.
  ASSERT_TRUE(s.apply(6, register_broker_cmd{reg(9)}).has_value());
  EXPECT_FALSE(s.brokers().at(9).fenced);

  EXPECT_FALSE(s.apply(7, register_broker_cmd{{1, "", 1, "h", 1, {}}}).has_value());
  EXPECT_FALSE(s.apply(8, allocate_producer_ids_cmd{9, 0}).has_value());
  EXPECT_FALSE(s.apply(9, allocate_producer_ids_cmd{9, 10'000'000}).has_value());
  EXPECT_EQ(s.applied_index(), 9);
}

TEST(ControllerStm, TopicsAreCreatedGrownChangedAndDeletedByNameAndId) {
  controller_stm s;
  int64_t i = 0;
  ASSERT_TRUE(s.apply(++i, add_topic_cmd{topic("t", 1, {{1}, {2}})}).has_value());
  EXPECT_TRUE(s.apply(++i, add_topic_cmd{topic("t", 2, {{1}})}).error().is(topic_errc::exists));
  EXPECT_FALSE(s.apply(++i, add_topic_cmd{topic("u", 1, {{1}})}).has_value());  // id in use
  EXPECT_FALSE(s.apply(++i, add_topic_cmd{topic("u", 0, {{1}})}).has_value());  // no id
  EXPECT_FALSE(s.apply(++i, add_topic_cmd{topic("u", 3, {{1, 1}})}).has_value());
  EXPECT_FALSE(s.apply(++i, add_topic_cmd{topic("u", 3, {})}).has_value());
  EXPECT_TRUE(s.apply(++i, add_topic_cmd{topic("bad name!", 3, {{1}})})
                  .error()
                  .is(topic_errc::invalid_name));
  auto wrong = s.apply(++i, add_partitions_cmd{"t", uuid(9), {{3}}});
  EXPECT_TRUE(wrong.error().is(topic_errc::not_found));
  ASSERT_TRUE(s.apply(++i, add_partitions_cmd{"t", uuid(1), {{3}, {1}}}).has_value());
  EXPECT_EQ(s.topics()->at("t").partitions, 4);
  EXPECT_EQ(s.topics()->at("t").replicas, (std::vector<std::vector<int32_t>>{{1}, {2}, {3}, {1}}));
  ASSERT_TRUE(s.apply(++i, update_topic_configs_cmd{"t", uuid(1), {{"cleanup.policy", "compact"}}})
                  .has_value());
  EXPECT_EQ(s.topics()->at("t").configs.at("cleanup.policy"), "compact");
  auto before = s.topics();
  EXPECT_TRUE(s.apply(++i, remove_topic_cmd{"t", uuid(2)}).error().is(topic_errc::not_found));
  ASSERT_TRUE(s.apply(++i, remove_topic_cmd{"t", uuid(1)}).has_value());
  EXPECT_TRUE(s.topics()->empty());
  EXPECT_EQ(before->size(), 1u);  // readers holding the old map keep it
  // The name can be used again, with a new id.
  ASSERT_TRUE(s.apply(++i, add_topic_cmd{topic("t", 2, {{3}})}).has_value());
}

TEST(ControllerStm, ProducerIdBlocksNeverOverlap) {
  controller_stm s;
  int64_t index = 0;
  ASSERT_TRUE(s.apply(++index, producer_id_floor_cmd{4000}).has_value());
  int64_t expected = 4000;
  for (int i = 0; i < 100; ++i) {
    auto first = s.apply(++index, allocate_producer_ids_cmd{i % 3, 1000});
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(*first, expected);
    expected += 1000;
  }
  // A lower floor never moves it back.
  ASSERT_TRUE(s.apply(++index, producer_id_floor_cmd{10}).has_value());
  EXPECT_EQ(s.next_producer_id(), expected);
}

/// Random command sequences: two state machines fed the same sequence are equal, a snapshot
/// restores an equal one, and the restored one goes on in step with the original.
TEST(ControllerStm, IsDeterministicAndSnapshotsRoundTrip) {
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    seeded_random rnd(seed);
    controller_stm a;
    controller_stm b;
    std::optional<controller_stm> restored;
    auto random_cmd = [&]() -> controller_command {
      auto id = static_cast<int32_t>(rnd.uniform(0, 5));
      auto name = "t" + std::to_string(rnd.uniform(0, 3));
      auto tid = static_cast<uint8_t>(rnd.uniform(0, 6));
      auto some_replicas = [&] {
        std::vector<int32_t> r;
        for (int32_t broker = 0; broker <= 4; ++broker) {
          if (rnd.uniform(0, 2) == 0)
            r.push_back(broker);
        }
        return r;
      };
      switch (rnd.uniform(0, 20)) {
        case 20: {
          auto leader = static_cast<int32_t>(rnd.uniform(1, 3));
          auto isr = some_replicas();
          if (rnd.uniform(0, 1) == 0)
            isr.push_back(leader);
          return partition_isr_cmd{
              name,   uuid(tid),          static_cast<int32_t>(rnd.uniform(-1, 3)),
              leader, rnd.uniform(-1, 9), isr};
        }
        case 19:
          return alter_quotas_cmd{
              {std::optional<std::string>("u" + std::to_string(id)), std::nullopt},
              {{"producer_byte_rate", static_cast<double>(rnd.uniform(0, 3)) * 1000}},
              {}};
        case 17:
          return create_acls_cmd{{acl("User:u" + std::to_string(id), name)}};
        case 18:
          return delete_acls_cmd{{by_principal("User:u" + std::to_string(id))}};
        case 15:
          return upsert_scram_cmd{"u" + std::to_string(id),
                                  credential(rnd.uniform(0, 1) ? security::scram_mechanism::sha512
                                                               : security::scram_mechanism::sha256,
                                             "p" + std::to_string(rnd.uniform(0, 3)))};
        case 16:
          return delete_scram_cmd{"u" + std::to_string(id),
                                  rnd.uniform(0, 1) ? security::scram_mechanism::sha512
                                                    : security::scram_mechanism::sha256};
        case 13:
          return decommission_broker_cmd{id, rnd.uniform(0, 1) == 1};
        case 14:
          return elect_preferred_cmd{name, uuid(tid), {static_cast<int32_t>(rnd.uniform(-1, 3))}};
        case 11:
          return move_partition_cmd{name, uuid(tid), static_cast<int32_t>(rnd.uniform(-1, 3)),
                                    some_replicas()};
        case 12:
          return finish_move_cmd{name, uuid(tid), static_cast<int32_t>(rnd.uniform(-1, 3)),
                                 some_replicas()};
        case 0:
          return bootstrap_cmd{"c" + std::to_string(rnd.uniform(0, 9))};
        case 1:
          return register_broker_cmd{
              reg(id, rnd.uniform(0, 1) ? std::optional<std::string>("r" + std::to_string(id))
                                        : std::nullopt)};
        case 2:
          return fence_broker_cmd{id, rnd.uniform(0, 1) == 1};
        case 3:
          return allocate_producer_ids_cmd{id, rnd.uniform(-1, 2000)};
        case 4:
          return producer_id_floor_cmd{rnd.uniform(-1, 100000)};
        case 5: {
          std::vector<std::vector<int32_t>> rs(static_cast<size_t>(rnd.uniform(0, 4)));
          for (auto& r : rs)
            r.push_back(static_cast<int32_t>(rnd.uniform(1, 3)));
          return add_topic_cmd{topic(name, tid, rs)};
        }
        case 6:
          return remove_topic_cmd{name, uuid(tid)};
        case 7:
          return add_partitions_cmd{name, uuid(tid), {{static_cast<int32_t>(rnd.uniform(1, 3))}}};
        case 8:
          if (rnd.uniform(0, 3) == 0)
            return set_cluster_configs_cmd{};
          if (rnd.uniform(0, 1) == 0)
            return set_cluster_configs_cmd{{}, {"log.retention.ms"}, false};
          return set_cluster_configs_cmd{{{"log.retention.ms", std::to_string(rnd.uniform(1, 9))}},
                                         {},
                                         rnd.uniform(0, 1) == 0};
        case 9:
          return partition_leader_cmd{name, uuid(tid), static_cast<int32_t>(rnd.uniform(-1, 3)),
                                      static_cast<int32_t>(rnd.uniform(1, 3)), rnd.uniform(-1, 9)};
        default:
          return update_topic_configs_cmd{
              name, uuid(tid), {{"retention.ms", std::to_string(rnd.uniform(1, 9))}}};
      }
    };
    for (int64_t i = 1; i <= 200; ++i) {
      auto cmd = random_cmd();
      auto ra = a.apply(i, cmd);
      auto rb = b.apply(i, decode_command(encode(cmd)).value());
      ASSERT_EQ(ra.has_value(), rb.has_value());
      if (ra) {
        ASSERT_EQ(*ra, *rb);
      }
      if (restored) {
        auto rr = restored->apply(i, cmd);
        ASSERT_EQ(ra.has_value(), rr.has_value());
      }
      if (i == 100) {
        auto r = controller_stm::restore(a.snapshot());
        ASSERT_TRUE(r.has_value()) << r.error().message();
        restored = std::move(*r);
        ASSERT_EQ(*restored, a);
      }
      ASSERT_EQ(a, b) << "seed " << seed << " index " << i;
    }
    ASSERT_EQ(*restored, a) << "seed " << seed;
    ASSERT_EQ(a.snapshot(), restored->snapshot());
  }
}

TEST(ControllerStm, ClusterConfigsAreReplacedAsAWholeAndSnapshotted) {
  controller_stm s;
  ASSERT_TRUE(
      s.apply(1, set_cluster_configs_cmd{{{"log.retention.ms", "5"}}, {}, true}).has_value());
  ASSERT_TRUE(s.apply(2, set_cluster_configs_cmd{{{"log.segment.bytes", "2097152"}}, {}, true})
                  .has_value());
  EXPECT_EQ(s.cluster_configs(), (topic_configs{{"log.segment.bytes", "2097152"}}));
  // Incremental changes merge and remove names, leaving the others.
  ASSERT_TRUE(s.apply(3, set_cluster_configs_cmd{{{"log.retention.ms", "9"}}, {}, false}));
  ASSERT_TRUE(s.apply(4, set_cluster_configs_cmd{{}, {"log.segment.bytes", "nope"}, false}));
  EXPECT_EQ(s.cluster_configs(), (topic_configs{{"log.retention.ms", "9"}}));
  auto r = controller_stm::restore(s.snapshot());
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->cluster_configs(), s.cluster_configs());
}

TEST(ControllerStm, PartitionLeadersOnlyMoveToHigherTermsAndGoWithTheirTopic) {
  controller_stm s;
  ASSERT_TRUE(s.apply(1, add_topic_cmd{topic("clicks", 1, {{1, 2, 3}, {2, 3, 1}})}));
  ASSERT_TRUE(s.apply(2, partition_leader_cmd{"clicks", uuid(1), 0, 2, 5}));
  EXPECT_EQ(s.leaders()->at({"clicks", 0}), (partition_leader{2, 5, {}}));
  // An older or equal term changes nothing; a newer one wins.
  ASSERT_TRUE(s.apply(3, partition_leader_cmd{"clicks", uuid(1), 0, 3, 4}));
  ASSERT_TRUE(s.apply(4, partition_leader_cmd{"clicks", uuid(1), 0, 3, 5}));
  EXPECT_EQ(s.leaders()->at({"clicks", 0}), (partition_leader{2, 5, {}}));
  ASSERT_TRUE(s.apply(5, partition_leader_cmd{"clicks", uuid(1), 0, 3, 6}));
  EXPECT_EQ(s.leaders()->at({"clicks", 0}), (partition_leader{3, 6, {}}));
  // A broker that is no replica, a partition or topic id that does not exist: refused.
  EXPECT_FALSE(s.apply(6, partition_leader_cmd{"clicks", uuid(1), 0, 4, 9}));
  EXPECT_FALSE(s.apply(7, partition_leader_cmd{"clicks", uuid(1), 2, 1, 9}));
  EXPECT_FALSE(s.apply(8, partition_leader_cmd{"clicks", uuid(9), 1, 1, 9}));
  ASSERT_TRUE(s.apply(9, partition_leader_cmd{"clicks", uuid(1), 1, 1, 1}));
  auto back = controller_stm::restore(s.snapshot());
  ASSERT_TRUE(back.has_value()) << back.error().message();
  EXPECT_EQ(*back, s);
  EXPECT_EQ(back->leaders()->size(), 2u);
  ASSERT_TRUE(s.apply(10, remove_topic_cmd{"clicks", uuid(1)}));
  EXPECT_TRUE(s.leaders()->empty());
  // The name keeps the highest epoch its partitions reached, snapshot included.
  EXPECT_EQ(s.epoch_floors().at("clicks"), 6);
  auto again = controller_stm::restore(s.snapshot());
  ASSERT_TRUE(again.has_value()) << again.error().message();
  EXPECT_EQ(*again, s);
}

TEST(ControllerStm, InSyncReplicasComeFromTheRecordedLeaderInItsTermAndGoWithANewLeader) {
  controller_stm s;
  ASSERT_TRUE(s.apply(1, add_topic_cmd{topic("clicks", 1, {{1, 2, 3}})}));
  // Before the leadership is recorded: nothing taken.
  ASSERT_TRUE(s.apply(2, partition_isr_cmd{"clicks", uuid(1), 0, 2, 5, {2, 3}}));
  EXPECT_TRUE(s.leaders()->empty());
  ASSERT_TRUE(s.apply(3, partition_leader_cmd{"clicks", uuid(1), 0, 2, 5}));
  ASSERT_TRUE(s.apply(4, partition_isr_cmd{"clicks", uuid(1), 0, 2, 5, {3, 2}}));
  EXPECT_EQ(s.leaders()->at({"clicks", 0}), (partition_leader{2, 5, {2, 3}}));
  // Another leader, or the leader of another term: stale, nothing changes.
  ASSERT_TRUE(s.apply(5, partition_isr_cmd{"clicks", uuid(1), 0, 3, 5, {1, 2, 3}}));
  ASSERT_TRUE(s.apply(6, partition_isr_cmd{"clicks", uuid(1), 0, 2, 4, {1, 2, 3}}));
  EXPECT_EQ(s.leaders()->at({"clicks", 0}).isr, (std::vector<int32_t>{2, 3}));
  // Refused: without the leader, a broker that is no replica, one twice, another topic id.
  EXPECT_FALSE(s.apply(7, partition_isr_cmd{"clicks", uuid(1), 0, 2, 5, {1, 3}}));
  EXPECT_FALSE(s.apply(8, partition_isr_cmd{"clicks", uuid(1), 0, 2, 5, {2, 4}}));
  EXPECT_FALSE(s.apply(9, partition_isr_cmd{"clicks", uuid(1), 0, 2, 5, {2, 2}}));
  EXPECT_FALSE(s.apply(10, partition_isr_cmd{"clicks", uuid(2), 0, 2, 5, {2}}));
  EXPECT_EQ(s.leaders()->at({"clicks", 0}).isr, (std::vector<int32_t>{2, 3}));
  // Snapshotted (version 7), and read back alike.
  auto back = controller_stm::restore(s.snapshot());
  ASSERT_TRUE(back.has_value()) << back.error().message();
  EXPECT_EQ(*back, s);
  EXPECT_EQ(s.snapshot().front(), std::byte{7});
  auto cmd = controller_command(partition_isr_cmd{"clicks", uuid(1), 0, 2, 5, {1, 2}});
  EXPECT_EQ(decode_command(encode(cmd)).value(), cmd);
  // A new leader starts with none reported: every broker falls back to the live replicas.
  ASSERT_TRUE(s.apply(11, partition_leader_cmd{"clicks", uuid(1), 0, 3, 6}));
  EXPECT_TRUE(s.leaders()->at({"clicks", 0}).isr.empty());
  EXPECT_NE(s.snapshot().front(), std::byte{7});
}

// The leaders a reader took stay as they were while later commands change the state
// machine's (which copies them once per run of commands, not once per command), and so do a
// copied state machine's.
TEST(ControllerStm, LeadersTakenBeforeCommandsStayAsTheyWere) {
  controller_stm s;
  ASSERT_TRUE(s.apply(1, add_topic_cmd{topic("clicks", 1, {{1, 2, 3}, {2, 3, 1}})}));
  ASSERT_TRUE(s.apply(2, partition_leader_cmd{"clicks", uuid(1), 0, 2, 5}));
  auto taken = s.leaders();
  auto copy = s;
  ASSERT_TRUE(s.apply(3, partition_leader_cmd{"clicks", uuid(1), 1, 3, 1}));
  ASSERT_TRUE(s.apply(4, partition_isr_cmd{"clicks", uuid(1), 0, 2, 5, {2, 3}}));
  ASSERT_TRUE(s.apply(5, partition_leader_cmd{"clicks", uuid(1), 0, 1, 6}));
  EXPECT_EQ(*taken, (leader_map{{{"clicks", 0}, {2, 5, {}}}}));
  EXPECT_EQ(*copy.leaders(), *taken);
  EXPECT_EQ(*s.leaders(), (leader_map{{{"clicks", 0}, {1, 6, {}}}, {{"clicks", 1}, {3, 1, {}}}}));
  // The copy moves on its own.
  ASSERT_TRUE(copy.apply(3, partition_isr_cmd{"clicks", uuid(1), 0, 2, 5, {1, 2}}));
  EXPECT_EQ(*copy.leaders(), (leader_map{{{"clicks", 0}, {2, 5, {1, 2}}}}));
  EXPECT_EQ(*taken, (leader_map{{{"clicks", 0}, {2, 5, {}}}}));
  EXPECT_EQ(s.leaders()->size(), 2u);
  auto second = s.leaders();
  ASSERT_TRUE(s.apply(6, remove_topic_cmd{"clicks", uuid(1)}));
  EXPECT_TRUE(s.leaders()->empty());
  EXPECT_EQ(second->size(), 2u);
}

TEST(ControllerStm, AMoveRecordsItsTargetUntilItsLeaderReportsItDone) {
  controller_stm s;
  for (int32_t b = 1; b <= 4; ++b)
    ASSERT_TRUE(s.apply(b, register_broker_cmd{reg(b)}));
  ASSERT_TRUE(s.apply(5, add_topic_cmd{topic("clicks", 1, {{1, 2, 3}, {2}})}));
  // Refused: unknown topic, id or partition; no replica, a broker twice or unregistered.
  EXPECT_TRUE(
      s.apply(6, move_partition_cmd{"nope", uuid(1), 0, {1}}).error().is(topic_errc::not_found));
  EXPECT_TRUE(
      s.apply(7, move_partition_cmd{"clicks", uuid(2), 0, {1}}).error().is(topic_errc::not_found));
  EXPECT_TRUE(
      s.apply(8, move_partition_cmd{"clicks", uuid(1), 2, {1}}).error().is(topic_errc::not_found));
  EXPECT_TRUE(s.apply(9, move_partition_cmd{"clicks", uuid(1), 0, {1, 1}})
                  .error()
                  .is(topic_errc::invalid_replica_assignment));
  EXPECT_TRUE(s.apply(10, move_partition_cmd{"clicks", uuid(1), 0, {1, 9}})
                  .error()
                  .is(topic_errc::invalid_replica_assignment));
  EXPECT_TRUE(s.apply(11, move_partition_cmd{"clicks", uuid(1), 0, {}})
                  .error()
                  .is(topic_errc::no_reassignment));
  // A move to what it has changes nothing.
  ASSERT_TRUE(s.apply(12, move_partition_cmd{"clicks", uuid(1), 0, {1, 2, 3}}));
  EXPECT_TRUE(s.topics()->at("clicks").moving.empty());

  ASSERT_TRUE(s.apply(13, move_partition_cmd{"clicks", uuid(1), 0, {4, 2, 3}}));
  const auto& t = s.topics()->at("clicks");
  EXPECT_EQ(t.moving.at(0), (std::vector<int32_t>{4, 2, 3}));
  EXPECT_EQ(t.replicas[0], (std::vector<int32_t>{1, 2, 3}));
  EXPECT_TRUE(t.hosted_on(0, 4));
  EXPECT_TRUE(t.hosted_on(0, 1));
  EXPECT_EQ(t.all_replicas(0), (std::vector<int32_t>{1, 2, 3, 4}));
  // The broker a move adds may lead (and report it) before the move ends.
  ASSERT_TRUE(s.apply(14, partition_leader_cmd{"clicks", uuid(1), 0, 4, 3}));
  auto back = controller_stm::restore(s.snapshot());
  ASSERT_TRUE(back.has_value()) << back.error().message();
  EXPECT_EQ(*back, s);
  // A report of another target (a move replaced meanwhile) changes nothing.
  EXPECT_FALSE(s.apply(15, finish_move_cmd{"clicks", uuid(1), 0, {2, 3, 4}}));
  ASSERT_TRUE(s.apply(16, finish_move_cmd{"clicks", uuid(1), 0, {4, 2, 3}}));
  EXPECT_TRUE(s.topics()->at("clicks").moving.empty());
  EXPECT_EQ(s.topics()->at("clicks").replicas[0], (std::vector<int32_t>{4, 2, 3}));
  EXPECT_FALSE(s.topics()->at("clicks").hosted_on(0, 1));
  EXPECT_FALSE(s.apply(17, finish_move_cmd{"clicks", uuid(1), 0, {4, 2, 3}}));

  // Raising partition 1 from one replica to three raises the topic's replication factor once
  // every partition has three; a cancellation keeps the replicas it had.
  ASSERT_TRUE(s.apply(18, move_partition_cmd{"clicks", uuid(1), 1, {2, 1, 3}}));
  EXPECT_TRUE(s.topics()->at("clicks").replicated(1));
  ASSERT_TRUE(s.apply(19, move_partition_cmd{"clicks", uuid(1), 1, {}}));
  EXPECT_EQ(s.topics()->at("clicks").replicas[1], (std::vector<int32_t>{2}));
  EXPECT_FALSE(s.topics()->at("clicks").replicated(1));
  ASSERT_TRUE(s.apply(20, move_partition_cmd{"clicks", uuid(1), 1, {2, 1, 3}}));
  ASSERT_TRUE(s.apply(21, finish_move_cmd{"clicks", uuid(1), 1, {2, 1, 3}}));
  EXPECT_EQ(s.topics()->at("clicks").replication_factor, 3);
}

TEST(ControllerStm, DecommissionedBrokersStaySoAcrossRegistrationsAndSnapshots) {
  controller_stm s;
  ASSERT_TRUE(s.apply(1, register_broker_cmd{reg(1)}));
  EXPECT_TRUE(
      s.apply(2, decommission_broker_cmd{9, true}).error().is(controller_errc::unknown_broker));
  ASSERT_TRUE(s.apply(3, decommission_broker_cmd{1, true}));
  ASSERT_TRUE(s.apply(4, register_broker_cmd{reg(1, "r")}));  // a restart
  EXPECT_TRUE(s.brokers().at(1).decommissioned);
  auto back = controller_stm::restore(s.snapshot());
  ASSERT_TRUE(back.has_value()) << back.error().message();
  EXPECT_EQ(*back, s);
  ASSERT_TRUE(s.apply(5, decommission_broker_cmd{1, false}));
  EXPECT_FALSE(s.brokers().at(1).decommissioned);
}

TEST(ControllerStm, PreferredElectionsLastUntilThePreferredReplicaLeads) {
  controller_stm s;
  ASSERT_TRUE(s.apply(1, add_topic_cmd{topic("clicks", 1, {{1, 2, 3}, {2, 3, 1}})}));
  ASSERT_TRUE(s.apply(2, partition_leader_cmd{"clicks", uuid(1), 0, 2, 5}));
  ASSERT_TRUE(s.apply(3, partition_leader_cmd{"clicks", uuid(1), 1, 2, 5}));
  EXPECT_TRUE(
      s.apply(4, elect_preferred_cmd{"clicks", uuid(1), {0, 2}}).error().is(topic_errc::not_found));
  ASSERT_TRUE(s.apply(5, elect_preferred_cmd{"clicks", uuid(1), {0, 1}}));
  // Partition 1 is led by its preferred replica already: nothing to ask.
  EXPECT_EQ(*s.preferred_elections(), (partition_set{{"clicks", 0}}));
  auto back = controller_stm::restore(s.snapshot());
  ASSERT_TRUE(back.has_value()) << back.error().message();
  EXPECT_EQ(*back, s);
  ASSERT_TRUE(s.apply(6, partition_leader_cmd{"clicks", uuid(1), 0, 3, 6}));
  EXPECT_EQ(s.preferred_elections()->size(), 1u);
  ASSERT_TRUE(s.apply(7, partition_leader_cmd{"clicks", uuid(1), 0, 1, 7}));
  EXPECT_TRUE(s.preferred_elections()->empty());
  ASSERT_TRUE(s.apply(8, elect_preferred_cmd{"clicks", uuid(1), {1}}));
  ASSERT_TRUE(s.apply(9, partition_leader_cmd{"clicks", uuid(1), 1, 3, 8}));
  ASSERT_TRUE(s.apply(10, elect_preferred_cmd{"clicks", uuid(1), {1}}));
  ASSERT_TRUE(s.apply(11, remove_topic_cmd{"clicks", uuid(1)}));
  EXPECT_TRUE(s.preferred_elections()->empty());
}

TEST(ControllerStm, VersionOneSnapshotsWithoutClusterConfigsAreRead) {
  controller_stm s;
  ASSERT_TRUE(s.apply(1, bootstrap_cmd{"x"}).has_value());
  ASSERT_TRUE(s.apply(2, register_broker_cmd{reg(1)}).has_value());
  ASSERT_TRUE(s.apply(3, add_topic_cmd{topic("t", 1, {{1}})}).has_value());
  // Without cluster-wide configs the snapshot is still written as version 1.
  auto bytes = s.snapshot();
  EXPECT_EQ(bytes[0], std::byte{1});
  auto r = controller_stm::restore(bytes);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(*r, s);
  bytes[0] = std::byte{3};
  EXPECT_FALSE(controller_stm::restore(bytes).has_value());
}

TEST(ControllerStm, RestoreRefusesDamagedSnapshots) {
  controller_stm s;
  ASSERT_TRUE(s.apply(1, bootstrap_cmd{"x"}).has_value());
  ASSERT_TRUE(s.apply(2, register_broker_cmd{reg(1)}).has_value());
  auto bytes = s.snapshot();
  for (size_t n = 0; n < bytes.size(); ++n)
    EXPECT_FALSE(controller_stm::restore(std::span(bytes).first(n)).has_value()) << n;
  auto huge = bytes;
  // The broker count claims more brokers than the bytes can hold.
  huge[1 + 8 + 2 + 1 + 8] = std::byte{0x7f};
  EXPECT_FALSE(controller_stm::restore(huge).has_value());
}

}  // namespace
}  // namespace strom::cluster

namespace strom::cluster {
namespace {

TEST(ControllerStm, UsersAreAddedReplacedDeletedAndSnapshotted) {
  using security::scram_mechanism;
  controller_stm s;
  ASSERT_TRUE(s.apply(1, upsert_scram_cmd{"alice", credential(scram_mechanism::sha256, "a")}));
  ASSERT_TRUE(s.apply(2, upsert_scram_cmd{"alice", credential(scram_mechanism::sha512, "b")}));
  ASSERT_TRUE(s.apply(3, upsert_scram_cmd{"alice", credential(scram_mechanism::sha256, "c")}));
  const auto* k = s.security()->credential("alice", scram_mechanism::sha256);
  ASSERT_NE(k, nullptr);
  EXPECT_TRUE(security::password_matches(*k, "c"));
  EXPECT_FALSE(security::password_matches(*k, "a"));
  // Refused: an unknown credential, an empty name, iterations below Kafka's minimum, keys of
  // the wrong size. Nothing changes.
  EXPECT_TRUE(s.apply(4, delete_scram_cmd{"bob", scram_mechanism::sha256})
                  .error()
                  .is(controller_errc::not_found));
  EXPECT_TRUE(s.apply(5, upsert_scram_cmd{"", credential(scram_mechanism::sha256, "x")})
                  .error()
                  .is(controller_errc::invalid_command));
  auto weak = credential(scram_mechanism::sha256, "x");
  weak.iterations = 1000;
  EXPECT_TRUE(
      s.apply(6, upsert_scram_cmd{"carol", weak}).error().is(controller_errc::invalid_command));
  auto bad = credential(scram_mechanism::sha512, "x");
  bad.stored_key.resize(32);
  EXPECT_TRUE(
      s.apply(7, upsert_scram_cmd{"carol", bad}).error().is(controller_errc::invalid_command));
  EXPECT_EQ(s.security()->users.size(), 1u);

  auto r = controller_stm::restore(s.snapshot());
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(*r, s);
  ASSERT_TRUE(s.apply(8, delete_scram_cmd{"alice", scram_mechanism::sha256}));
  ASSERT_TRUE(s.apply(9, delete_scram_cmd{"alice", scram_mechanism::sha512}));
  EXPECT_TRUE(s.security()->users.empty());  // no credential left: the user is gone
  EXPECT_NE(*r, s);
}

TEST(ControllerStm, AclsAreAddedOnceRefusedWhenInvalidDeletedByFilterAndSnapshotted) {
  controller_stm s;
  ASSERT_TRUE(s.apply(1, create_acls_cmd{{acl("User:alice", "clicks"), acl("User:bob", "t")}}));
  ASSERT_TRUE(s.apply(2, create_acls_cmd{{acl("User:alice", "clicks")}}));  // once
  EXPECT_EQ(s.security()->acls.size(), 2u);
  auto bad = acl("alice", "clicks");  // not a principal
  EXPECT_TRUE(s.apply(3, create_acls_cmd{{acl("User:carol", "x"), bad}})
                  .error()
                  .is(controller_errc::invalid_command));
  EXPECT_EQ(s.security()->acls.size(), 2u);  // refused as a whole
  auto r = controller_stm::restore(s.snapshot());
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(*r, s);
  security::acl_filter bobs;
  bobs.principal = "User:bob";
  ASSERT_TRUE(s.apply(4, delete_acls_cmd{{bobs}}));
  ASSERT_EQ(s.security()->acls.size(), 1u);
  EXPECT_EQ(s.security()->acls[0].principal, "User:alice");
  ASSERT_TRUE(s.apply(5, delete_acls_cmd{{bobs}}));  // nothing left to delete: not an error
}

}  // namespace
}  // namespace strom::cluster
