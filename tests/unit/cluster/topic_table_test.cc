// The topic table as a view fed by commands: applied in revision order, each at most once;
// refused commands consumed all the same; deletes remove, config updates replace; readers'
// snapshots never change under them.
#include "strom/cluster/topic_table.h"

#include <gtest/gtest.h>

#include <vector>

namespace strom::cluster {
namespace {

topic_revision rev(int64_t v) {
  return topic_revision(v);
}

TEST(topic_table, starts_from_the_loaded_topics_at_revision_zero) {
  topic_table empty;
  EXPECT_TRUE(empty.snapshot()->empty());
  EXPECT_EQ(empty.revision(), rev(0));

  topic_metadata a{std::string(249, 'n'), 7, 1, {{"cleanup.policy", "compact"}}};
  topic_table t(topic_map{{a.name, a}});
  EXPECT_EQ(t.revision(), rev(0));
  EXPECT_EQ(t.snapshot()->at(a.name), a);
  EXPECT_TRUE(t.claims(model::ntp{a.name, model::partition_id(0)}));
  EXPECT_TRUE(t.claims(model::ntp{a.name, model::partition_id(6)}));
  EXPECT_FALSE(t.claims(model::ntp{a.name, model::partition_id(7)}));
  EXPECT_FALSE(t.claims(model::ntp{a.name, model::partition_id(-1)}));
  EXPECT_FALSE(t.claims(model::ntp{"other", model::partition_id(0)}));
}

TEST(topic_table, commands_apply_in_order) {
  topic_table t;
  topic_metadata a{"a", 3, 1, {}};
  topic_metadata b{"b", 1, 1, {{"retention.ms", "1000"}}};
  ASSERT_TRUE(t.apply(rev(1), create_topic_cmd{a}));
  ASSERT_TRUE(t.apply(rev(2), create_topic_cmd{b}));
  EXPECT_EQ(*t.snapshot(), (topic_map{{"a", a}, {"b", b}}));
  ASSERT_TRUE(t.apply(rev(3), create_partitions_cmd{"a", 5}));
  ASSERT_TRUE(t.apply(rev(4), set_topic_configs_cmd{"a", {{"cleanup.policy", "compact"}}}));
  ASSERT_TRUE(t.apply(rev(5), delete_topic_cmd{"b"}));
  EXPECT_EQ(t.revision(), rev(5));
  auto snap = t.snapshot();
  ASSERT_EQ(snap->size(), 1u);
  EXPECT_EQ(snap->at("a"), (topic_metadata{"a", 5, 1, {{"cleanup.policy", "compact"}}}));
  EXPECT_TRUE(t.claims(model::ntp{"a", model::partition_id(4)}));
  EXPECT_FALSE(t.claims(model::ntp{"b", model::partition_id(0)}));
}

TEST(topic_table, an_applied_revision_is_refused_and_changes_nothing) {
  topic_table t;
  ASSERT_TRUE(t.apply(rev(1), create_topic_cmd{{"a", 2, 1, {}}}));
  auto before = t.snapshot();
  // The same change again, another change at the same revision, an older one.
  const std::vector<std::pair<topic_revision, topic_command>> replays = {
      {rev(1), create_topic_cmd{{"a", 2, 1, {}}}},
      {rev(1), delete_topic_cmd{"a"}},
      {rev(1), create_partitions_cmd{"a", 4}},
      {rev(0), set_topic_configs_cmd{"a", {{"retention.ms", "1"}}}},
      {rev(-5), create_topic_cmd{{"z", 1, 1, {}}}},
  };
  for (const auto& [r, cmd] : replays) {
    SCOPED_TRACE(r.value());
    auto s = t.apply(r, cmd);
    ASSERT_FALSE(s);
    EXPECT_TRUE(s.error().is(topic_errc::stale_revision)) << s.error().message();
    EXPECT_EQ(t.revision(), rev(1));
    EXPECT_EQ(t.snapshot(), before);  // not even a new copy
  }
}

TEST(topic_table, refused_commands_are_consumed) {
  // What replicas applying the same commands in the same order need: the revision moves
  // with every command, the topics only with those that fit.
  const std::vector<std::pair<topic_command, topic_errc>> refused = {
      {create_topic_cmd{{"a", 9, 1, {}}}, topic_errc::exists},
      {create_topic_cmd{{"zero", 0, 1, {}}}, topic_errc::invalid_partitions},
      {create_topic_cmd{{"huge", max_partitions_hard_limit + 1, 1, {}}},
       topic_errc::invalid_partitions},
      {delete_topic_cmd{"missing"}, topic_errc::not_found},
      {create_partitions_cmd{"missing", 4}, topic_errc::not_found},
      {create_partitions_cmd{"a", 2}, topic_errc::invalid_partitions},  // as many as now
      {create_partitions_cmd{"a", 1}, topic_errc::invalid_partitions},  // fewer
      {create_partitions_cmd{"a", max_partitions_hard_limit + 1}, topic_errc::invalid_partitions},
      {set_topic_configs_cmd{"missing", {}}, topic_errc::not_found},
  };
  topic_table t;
  ASSERT_TRUE(t.apply(rev(1), create_topic_cmd{{"a", 2, 1, {}}}));
  auto before = *t.snapshot();
  int64_t r = 1;
  for (const auto& [cmd, why] : refused) {
    SCOPED_TRACE(r);
    auto s = t.apply(rev(++r), cmd);
    ASSERT_FALSE(s);
    EXPECT_TRUE(s.error().is(why)) << s.error().message();
    EXPECT_EQ(t.revision(), rev(r));
    EXPECT_EQ(*t.snapshot(), before);
  }
  // A consumed revision is applied: delivering it again is a replay.
  auto s = t.apply(rev(2), delete_topic_cmd{"a"});
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().is(topic_errc::stale_revision));
  EXPECT_TRUE(t.snapshot()->contains("a"));
  // The next one applies.
  ASSERT_TRUE(t.apply(rev(r + 1), create_partitions_cmd{"a", max_partitions_hard_limit}));
  EXPECT_EQ(t.snapshot()->at("a").partitions, max_partitions_hard_limit);
}

TEST(topic_table, revisions_may_skip_numbers_but_never_go_back) {
  topic_table t;
  ASSERT_TRUE(t.apply(rev(10), create_topic_cmd{{"a", 1, 1, {}}}));
  ASSERT_TRUE(t.apply(rev(12), create_topic_cmd{{"b", 1, 1, {}}}));
  EXPECT_EQ(t.revision(), rev(12));
  // 11 came too late: it is refused like a replay.
  auto s = t.apply(rev(11), create_topic_cmd{{"c", 1, 1, {}}});
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().is(topic_errc::stale_revision));
  EXPECT_FALSE(t.snapshot()->contains("c"));
  EXPECT_EQ(t.revision(), rev(12));
}

TEST(topic_table, deletes_remove_and_a_recreated_topic_is_new) {
  topic_table t;
  ASSERT_TRUE(t.apply(rev(1), create_topic_cmd{{"a", 8, 1, {{"retention.ms", "5"}}}}));
  ASSERT_TRUE(t.apply(rev(2), delete_topic_cmd{"a"}));
  EXPECT_FALSE(t.snapshot()->contains("a"));
  EXPECT_FALSE(t.claims(model::ntp{"a", model::partition_id(0)}));
  // Deleted once: deleting again is refused.
  EXPECT_TRUE(t.apply(rev(3), delete_topic_cmd{"a"}).error().is(topic_errc::not_found));
  // A topic of the same name has only what its own create says.
  ASSERT_TRUE(t.apply(rev(4), create_topic_cmd{{"a", 2, 1, {}}}));
  EXPECT_EQ(t.snapshot()->at("a"), (topic_metadata{"a", 2, 1, {}}));
  EXPECT_FALSE(t.claims(model::ntp{"a", model::partition_id(2)}));
}

TEST(topic_table, config_updates_replace_the_overrides) {
  topic_table t;
  ASSERT_TRUE(t.apply(rev(1), create_topic_cmd{{"a", 3, 1, {{"retention.ms", "1"}}}}));
  ASSERT_TRUE(t.apply(rev(2), set_topic_configs_cmd{"a", {{"segment.ms", "60000"}}}));
  EXPECT_EQ(t.snapshot()->at("a").configs, (topic_configs{{"segment.ms", "60000"}}));
  ASSERT_TRUE(t.apply(rev(3), set_topic_configs_cmd{"a", {}}));
  EXPECT_TRUE(t.snapshot()->at("a").configs.empty());
  // Nothing else of the topic changes.
  EXPECT_EQ(t.snapshot()->at("a").partitions, 3);
  EXPECT_EQ(t.snapshot()->at("a").replication_factor, 1);
}

TEST(topic_table, a_snapshot_never_changes_under_its_reader) {
  topic_table t;
  ASSERT_TRUE(t.apply(rev(1), create_topic_cmd{{"a", 1, 1, {}}}));
  auto old = t.snapshot();
  ASSERT_TRUE(t.apply(rev(2), create_partitions_cmd{"a", 2}));
  ASSERT_TRUE(t.apply(rev(3), create_topic_cmd{{"b", 1, 1, {}}}));
  ASSERT_TRUE(t.apply(rev(4), delete_topic_cmd{"a"}));
  EXPECT_EQ(*old, (topic_map{{"a", {"a", 1, 1, {}}}}));
  EXPECT_EQ(*t.snapshot(), (topic_map{{"b", {"b", 1, 1, {}}}}));
}

}  // namespace
}  // namespace strom::cluster
