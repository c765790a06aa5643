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

}  // namespace
}  // namespace strom::cluster
