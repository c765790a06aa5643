// The topics front end's changes over a real partition manager, log manager, topic store and
// table and shard runtime on an in-memory file system: name lengths up to Kafka's 249 characters,
// partition limits, crash safety at every step of create, delete and create-partitions (the memory
// file system's crash() after an injected failure), transient failures rolled back, concurrent
// changes of one name, the file work kept off the shard threads, the table fed in revision
// order, and a client's replica assignments (on a single node: this broker alone).
#include "strom/cluster/topics_frontend.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <set>

#include "strom/io/fault_file_system.h"
#include "strom/io/memory_file_system.h"
#include "strom/model/validated_batch.h"
#include "support/batches.h"

namespace strom::cluster {
namespace {

namespace asio = net::asio;
using namespace std::chrono_literals;

/// Passes every call through; counts mutating calls made on a shard thread, and can hold
/// directory fsyncs until released.
class watching_file_system final : public io::file_system {
 public:
  explicit watching_file_system(std::shared_ptr<io::file_system> inner)
      : inner_(std::move(inner)) {}

  std::function<bool()> on_shard;  ///< true when the caller is a shard thread
  std::atomic<uint64_t> on_shard_calls{0};

  /// From now on sync_directory blocks until release().
  void hold() {
    std::lock_guard lock(mu_);
    held_ = true;
    holding_ = 0;
  }
  void release() {
    {
      std::lock_guard lock(mu_);
      held_ = false;
    }
    cv_.notify_all();
  }
  /// Waits until a sync_directory call is being held.
  bool wait_held(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return holding_ > 0; });
  }

  result<std::shared_ptr<io::file>> open(const std::filesystem::path& p,
                                         io::open_mode mode) override {
    if (mode == io::open_mode::create || mode == io::open_mode::create_new)
      note();
    return inner_->open(p, mode);
  }
  result<bool> exists(const std::filesystem::path& p) override { return inner_->exists(p); }
  result<std::vector<std::string>> list(const std::filesystem::path& d) override {
    return inner_->list(d);
  }
  result<bool> is_directory(const std::filesystem::path& p) override {
    return inner_->is_directory(p);
  }
  status create_directories(const std::filesystem::path& p) override {
    note();
    return inner_->create_directories(p);
  }
  status remove(const std::filesystem::path& p) override {
    note();
    return inner_->remove(p);
  }
  status remove_all(const std::filesystem::path& p) override {
    note();
    return inner_->remove_all(p);
  }
  status rename(const std::filesystem::path& a, const std::filesystem::path& b) override {
    note();
    return inner_->rename(a, b);
  }
  status sync_directory(const std::filesystem::path& d) override {
    note();
    std::unique_lock lock(mu_);
    if (held_) {
      ++holding_;
      cv_.notify_all();
      cv_.wait(lock, [&] { return !held_; });
    }
    return inner_->sync_directory(d);
  }
  status sync_file_system(const std::filesystem::path& p) override {
    return inner_->sync_file_system(p);
  }
  result<uint64_t> free_space(const std::filesystem::path& p) override {
    return inner_->free_space(p);
  }

 private:
  void note() {
    if (on_shard && on_shard())
      ++on_shard_calls;
  }
  std::shared_ptr<io::file_system> inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false;
  int holding_ = 0;
};

class topics_frontend_test : public ::testing::Test {
 public:
  std::shared_ptr<io::memory_file_system> mem = std::make_shared<io::memory_file_system>();
  std::shared_ptr<io::fault_file_system> faults = std::make_shared<io::fault_file_system>(mem);
  std::shared_ptr<watching_file_system> fs = std::make_shared<watching_file_system>(faults);
  manual_clock clk;
  topic_defaults defaults;
  topics_frontend::options fopts;
  std::unique_ptr<topic_store> store;
  std::unique_ptr<topic_table> topics;
  std::unique_ptr<storage::log_manager> logs;
  std::unique_ptr<net::shard_runtime> rt;
  std::unique_ptr<partition_manager> manager;
  std::unique_ptr<topics_frontend> frontend;

  void SetUp() override {
    defaults.log.retention_ms = -1;  // test batches carry old timestamps
    fopts.max_partitions_per_topic = 50;
    fopts.max_partitions_per_broker = 120;
    open();
  }
  void TearDown() override { close(); }

  void open() {
    auto s = topic_store::open(fs, "data/.strom/topics");
    ASSERT_TRUE(s) << s.error().message();
    store = std::move(*s);
    auto loaded = store->load();
    ASSERT_TRUE(loaded) << loaded.error().message();
    topics = std::make_unique<topic_table>(std::move(*loaded));
    storage::log_manager::options lo;
    lo.data_dirs = {"data"};
    lo.fs = fs;
    lo.clk = &clk;
    lo.defaults = defaults.log;
    lo.claimed = [table = topics.get()](const model::ntp& n) { return table->claims(n); };
    auto l = storage::log_manager::open(lo);
    ASSERT_TRUE(l) << l.error().message();
    logs = std::move(*l);
    rt = std::make_unique<net::shard_runtime>(2);
    manager = std::make_unique<partition_manager>(*rt, *logs, defaults, clk);
    ASSERT_TRUE(manager->load(*topics->snapshot()));
    frontend = std::make_unique<topics_frontend>(*manager, *store, *topics, fopts);
    rt->start();
    fs->on_shard = [r = rt.get()] { return r->current_shard() < r->count(); };
  }
  void stop_shards() {
    fs->on_shard = nullptr;
    rt->stop();
    frontend->stop();
    manager->release_shard_objects();
    logs->wait_flushes();  // flush completions post to the shards' executors
    rt.reset();
    frontend.reset();
    manager.reset();
    topics.reset();
    store.reset();
  }
  /// A clean stop.
  void close() {
    if (!rt)
      return;
    stop_shards();
    EXPECT_TRUE(logs->shutdown());
    logs.reset();
  }
  /// A power cut: no clean-shutdown marker, unsynced bytes gone.
  void crash() {
    stop_shards();
    logs.reset();
    mem->crash();
    faults->fail_ops_after(-1);
    faults->fail_one_op_after(-1);
  }

  template <typename T>
  T run(awaitable<T> a, size_t shard = 0) {
    std::promise<T> p;
    auto f = p.get_future();
    asio::co_spawn(rt->executor(shard), std::move(a),
                   [&p](std::exception_ptr, T v) { p.set_value(std::move(v)); });
    return f.get();
  }
  status create(const std::string& name, int32_t partitions, bool validate_only = false) {
    return run(frontend->create_topic(topic_metadata{name, partitions, 1, {}}, validate_only));
  }
  status remove(const std::string& name) { return run(frontend->delete_topic(name)); }

  /// Appends `records` records to every partition of `name` and makes them durable.
  void produce(const std::string& name, int32_t partitions, int records) {
    for (int32_t p = 0; p < partitions; ++p) {
      auto ok = run(manager->on_partition(
          model::ntp{name, model::partition_id(p)}, [records](partition* part) {
            if (part == nullptr)
              return false;
            auto b = strom::test::make_batch(records);
            auto valid = model::validate_for_append(
                b, part->validation_policy(model::append_origin::internal));
            return valid.has_value() && part->append(*valid).has_value() &&
                   part->log().flush().has_value();
          }));
      ASSERT_TRUE(ok) << name << "-" << p;
    }
  }
  /// The high watermark of each partition of `name` (-1 where there is no partition object).
  std::vector<int64_t> ends(const std::string& name, int32_t partitions) {
    std::vector<int64_t> out;
    for (int32_t p = 0; p < partitions; ++p) {
      out.push_back(
          run(manager->on_partition(model::ntp{name, model::partition_id(p)}, [](partition* part) {
            return part ? part->high_watermark().value() : int64_t{-1};
          })));
    }
    return out;
  }
  /// Partition directories (or markers) of `name` in the data directory.
  std::vector<std::string> dirs_of(const std::string& name) {
    std::vector<std::string> out;
    auto names = mem->list("data");
    for (const auto& e : *names) {
      if (e.starts_with(name + "-") || e.starts_with(name.substr(0, 200) + "-"))
        out.push_back(e);
    }
    return out;
  }
  bool has_topic_file(const std::string& name) {
    return *mem->exists("data/.strom/topics/" + name + ".topic");
  }
  /// Either the whole topic with `partitions` partitions (each holding `records`), or
  /// nothing of it, in memory and on disk.
  void expect_all_or_nothing(const std::string& name, int32_t partitions, int records,
                             const std::string& step) {
    SCOPED_TRACE(step);
    auto snap = topics->snapshot();
    if (snap->contains(name)) {
      EXPECT_TRUE(has_topic_file(name));
      EXPECT_EQ(snap->at(name).partitions, partitions);
      EXPECT_EQ(dirs_of(name).size(), static_cast<size_t>(partitions));
      EXPECT_EQ(ends(name, partitions), std::vector<int64_t>(partitions, records));
    } else {
      EXPECT_FALSE(has_topic_file(name));
      EXPECT_TRUE(dirs_of(name).empty()) << dirs_of(name).front();
      EXPECT_EQ(ends(name, partitions), std::vector<int64_t>(partitions, -1));
    }
  }
};

TEST_F(topics_frontend_test, cluster_wide_configs_reach_every_topic_without_its_own) {
  ASSERT_TRUE(create("plain", 2));
  ASSERT_TRUE(create("own", 1));
  ASSERT_TRUE(run(frontend->set_topic_configs("own", {{"retention.ms", "777"}}, false)));
  auto config_of = [&](const std::string& name, int32_t p) {
    return run(manager->on_partition(model::ntp{name, model::partition_id(p)},
                                     [](partition* part) { return part->log().config(); }));
  };
  // Refused: a name that is not a dynamic cluster-wide config, a bad value, a topic name.
  auto bad = run(frontend->set_cluster_configs({{"num.io.threads", "8"}}, {}, true, false));
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().is(config_errc::unknown_key));
  EXPECT_NE(bad.error().message().find("log.retention.ms"), std::string::npos);
  EXPECT_FALSE(run(frontend->set_cluster_configs({{"log.segment.bytes", "12"}}, {}, true, false)));
  EXPECT_FALSE(run(frontend->set_cluster_configs({{"retention.ms", "12"}}, {}, true, false)));
  // validate_only changes nothing.
  ASSERT_TRUE(run(frontend->set_cluster_configs({{"log.retention.ms", "1"}}, {}, true, true)));
  EXPECT_TRUE(frontend->cluster_configs().empty());
  EXPECT_EQ(config_of("plain", 0).retention_ms, -1);

  topic_configs set{{"log.retention.ms", "123456"}, {"log.segment.bytes", "2097152"}};
  ASSERT_TRUE(run(frontend->set_cluster_configs(set, {}, true, false)));
  EXPECT_EQ(frontend->cluster_configs(), set);
  for (int32_t p = 0; p < 2; ++p) {
    EXPECT_EQ(config_of("plain", p).retention_ms, 123456);
    EXPECT_EQ(config_of("plain", p).segment_bytes, 2097152u);
  }
  EXPECT_EQ(config_of("own", 0).retention_ms, 777);  // its own override wins
  EXPECT_EQ(config_of("own", 0).segment_bytes, 2097152u);
  // A topic created later takes them too.
  ASSERT_TRUE(create("later", 1));
  EXPECT_EQ(config_of("later", 0).retention_ms, 123456);
  // They are kept: a restart finds them.
  close();
  open();
  auto kept = store->load_cluster_configs();
  ASSERT_TRUE(kept) << kept.error().message();
  EXPECT_EQ(*kept, set);
  // Removing one (AlterConfigs replaces the set) brings the broker's default back.
  frontend->load_cluster_configs(*kept);
  ASSERT_TRUE(
      run(frontend->set_cluster_configs({{"log.segment.bytes", "2097152"}}, {}, true, false)));
  EXPECT_EQ(config_of("plain", 1).retention_ms, -1);
  EXPECT_EQ(config_of("plain", 1).segment_bytes, 2097152u);
  // Incremental: one name set, one removed, the others kept.
  ASSERT_TRUE(
      run(frontend->set_cluster_configs({{"log.retention.ms", "99999"}}, {}, false, false)));
  EXPECT_EQ(frontend->cluster_configs(),
            (topic_configs{{"log.retention.ms", "99999"}, {"log.segment.bytes", "2097152"}}));
  ASSERT_TRUE(run(frontend->set_cluster_configs({}, {"log.segment.bytes"}, false, false)));
  EXPECT_EQ(frontend->cluster_configs(), (topic_configs{{"log.retention.ms", "99999"}}));
  EXPECT_EQ(config_of("plain", 1).retention_ms, 99999);
}

TEST_F(topics_frontend_test, every_legal_name_length_works_end_to_end) {
  for (size_t len : {1, 200, 245, 246, 247, 248, 249}) {
    std::string name(len, 'a' + static_cast<char>(len % 26));
    SCOPED_TRACE(len);
    ASSERT_TRUE(create(name, 12)) << len;
    EXPECT_TRUE(has_topic_file(name));
    produce(name, 12, 3);
    EXPECT_EQ(ends(name, 12), std::vector<int64_t>(12, 3));
    ASSERT_TRUE(remove(name));
    EXPECT_TRUE(dirs_of(name).empty());
    EXPECT_FALSE(has_topic_file(name));
    ASSERT_TRUE(create(name, 12));  // recreated empty
    EXPECT_EQ(ends(name, 12), std::vector<int64_t>(12, 0));
  }
  std::string longest(249, 'a' + 249 % 26);
  auto s = create(longest, 1);
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().is(topic_errc::exists));
  s = create(longest + "z", 1);
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().is(topic_errc::invalid_name));
  // They all survive a restart, with their data.
  produce(longest, 12, 2);
  close();
  open();
  EXPECT_EQ(ends(longest, 12), std::vector<int64_t>(12, 2));
  EXPECT_EQ(topics->snapshot()->size(), 7u);
}

TEST_F(topics_frontend_test, many_partitions_of_a_249_character_name) {
  fopts.max_partitions_per_topic = 100000;
  fopts.max_partitions_per_broker = 200000;
  close();
  open();
  std::string name(249, 'p');
  ASSERT_TRUE(create(name, 1));
  ASSERT_TRUE(run(frontend->create_partitions(name, 1001, false)));
  EXPECT_EQ(ends(name, 1001).back(), 0);
  EXPECT_TRUE(*mem->exists("data/" + name + "-1000"));  // 254 bytes
  ASSERT_TRUE(remove(name));
  EXPECT_TRUE(dirs_of(name).empty());
  // 100000 partitions of this name would need `-99999`: 255 bytes, the longest that fits
  // (log_manager_test creates that directory); the hard limit keeps every name within it.
  EXPECT_EQ(name.size() + std::string("-99999").size(), io::max_name_bytes);
  auto s = create(name, max_partitions_hard_limit + 1);
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().is(topic_errc::invalid_partitions));
}

TEST_F(topics_frontend_test, partition_limits_are_checked_before_anything_is_created) {
  auto s = create("big", 51);
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().is(topic_errc::invalid_partitions)) << s.error().message();
  EXPECT_NE(s.error().message().find("max_partitions_per_topic"), std::string::npos);
  EXPECT_TRUE(create("big", 51, true).error().is(topic_errc::invalid_partitions));
  EXPECT_TRUE(create("big", 0).error().is(topic_errc::invalid_partitions));
  EXPECT_TRUE(create("big", 100000).error().is(topic_errc::invalid_partitions));
  EXPECT_TRUE(create("big", INT32_MAX).error().is(topic_errc::invalid_partitions));
  ASSERT_TRUE(create("a", 50));
  ASSERT_TRUE(create("b", 50));
  s = create("c", 21);  // 121 > 120
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().is(topic_errc::partition_limit)) << s.error().message();
  EXPECT_NE(s.error().message().find("max_partitions_per_broker"), std::string::npos);
  EXPECT_TRUE(create("c", 21, true).error().is(topic_errc::partition_limit));
  EXPECT_TRUE(dirs_of("c").empty());
  EXPECT_TRUE(dirs_of("big").empty());
  EXPECT_FALSE(has_topic_file("c"));
  ASSERT_TRUE(create("c", 20));  // exactly 120
  // CreatePartitions: the per-topic count, then the broker total.
  EXPECT_TRUE(
      run(frontend->create_partitions("c", 51, false)).error().is(topic_errc::invalid_partitions));
  EXPECT_TRUE(
      run(frontend->create_partitions("c", 21, false)).error().is(topic_errc::partition_limit));
  EXPECT_TRUE(
      run(frontend->create_partitions("c", 21, true)).error().is(topic_errc::partition_limit));
  EXPECT_EQ(dirs_of("c").size(), 20u);
  ASSERT_TRUE(remove("a"));
  ASSERT_TRUE(run(frontend->create_partitions("c", 50, false)));
  EXPECT_EQ(ends("c", 50), std::vector<int64_t>(50, 0));
  // Internal topics are created whatever the limits.
  ASSERT_TRUE(
      run(frontend->create_topic(topic_metadata{"__consumer_offsets", 60, 1, {}}, false, true)));
  EXPECT_EQ(dirs_of("__consumer_offsets").size(), 60u);
}

TEST_F(topics_frontend_test, a_single_node_takes_an_assignment_of_itself_alone) {
  close();
  fopts.node_id = 4;
  open();
  using assignment = std::vector<std::vector<int32_t>>;
  ASSERT_TRUE(create("t", 2));
  // CreatePartitions: one list per new partition, each this broker alone.
  for (const auto& bad : {assignment{{0}}, assignment{{4}, {4}}, assignment{{4, 4}}}) {
    auto s = run(frontend->create_partitions("t", 3, false, bad));
    ASSERT_FALSE(s);
    EXPECT_TRUE(s.error().is(topic_errc::invalid_replica_assignment)) << s.error().message();
    EXPECT_TRUE(run(frontend->create_partitions("t", 3, true, bad))
                    .error()
                    .is(topic_errc::invalid_replica_assignment));
  }
  EXPECT_EQ(topics->snapshot()->at("t").partitions, 2);
  EXPECT_EQ(dirs_of("t").size(), 2u);
  auto s = run(frontend->create_partitions("t", 3, false, assignment{{0}}));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(),
            "invalid replica assignment: partition 2: broker 0 is not registered");
  ASSERT_TRUE(run(frontend->create_partitions("t", 4, false, assignment{{4}, {4}})));
  EXPECT_EQ(dirs_of("t").size(), 4u);
  EXPECT_EQ(ends("t", 4), std::vector<int64_t>(4, 0));
  EXPECT_TRUE(topics->snapshot()->at("t").replicas.empty());  // every partition here
  // CreateTopics: the same, checked before the replication factor it implies.
  topic_metadata u{"u", 2, 2, {}};
  u.replicas = {{4, 0}, {4, 0}};
  s = run(frontend->create_topic(u, false));
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().is(topic_errc::invalid_replica_assignment)) << s.error().message();
  u.replication_factor = 1;
  u.replicas = {{4}, {3}};
  EXPECT_TRUE(
      run(frontend->create_topic(u, true)).error().is(topic_errc::invalid_replica_assignment));
  EXPECT_FALSE(has_topic_file("u"));
  u.replicas = {{4}, {4}};
  ASSERT_TRUE(run(frontend->create_topic(u, false)));
  EXPECT_EQ(dirs_of("u").size(), 2u);
  EXPECT_TRUE(topics->snapshot()->at("u").replicas.empty());
}

/// Runs `prepare`, then fails the k-th mutating file operation of `change` and every later
/// one (a crash at that step), cuts the power, restarts, checks `check`, and goes on with k+1
/// until the change runs to its end without reaching the failure.
template <typename Prepare, typename Change, typename Check>
void at_every_step(topics_frontend_test& t, io::fault_file_system& faults, Prepare prepare,
                   Change change, Check check) {
  for (int64_t k = 0;; ++k) {
    prepare();
    auto before = faults.ops();
    faults.fail_ops_after(k);
    auto s = change();
    faults.fail_ops_after(-1);
    bool reached_the_end = faults.ops() - before <= static_cast<uint64_t>(k);
    t.crash();  // also when it succeeded: what it acknowledged must survive
    t.open();
    check(k, s);
    if (reached_the_end) {
      EXPECT_TRUE(s) << s.error().message();
      return;
    }
    ASSERT_LT(k, 1000);
  }
}

TEST_F(topics_frontend_test, a_crash_at_any_step_of_a_create_leaves_all_or_nothing) {
  std::string name(249, 'c');
  int steps = 0;
  at_every_step(
      *this, *faults, [] {}, [&] { return create(name, 6); },
      [&](int64_t k, const status& s) {
        ++steps;
        expect_all_or_nothing(name, 6, 0, "crash at step " + std::to_string(k));
        if (!s && topics->snapshot()->contains(name)) {
          ASSERT_TRUE(remove(name));  // committed before the crash: start over
        }
        if (!s) {
          // A retry after the restart works and starts empty.
          ASSERT_TRUE(create(name, 6));
          EXPECT_EQ(ends(name, 6), std::vector<int64_t>(6, 0));
          ASSERT_TRUE(remove(name));
        }
      });
  EXPECT_GT(steps, 10);
  EXPECT_TRUE(topics->snapshot()->contains(name));
}

TEST_F(topics_frontend_test, a_failed_step_of_a_create_is_rolled_back_at_once) {
  std::string name(249, 't');
  for (int64_t k = 0;; ++k) {
    SCOPED_TRACE(k);
    faults->fail_one_op_after(k);
    auto s = create(name, 6);
    faults->fail_one_op_after(-1);
    if (s)
      break;
    EXPECT_FALSE(topics->snapshot()->contains(name));
    EXPECT_FALSE(has_topic_file(name));
    EXPECT_TRUE(dirs_of(name).empty());
    EXPECT_EQ(logs->partitions().size(), 0u);
    EXPECT_EQ(ends(name, 6), std::vector<int64_t>(6, -1));
    ASSERT_LT(k, 1000);
  }
  EXPECT_EQ(ends(name, 6), std::vector<int64_t>(6, 0));
  EXPECT_EQ(dirs_of(name).size(), 6u);
}

TEST_F(topics_frontend_test, a_crash_at_any_step_of_a_delete_never_revives_old_data) {
  std::string name(247, 'd');
  at_every_step(
      *this, *faults,
      [&] {
        if (!topics->snapshot()->contains(name)) {
          ASSERT_TRUE(create(name, 5));
          produce(name, 5, 4);
        }
      },
      [&] { return remove(name); },
      [&](int64_t k, const status& s) {
        expect_all_or_nothing(name, 5, 4, "crash at step " + std::to_string(k));
        if (s) {
          EXPECT_FALSE(topics->snapshot()->contains(name));
        }
        if (!topics->snapshot()->contains(name)) {
          // Recreated: empty, never the old data.
          ASSERT_TRUE(create(name, 5));
          EXPECT_EQ(ends(name, 5), std::vector<int64_t>(5, 0));
          ASSERT_TRUE(remove(name));
        }
      });
}

TEST_F(topics_frontend_test, a_failed_step_of_a_delete_keeps_the_topic_or_deletes_it) {
  for (int64_t k = 0;; ++k) {
    SCOPED_TRACE(k);
    if (!topics->snapshot()->contains("t")) {
      ASSERT_TRUE(create("t", 4));
      produce("t", 4, 3);
    }
    faults->fail_one_op_after(k);
    auto s = remove("t");
    faults->fail_one_op_after(-1);
    if (!s) {
      // Not deleted: still there, whole.
      EXPECT_TRUE(topics->snapshot()->contains("t"));
      EXPECT_TRUE(has_topic_file("t"));
      EXPECT_EQ(ends("t", 4), std::vector<int64_t>(4, 3));
      continue;
    }
    EXPECT_FALSE(has_topic_file("t"));
    EXPECT_EQ(ends("t", 4), std::vector<int64_t>(4, -1));
    // Whatever directory a failed removal left behind, a new topic starts empty.
    ASSERT_TRUE(create("t", 4));
    EXPECT_EQ(ends("t", 4), std::vector<int64_t>(4, 0));
    EXPECT_EQ(dirs_of("t").size(), 4u) << ::testing::PrintToString(dirs_of("t"));
    if (k > 40)
      break;
    produce("t", 4, 3);
  }
}

TEST_F(topics_frontend_test, a_crash_at_any_step_of_create_partitions_keeps_old_or_new_count) {
  ASSERT_TRUE(create("grow", 2));
  produce("grow", 2, 5);
  at_every_step(
      *this, *faults, [] {}, [&] { return run(frontend->create_partitions("grow", 5, false)); },
      [&](int64_t k, const status& s) {
        SCOPED_TRACE(k);
        auto count = topics->snapshot()->at("grow").partitions;
        EXPECT_EQ(count, s ? 5 : count);
        ASSERT_TRUE(count == 2 || count == 5) << count;
        EXPECT_EQ(dirs_of("grow").size(), static_cast<size_t>(count));
        auto e = ends("grow", count);
        EXPECT_EQ(e[0], 5);
        EXPECT_EQ(e[1], 5);
        if (count == 5) {
          EXPECT_EQ(e[4], 0);
          if (!s) {
            // Committed before the crash; the next attempt starts from 2 again.
            ASSERT_TRUE(remove("grow"));
            ASSERT_TRUE(create("grow", 2));
            produce("grow", 2, 5);
          }
        }
      });
}

TEST_F(topics_frontend_test, concurrent_changes_of_one_name_never_leave_half_a_topic) {
  // Creates, deletes and partition increases of one name from both shards at once.
  for (int round = 0; round < 30; ++round) {
    std::vector<std::future<status>> done;
    for (int i = 0; i < 6; ++i) {
      std::promise<status> p;
      done.push_back(p.get_future());
      auto op = i % 3 == 0   ? frontend->create_topic(topic_metadata{"race", 8, 1, {}}, false)
                : i % 3 == 1 ? frontend->delete_topic("race")
                             : frontend->create_partitions("race", 9 + round, false);
      asio::co_spawn(rt->executor(i % 2), std::move(op),
                     [p = std::make_shared<std::promise<status>>(std::move(p))](
                         std::exception_ptr, status s) { p->set_value(std::move(s)); });
    }
    for (auto& f : done)
      (void)f.get();
    auto snap = topics->snapshot();
    if (snap->contains("race")) {
      auto n = snap->at("race").partitions;
      EXPECT_EQ(dirs_of("race").size(), static_cast<size_t>(n));
      EXPECT_EQ(ends("race", n), std::vector<int64_t>(n, 0));
      EXPECT_EQ(logs->partitions().size(), static_cast<size_t>(n));
    } else {
      EXPECT_TRUE(dirs_of("race").empty());
      EXPECT_TRUE(logs->partitions().empty());
    }
  }
  close();
  open();  // and the same after a restart
  auto n = topics->snapshot()->contains("race") ? topics->snapshot()->at("race").partitions : 0;
  EXPECT_EQ(logs->partitions().size(), static_cast<size_t>(n));
}

TEST_F(topics_frontend_test, topic_file_work_never_runs_on_a_shard_thread) {
  fs->on_shard_calls = 0;
  ASSERT_TRUE(create("t", 40));
  ASSERT_TRUE(run(frontend->create_partitions("t", 50, false)));
  ASSERT_TRUE(run(frontend->set_topic_configs("t", {{"retention.ms", "1000"}}, false)));
  ASSERT_TRUE(remove("t"));
  EXPECT_EQ(fs->on_shard_calls.load(), 0u);
}

TEST_F(topics_frontend_test, shards_keep_serving_while_a_create_waits_on_the_disk) {
  fs->hold();
  std::promise<status> created;
  auto f = created.get_future();
  asio::co_spawn(rt->executor(0), frontend->create_topic(topic_metadata{"slow", 30, 1, {}}, false),
                 [&created](std::exception_ptr, status s) { created.set_value(std::move(s)); });
  ASSERT_TRUE(fs->wait_held(10s));
  // The create is stuck in a directory fsync; every shard still runs other work.
  for (size_t shard = 0; shard < rt->count(); ++shard) {
    std::promise<void> ran;
    auto r = ran.get_future();
    asio::post(rt->executor(shard), [&ran] { ran.set_value(); });
    EXPECT_EQ(r.wait_for(10s), std::future_status::ready) << "shard " << shard << " is blocked";
  }
  // A second topic change waits for its turn, without blocking a shard either.
  std::promise<status> second;
  auto g = second.get_future();
  asio::co_spawn(rt->executor(1), frontend->create_topic(topic_metadata{"next", 1, 1, {}}, false),
                 [&second](std::exception_ptr, status s) { second.set_value(std::move(s)); });
  EXPECT_EQ(f.wait_for(50ms), std::future_status::timeout);
  fs->release();
  EXPECT_TRUE(f.get());
  EXPECT_TRUE(g.get());
  EXPECT_EQ(ends("slow", 30), std::vector<int64_t>(30, 0));
}

TEST_F(topics_frontend_test, a_stop_during_a_create_leaves_nothing_behind) {
  fs->hold();
  asio::co_spawn(rt->executor(0),
                 frontend->create_topic(topic_metadata{"stopped", 30, 1, {}}, false),
                 asio::detached);
  ASSERT_TRUE(fs->wait_held(10s));
  std::thread releaser([this] {
    std::this_thread::sleep_for(20ms);
    fs->release();
  });
  close();  // waits for the create's file work, which rolls itself back
  releaser.join();
  open();
  EXPECT_FALSE(topics->snapshot()->contains("stopped"));
  EXPECT_TRUE(dirs_of("stopped").empty()) << dirs_of("stopped").front();
}

TEST_F(topics_frontend_test, the_table_moves_one_revision_per_committed_change) {
  auto at = [this] { return topics->revision().value(); };
  ASSERT_EQ(at(), 0);
  ASSERT_TRUE(create("t", 2));
  EXPECT_EQ(at(), 1);
  // Checks alone, refusals and failures leave the table where it is.
  ASSERT_TRUE(create("u", 2, true));
  EXPECT_FALSE(create("t", 2));
  EXPECT_FALSE(run(frontend->create_partitions("t", 2, false)));
  EXPECT_FALSE(run(frontend->set_topic_configs("t", {{"retention.ms", "x"}}, false)));
  EXPECT_FALSE(remove("u"));
  faults->fail_one_op_after(0);
  EXPECT_FALSE(create("v", 2));
  faults->fail_one_op_after(-1);
  EXPECT_EQ(at(), 1);
  ASSERT_EQ(topics->snapshot()->size(), 1u);
  auto id = topics->snapshot()->at("t").id;
  EXPECT_NE(id, topic_uuid{});  // every new topic gets an id
  EXPECT_EQ(*topics->snapshot(), (topic_map{{"t", {"t", 2, 1, {}, id}}}));
  // Each committed change, once.
  ASSERT_TRUE(run(frontend->create_partitions("t", 3, false)));
  EXPECT_EQ(at(), 2);
  ASSERT_TRUE(run(frontend->set_topic_configs("t", {{"retention.ms", "1000"}}, false)));
  EXPECT_EQ(at(), 3);
  EXPECT_EQ(topics->snapshot()->at("t"),
            (topic_metadata{"t", 3, 1, {{"retention.ms", "1000"}}, id}));
  ASSERT_TRUE(remove("t"));
  EXPECT_EQ(at(), 4);
  EXPECT_TRUE(topics->snapshot()->empty());
  // After a restart the table starts from the files, at revision 0.
  ASSERT_TRUE(create("w", 1));
  auto w_id = topics->snapshot()->at("w").id;
  close();
  open();
  EXPECT_EQ(at(), 0);
  // The id is kept in the topic file.
  EXPECT_EQ(*topics->snapshot(), (topic_map{{"w", {"w", 1, 1, {}, w_id}}}));
}

TEST_F(topics_frontend_test, the_table_changes_once_the_topic_file_committed_the_change) {
  // A create waiting on the disk is not in the table yet.
  fs->hold();
  std::promise<status> created;
  auto f = created.get_future();
  asio::co_spawn(rt->executor(0), frontend->create_topic(topic_metadata{"t", 3, 1, {}}, false),
                 [&created](std::exception_ptr, status s) { created.set_value(std::move(s)); });
  ASSERT_TRUE(fs->wait_held(10s));
  EXPECT_FALSE(topics->snapshot()->contains("t"));
  fs->release();
  ASSERT_TRUE(f.get());
  EXPECT_TRUE(topics->snapshot()->contains("t"));
  EXPECT_EQ(ends("t", 3), std::vector<int64_t>(3, 0));
  // A delete waiting on the disk (the topic file's removal being made durable): its
  // partitions no longer serve, but the topic is still in the table until that is done.
  fs->hold();
  std::promise<status> deleted;
  auto g = deleted.get_future();
  asio::co_spawn(rt->executor(1), frontend->delete_topic("t"),
                 [&deleted](std::exception_ptr, status s) { deleted.set_value(std::move(s)); });
  ASSERT_TRUE(fs->wait_held(10s));
  EXPECT_TRUE(topics->snapshot()->contains("t"));
  EXPECT_EQ(ends("t", 3), std::vector<int64_t>(3, -1));
  fs->release();
  ASSERT_TRUE(g.get());
  EXPECT_FALSE(topics->snapshot()->contains("t"));
}

}  // namespace
}  // namespace strom::cluster
