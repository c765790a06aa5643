#include <gtest/gtest.h>

#include "strom/raft/message.h"

namespace strom::raft {
namespace {

entry data(int64_t index, int64_t term, size_t bytes = 10) {
  entry e;
  e.index = raft_index(index);
  e.term = raft::term(term);
  e.kafka_count = 1;
  e.payload = std::vector<std::byte>(bytes, std::byte{0x5a});
  return e;
}

/// An append from 1 to `to` of `entries` after (prev, prev_term).
message append(int to, int64_t term, int64_t prev, int64_t prev_term, std::vector<entry> entries,
               int64_t commit) {
  message m;
  m.type = message_type::append;
  m.from = node_id(1);
  m.to = node_id(to);
  m.term = raft::term(term);
  m.prev_index = raft_index(prev);
  m.prev_term = raft::term(prev_term);
  m.entries = std::move(entries);
  m.commit = raft_index(commit);
  return m;
}

message answer(int from, int64_t term, int64_t index, int64_t flushed, int64_t commit,
               bool reject = false) {
  message m;
  m.type = message_type::append_response;
  m.from = node_id(from);
  m.to = node_id(1);
  m.term = raft::term(term);
  m.index = raft_index(index);
  m.flushed = raft_index(flushed);
  m.commit = raft_index(commit);
  m.reject = reject;
  return m;
}

std::vector<int64_t> indexes(const message& m) {
  std::vector<int64_t> out;
  for (const auto& e : m.entries)
    out.push_back(e.index.value());
  return out;
}

TEST(Coalesce, ConsecutiveAppendsToOneFollowerBecomeOne) {
  group_messages b;
  b.emplace_back(7, append(2, 3, 10, 3, {data(11, 3)}, 9));
  b.emplace_back(7, append(2, 3, 11, 3, {data(12, 3), data(13, 3)}, 10));
  b.emplace_back(7, append(2, 3, 13, 3, {}, 11));  // nothing new: the commit only
  EXPECT_EQ(coalesce(b, 1 << 20), 2u);
  ASSERT_EQ(b.size(), 1u);
  const auto& m = b[0].second;
  EXPECT_EQ(m.prev_index, raft_index(10));
  EXPECT_EQ(m.prev_term, raft::term(3));
  EXPECT_EQ(indexes(m), (std::vector<int64_t>{11, 12, 13}));
  EXPECT_EQ(m.commit, raft_index(11));
}

TEST(Coalesce, OtherFollowersAndGroupsStayApartAndInOrder) {
  group_messages b;
  b.emplace_back(7, append(2, 3, 10, 3, {data(11, 3)}, 9));
  b.emplace_back(7, append(3, 3, 10, 3, {data(11, 3)}, 9));
  b.emplace_back(8, append(2, 5, 4, 5, {data(5, 5)}, 4));
  b.emplace_back(7, append(2, 3, 11, 3, {data(12, 3)}, 9));
  b.emplace_back(7, append(3, 3, 11, 3, {data(12, 3)}, 9));
  b.emplace_back(8, append(2, 5, 5, 5, {data(6, 5)}, 5));
  EXPECT_EQ(coalesce(b, 1 << 20), 3u);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].first, 7u);
  EXPECT_EQ(b[0].second.to, node_id(2));
  EXPECT_EQ(indexes(b[0].second), (std::vector<int64_t>{11, 12}));
  EXPECT_EQ(b[1].first, 7u);
  EXPECT_EQ(b[1].second.to, node_id(3));
  EXPECT_EQ(indexes(b[1].second), (std::vector<int64_t>{11, 12}));
  EXPECT_EQ(b[2].first, 8u);
  EXPECT_EQ(indexes(b[2].second), (std::vector<int64_t>{5, 6}));
  EXPECT_EQ(b[2].second.commit, raft_index(5));
}

TEST(Coalesce, AMessageBetweenKeepsTwoAppendsApart) {
  group_messages b;
  b.emplace_back(7, append(2, 3, 10, 3, {data(11, 3)}, 9));
  message hb;
  hb.type = message_type::heartbeat;
  hb.from = node_id(1);
  hb.to = node_id(2);
  hb.term = raft::term(3);
  b.emplace_back(7, hb);
  b.emplace_back(7, append(2, 3, 11, 3, {data(12, 3)}, 9));
  EXPECT_EQ(coalesce(b, 1 << 20), 0u);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[1].second.type, message_type::heartbeat);
}

TEST(Coalesce, AppendsThatDoNotContinueEachOtherStayApart) {
  group_messages b;
  b.emplace_back(7, append(2, 3, 10, 3, {data(11, 3)}, 9));
  b.emplace_back(7, append(2, 3, 8, 2, {data(9, 2)}, 9));    // a probe further back
  b.emplace_back(7, append(2, 3, 9, 3, {data(10, 3)}, 9));   // prev_term differs from 9's
  b.emplace_back(7, append(2, 4, 10, 3, {data(11, 4)}, 9));  // another term
  EXPECT_EQ(coalesce(b, 1 << 20), 0u);
  EXPECT_EQ(b.size(), 4u);
}

TEST(Coalesce, AMergedAppendKeepsToTheByteLimit) {
  group_messages b;
  b.emplace_back(7, append(2, 3, 10, 3, {data(11, 3, 600)}, 9));
  b.emplace_back(7, append(2, 3, 11, 3, {data(12, 3, 300)}, 9));
  b.emplace_back(7, append(2, 3, 12, 3, {data(13, 3, 300)}, 9));
  b.emplace_back(7, append(2, 3, 13, 3, {data(14, 3, 300)}, 9));
  // 648 + 348 fit in 1,100 bytes; a third entry would not: it starts the next append.
  EXPECT_EQ(coalesce(b, 1100), 2u);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(indexes(b[0].second), (std::vector<int64_t>{11, 12}));
  EXPECT_EQ(indexes(b[1].second), (std::vector<int64_t>{13, 14}));
}

TEST(Coalesce, SuccessfulAnswersKeepTheHighestOfEach) {
  group_messages b;
  b.emplace_back(7, answer(2, 3, 12, 10, 9));
  b.emplace_back(7, answer(2, 3, 14, 11, 10));
  b.emplace_back(7, answer(3, 3, 12, 12, 10));
  b.emplace_back(7, answer(2, 3, 13, 13, 10));  // an older append answered late
  EXPECT_EQ(coalesce(b, 1 << 20), 2u);
  ASSERT_EQ(b.size(), 2u);
  const auto& a = b[0].second;
  EXPECT_EQ(a.from, node_id(2));
  EXPECT_EQ(a.index, raft_index(14));
  EXPECT_EQ(a.flushed, raft_index(13));
  EXPECT_EQ(a.commit, raft_index(10));
  EXPECT_EQ(b[1].second.from, node_id(3));
}

TEST(Coalesce, ARejectionIsNeverMerged) {
  group_messages b;
  b.emplace_back(7, answer(2, 3, 12, 10, 9));
  b.emplace_back(7, answer(2, 3, 8, 0, 9, true));
  b.emplace_back(7, answer(2, 3, 12, 12, 9));
  b.emplace_back(7, answer(2, 4, 12, 12, 9));  // another term
  EXPECT_EQ(coalesce(b, 1 << 20), 0u);
  ASSERT_EQ(b.size(), 4u);
  EXPECT_TRUE(b[1].second.reject);
}

}  // namespace
}  // namespace strom::raft
