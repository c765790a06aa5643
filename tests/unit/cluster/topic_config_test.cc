// Topic configs that reach the storage settings: cleanup.policy and the compaction keys.
#include <gtest/gtest.h>

#include "strom/cluster/topic_config.h"

namespace strom::cluster {
namespace {

TEST(TopicConfig, CleanupPolicyReachesTheLogConfig) {
  topic_defaults d;
  auto l = effective_log_config(d, {});
  EXPECT_TRUE(l.cleanup_delete);
  EXPECT_FALSE(l.cleanup_compact);
  l = effective_log_config(d, {{"cleanup.policy", "compact"}});
  EXPECT_FALSE(l.cleanup_delete);
  EXPECT_TRUE(l.cleanup_compact);
  for (const char* both : {"compact,delete", "delete,compact"}) {
    l = effective_log_config(d, {{"cleanup.policy", both}});
    EXPECT_TRUE(l.cleanup_delete);
    EXPECT_TRUE(l.cleanup_compact);
  }
  d.cleanup_policy = "compact";  // the broker default applies without an override
  l = effective_log_config(d, {});
  EXPECT_TRUE(l.cleanup_compact);
  EXPECT_FALSE(l.cleanup_delete);
}

TEST(TopicConfig, CompactionKeysAreValidatedAndApplied) {
  EXPECT_TRUE(validate_topic_config("delete.retention.ms", "1000"));
  EXPECT_FALSE(validate_topic_config("delete.retention.ms", "-1"));
  EXPECT_TRUE(validate_topic_config("min.compaction.lag.ms", "0"));
  EXPECT_TRUE(validate_topic_config("min.cleanable.dirty.ratio", "0.25"));
  EXPECT_FALSE(validate_topic_config("min.cleanable.dirty.ratio", "1.5"));
  EXPECT_FALSE(validate_topic_config("min.cleanable.dirty.ratio", "half"));
  topic_defaults d;
  auto l = effective_log_config(d, {{"delete.retention.ms", "1000"},
                                    {"min.compaction.lag.ms", "2000"},
                                    {"min.cleanable.dirty.ratio", "0.25"}});
  EXPECT_EQ(l.delete_retention_ms, 1000);
  EXPECT_EQ(l.min_compaction_lag_ms, 2000);
  EXPECT_DOUBLE_EQ(l.min_cleanable_dirty_ratio, 0.25);
  auto all = effective_configs(d, {});
  auto find = [&](const std::string& n) {
    for (const auto& e : all) {
      if (e.name == n)
        return e.value;
    }
    return std::string("missing");
  };
  EXPECT_EQ(find("delete.retention.ms"), "86400000");
  EXPECT_EQ(find("min.compaction.lag.ms"), "0");
  EXPECT_EQ(find("min.cleanable.dirty.ratio"), "0.5");
}

TEST(TopicConfig, SegmentAndIndexMinimumsAreEnforcedWithAClearMessage) {
  auto refused = [](const char* k, const char* v) {
    auto s = validate_topic_config(k, v);
    EXPECT_FALSE(s) << k << "=" << v;
    if (s)
      return std::string();
    EXPECT_TRUE(s.error().is(config_errc::invalid_value));
    return s.error().message();
  };
  EXPECT_NE(refused("segment.bytes", "14").find("segment.bytes=14 is below the minimum 1048576"),
            std::string::npos);
  EXPECT_NE(refused("segment.ms", "1").find("segment.ms=1 is below the minimum 1000"),
            std::string::npos);
  EXPECT_NE(refused("segment.index.bytes", "4").find("below the minimum 65536"), std::string::npos);
  refused("segment.bytes", "1048575");
  refused("segment.ms", "999");
  refused("segment.jitter.ms", "-1");
  refused("segment.bytes", "2147483648");
  refused("segment.bytes", "lots");
  EXPECT_TRUE(validate_topic_config("segment.bytes", "1048576"));
  EXPECT_TRUE(validate_topic_config("segment.ms", "1000"));
  EXPECT_TRUE(validate_topic_config("segment.index.bytes", "65536"));
  EXPECT_TRUE(validate_topic_config("segment.jitter.ms", "0"));
  // Kafka's own minimums where they cannot hurt.
  EXPECT_TRUE(validate_topic_config("index.interval.bytes", "0"));
  EXPECT_TRUE(validate_topic_config("max.message.bytes", "0"));

  topic_defaults d;
  auto l = effective_log_config(
      d, {{"segment.index.bytes", "65536"}, {"segment.jitter.ms", "500"}, {"segment.ms", "1000"}});
  EXPECT_EQ(l.index_max_bytes, 65536u);
  EXPECT_EQ(l.segment_jitter_ms, 500);
  EXPECT_EQ(l.segment_ms, 1000);
  bool listed = false;
  for (const auto& e : effective_configs(d, {})) {
    if (e.name == "segment.index.bytes") {
      listed = true;
      EXPECT_EQ(e.value, "10485760");
      EXPECT_EQ(e.broker_synonym, "log.index.size.max.bytes");
    }
  }
  EXPECT_TRUE(listed);
}

TEST(TopicConfig, ClusterWideConfigsGoByTheBrokerSynonyms) {
  EXPECT_TRUE(validate_cluster_config("log.retention.ms", "1000"));
  EXPECT_TRUE(validate_cluster_config("log.cleanup.policy", "compact"));
  EXPECT_TRUE(validate_cluster_config("message.max.bytes", "2000000"));
  auto unknown = validate_cluster_config("retention.ms", "1000");  // the topic name
  ASSERT_FALSE(unknown);
  EXPECT_TRUE(unknown.error().is(config_errc::unknown_key));
  auto bad = validate_cluster_config("log.segment.bytes", "100");
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().is(config_errc::invalid_value));
  EXPECT_NE(bad.error().message().find("log.segment.bytes"), std::string::npos);
  EXPECT_EQ(cluster_defaults_by_topic_name(
                {{"log.retention.ms", "5"}, {"message.max.bytes", "9"}, {"nope", "1"}}),
            (topic_configs{{"max.message.bytes", "9"}, {"retention.ms", "5"}}));
}

}  // namespace
}  // namespace strom::cluster
