// AlterPartitionReassignments and ListPartitionReassignments through the real request handler
// of a single-node broker kept in memory.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "single_node.h"

namespace strom::kafka::server {
namespace {

namespace kp = protocol;
using kp::error_code;

class reassignment_handler_test : public test::single_node {
 public:
  void SetUp() override { set_up_with_topic(); }

  kp::alter_partition_reassignments_response alter(
      std::vector<std::tuple<std::string, int32_t, std::optional<std::vector<int32_t>>>> parts,
      int16_t version = 0, bool allow_rf_change = true) {
    kp::alter_partition_reassignments_request req;
    req.allow_replication_factor_change = allow_rf_change;
    for (auto& [topic, p, replicas] : parts) {
      if (req.topics.empty() || req.topics.back().name != topic)
        req.topics.emplace_back().name = topic;
      req.topics.back().partitions.push_back({p, replicas});
    }
    return exchange<kp::alter_partition_reassignments_response>(req, version);
  }
};

std::vector<int32_t> replicas(std::initializer_list<int32_t> ids) {
  return ids;
}

TEST_F(reassignment_handler_test, both_apis_are_advertised) {
  auto r = exchange<kp::api_versions_response>(kp::api_versions_request{}, 0);
  bool alter = false;
  bool list = false;
  for (const auto& a : r.api_keys) {
    if (a.api_key == 45) {
      alter = true;
      EXPECT_EQ(a.min_version, 0);
      EXPECT_EQ(a.max_version, 1);
    }
    if (a.api_key == 46) {
      list = true;
      EXPECT_EQ(a.max_version, 0);
    }
  }
  EXPECT_TRUE(alter);
  EXPECT_TRUE(list);
}

TEST_F(reassignment_handler_test, a_single_node_refuses_moves_and_has_none_to_cancel) {
  auto r = alter({{"t", 0, replicas({0})},
                  {"t", 1, replicas({1, 2})},
                  {"t", 2, std::nullopt},
                  {"nope", 0, replicas({0})},
                  {"t", 7, replicas({0})}});
  EXPECT_EQ(r.error_code, error_code::none);
  EXPECT_FALSE(r.error_message.has_value());
  // One entry per topic, its partitions in the order first named.
  ASSERT_EQ(r.responses.size(), 2u);
  ASSERT_EQ(r.responses[0].name, "t");
  const auto& ps = r.responses[0].partitions;
  ASSERT_EQ(ps.size(), 4u);
  EXPECT_EQ(ps[0].partition_index, 0);
  EXPECT_EQ(ps[0].error_code, error_code::invalid_replica_assignment);
  EXPECT_TRUE(ps[0].error_message.has_value());
  EXPECT_EQ(ps[1].error_code, error_code::invalid_replica_assignment);
  EXPECT_EQ(ps[2].partition_index, 2);
  EXPECT_EQ(ps[2].error_code, error_code::no_reassignment_in_progress);
  // A partition the topic does not have: unknown, as Kafka answers it.
  EXPECT_EQ(ps[3].partition_index, 7);
  EXPECT_EQ(ps[3].error_code, error_code::unknown_topic_or_partition);
  ASSERT_EQ(r.responses[1].name, "nope");
  EXPECT_EQ(r.responses[1].partitions[0].error_code, error_code::unknown_topic_or_partition);
}

TEST_F(reassignment_handler_test, a_partition_named_twice_is_refused_once_and_not_moved) {
  kp::alter_partition_reassignments_request req;
  auto& a = req.topics.emplace_back();
  a.name = "t";
  a.partitions.push_back({0, replicas({0})});
  a.partitions.push_back({1, std::nullopt});
  auto& b = req.topics.emplace_back();
  b.name = "t";  // the topic again, with partition 0 again (three times in all)
  b.partitions.push_back({0, std::nullopt});
  b.partitions.push_back({0, replicas({0})});
  auto r = exchange<kp::alter_partition_reassignments_response>(req, 0);
  ASSERT_EQ(r.responses.size(), 1u);
  const auto& ps = r.responses[0].partitions;
  ASSERT_EQ(ps.size(), 2u);
  EXPECT_EQ(ps[0].partition_index, 0);
  EXPECT_EQ(ps[0].error_code, error_code::invalid_request);
  EXPECT_EQ(ps[1].partition_index, 1);
  EXPECT_EQ(ps[1].error_code, error_code::no_reassignment_in_progress);
}

TEST_F(reassignment_handler_test, v1_refuses_a_replica_count_change_unless_allowed) {
  // The partition has one replica: two is a change of the replication factor.
  auto refused = alter({{"t", 0, replicas({0, 1})}, {"t", 1, std::nullopt}}, 1, false);
  EXPECT_FALSE(refused.allow_replication_factor_change);
  ASSERT_EQ(refused.responses.size(), 1u);
  ASSERT_EQ(refused.responses[0].partitions.size(), 2u);
  EXPECT_EQ(refused.responses[0].partitions[0].error_code, error_code::invalid_replication_factor);
  EXPECT_EQ(refused.responses[0].partitions[0].error_message,
            "The replication factor is changed from 1 to 2");
  EXPECT_EQ(refused.responses[0].partitions[1].error_code,
            error_code::no_reassignment_in_progress);  // a cancellation is not checked
  // The same count goes on to the front end (which refuses any move on a single node).
  auto same = alter({{"t", 0, replicas({5})}}, 1, false);
  EXPECT_EQ(same.responses[0].partitions[0].error_code, error_code::invalid_replica_assignment);
  auto allowed = alter({{"t", 0, replicas({0, 1})}}, 1, true);
  EXPECT_TRUE(allowed.allow_replication_factor_change);
  EXPECT_EQ(allowed.responses[0].partitions[0].error_code, error_code::invalid_replica_assignment);
}

TEST_F(reassignment_handler_test, the_answer_stays_within_a_small_multiple_of_the_request) {
  // Every partition of an unknown topic with the longest name: each error message names the
  // topic, so without a bound the answer would be about 40 times the request.
  kp::alter_partition_reassignments_request req;
  auto& t = req.topics.emplace_back();
  t.name = std::string(249, 'x');
  for (int32_t p = 0; p < 20000; ++p)
    t.partitions.push_back({p, std::nullopt});
  auto r = exchange<kp::alter_partition_reassignments_response>(req, 0);
  ASSERT_EQ(r.responses.size(), 1u);
  ASSERT_EQ(r.responses[0].partitions.size(), 20000u);
  EXPECT_EQ(r.responses[0].partitions.back().error_code, error_code::unknown_topic_or_partition);
  EXPECT_TRUE(r.responses[0].partitions.front().error_message.has_value());
  EXPECT_FALSE(r.responses[0].partitions.back().error_message.has_value());
  EXPECT_LT(last_answer_bytes, 2 * last_request_bytes + (64 << 10));
}

TEST_F(reassignment_handler_test, an_empty_request_has_an_empty_answer) {
  auto r = alter({});
  EXPECT_EQ(r.error_code, error_code::none);
  EXPECT_TRUE(r.responses.empty());
}

TEST_F(reassignment_handler_test, a_single_node_lists_no_move) {
  kp::list_partition_reassignments_request all;
  auto r = exchange<kp::list_partition_reassignments_response>(all, 0);
  EXPECT_EQ(r.error_code, error_code::none);
  EXPECT_TRUE(r.topics.empty());
  kp::list_partition_reassignments_request some;
  some.topics.emplace().push_back({"t", {0, 1, 0}});
  some.topics->push_back({"nope", {3}});
  r = exchange<kp::list_partition_reassignments_response>(some, 0);
  EXPECT_EQ(r.error_code, error_code::none);
  EXPECT_TRUE(r.topics.empty());
}

}  // namespace
}  // namespace strom::kafka::server
