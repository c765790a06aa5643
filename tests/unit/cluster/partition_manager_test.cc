// The partition manager alone, without topic files: partitions spread over the shards and
// touched only on their own, made (with their logs) and dropped (keeping the logs), loaded
// from a topic map, config changes pushed to every partition, and the monitoring view
// gathered from every shard.
#include "strom/cluster/partition_manager.h"

#include <gtest/gtest.h>

#include <set>
#include <span>
#include <string>

#include "unit/cluster/local_node.h"

namespace strom::cluster {
namespace {

using test::ntp;

class partition_manager_test : public test::local_node {};

TEST_F(partition_manager_test, partitions_are_spread_over_shards_and_used_on_their_own) {
  rt->start();
  topic_metadata t{"spread", 16, 1, {}};
  ASSERT_TRUE(run(manager->make_partitions(t, 0)));
  std::vector<size_t> per_shard(rt->count());
  for (int32_t p = 0; p < t.partitions; ++p) {
    auto n = ntp(t.name, p);
    auto shard = manager->shard_of(n);
    ASSERT_LT(shard, rt->count());
    EXPECT_EQ(manager->shard_of(n), shard);  // stable
    ++per_shard[shard];
    // The callback runs on the owner shard, which finds the partition there.
    auto where = read(n, [r = rt.get()](partition* part) {
      return part == nullptr ? size_t{999} : r->current_shard();
    });
    EXPECT_EQ(where, shard) << n.dir_name();
  }
  for (size_t s = 0; s < per_shard.size(); ++s)
    EXPECT_GT(per_shard[s], 0u) << "shard " << s << " owns nothing";
  // Each shard visits exactly the partitions it owns.
  size_t visited = 0;
  for (size_t s = 0; s < rt->count(); ++s) {
    auto visit = [](partition_manager* m, size_t shard) -> awaitable<std::vector<model::ntp>> {
      std::vector<model::ntp> seen;
      m->for_each_local(shard, [&seen](partition& p) { seen.push_back(p.name()); });
      co_return seen;
    };
    auto seen = run(visit(manager.get(), s), s);
    EXPECT_EQ(seen.size(), per_shard[s]);
    for (const auto& n : seen)
      EXPECT_EQ(manager->shard_of(n), s) << n.dir_name();
    visited += seen.size();
  }
  EXPECT_EQ(visited, 16u);
  // An unknown partition is nullptr on its shard.
  EXPECT_FALSE(read(ntp("spread", 16), [](partition* p) { return p != nullptr; }));
  EXPECT_FALSE(read(ntp("other", 0), [](partition* p) { return p != nullptr; }));
}

TEST_F(partition_manager_test, dropped_partitions_keep_their_logs_and_come_back_with_their_data) {
  rt->start();
  topic_metadata t{"t", 4, 1, {}};
  ASSERT_TRUE(run(manager->make_partitions(t, 0)));
  for (int32_t p = 0; p < 4; ++p)
    produce(ntp("t", p), p + 1);
  run(manager->drop_partitions("t", 1, 3));
  auto hw = [this](int32_t p) {
    return read(ntp("t", p),
                [](partition* part) { return part ? part->high_watermark().value() : -1; });
  };
  EXPECT_EQ(hw(0), 1);
  EXPECT_EQ(hw(1), -1);
  EXPECT_EQ(hw(2), -1);
  EXPECT_EQ(hw(3), 4);
  EXPECT_NE(logs->get(ntp("t", 1)), nullptr);  // the log manager still has the logs
  EXPECT_NE(logs->get(ntp("t", 2)), nullptr);
  // Made again from the logs that exist: the data is there.
  ASSERT_TRUE(run(manager->make_partitions(t, 1)));
  EXPECT_EQ(hw(1), 2);
  EXPECT_EQ(hw(2), 3);
  // More partitions: only the new ones are made, empty.
  t.partitions = 6;
  ASSERT_TRUE(run(manager->make_partitions(t, 4)));
  EXPECT_EQ(hw(3), 4);
  EXPECT_EQ(hw(4), 0);
  EXPECT_EQ(hw(5), 0);
  EXPECT_EQ(logs->partitions().size(), 6u);
}

TEST_F(partition_manager_test, load_makes_every_partition_of_a_topic_map) {
  topic_map topics{{"a", {"a", 3, 1, {}}}, {"b", {"b", 2, 1, {{"cleanup.policy", "compact"}}}}};
  ASSERT_TRUE(manager->load(topics));  // before the shards start
  rt->start();
  EXPECT_EQ(logs->partitions().size(), 5u);
  for (const auto& [name, t] : topics) {
    for (int32_t p = 0; p < t.partitions; ++p) {
      auto compact = read(ntp(name, p), [](partition* part) {
        return part == nullptr ? -1 : part->log().config().cleanup_compact ? 1 : 0;
      });
      EXPECT_EQ(compact, name == "b" ? 1 : 0) << name << "-" << p;
    }
  }
}

TEST_F(partition_manager_test, config_changes_reach_every_partition) {
  rt->start();
  topic_metadata t{"c", 5, 1, {}};
  ASSERT_TRUE(run(manager->make_partitions(t, 0)));
  t.configs = {{"segment.ms", "60000"}, {"message.timestamp.type", "LogAppendTime"}};
  run(manager->update_configs(t));
  for (int32_t p = 0; p < 5; ++p) {
    auto seen = read(ntp("c", p), [](partition* part) {
      return std::pair(part->log().config().segment_ms, part->settings().log_append_time);
    });
    EXPECT_EQ(seen, std::pair(int64_t{60000}, true)) << p;
  }
  // Back to the defaults.
  t.configs = {};
  run(manager->update_configs(t));
  auto seen = read(ntp("c", 0), [](partition* part) {
    return std::pair(part->log().config().segment_ms, part->settings().log_append_time);
  });
  EXPECT_EQ(seen, std::pair(defaults.log.segment_ms, false));
}

TEST_F(partition_manager_test, partition_infos_gather_every_shard) {
  rt->start();
  ASSERT_TRUE(run(manager->make_partitions(topic_metadata{"x", 5, 1, {}}, 0)));
  ASSERT_TRUE(run(manager->make_partitions(topic_metadata{"y", 2, 1, {}}, 0)));
  produce(ntp("x", 3), 7);
  auto infos = run(manager->partition_infos(), 1);
  std::set<model::ntp> names;
  for (const auto& i : infos) {
    names.insert(i.name);
    EXPECT_TRUE(i.online);
    EXPECT_EQ(i.log_start, 0);
    EXPECT_EQ(i.high_watermark, i.name == ntp("x", 3) ? 7 : 0) << i.name.dir_name();
    if (i.name == ntp("x", 3)) {
      EXPECT_GT(i.size_bytes, 0u);
    }
  }
  EXPECT_EQ(infos.size(), 7u);
  EXPECT_EQ(names.size(), 7u);
}

// A leader reports its in-sync replicas when the controller records another set for its
// leadership, looking once a second: not a whole set where none is recorded (which stands for
// every live replica), not to a controller that records another leadership, and the same set
// at most every 5 s in a term.
TEST_F(partition_manager_test, replicas_made_before_the_lost_ones_are_restored_start_rebuilding) {
  // A broker that started without its controller state (the marker) makes the replicas it is
  // assigned as ones that may replace replicas it lost: they start rebuilding. Once it holds
  // all of them, new replicas (a new topic's) lost nothing.
  ASSERT_TRUE(fs->create_directories("meta").has_value());
  std::string note = "lost\n";
  ASSERT_TRUE(fs->write_file_atomic("meta/replicas-lost", std::as_bytes(std::span(note))));
  partition_manager::replication_config rc;
  rc.self = 1;
  rc.fs = fs.get();
  rc.lost_replicas_marker = "meta/replicas-lost";
  manager->enable_replication(rc);
  rt->start();
  auto rebuilding = [this](const std::string& topic) {
    return read(ntp(topic, 0), [](partition* p) {
      auto r = p ? p->replica() : std::nullopt;
      return r ? std::optional(r->rebuilding) : std::nullopt;
    });
  };
  topic_metadata held{"held", 1, 3, {}, topic_uuid{std::byte{1}}, {{1, 2, 3}}};
  ASSERT_TRUE(run(manager->make_partitions(held, 0)));
  EXPECT_EQ(rebuilding("held"), std::optional(true));
  manager->replicas_restored();
  EXPECT_FALSE(*fs->exists("meta/replicas-lost"));
  topic_metadata fresh{"fresh", 1, 3, {}, topic_uuid{std::byte{2}}, {{1, 2, 3}}};
  ASSERT_TRUE(run(manager->make_partitions(fresh, 0)));
  EXPECT_EQ(rebuilding("fresh"), std::optional(false));
}

TEST(isr_report, ReportsADifferingSetOnceASecondAtMostAndTheSameSetEveryFiveSeconds) {
  using std::chrono::milliseconds;
  std::chrono::steady_clock::time_point t0{std::chrono::hours(1)};
  using ids = std::vector<int32_t>;
  isr_report r;
  // The controller records no set (empty): a whole set needs no report, a smaller one does.
  EXPECT_FALSE(r.due(t0, 4, ids{1, 2, 3}, ids{}, true));
  EXPECT_FALSE(r.due(t0 + milliseconds(999), 4, ids{1, 2}, ids{}, false)) << "within the second";
  EXPECT_TRUE(r.due(t0 + milliseconds(1000), 4, ids{1, 2}, ids{}, false));
  // Not recorded yet: the same set again after 1 s is held back until 5 s passed.
  auto t1 = t0 + milliseconds(1000);
  EXPECT_FALSE(r.due(t1 + milliseconds(1000), 4, ids{1, 2}, ids{}, false));
  EXPECT_FALSE(r.due(t1 + milliseconds(4000), 4, ids{1, 2}, ids{}, false));
  EXPECT_TRUE(r.due(t1 + milliseconds(5000), 4, ids{1, 2}, ids{}, false));
  auto t2 = t1 + milliseconds(5000);
  // Recorded: nothing more, whatever the time.
  EXPECT_FALSE(r.due(t2 + milliseconds(1000), 4, ids{1, 2}, ids{1, 2}, false));
  EXPECT_FALSE(r.due(t2 + milliseconds(60000), 4, ids{1, 2}, ids{1, 2}, false));
  auto t3 = t2 + milliseconds(60000);
  // Another set goes at once (a second after the last look), and so does the whole set back.
  EXPECT_TRUE(r.due(t3 + milliseconds(1000), 4, ids{1}, ids{1, 2}, false));
  EXPECT_TRUE(r.due(t3 + milliseconds(2000), 4, ids{1, 2, 3}, ids{1}, true));
  // The same set in a new term is a new report.
  EXPECT_TRUE(r.due(t3 + milliseconds(3000), 5, ids{1, 2, 3}, ids{1}, true));
  // The controller records another leadership (nullopt), or the set is empty: nothing.
  EXPECT_FALSE(r.due(t3 + milliseconds(10000), 6, ids{2, 3}, std::nullopt, false));
  EXPECT_FALSE(r.due(t3 + milliseconds(11000), 6, ids{}, ids{2, 3}, false));
  // A whole set of a replica set still moving is reported where none is recorded.
  isr_report m;
  EXPECT_TRUE(m.due(t0, 7, ids{1, 2, 3, 4}, ids{}, false));
}

}  // namespace
}  // namespace strom::cluster
