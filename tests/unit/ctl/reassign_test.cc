// Partition reassignment and leader elections in stromctl: TOPIC/PARTITION, TOPIC[/PARTITION],
// broker ids and replica lists as operators type them, the replica lists of a replication factor
// change, the text of an election's outcome, and the progress of a move from log sizes.
#include "ctl/reassign.h"

#include <gtest/gtest.h>

#include <map>

namespace strom::ctl {
namespace {

std::string error_of_target(std::string_view text) {
  auto r = parse_topic_partition(text);
  return r ? std::string() : r.error().detail();
}

std::string error_of_list(std::string_view text) {
  auto r = parse_replica_list(text);
  return r ? std::string() : r.error().detail();
}

TEST(Reassign, TopicPartition) {
  auto r = parse_topic_partition("clicks/3");
  ASSERT_TRUE(r) << r.error().detail();
  EXPECT_EQ(r->first, "clicks");
  EXPECT_EQ(r->second, 3);
  // The last '/' splits (Kafka topic names have none, but the split must not guess).
  r = parse_topic_partition("a/b/0");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first, "a/b");
  EXPECT_EQ(r->second, 0);
  EXPECT_EQ(parse_topic_partition("t/2147483647")->second, INT32_MAX);

  for (const char* bad : {"clicks", "/3", "", "clicks/", "clicks/-1", "clicks/x", "clicks/1x",
                          "clicks/2147483648", "clicks/ 1"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(error_of_target(bad).empty());
  }
  EXPECT_NE(error_of_target("clicks").find("TOPIC/PARTITION"), std::string::npos);
  EXPECT_NE(error_of_target("clicks/-1").find("whole number"), std::string::npos);
}

TEST(Reassign, ReplicaLists) {
  EXPECT_EQ(*parse_replica_list("2,3,1"), (std::vector<int32_t>{2, 3, 1}));
  EXPECT_EQ(*parse_replica_list("7"), (std::vector<int32_t>{7}));
  EXPECT_EQ(*parse_replica_list(" 1, 2 ,3 "), (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(*parse_replica_list("0"), (std::vector<int32_t>{0}));

  EXPECT_NE(error_of_list("").find("no broker id"), std::string::npos);
  EXPECT_NE(error_of_list("  ").find("no broker id"), std::string::npos);
  EXPECT_NE(error_of_list("1,,2").find("is not a broker id"), std::string::npos);
  EXPECT_NE(error_of_list("1,2,").find("is not a broker id"), std::string::npos);
  EXPECT_NE(error_of_list("1,-2").find("'-2'"), std::string::npos);
  EXPECT_NE(error_of_list("a").find("'a'"), std::string::npos);
  EXPECT_NE(error_of_list("1;2").find("is not a broker id"), std::string::npos);
  EXPECT_NE(error_of_list("99999999999").find("is not a broker id"), std::string::npos);
  EXPECT_NE(error_of_list("1,2,1").find("broker 1 is named twice"), std::string::npos);

  EXPECT_EQ(format_replica_list({2, 3, 1}), "2,3,1");
  EXPECT_EQ(format_replica_list({}), "-");
}

std::vector<partition_replicas> moves(const std::vector<partition_replicas>& current,
                                      const std::vector<int32_t>& brokers, int32_t rf) {
  auto r = replicas_for_factor(current, brokers, rf);
  EXPECT_TRUE(r) << r.error().detail();
  return r ? *r : std::vector<partition_replicas>{};
}

TEST(Reassign, GrowingKeepsTheReplicasAndAddsTheLeastLoadedBrokers) {
  // Brokers 1..4; the topic has partition 0 on 1, 1 on 2, 2 on 1: broker 1 holds two.
  std::vector<partition_replicas> now = {{0, {1}}, {1, {2}}, {2, {1}}};
  auto out = moves(now, {1, 2, 3, 4}, 2);
  // 0: {1} + the fewest-loaded other (3 and 4 hold none: the lowest id, 3).
  // 1: {2} + 4 (now the only one with none).
  // 2: {1} + the fewest among 2, 3, 4 (each holds one now): 2.
  EXPECT_EQ(out, (std::vector<partition_replicas>{{0, {1, 3}}, {1, {2, 4}}, {2, {1, 2}}}));

  out = moves(now, {1, 2, 3, 4}, 3);
  EXPECT_EQ(out, (std::vector<partition_replicas>{{0, {1, 3, 4}}, {1, {2, 3, 4}}, {2, {1, 2, 3}}}));
  // Each broker ends with a fair share: 9 replicas over 4 brokers.
  std::map<int32_t, int> held;
  for (const auto& p : out) {
    for (auto b : p.replicas)
      ++held[b];
  }
  for (const auto& [b, n] : held)
    EXPECT_TRUE(n == 2 || n == 3) << "broker " << b << " holds " << n;
}

TEST(Reassign, ShrinkingDropsFromTheEndAndUnchangedPartitionsAreLeftOut) {
  std::vector<partition_replicas> now = {{0, {3, 1, 2}}, {1, {1, 2}}, {2, {2, 3, 1}}};
  EXPECT_EQ(moves(now, {1, 2, 3}, 2), (std::vector<partition_replicas>{{0, {3, 1}}, {2, {2, 3}}}));
  EXPECT_EQ(moves(now, {1, 2, 3}, 1),
            (std::vector<partition_replicas>{{0, {3}}, {1, {1}}, {2, {2}}}));
  // Already there: nothing to move.
  std::vector<partition_replicas> even = {{0, {1, 2}}, {1, {2, 3}}};
  EXPECT_TRUE(moves(even, {1, 2, 3}, 2).empty());
}

TEST(Reassign, ReplicasOnBrokersThatAreDownStayAndNewOnesGoToLiveBrokers) {
  // Broker 9 is not live: its replica stays (a move would not be able to copy it anyway,
  // the operator decides), and only live brokers are added.
  std::vector<partition_replicas> now = {{0, {9}}, {1, {1}}};
  EXPECT_EQ(moves(now, {1, 2}, 2), (std::vector<partition_replicas>{{0, {9, 2}}, {1, {1, 2}}}));
}

TEST(Reassign, TooFewLiveBrokersOrABadFactorIsAnError) {
  std::vector<partition_replicas> now = {{0, {1}}, {1, {2}}};
  auto r = replicas_for_factor(now, {1, 2}, 3);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail().find("partition 0 needs 3 replicas"), std::string::npos)
      << r.error().detail();
  EXPECT_NE(r.error().detail().find("2 live broker(s)"), std::string::npos);
  r = replicas_for_factor(now, {}, 1);
  ASSERT_TRUE(r);  // shrinking or keeping needs no live broker
  EXPECT_TRUE(r->empty());
  r = replicas_for_factor(now, {1, 2}, 0);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail().find("at least 1"), std::string::npos);
  r = replicas_for_factor(now, {1, 2}, -1);
  EXPECT_FALSE(r);
  // A topic without partitions has nothing to move.
  r = replicas_for_factor({}, {1}, 3);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->empty());
}

TEST(Reassign, BrokerIds) {
  EXPECT_EQ(*parse_broker_id("4"), 4);
  EXPECT_EQ(*parse_broker_id("0"), 0);
  EXPECT_EQ(*parse_broker_id("2147483647"), INT32_MAX);
  for (const char* bad : {"", "-1", "x", "4x", " 4", "4 ", "2147483648", "1,2", "+4"}) {
    SCOPED_TRACE(bad);
    auto r = parse_broker_id(bad);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().detail().find("is not a broker id"), std::string::npos);
    EXPECT_NE(r.error().detail().find(std::string("'") + bad + "'"), std::string::npos);
  }
}

TEST(Elect, TopicOrTopicPartition) {
  EXPECT_EQ(*parse_partition_selector("clicks"), (partition_selector{"clicks", std::nullopt}));
  EXPECT_EQ(*parse_partition_selector("clicks/3"), (partition_selector{"clicks", 3}));
  EXPECT_EQ(*parse_partition_selector("a/b/0"), (partition_selector{"a/b", 0}));
  EXPECT_EQ(*parse_partition_selector("__consumer_offsets"),
            (partition_selector{"__consumer_offsets", std::nullopt}));
  auto r = parse_partition_selector("");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail().find("no topic given"), std::string::npos);
  // With a '/', the partition must be there and a number.
  for (const char* bad : {"clicks/", "clicks/x", "/3", "clicks/-1", "clicks/2147483648"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(parse_partition_selector(bad));
  }
  EXPECT_NE(parse_partition_selector("clicks/x").error().detail().find("whole number"),
            std::string::npos);
}

TEST(Elect, SelectorsExpandToEachPartitionOnceInTheOrderNamed) {
  std::map<std::string, int32_t> counts = {{"clicks", 3}, {"views", 2}, {"empty", 0}};
  auto r = expand_partition_selectors({{"views", 1},
                                       {"clicks", std::nullopt},
                                       {"clicks", 1},
                                       {"views", 1},
                                       {"views", 0},
                                       {"empty", std::nullopt}},
                                      counts);
  ASSERT_TRUE(r) << r.error().detail();
  EXPECT_EQ(*r, (std::vector<topic_partitions>{{"views", {1, 0}}, {"clicks", {0, 1, 2}}}));
  // A partition named alone is sent as it is (the broker answers for one it does not have);
  // a whole topic must exist.
  r = expand_partition_selectors({{"other", 7}}, counts);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (std::vector<topic_partitions>{{"other", {7}}}));
  r = expand_partition_selectors({{"clicks", 0}, {"nope", std::nullopt}}, counts);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().detail(), "topic nope does not exist");
  r = expand_partition_selectors({}, counts);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->empty());
}

TEST(Elect, ResultTextAndFailure) {
  election_outcome o{"clicks", 0, 0, "NONE", ""};
  EXPECT_EQ(election_result_text(o), "elected");
  EXPECT_FALSE(o.failed());
  o = {"clicks", 1, 84, "ELECTION_NOT_NEEDED", "clicks-1"};
  EXPECT_EQ(election_result_text(o), "not needed");
  EXPECT_FALSE(o.failed());
  o = {"clicks", 2, 80, "PREFERRED_LEADER_NOT_AVAILABLE", "broker 3 is down"};
  EXPECT_EQ(election_result_text(o), "PREFERRED_LEADER_NOT_AVAILABLE: broker 3 is down");
  EXPECT_TRUE(o.failed());
  o = {"nope", 0, 3, "UNKNOWN_TOPIC_OR_PARTITION", ""};
  EXPECT_EQ(election_result_text(o), "UNKNOWN_TOPIC_OR_PARTITION");
  EXPECT_TRUE(o.failed());
}

TEST(MoveProgress, PercentFromSizes) {
  EXPECT_EQ(progress_percent(0, 1000), 0.0);
  EXPECT_EQ(progress_percent(500, 1000), 50.0);
  EXPECT_EQ(progress_percent(1000, 1000), 100.0);
  // One decimal, rounded down: 100 % only once caught up.
  EXPECT_EQ(progress_percent(1, 3), 33.3);
  EXPECT_EQ(progress_percent(2, 3), 66.6);
  EXPECT_EQ(progress_percent(999'999, 1'000'000), 99.9);
  EXPECT_EQ(progress_percent(1, 1'000'000), 0.0);
  // Very large logs: below the leader's size stays below 100 %.
  EXPECT_EQ(progress_percent(INT64_MAX - 1, INT64_MAX), 99.9);
  EXPECT_EQ(progress_percent(int64_t{1} << 50, int64_t{1} << 52), 25.0);
  // An empty leader log: nothing to copy.
  EXPECT_EQ(progress_percent(0, 0), 100.0);
  EXPECT_EQ(progress_percent(10, 0), 100.0);
  // A new replica larger than the leader (the leader compacted or deleted segments): capped.
  EXPECT_EQ(progress_percent(1500, 1000), 100.0);
  EXPECT_EQ(progress_percent(-5, 1000), 0.0);

  EXPECT_EQ(format_progress(33.3), "33.3%");
  EXPECT_EQ(format_progress(100.0), "100.0%");
  EXPECT_EQ(format_progress(0.0), "0.0%");
  EXPECT_EQ(format_progress(std::nullopt), "-");
  EXPECT_EQ(format_size(12345), "12345");
  EXPECT_EQ(format_size(0), "0");
  EXPECT_EQ(format_size(std::nullopt), "-");
}

log_size_reports sample_reports() {
  log_size_reports r;
  r[1].sizes = {{{"clicks", 0}, 1000}, {{"clicks", 1}, 400}};  // the leader
  r[2].sizes = {{{"clicks", 0}, 600}};
  r[3].sizes = {{{"clicks", 0}, 250}};
  r[4].sizes = {};        // answered, holds no log of the partitions yet
  r[5].complete = false;  // a log directory offline
  return r;
}

TEST(MoveProgress, SizeOfAnAddedReplica) {
  auto r = sample_reports();
  EXPECT_EQ(added_replica_size(r, 2, "clicks", 0), 600);
  EXPECT_EQ(added_replica_size(r, 2, "clicks", 1), 0);  // answered without it: no log yet
  EXPECT_EQ(added_replica_size(r, 4, "clicks", 0), 0);
  EXPECT_EQ(added_replica_size(r, 5, "clicks", 0), std::nullopt);  // may be on the offline dir
  EXPECT_EQ(added_replica_size(r, 9, "clicks", 0), std::nullopt);  // did not answer
}

TEST(MoveProgress, LeastAdvancedAddedReplicaAgainstTheLeader) {
  auto r = sample_reports();
  EXPECT_EQ(estimate_move_progress("clicks", 0, 1, {2}, r), (move_progress{600, 1000, 60.0}));
  // The least advanced of the replicas being added counts.
  EXPECT_EQ(estimate_move_progress("clicks", 0, 1, {2, 3}, r), (move_progress{250, 1000, 25.0}));
  EXPECT_EQ(estimate_move_progress("clicks", 0, 1, {3, 2}, r), (move_progress{250, 1000, 25.0}));
  // A new replica without a log yet: nothing copied.
  EXPECT_EQ(estimate_move_progress("clicks", 0, 1, {2, 4}, r), (move_progress{0, 1000, 0.0}));
  EXPECT_EQ(estimate_move_progress("clicks", 1, 1, {2}, r), (move_progress{0, 400, 0.0}));
}

TEST(MoveProgress, UnknownWhenABrokerDidNotAnswer) {
  auto r = sample_reports();
  // An added replica's broker did not answer, or may hold the log on an offline directory: the
  // least advanced is unknown, whatever the others hold.
  EXPECT_EQ(estimate_move_progress("clicks", 0, 1, {2, 9}, r),
            (move_progress{std::nullopt, 1000, std::nullopt}));
  EXPECT_EQ(estimate_move_progress("clicks", 0, 1, {5}, r),
            (move_progress{std::nullopt, 1000, std::nullopt}));
  // The leader's broker did not answer, there is no leader, or the leader lists no log.
  EXPECT_EQ(estimate_move_progress("clicks", 0, 9, {2}, r),
            (move_progress{600, std::nullopt, std::nullopt}));
  EXPECT_EQ(estimate_move_progress("clicks", 0, std::nullopt, {2}, r),
            (move_progress{600, std::nullopt, std::nullopt}));
  EXPECT_EQ(estimate_move_progress("clicks", 0, 4, {2}, r),
            (move_progress{600, std::nullopt, std::nullopt}));
  // Nobody answered.
  EXPECT_EQ(estimate_move_progress("clicks", 0, 1, {2}, {}), move_progress{});
}

TEST(MoveProgress, EmptyLeaderAndNothingToAdd) {
  log_size_reports r;
  r[1].sizes = {{{"t", 0}, 0}};
  r[2].sizes = {{{"t", 0}, 0}};
  EXPECT_EQ(estimate_move_progress("t", 0, 1, {2}, r), (move_progress{0, 0, 100.0}));
  EXPECT_EQ(estimate_move_progress("t", 0, 1, {3}, r),
            (move_progress{std::nullopt, 0, std::nullopt}));
  // A move that only removes replicas copies nothing.
  EXPECT_EQ(estimate_move_progress("t", 0, 1, {}, r), (move_progress{0, 0, 100.0}));
  EXPECT_EQ(estimate_move_progress("t", 0, std::nullopt, {}, r),
            (move_progress{std::nullopt, std::nullopt, 100.0}));
}

}  // namespace
}  // namespace strom::ctl
