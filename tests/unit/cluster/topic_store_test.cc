// The topic files: round trips (names up to 249 characters), interrupted writes, and corrupt
// files, which stop the load with an error naming the file instead of terminating.
#include "strom/cluster/topic_store.h"

#include <gtest/gtest.h>

#include "strom/io/memory_file_system.h"

namespace strom::cluster {
namespace {

class topic_store_test : public ::testing::Test {
 protected:
  std::shared_ptr<io::memory_file_system> fs = std::make_shared<io::memory_file_system>();
  std::filesystem::path dir = "data/.strom/topics";

  void put(const std::string& file, const std::string& text) {
    ASSERT_TRUE(fs->create_directories(dir));
    ASSERT_TRUE(fs->write_file_atomic(dir / file, std::as_bytes(std::span(text))));
  }
  /// What a new store over `dir` loads.
  result<topic_map> load() {
    auto s = topic_store::open(fs, dir);
    if (!s)
      return s.error();
    return (*s)->load();
  }
};

TEST_F(topic_store_test, round_trip_of_every_legal_name_length) {
  topic_metadata a{std::string(249, 'n'), 7, 1, {{"cleanup.policy", "compact"}}};
  topic_metadata b{".hidden", 1, 1, {}};
  {
    auto s = topic_store::open(fs, dir);
    ASSERT_TRUE(s) << s.error().message();
    ASSERT_TRUE((*s)->write(a));
    ASSERT_TRUE((*s)->write(b));
    EXPECT_EQ((*s)->dir(), dir);
  }
  auto loaded = load();
  ASSERT_TRUE(loaded) << loaded.error().message();
  ASSERT_EQ(loaded->size(), 2u);
  EXPECT_EQ(loaded->at(a.name), a);
  EXPECT_EQ(loaded->at(b.name), b);
}

TEST_F(topic_store_test, a_write_replaces_and_an_erase_removes_the_file) {
  auto s = topic_store::open(fs, dir);
  ASSERT_TRUE(s);
  topic_metadata m{"orders", 3, 1, {}};
  ASSERT_TRUE((*s)->write(m));
  EXPECT_TRUE(*fs->exists(dir / "orders.topic"));
  m.partitions = 5;
  m.configs = {{"retention.ms", "1000"}};
  ASSERT_TRUE((*s)->write(m));
  auto loaded = (*s)->load();
  ASSERT_TRUE(loaded);
  EXPECT_EQ(*loaded, (topic_map{{"orders", m}}));
  ASSERT_TRUE((*s)->erase("orders"));
  EXPECT_FALSE(*fs->exists(dir / "orders.topic"));
  EXPECT_TRUE((*s)->erase("orders"));  // nothing to erase is fine
  EXPECT_TRUE((*s)->load()->empty());
}

TEST_F(topic_store_test, cluster_configs_round_trip_and_a_damaged_file_is_refused) {
  auto s = topic_store::open(fs, dir);
  ASSERT_TRUE(s);
  auto none = (*s)->load_cluster_configs();
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  topic_configs c{{"log.retention.ms", "5"}, {"log.cleanup.policy", "compact,delete"}};
  ASSERT_TRUE((*s)->write_cluster_configs(c));
  auto back = (*s)->load_cluster_configs();
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, c);
  auto topics = load();  // the topic load ignores the file
  ASSERT_TRUE(topics) << topics.error().message();
  EXPECT_TRUE(topics->empty());
  put("cluster.configs", "config.log.retention.ms=5\ngarbage\n");
  auto damaged = (*s)->load_cluster_configs();
  ASSERT_FALSE(damaged);
  EXPECT_NE(damaged.error().message().find("cluster.configs"), std::string::npos);
}

TEST_F(topic_store_test, leftover_temp_files_are_removed) {
  put("orders.topic", "partitions=2\n");
  put("orders.topic.tmp", "partit");
  put(std::string(251, 'x') + ".tmp", "");
  auto loaded = load();
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_EQ(loaded->size(), 1u);
  EXPECT_EQ(*fs->list(dir), std::vector<std::string>{"orders.topic"});
}

TEST_F(topic_store_test, corrupt_files_fail_the_load_naming_the_file) {
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
    auto t = load();
    ASSERT_FALSE(t);
    EXPECT_TRUE(t.error().is(topic_errc::corrupt_topic_file));
    EXPECT_NE(t.error().message().find((dir / "bad.topic").string()), std::string::npos)
        << t.error().message();
    EXPECT_NE(t.error().message().find(why), std::string::npos) << t.error().message();
    // Nothing was changed on disk: the operator repairs the file and starts again.
    EXPECT_TRUE(*fs->exists(dir / "bad.topic"));
  }
}

TEST_F(topic_store_test, a_file_for_an_invalid_name_is_corrupt) {
  put("a b.topic", "partitions=1\n");
  auto t = load();
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
