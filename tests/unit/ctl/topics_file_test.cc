// The topics file of `stromctl apply`: parsing with errors that name the topic and key, the
// export format reading back the same, and the plan against a cluster's topics.
#include "ctl/topics_file.h"

#include <gtest/gtest.h>

namespace strom::ctl {
namespace {

std::string error_of(std::string_view yaml) {
  auto r = parse_topics_file(yaml);
  return r ? std::string() : r.error().detail();
}

TEST(TopicsFile, ParsesTopicsWithDefaultsAndConfigs) {
  auto r = parse_topics_file(R"(
topics:
  - name: clicks
    partitions: 12
    replication_factor: 3
    configs:
      retention.ms: 604800000
      cleanup.policy: delete
  - name: payments
    partitions: 6
)");
  ASSERT_TRUE(r) << r.error().detail();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ(
      (*r)[0],
      (topic_spec{"clicks", 12, 3, {{"cleanup.policy", "delete"}, {"retention.ms", "604800000"}}}));
  EXPECT_EQ((*r)[1], (topic_spec{"payments", 6, -1, {}}));
}

TEST(TopicsFile, BadFilesNameTheTopicAndTheKey) {
  EXPECT_NE(error_of("tpoics: []").find("tpoics"), std::string::npos);
  EXPECT_NE(error_of("topics: {a: 1}").find("list"), std::string::npos);
  EXPECT_NE(error_of("topics:\n  - partitions: 1").find("'name' is required"), std::string::npos);
  auto e = error_of("topics:\n  - name: t\n    partitions: 1\n    replicas: 3");
  EXPECT_NE(e.find("topic t"), std::string::npos);
  EXPECT_NE(e.find("'replicas'"), std::string::npos);
  e = error_of("topics:\n  - name: t\n    partitions: -2");
  EXPECT_NE(e.find("topic t: 'partitions'"), std::string::npos);
  e = error_of("topics:\n  - name: t\n    partitions: 1\n    replication_factor: zero");
  EXPECT_NE(e.find("topic t: 'replication_factor'"), std::string::npos);
  e = error_of("topics:\n  - name: t\n    partitions: 1\n    configs: {retention.ms: [1, 2]}");
  EXPECT_NE(e.find("configs.retention.ms"), std::string::npos);
  EXPECT_NE(error_of("topics:\n  - {name: t, partitions: 1}\n  - {name: t, partitions: 2}")
                .find("named twice"),
            std::string::npos);
  EXPECT_NE(error_of("topics:\n  - {name: 'a b', partitions: 1}").find("legal"), std::string::npos);
  EXPECT_NE(error_of("topics: [").find("not YAML"), std::string::npos);
  EXPECT_FALSE(error_of("topics:\n  - {name: t, partitions: 1, [a]: 1}").empty());
  EXPECT_FALSE(error_of("topics:\n  - {name: t, partitions: 1, configs: {[a]: 1}}").empty());
}

TEST(TopicsFile, TheExportFormatReadsBackTheSame) {
  std::vector<topic_spec> ts = {{"b", 3, 1, {{"retention.ms", "1000"}, {"x.y", "a: b"}}},
                                {"Null", 1, 3, {}}};
  auto text = format_topics_file(ts);
  auto back = parse_topics_file(text);
  ASSERT_TRUE(back) << back.error().detail() << "\n" << text;
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[0], ts[1]);  // in name order
  EXPECT_EQ((*back)[1], ts[0]);
}

TEST(TopicsFile, ThePlanCreatesGrowsAltersAndPrunesOnlyWhenAsked) {
  std::vector<topic_spec> want = {{"new", 2, -1, {}},
                                  {"grow", 4, 1, {}},
                                  {"cfg", 1, -1, {{"retention.ms", "5"}, {"segment.ms", "9000"}}},
                                  {"same", 1, 1, {{"retention.ms", "7"}}}};
  std::vector<live_topic> have = {
      {"grow", 2, 1, {}, false},
      {"cfg", 1, 1, {{"retention.ms", "6"}, {"cleanup.policy", "x"}}, false},
      {"same", 1, 1, {{"retention.ms", "7"}}, false},
      {"extra", 1, 1, {}, false},
      {"__consumer_offsets", 50, 1, {}, true}};
  auto plan = make_plan(want, have, false, 1);
  ASSERT_TRUE(plan) << plan.error().detail();
  ASSERT_EQ(plan->size(), 3u);
  EXPECT_EQ((*plan)[0].what, plan_step::kind::create);
  EXPECT_EQ((*plan)[1].what, plan_step::kind::add_partitions);
  EXPECT_EQ((*plan)[2].what, plan_step::kind::alter_configs);
  EXPECT_NE((*plan)[2].text.find("-cleanup.policy"), std::string::npos);
  EXPECT_NE((*plan)[2].text.find("retention.ms: 6 -> 5"), std::string::npos);
  auto pruned = make_plan(want, have, true, 1);
  ASSERT_TRUE(pruned);
  ASSERT_EQ(pruned->size(), 4u);
  EXPECT_EQ(pruned->back().what, plan_step::kind::remove);
  EXPECT_EQ(pruned->back().spec.name, "extra");  // never the internal topic
  // What the cluster already matches needs nothing.
  std::vector<live_topic> done = {
      {"new", 2, 1, {}, false},
      {"grow", 4, 1, {}, false},
      {"cfg", 1, 1, {{"retention.ms", "5"}, {"segment.ms", "9000"}}, false},
      {"same", 1, 1, {{"retention.ms", "7"}}, false}};
  auto none = make_plan(want, done, true, 1);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST(TopicsFile, FewerPartitionsOrMoreReplicasThanBrokersAreRefused) {
  auto fewer = make_plan({{"t", 2, -1, {}}}, {{"t", 3, 1, {}, false}}, false, 3);
  ASSERT_FALSE(fewer);
  EXPECT_NE(fewer.error().detail().find("topic t: partitions 2"), std::string::npos);
  auto wide = make_plan({{"t", 2, 4, {}}}, {}, false, 3);
  ASSERT_FALSE(wide);
  EXPECT_NE(wide.error().detail().find("topic t: replication_factor 4"), std::string::npos);
  // An existing topic is not checked against the live brokers (one may be down).
  auto down = make_plan({{"t", 2, 3, {}}}, {{"t", 2, 3, {}, false}}, false, 2);
  ASSERT_TRUE(down) << down.error().detail();
  EXPECT_TRUE(down->empty());
  auto rf = make_plan({{"t", 2, 3, {}}}, {{"t", 2, 1, {}, false}}, false, 3);
  ASSERT_TRUE(rf);
  ASSERT_EQ(rf->size(), 1u);
  EXPECT_EQ(rf->front().what, plan_step::kind::change_replication_factor);
}

}  // namespace
}  // namespace strom::ctl
