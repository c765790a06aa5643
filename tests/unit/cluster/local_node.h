#pragma once

// A node's partitions without topic files: an in-memory file system, a log manager on a
// manual clock, two shards and a partition manager, for the tests of the partition manager
// and of housekeeping.

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "strom/cluster/partition_manager.h"
#include "strom/io/memory_file_system.h"
#include "strom/model/validated_batch.h"
#include "support/batches.h"

namespace strom::cluster::test {

class local_node : public ::testing::Test {
 public:
  std::shared_ptr<io::memory_file_system> fs = std::make_shared<io::memory_file_system>();
  manual_clock clk;
  topic_defaults defaults;
  std::unique_ptr<storage::log_manager> logs;
  std::unique_ptr<net::shard_runtime> rt;
  std::unique_ptr<partition_manager> manager;

  void SetUp() override {
    defaults.log.retention_ms = -1;  // test batches carry old timestamps
    storage::log_manager::options lo;
    lo.data_dirs = {"data"};
    lo.fs = fs;
    lo.clk = &clk;
    lo.defaults = defaults.log;
    auto l = storage::log_manager::open(lo);
    ASSERT_TRUE(l) << l.error().message();
    logs = std::move(*l);
    rt = std::make_unique<net::shard_runtime>(2);
    manager = std::make_unique<partition_manager>(*rt, *logs, defaults, clk);
  }
  void TearDown() override {
    if (rt)
      rt->stop();
    before_release();
    if (manager)
      manager->release_shard_objects();
    if (logs)
      logs->wait_flushes();  // flush completions post to the shards' executors
    rt.reset();
    manager.reset();
    if (logs) {
      EXPECT_TRUE(logs->shutdown());
    }
    logs.reset();
  }
  /// Runs before the partition manager releases its shard objects (after the shards stop).
  virtual void before_release() {}

  /// Runs `a` on `shard` and waits for its result.
  template <typename T>
  T run(awaitable<T> a, size_t shard = 0) {
    std::promise<T> p;
    auto f = p.get_future();
    net::asio::co_spawn(rt->executor(shard), std::move(a),
                        [&p](std::exception_ptr, T v) { p.set_value(std::move(v)); });
    return f.get();
  }
  void run(awaitable<void> a, size_t shard = 0) {
    std::promise<void> p;
    auto f = p.get_future();
    net::asio::co_spawn(rt->executor(shard), std::move(a),
                        [&p](std::exception_ptr) { p.set_value(); });
    f.get();
  }

  /// Appends `batches` batches of one record of key "k0" (`value_bytes` long) to partition
  /// `n` and flushes them.
  void produce(const model::ntp& n, int batches, size_t value_bytes = 10) {
    auto ok = run(manager->on_partition(n, [batches, value_bytes](partition* p) {
      if (p == nullptr)
        return false;
      for (int i = 0; i < batches; ++i) {
        auto b = strom::test::make_batch(1, 1000, 0, value_bytes);
        auto valid =
            model::validate_for_append(b, p->validation_policy(model::append_origin::internal));
        if (!valid || !p->append(*valid))
          return false;
      }
      return p->log().flush().has_value();
    }));
    ASSERT_TRUE(ok) << n.dir_name();
  }
  /// Reads `fn(partition*)` on the owner shard of `n`.
  template <typename F>
  auto read(const model::ntp& n, F fn) {
    return run(manager->on_partition(n, std::move(fn)));
  }
  /// Waits up to 10 s for `cond` to hold.
  template <typename F>
  static bool eventually(F cond) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!cond()) {
      if (std::chrono::steady_clock::now() > deadline)
        return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
  }
};

inline model::ntp ntp(const std::string& topic, int32_t p) {
  return model::ntp{topic, model::partition_id(p)};
}

}  // namespace strom::cluster::test
