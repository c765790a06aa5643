// Housekeeping over real partitions on two shards, its ticks timers of the manual clock that
// the test advances: each shard's tick goes over the partitions it owns (segments roll by age, only
// those old enough), and a compaction it starts runs off the shard and is swapped in on the owner
// shard.
#include "strom/cluster/housekeeping.h"

#include <gtest/gtest.h>

#include <set>

#include "unit/cluster/local_node.h"

namespace strom::cluster {
namespace {

using namespace std::chrono_literals;
using test::ntp;

class housekeeping_test : public test::local_node {
 public:
  std::unique_ptr<housekeeping> upkeep;

  void SetUp() override {
    local_node::SetUp();
    upkeep = std::make_unique<housekeeping>(*manager, clk);
  }
  void before_release() override {
    if (upkeep)
      upkeep->release_shard_objects();
  }
  size_t segments(const model::ntp& n) {
    return read(n, [](partition* p) { return p ? p->log().segment_count() : size_t{0}; });
  }
  /// Waits up to 10 s for `cond`, moving the clock by 1 ms between looks (the ticks).
  template <typename F>
  bool ticking_until(F cond) {
    return eventually([&] {
      clk.advance(1ms);
      return cond();
    });
  }
  uint64_t size(const model::ntp& n) {
    return read(n, [](partition* p) { return p ? p->size_bytes() : uint64_t{0}; });
  }
};

TEST_F(housekeeping_test, every_shard_rolls_the_segments_of_its_partitions_by_age) {
  rt->start();
  topic_metadata aged{"aged", 8, 1, {{"segment.ms", "1000"}}};
  topic_metadata young{"young", 8, 1, {{"segment.ms", "60000"}}};
  for (const auto& t : {aged, young}) {
    ASSERT_TRUE(run(manager->make_partitions(t, 0)));
    for (int32_t p = 0; p < t.partitions; ++p)
      produce(ntp(t.name, p), 1);
  }
  clk.advance(2s);
  upkeep->start(1ms, 1h);
  EXPECT_EQ(clk.pending(), rt->count());  // one tick armed per shard, none run yet
  std::set<size_t> shards;
  for (int32_t p = 0; p < aged.partitions; ++p) {
    auto n = ntp("aged", p);
    shards.insert(manager->shard_of(n));
    EXPECT_TRUE(ticking_until([&] { return segments(n) == 2; }))
        << p << " on shard " << manager->shard_of(n);
  }
  EXPECT_EQ(shards.size(), rt->count());
  // The ticks that rolled those went over every partition of their shard: the young ones
  // stay as they are.
  for (int32_t p = 0; p < young.partitions; ++p)
    EXPECT_EQ(segments(ntp("young", p)), 1u) << p;
}

TEST_F(housekeeping_test, a_due_compaction_runs_and_is_swapped_in_on_the_owner_shard) {
  rt->start();
  topic_metadata t{"compacted", 2, 1, {{"cleanup.policy", "compact"}, {"segment.ms", "1000"}}};
  ASSERT_TRUE(run(manager->make_partitions(t, 0)));
  // Twenty versions of one key in a segment that the next tick rolls.
  for (int32_t p = 0; p < 2; ++p)
    produce(ntp("compacted", p), 20, 1000);
  auto before = size(ntp("compacted", 0));
  ASSERT_GT(before, 20'000u);
  clk.advance(2s);
  upkeep->start(1ms, 1h);
  for (int32_t p = 0; p < 2; ++p) {
    auto n = ntp("compacted", p);
    // Rolled, flushed, compacted: one version of the key is left in the closed segment.
    EXPECT_TRUE(ticking_until([&] { return size(n) < before / 4; }))
        << p << ": " << size(n) << " bytes of " << before;
    // The first batch left is the newest version, offset 19.
    auto first = read(n, [](partition* part) {
      auto r = part->read(model::kafka_offset(0), 1 << 20, true);
      auto bytes = r ? r->copy() : result<std::vector<std::byte>>(r.error());
      if (!bytes || bytes->size() < 8)
        return int64_t{-1};
      int64_t base = 0;
      for (size_t i = 0; i < 8; ++i)
        base = (base << 8) | std::to_integer<int64_t>((*bytes)[i]);
      return base;
    });
    EXPECT_EQ(first, 19) << p;
  }
}

TEST_F(housekeeping_test, time_that_does_not_move_brings_no_tick_and_release_cancels_them) {
  rt->start();
  topic_metadata aged{"aged", 2, 1, {{"segment.ms", "1000"}}};
  ASSERT_TRUE(run(manager->make_partitions(aged, 0)));
  for (int32_t p = 0; p < aged.partitions; ++p)
    produce(ntp("aged", p), 1);
  upkeep->start(10s, 1h);
  // The segments are old enough, but no tick is due: none runs (timers run only inside
  // advance(), on this thread).
  clk.advance(2s);
  EXPECT_EQ(clk.pending(), rt->count());
  for (int32_t p = 0; p < aged.partitions; ++p)
    EXPECT_EQ(segments(ntp("aged", p)), 1u) << p;
  clk.advance(8s);  // the ticks are due: they run on their shards
  for (int32_t p = 0; p < aged.partitions; ++p)
    EXPECT_TRUE(eventually([&] { return segments(ntp("aged", p)) == 2; })) << p;
  rt->stop();
  upkeep->release_shard_objects();
  EXPECT_EQ(clk.pending(), 0u);
}

}  // namespace
}  // namespace strom::cluster
