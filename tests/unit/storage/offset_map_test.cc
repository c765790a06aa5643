#include <gtest/gtest.h>

#include "strom/storage/errc.h"
#include "strom/storage/offset_map.h"

namespace strom::storage {
namespace {

using model::kafka_next_offset;
using model::kafka_offset;
using model::raft_index;

TEST(offset_map, TranslatesBothWaysAroundInternalEntries) {
  // Kafka: data 0..2, [internal], [internal], data 3..4, [internal], data 5
  // Raft:       0..2,    3,          4,           5..6,   7,          8
  offset_map m;
  m.reset(0);
  EXPECT_EQ(m.add(kafka_next_offset(3))->value(), 3);
  EXPECT_EQ(m.add(kafka_next_offset(3), raft_index(4))->value(), 4);
  EXPECT_EQ(m.add(kafka_next_offset(5))->value(), 7);
  EXPECT_EQ(m.end_delta(), 3);
  EXPECT_EQ(m.to_raft(kafka_offset(0)).value(), 0);
  EXPECT_EQ(m.to_raft(kafka_offset(2)).value(), 2);
  EXPECT_EQ(m.to_raft(kafka_offset(3)).value(), 5);
  EXPECT_EQ(m.to_raft(kafka_offset(4)).value(), 6);
  EXPECT_EQ(m.to_raft(kafka_offset(5)).value(), 8);
  EXPECT_EQ(m.first_index_at(kafka_next_offset(3)).value(), 3);
  EXPECT_EQ(m.first_index_at(kafka_next_offset(4)).value(), 6);
  EXPECT_EQ(m.first_index_at(kafka_next_offset(5)).value(), 7);
  using loc = offset_map::location;
  EXPECT_EQ(m.locate(raft_index(2)), (loc{kafka_next_offset(2), false}));
  EXPECT_EQ(m.locate(raft_index(3)), (loc{kafka_next_offset(3), true}));
  EXPECT_EQ(m.locate(raft_index(4)), (loc{kafka_next_offset(3), true}));
  EXPECT_EQ(m.locate(raft_index(5)), (loc{kafka_next_offset(3), false}));
  EXPECT_EQ(m.locate(raft_index(7)), (loc{kafka_next_offset(5), true}));
  EXPECT_EQ(m.locate(raft_index(8)), (loc{kafka_next_offset(5), false}));
  for (int64_t k = 0; k <= 5; ++k)
    EXPECT_EQ(m.locate(m.to_raft(kafka_offset(k))), (loc{kafka_next_offset(k), false}));
}

TEST(offset_map, RefusesAnIndexThatDoesNotFit) {
  offset_map m;
  m.reset(2);
  auto r = m.add(kafka_next_offset(10), raft_index(11));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::index_mismatch));
  EXPECT_TRUE(m.entries().empty());
  EXPECT_EQ(m.add(kafka_next_offset(10), raft_index(12))->value(), 12);
  EXPECT_FALSE(m.add(kafka_next_offset(9)));  // before the previous entry
}

TEST(offset_map, TruncationsKeepTheDeltasRight) {
  offset_map m;
  m.reset(0);
  ASSERT_TRUE(m.add(kafka_next_offset(3)));  // 3
  ASSERT_TRUE(m.add(kafka_next_offset(3)));  // 4
  ASSERT_TRUE(m.add(kafka_next_offset(6)));  // 8
  m.truncate(raft_index(4));                 // removes the second and third
  EXPECT_EQ(m.entries().size(), 1u);
  EXPECT_EQ(m.end_delta(), 1);
  ASSERT_TRUE(m.add(kafka_next_offset(3)));  // 4 again
  m.truncate_at_position(kafka_next_offset(3));
  EXPECT_TRUE(m.entries().empty());
  EXPECT_EQ(m.end_delta(), 0);
  ASSERT_TRUE(m.add(kafka_next_offset(3)));  // 3
  ASSERT_TRUE(m.add(kafka_next_offset(5)));  // 6
  m.drop_before(raft_index(5));              // the log now starts at Kafka 4 (index 5)
  EXPECT_EQ(m.base_delta(), 1);
  EXPECT_EQ(m.entries().size(), 1u);
  EXPECT_EQ(m.to_raft(kafka_offset(4)).value(), 5);
  EXPECT_EQ(m.to_raft(kafka_offset(5)).value(), 7);
}

}  // namespace
}  // namespace strom::storage
