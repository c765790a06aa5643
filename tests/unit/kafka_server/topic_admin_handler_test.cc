// CreateTopics and CreatePartitions with a client's own replica assignment, through the real
// request handler of a single-node broker kept in memory (node id 0): an assignment may name
// this broker alone.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "single_node.h"

namespace strom::kafka::server {
namespace {

namespace kp = protocol;
using kp::error_code;
using assignment = std::vector<std::vector<int32_t>>;

class topic_admin_handler_test : public test::single_node {
 public:
  void SetUp() override { set_up_with_topic(); }

  /// CreatePartitions of topic `name` to `count` partitions, with `replicas` as its
  /// assignments (null when absent): the topic's outcome.
  kp::create_partitions_response::create_partitions_topic_result grow(
      const std::string& name, int32_t count, std::optional<assignment> replicas,
      bool validate_only = false, int16_t version = 3) {
    kp::create_partitions_request req;
    req.validate_only = validate_only;
    auto& t = req.topics.emplace_back();
    t.name = name;
    t.count = count;
    t.assignments.reset();
    if (replicas) {
      t.assignments.emplace();
      for (auto& r : *replicas)
        t.assignments->push_back({r});
    }
    auto resp = exchange<kp::create_partitions_response>(req, version);
    EXPECT_EQ(resp.results.size(), 1u);
    return resp.results.empty() ? kp::create_partitions_response::create_partitions_topic_result{}
                                : resp.results.front();
  }

  /// CreateTopics of topic `name` placed by `replicas` (partition i on replicas[i]): the
  /// topic's error code.
  error_code create(const std::string& name, const assignment& replicas,
                    bool validate_only = false) {
    kp::create_topics_request req;
    req.validate_only = validate_only;
    auto& t = req.topics.emplace_back();
    t.name = name;
    t.num_partitions = -1;
    t.replication_factor = -1;
    for (size_t i = 0; i < replicas.size(); ++i)
      t.assignments.push_back({static_cast<int32_t>(i), replicas[i]});
    auto resp = exchange<kp::create_topics_response>(req, 7);
    EXPECT_EQ(resp.topics.size(), 1u);
    return resp.topics.empty() ? error_code::unknown_server_error : resp.topics.front().error_code;
  }

  [[nodiscard]] int32_t partitions_of(const std::string& name) const {
    auto snap = topics->snapshot();
    auto it = snap->find(name);
    return it == snap->end() ? 0 : it->second.partitions;
  }
};

TEST_F(topic_admin_handler_test, new_partitions_go_where_the_assignment_says) {
  auto r = grow("t", 5, assignment{{0}, {0}});
  EXPECT_EQ(r.error_code, error_code::none) << r.error_message.value_or("");
  EXPECT_EQ(partitions_of("t"), 5);
  // Without assignments (null) the broker places them.
  EXPECT_EQ(grow("t", 6, std::nullopt).error_code, error_code::none);
  EXPECT_EQ(partitions_of("t"), 6);
  // The oldest version carries assignments too.
  EXPECT_EQ(grow("t", 7, assignment{{0}}, false, 0).error_code, error_code::none);
  EXPECT_EQ(partitions_of("t"), 7);
}

TEST_F(topic_admin_handler_test, a_bad_assignment_is_refused_and_nothing_is_created) {
  struct bad {
    const char* why;
    int32_t count;
    assignment replicas;
  };
  const std::vector<bad> cases = {
      {"another broker", 4, {{1}}},
      {"an unknown broker after a good list", 5, {{0}, {7}}},
      {"a broker twice", 4, {{0, 0}}},
      {"more replicas than the replication factor", 4, {{0, 1}}},
      {"no replica", 4, {{}}},
      {"fewer lists than new partitions", 4, {}},
      {"more lists than new partitions", 4, {{0}, {0}}},
  };
  for (const auto& c : cases) {
    auto r = grow("t", c.count, c.replicas);
    EXPECT_EQ(r.error_code, error_code::invalid_replica_assignment) << c.why;
    EXPECT_TRUE(r.error_message.has_value()) << c.why;
    // validate_only checks the assignment the same way.
    EXPECT_EQ(grow("t", c.count, c.replicas, true).error_code,
              error_code::invalid_replica_assignment)
        << c.why;
    EXPECT_EQ(partitions_of("t"), 3) << c.why;
  }
  // A good one passes validate_only, which creates nothing either.
  EXPECT_EQ(grow("t", 4, assignment{{0}}, true).error_code, error_code::none);
  EXPECT_EQ(partitions_of("t"), 3);
  // A count that does not grow the topic is still INVALID_PARTITIONS, whatever the assignment.
  EXPECT_EQ(grow("t", 3, assignment{{9}}).error_code, error_code::invalid_partitions);
}

TEST_F(topic_admin_handler_test, create_topics_refuses_a_bad_assignment_as_kafka_does) {
  const std::vector<std::pair<const char*, assignment>> bad = {
      {"an unknown broker", {{0, 99}}},
      {"another broker alone", {{5}}},
      {"a broker twice", {{0, 0}}},
      {"lists of different lengths", {{0}, {0, 1}}},
      {"no replica", {{}}},
  };
  for (const auto& [why, replicas] : bad) {
    EXPECT_EQ(create("placed", replicas), error_code::invalid_replica_assignment) << why;
    EXPECT_EQ(create("placed", replicas, true), error_code::invalid_replica_assignment) << why;
    EXPECT_EQ(partitions_of("placed"), 0) << why;
  }
  EXPECT_EQ(create("placed", {{0}, {0}}), error_code::none);
  EXPECT_EQ(partitions_of("placed"), 2);
}

}  // namespace
}  // namespace strom::kafka::server
