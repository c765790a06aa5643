#include <gtest/gtest.h>

#include "strom/io/memory_file_system.h"
#include "strom/storage/epoch_cache.h"

namespace strom::storage {
namespace {

using model::kafka_next_offset;
using model::kafka_offset;
using model::leader_epoch;

TEST(EpochCache, AssignTruncateAndPersist) {
  io::memory_file_system fs;
  ASSERT_TRUE(fs.create_directories("p"));
  epoch_cache c(&fs, "p/leader-epoch-checkpoint");
  ASSERT_TRUE(c.load());
  EXPECT_FALSE(c.latest());
  ASSERT_TRUE(c.assign(leader_epoch(1), kafka_offset(0)));
  ASSERT_TRUE(c.assign(leader_epoch(1), kafka_offset(5)));  // not newer: ignored
  ASSERT_TRUE(c.assign(leader_epoch(2), kafka_offset(10)));
  ASSERT_TRUE(c.assign(leader_epoch(4), kafka_offset(20)));
  EXPECT_EQ(c.entries().size(), 3u);
  EXPECT_EQ(c.epoch_for(kafka_offset(15))->value(), 2);
  EXPECT_EQ(c.end_offset_for(leader_epoch(3), kafka_next_offset(30))->start.value(), 20);
  EXPECT_EQ(c.end_offset_for(leader_epoch(4), kafka_next_offset(30))->start.value(), 30);

  epoch_cache reloaded(&fs, "p/leader-epoch-checkpoint");
  ASSERT_TRUE(reloaded.load());
  EXPECT_EQ(reloaded.entries(), c.entries());

  ASSERT_TRUE(c.truncate_from_end(kafka_next_offset(20)));
  EXPECT_EQ(c.latest()->value(), 2);
  ASSERT_TRUE(c.truncate_from_start(kafka_offset(12)));
  ASSERT_EQ(c.entries().size(), 1u);
  EXPECT_EQ(c.entries()[0].start.value(), 12);
  epoch_cache again(&fs, "p/leader-epoch-checkpoint");
  ASSERT_TRUE(again.load());
  EXPECT_EQ(again.entries(), c.entries());
}

TEST(EpochCache, CorruptCheckpointIsAnError) {
  io::memory_file_system fs;
  ASSERT_TRUE(fs.create_directories("p"));
  std::string junk = "0\n2\n5 10\n3 20\n";  // epochs must increase
  ASSERT_TRUE(fs.write_file_atomic("p/c", std::as_bytes(std::span(junk))));
  epoch_cache c(&fs, "p/c");
  EXPECT_FALSE(c.load());
}

}  // namespace
}  // namespace strom::storage
