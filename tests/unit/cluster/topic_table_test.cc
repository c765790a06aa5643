// The topic table's files: round trips (names up to 249 characters), interrupted writes, and
// corrupt files, which stop the open with an error naming the file instead of terminating.
#include "strom/cluster/topic_table.h"

#include <gtest/gtest.h>

#include "strom/io/memory_file_system.h"

namespace strom::cluster {
namespace {

class topic_table_test : public ::testing::Test {
 protected:
  std::shared_ptr<io::memory_file_system> fs = std::make_shared<io::memory_file_system>();
  std::filesystem::path dir = "data/.strom/topics";

  void put(const std::string& file, const std::string& text) {
    ASSERT_TRUE(fs->create_directories(dir));
    ASSERT_TRUE(fs->write_file_atomic(dir / file, std::as_bytes(std::span(text))));
  }
};

TEST_F(topic_table_test, round_trip_of_every_legal_name_length) {
  topic_metadata a{std::string(249, 'n'), 7, 1, {{"cleanup.policy", "compact"}}};
  topic_metadata b{".hidden", 1, 1, {}};
  {
    auto t = topic_table::open(fs, dir);
    ASSERT_TRUE(t);
    ASSERT_TRUE((*t)->create(a));
    ASSERT_TRUE((*t)->create(b));
    EXPECT_FALSE((*t)->create(a));  // exists
    EXPECT_TRUE((*t)->claims(model::ntp{a.name, model::partition_id(6)}));
    EXPECT_FALSE((*t)->claims(model::ntp{a.name, model::partition_id(7)}));
    EXPECT_FALSE((*t)->claims(model::ntp{"other", model::partition_id(0)}));
  }
  auto t = topic_table::open(fs, dir);
  ASSERT_TRUE(t) << t.error().message();
  auto snap = (*t)->snapshot();
  ASSERT_EQ(snap->size(), 2u);
  EXPECT_EQ(snap->at(a.name), a);
  EXPECT_EQ(snap->at(b.name), b);
  ASSERT_TRUE((*t)->remove(a.name));
  EXPECT_FALSE(*fs->exists(dir / (a.name + ".topic")));
  EXPECT_FALSE((*t)->snapshot()->contains(a.name));
}

TEST_F(topic_table_test, file_and_snapshot_change_in_separate_steps) {
  auto t = topic_table::open(fs, dir);
  ASSERT_TRUE(t);
  topic_metadata m{"orders", 3, 1, {}};
  ASSERT_TRUE((*t)->write(m));
  EXPECT_FALSE((*t)->snapshot()->contains("orders"));
  (*t)->publish(m);
  EXPECT_TRUE((*t)->snapshot()->contains("orders"));
  (*t)->unpublish("orders");
  EXPECT_FALSE((*t)->snapshot()->contains("orders"));
  EXPECT_TRUE(*fs->exists(dir / "orders.topic"));
  ASSERT_TRUE((*t)->erase("orders"));
  EXPECT_FALSE(*fs->exists(dir / "orders.topic"));
  EXPECT_TRUE((*t)->erase("orders"));  // nothing to erase is fine
}

TEST_F(topic_table_test, leftover_temp_files_are_removed) {
  put("orders.topic", "partitions=2\n");
  put("orders.topic.tmp", "partit");
  put(std::string(251, 'x') + ".tmp", "");
  auto t = topic_table::open(fs, dir);
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ((*t)->snapshot()->size(), 1u);
  EXPECT_EQ(*fs->list(dir), std::vector<std::string>{"orders.topic"});
}

TEST_F(topic_table_test, corrupt_files_fail_the_open_naming_the_file) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "no partitions line"},
      {"replication_factor=1\n", "no partitions line"},
      {"partitions=abc\n", "partitions \"abc\""},
      {"partitions=\n", "partitions \"\""},
      {"partitions=-3\n", "partitions \"-3\""},
      {"partitions=0\n", "partitions \"0\""},
      {"partitions=99999999999999999999999\n", "partitions \"99999999999999999999999\""},
      {"partitions=2147483648\n", "partitions \"2147483648\""},
      {"partitions=100001\n", "partitions \"100001\""},
      {"partitions=12abc\n", "partitions \"12abc\""},
      {"partitions= 3\n", "partitions \" 3\""},
      {"partitions=3\nreplication_factor=40000\n", "replication_factor \"40000\""},
      {"partitions=3\nreplication_factor=x\n", "replication_factor \"x\""},
      {"partitions=3\ngarbage\n", "line 2: expected key=value"},
      {"=3\n", "line 1: expected key=value"},
  };
  for (const auto& [text, why] : cases) {
    SCOPED_TRACE(text);
    ASSERT_TRUE(fs->remove_all(dir));
    put("good.topic", "partitions=1\n");
    put("bad.topic", text);
    auto t = topic_table::open(fs, dir);
    ASSERT_FALSE(t);
    EXPECT_TRUE(t.error().is(topic_errc::corrupt_topic_file));
    EXPECT_NE(t.error().message().find((dir / "bad.topic").string()), std::string::npos)
        << t.error().message();
    EXPECT_NE(t.error().message().find(why), std::string::npos) << t.error().message();
    // Nothing was changed on disk: the operator repairs the file and starts again.
    EXPECT_TRUE(*fs->exists(dir / "bad.topic"));
  }
}

TEST_F(topic_table_test, a_file_for_an_invalid_name_is_corrupt) {
  put("a b.topic", "partitions=1\n");
  auto t = topic_table::open(fs, dir);
  ASSERT_FALSE(t);
  EXPECT_TRUE(t.error().is(topic_errc::corrupt_topic_file));
}

TEST(parse_topic_file, extremes_and_unknown_keys) {
  auto m = parse_topic_file("t",
                            "partitions=100000\nreplication_factor=32767\nfuture=1\n"
                            "config.retention.ms=-1\n");
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->partitions, 100000);
  EXPECT_EQ(m->replication_factor, 32767);
  EXPECT_EQ(m->configs.at("retention.ms"), "-1");
}

}  // namespace
}  // namespace strom::cluster
