#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "strom/cluster/topics_frontend.h"

namespace strom::cluster {
namespace {

cluster_view brokers(std::vector<std::pair<int32_t, std::optional<std::string>>> list) {
  cluster_view v;
  for (auto& [id, rack] : list)
    v.brokers[id] = broker_record{{id, "127.0.0.1", 9092, "127.0.0.1", 9093, rack}, false};
  return v;
}

std::map<int32_t, int> count_leaders(const std::vector<std::vector<int32_t>>& rs) {
  std::map<int32_t, int> out;
  for (const auto& r : rs)
    ++out[r.front()];
  return out;
}

TEST(Placement, SpreadsLeadersEvenlyAndCountsWhatIsThere) {
  auto v = brokers({{1, {}}, {2, {}}, {3, {}}});
  auto six = place_replicas(v, 6, 1, -1);
  ASSERT_TRUE(six.has_value());
  EXPECT_EQ(count_leaders(*six), (std::map<int32_t, int>{{1, 2}, {2, 2}, {3, 2}}));
  // Existing topics count: broker 1 already holds four partitions.
  auto topics = std::make_shared<topic_map>();
  topic_metadata t;
  t.name = "old";
  t.partitions = 4;
  t.replicas = {{1}, {1}, {1}, {1}};
  (*topics)["old"] = t;
  v.topics = topics;
  auto next = place_replicas(v, 4, 1, -1);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(count_leaders(*next), (std::map<int32_t, int>{{2, 2}, {3, 2}}));
}

TEST(Placement, ReplicasGoToDistinctBrokersAndRacks) {
  auto v = brokers({{1, "a"}, {2, "a"}, {3, "b"}, {4, "b"}, {5, "c"}, {6, "c"}});
  auto placed = place_replicas(v, 12, 3, -1);
  ASSERT_TRUE(placed.has_value());
  std::map<int32_t, int> per_broker;
  for (const auto& r : *placed) {
    ASSERT_EQ(r.size(), 3u);
    std::set<std::string> racks;
    for (auto id : r) {
      ++per_broker[id];
      racks.insert(*v.brokers.at(id).reg.rack);
    }
    EXPECT_EQ(racks.size(), 3u);
  }
  for (const auto& [id, n] : per_broker)
    EXPECT_EQ(n, 6) << "broker " << id;
  EXPECT_EQ(count_leaders(*placed).size(), 6u);
}

TEST(Placement, RefusesWhatTheBrokersCannotHold) {
  auto v = brokers({{1, {}}, {2, {}}});
  EXPECT_TRUE(place_replicas(v, 1, 3, -1).error().is(topic_errc::invalid_replication_factor));
  EXPECT_TRUE(place_replicas(v, 5, 1, 2).error().is(topic_errc::partition_limit));
  EXPECT_TRUE(place_replicas(v, 4, 1, 2).has_value());
  v.brokers.at(2).fenced = true;  // fenced brokers get nothing
  auto placed = place_replicas(v, 2, 1, -1);
  ASSERT_TRUE(placed.has_value());
  EXPECT_EQ(count_leaders(*placed), (std::map<int32_t, int>{{1, 2}}));
  EXPECT_TRUE(place_replicas(cluster_view{}, 1, 1, -1).error().is(controller_errc::not_controller));
}

TEST(Placement, AClientsAssignmentNamesRegisteredBrokersOnceEachAsManyAsTheFactor) {
  auto v = brokers({{1, {}}, {2, {}}, {3, {}}});
  v.brokers.at(3).fenced = true;  // down, but registered: it may be named
  auto registered = [&v](int32_t id) { return v.brokers.contains(id); };
  EXPECT_TRUE(check_assignment({{2, 1, 3}, {3, 2, 1}}, 3, 0, registered));
  EXPECT_TRUE(check_assignment({}, 3, 0, registered));
  auto refusal = [&](const std::vector<std::vector<int32_t>>& replicas, int32_t first) {
    auto s = check_assignment(replicas, 3, first, registered);
    EXPECT_FALSE(s);
    if (s)
      return std::string();
    EXPECT_TRUE(s.error().is(topic_errc::invalid_replica_assignment)) << s.error().message();
    return s.error().message();
  };
  EXPECT_EQ(refusal({{1, 2, 99}}, 0),
            "invalid replica assignment: partition 0: broker 99 is not registered");
  EXPECT_EQ(refusal({{1, 1, 2}}, 0),
            "invalid replica assignment: partition 0: broker 1 named twice");
  EXPECT_EQ(
      refusal({{1, 2, 3}, {2, 3}}, 0),
      "invalid replica assignment: partition 1: 2 replica(s), where the replication factor is 3");
  EXPECT_EQ(
      refusal({{1, 2, 3}, {2, 3, 1, 4}}, 0),
      "invalid replica assignment: partition 1: 4 replica(s), where the replication factor is 3");
  EXPECT_EQ(
      refusal({{}}, 0),
      "invalid replica assignment: partition 0: 0 replica(s), where the replication factor is 3");
  // New partitions of a topic are named by their index in it.
  EXPECT_EQ(refusal({{1, 2, 3}, {3, 2, 7}}, 4),
            "invalid replica assignment: partition 5: broker 7 is not registered");
  // A list is never empty, whatever the factor it is checked against.
  EXPECT_FALSE(check_assignment({{}}, 0, 0, registered));
}

TEST(Placement, AClientsAssignmentKeepsToThePerBrokerLimit) {
  auto v = brokers({{1, {}}, {2, {}}, {3, {}}});
  auto topics = std::make_shared<topic_map>();
  topic_metadata t;
  t.name = "old";
  t.partitions = 3;
  t.replicas = {{1, 2}, {1, 3}, {3, 1}};  // three on broker 1, two on 3, one on 2
  (*topics)["old"] = t;
  v.topics = topics;
  EXPECT_TRUE(check_broker_limit(v, {{2, 3}, {3, 2}}, 4));
  auto s = check_broker_limit(v, {{2, 1}, {1, 2}}, 4);
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().is(topic_errc::partition_limit));
  EXPECT_NE(s.error().message().find("make 5 on broker 1"), std::string::npos)
      << s.error().message();
  EXPECT_TRUE(check_broker_limit(v, {{2, 1}, {1, 2}}, -1));  // no limit
  // Only the brokers the assignment names count: one above the limit already does not stop
  // partitions placed elsewhere.
  EXPECT_TRUE(check_broker_limit(v, {{2}}, 2));
}

}  // namespace
}  // namespace strom::cluster
