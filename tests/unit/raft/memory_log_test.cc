#include "strom/raft/memory_log.h"

#include <gtest/gtest.h>

namespace strom::raft {
namespace {

entry data(int64_t index, int64_t t, int64_t kafka, int32_t count = 1) {
  entry e;
  e.index = raft_index(index);
  e.term = term(t);
  e.kind = entry_kind::data;
  e.kafka_base = kafka_offset(kafka);
  e.kafka_count = count;
  return e;
}

TEST(MemoryLog, DataEntriesSpanTheirKafkaOffsets) {
  memory_log_store log;
  ASSERT_TRUE(log.append(std::nullopt, {data(1, 1, 0, 3), data(4, 1, 3, 2)}).has_value());
  EXPECT_EQ(log.last_index(), raft_index(5));
  EXPECT_EQ(log.term_at(raft_index(2)), term(1));
  EXPECT_EQ(log.entries(raft_index(2), 0).front().index, raft_index(1));
  EXPECT_EQ(log.next_kafka_offset(), kafka_offset(5));
}

TEST(MemoryLog, CrashLosesWhatWasNotFlushed) {
  memory_log_store log;
  ASSERT_TRUE(log.append(std::nullopt, {data(1, 1, 0)}).has_value());
  log.begin_flush();
  EXPECT_EQ(log.complete_flush(), raft_index(1));
  ASSERT_TRUE(log.append(std::nullopt, {data(2, 1, 1)}).has_value());
  log.begin_flush();  // never completes
  ASSERT_TRUE(log.append(std::nullopt, {data(3, 1, 2)}).has_value());
  log.crash();
  EXPECT_EQ(log.last_index(), raft_index(1));
  EXPECT_EQ(log.flushed_index(), raft_index(1));
}

TEST(MemoryLog, FlushCompletingAfterATruncationDoesNotOverstate) {
  memory_log_store log;
  ASSERT_TRUE(log.append(std::nullopt, {data(1, 1, 0), data(2, 1, 1), data(3, 1, 2)}).has_value());
  log.begin_flush();  // covers 1..3 of term 1
  ASSERT_TRUE(log.append(raft_index(2), {data(2, 2, 1)}).has_value());
  EXPECT_EQ(log.complete_flush(), raft_index(1));  // 2 was replaced after the flush started
  log.begin_flush();
  EXPECT_EQ(log.complete_flush(), raft_index(2));
  log.crash();
  EXPECT_EQ(log.term_at(raft_index(2)), term(2));
  EXPECT_EQ(log.last_index(), raft_index(2));
}

TEST(MemoryLog, CompactAndInstall) {
  memory_log_store log;
  ASSERT_TRUE(log.append(std::nullopt, {data(1, 1, 0), data(2, 1, 1), data(3, 1, 2)}).has_value());
  snapshot s;
  s.meta = {raft_index(2), term(1), {}, kafka_offset(2)};
  ASSERT_TRUE(log.compact(s).has_value());
  EXPECT_EQ(log.first_index(), raft_index(3));
  EXPECT_EQ(log.term_at(raft_index(2)), term(1));
  EXPECT_FALSE(log.term_at(raft_index(1)).has_value());
  snapshot t;
  t.meta = {raft_index(10), term(3), {}, kafka_offset(8)};
  ASSERT_TRUE(log.install(t).has_value());
  EXPECT_EQ(log.first_index(), raft_index(11));
  EXPECT_EQ(log.last_index(), raft_index(10));
  EXPECT_EQ(log.next_kafka_offset(), kafka_offset(8));
  log.crash();  // both are durable
  EXPECT_EQ(log.last_index(), raft_index(10));
}

}  // namespace
}  // namespace strom::raft
