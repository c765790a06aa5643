#include <gtest/gtest.h>

#include <limits>

#include "strom/cluster/producer_state.h"
#include "strom/cluster/topic_config.h"
#include "strom/cluster/topic_table.h"

namespace strom::cluster {
namespace {

model::batch_header batch(int64_t pid, int16_t epoch, int32_t seq, int32_t records,
                          int64_t base_offset) {
  model::batch_header h;
  h.producer_id = pid;
  h.producer_epoch = epoch;
  h.base_sequence = seq;
  h.records_count = records;
  h.last_offset_delta = records - 1;
  h.base_offset = base_offset;
  return h;
}

TEST(ProducerState, InOrderBatchesRetriesAndGaps) {
  producer_state s;
  auto b0 = batch(7, 0, 0, 3, 0);
  ASSERT_TRUE(s.check(b0));
  EXPECT_FALSE(s.check(b0)->has_value());
  s.record(b0, 0);
  auto b1 = batch(7, 0, 3, 2, 3);
  EXPECT_FALSE(s.check(b1)->has_value());
  s.record(b1, 0);
  // Retries of either batch are recognised, with their offsets.
  auto dup = s.check(batch(7, 0, 0, 3, -1));
  ASSERT_TRUE(dup && dup->has_value());
  EXPECT_EQ((*dup)->base_offset, 0);
  EXPECT_EQ((*dup)->last_offset, 2);
  EXPECT_EQ((*s.check(batch(7, 0, 3, 2, -1)))->base_offset, 3);
  // A gap or a rewind that is not a retry is out of order.
  EXPECT_TRUE(s.check(batch(7, 0, 9, 1, -1)).error().is(producer_errc::out_of_order_sequence));
  EXPECT_TRUE(s.check(batch(7, 0, 1, 1, -1)).error().is(producer_errc::out_of_order_sequence));
}

TEST(ProducerState, OnlyTheLastFiveBatchesAreRemembered) {
  producer_state s;
  for (int i = 0; i < 7; ++i)
    s.record(batch(1, 0, i, 1, i), 0);
  EXPECT_TRUE(s.check(batch(1, 0, 0, 1, -1)).error().is(producer_errc::out_of_order_sequence));
  EXPECT_TRUE(s.check(batch(1, 0, 2, 1, -1))->has_value());
  EXPECT_FALSE(s.check(batch(1, 0, 7, 1, -1))->has_value());
}

TEST(ProducerState, EpochsAndNewProducers) {
  producer_state s;
  // An unknown producer is accepted with any sequence (Kafka 3.x, KIP-360).
  EXPECT_FALSE(s.check(batch(2, 0, 5, 1, -1))->has_value());
  EXPECT_TRUE(s.check(batch(2, 0, -1, 1, -1)).error().is(producer_errc::invalid_sequence));
  s.record(batch(2, 3, 0, 1, 0), 0);
  EXPECT_TRUE(s.check(batch(2, 2, 1, 1, -1)).error().is(producer_errc::invalid_producer_epoch));
  EXPECT_FALSE(s.check(batch(2, 4, 0, 1, -1))->has_value());  // a bumped epoch starts at 0
  EXPECT_TRUE(s.check(batch(2, 4, 1, 1, -1)).error().is(producer_errc::out_of_order_sequence));
  EXPECT_FALSE(s.check(batch(-1, -1, -1, 1, -1))->has_value());  // not idempotent
}

TEST(ProducerState, UnknownProducersAreAcceptedWithAnySequenceAndThenChecked) {
  producer_state s;
  for (int32_t seq : {0, 1, 17, INT32_MAX})
    EXPECT_FALSE(s.check(batch(9, 3, seq, 1, -1))->has_value()) << seq;
  s.record(batch(9, 3, 17, 2, 100), 0);  // seen at 17..18
  EXPECT_FALSE(s.check(batch(9, 3, 19, 1, -1))->has_value());
  EXPECT_TRUE(s.check(batch(9, 3, 21, 1, -1)).error().is(producer_errc::out_of_order_sequence));
  EXPECT_EQ((*s.check(batch(9, 3, 17, 2, -1)))->base_offset, 100);  // a retry
  EXPECT_TRUE(s.check(batch(9, 2, 0, 1, -1)).error().is(producer_errc::invalid_producer_epoch));
  EXPECT_TRUE(s.check(batch(9, 4, 3, 1, -1)).error().is(producer_errc::out_of_order_sequence));
  EXPECT_FALSE(s.check(batch(9, 4, 0, 1, -1))->has_value());
}

TEST(ProducerState, IdleProducersExpire) {
  producer_state s({.expiration_ms = 1000, .max_producers = 100});
  s.record(batch(1, 0, 0, 1, 0), 10'000);
  s.record(batch(2, 0, 0, 1, 1), 10'500);
  s.record(batch(1, 0, 1, 1, 2), 10'600);  // producer 1 appends again
  EXPECT_EQ(s.expire(11'499), 0u);
  EXPECT_EQ(s.expire(11'500), 1u);  // producer 2: idle for 1000 ms
  EXPECT_EQ(s.find(2), nullptr);
  ASSERT_NE(s.find(1), nullptr);
  EXPECT_EQ(s.find(1)->last_seen, 10'600);
  // Forgotten means unknown: its next batch, in sequence or not, is accepted.
  EXPECT_FALSE(s.check(batch(2, 0, 7, 1, -1))->has_value());
  EXPECT_EQ(s.expire(11'600), 1u);
  EXPECT_EQ(s.producers(), 0u);
  // Timestamps at the ends of the range neither overflow nor keep a producer forever.
  s.record(batch(3, 0, 0, 1, 3), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(s.expire(std::numeric_limits<int64_t>::max()), 1u);
  s.set_limits({.expiration_ms = std::numeric_limits<int64_t>::max(), .max_producers = 100});
  s.record(batch(4, 0, 0, 1, 4), 0);
  EXPECT_EQ(s.expire(std::numeric_limits<int64_t>::max() - 1), 0u);
}

TEST(ProducerState, TheMapIsBoundedByEvictingTheLeastRecentlyAppending) {
  producer_state s({.expiration_ms = 86'400'000, .max_producers = 3});
  s.record(batch(1, 0, 0, 1, 0), 1);
  s.record(batch(2, 0, 0, 1, 1), 2);
  s.record(batch(3, 0, 0, 1, 2), 3);
  s.record(batch(1, 0, 1, 1, 3), 4);  // 1 is now the most recent; 2 the least
  s.record(batch(4, 0, 0, 1, 4), 5);  // makes room: 2 goes
  EXPECT_EQ(s.producers(), 3u);
  EXPECT_EQ(s.evicted(), 1u);
  EXPECT_EQ(s.find(2), nullptr);
  EXPECT_NE(s.find(1), nullptr);
  EXPECT_NE(s.find(3), nullptr);
  EXPECT_NE(s.find(4), nullptr);
  // Many more producers than the bound: the map stays at the bound.
  for (int64_t pid = 100; pid < 10'100; ++pid)
    s.record(batch(pid, 0, 0, 1, pid), pid);
  EXPECT_EQ(s.producers(), 3u);
  EXPECT_NE(s.find(10'099), nullptr);
  // A lower bound applies at once.
  s.set_limits({.expiration_ms = 86'400'000, .max_producers = 1});
  EXPECT_EQ(s.producers(), 1u);
  EXPECT_NE(s.find(10'099), nullptr);
}

TEST(ProducerState, SequencesWrapAtInt32Max) {
  producer_state s;
  s.record(batch(3, 0, INT32_MAX - 1, 2, 0), 0);  // INT32_MAX-1, INT32_MAX
  EXPECT_FALSE(s.check(batch(3, 0, 0, 1, -1))->has_value());
}

TEST(TopicConfig, ValidatesNamesAndValues) {
  EXPECT_TRUE(validate_topic_config("retention.ms", "1000"));
  EXPECT_TRUE(validate_topic_config("retention.ms", "-1"));
  EXPECT_FALSE(validate_topic_config("retention.ms", "-2"));
  EXPECT_FALSE(validate_topic_config("retention.ms", "soon"));
  EXPECT_TRUE(validate_topic_config("cleanup.policy", "compact,delete"));
  EXPECT_FALSE(validate_topic_config("cleanup.policy", "sometimes"));
  EXPECT_TRUE(validate_topic_config("no.such.key", "1").error().is(config_errc::unknown_key));
  topic_defaults d;
  auto l = effective_log_config(d, {{"segment.bytes", "2048"}, {"retention.bytes", "10"}});
  EXPECT_EQ(l.segment_bytes, 2048u);
  EXPECT_EQ(l.retention_bytes, 10);
  EXPECT_TRUE(flush_before_ack(d, {}));
  EXPECT_FALSE(flush_before_ack(d, {{"write.caching", "true"}}));
}

TEST(TopicTable, NameRules) {
  EXPECT_TRUE(validate_topic_name("clicks.v1_A-b"));
  EXPECT_FALSE(validate_topic_name(""));
  EXPECT_FALSE(validate_topic_name("."));
  EXPECT_FALSE(validate_topic_name(".."));
  EXPECT_FALSE(validate_topic_name("a b"));
  EXPECT_FALSE(validate_topic_name(std::string(250, 'x')));
  EXPECT_TRUE(validate_topic_name(std::string(249, 'x')));
  EXPECT_TRUE(is_internal_topic("__consumer_offsets"));
}

}  // namespace
}  // namespace strom::cluster
