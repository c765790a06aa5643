// The partition's acknowledgement contract (replicate with an ack level) and its high
// watermark: acks=all completes only once the batch is durable (unless write caching is on),
// lower levels do not wait for the disk, and fetch waiters wake when the high watermark
// advances, never for an append that does not move it (an idempotent producer's retry).
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <optional>

#include "strom/base/blocking_pool.h"
#include "strom/cluster/partition.h"
#include "strom/io/fault_file_system.h"
#include "strom/io/memory_file_system.h"
#include "strom/model/batch_builder.h"
#include "strom/model/validated_batch.h"
#include "strom/net/asio.h"
#include "strom/storage/log.h"

namespace strom::cluster {
namespace {

namespace asio = net::asio;

class partition_test : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_.retention_ms = -1;
    open();
  }
  void TearDown() override { part_.reset(); }

  void open() {
    part_.reset();
    storage::log_recovery report;
    auto l = storage::log::open(
        name_, storage::log::options{fs_.get(), &clock_, &pool_, dir_, cfg_, nullptr, nullptr},
        true, report);
    ASSERT_TRUE(l) << l.error().message();
    log_ = std::move(*l);
    part_ = std::make_unique<partition>(name_, log_.get(), settings_, clock_);
    ASSERT_TRUE(part_->load_producer_state());
  }

  std::vector<std::byte> batch(int records, int64_t pid = -1, int32_t seq = -1) {
    model::batch_builder b(clock_.now_ms());
    if (pid >= 0)
      b.producer(pid, 0, seq);
    for (int i = 0; i < records; ++i)
      b.add("k", "v");
    return b.build();
  }

  /// Starts replicate() on `io`; `out` is set when it completes.
  void start(asio::io_context& io, std::vector<std::byte>& bytes, ack_level acks,
             std::optional<result<partition::append_outcome>>& out) {
    auto valid =
        model::validate_for_append(bytes, part_->validation_policy(model::append_origin::client));
    ASSERT_TRUE(valid) << valid.error().message();
    asio::co_spawn(
        io,
        [this, v = *valid, acks, &out]() -> net::awaitable<void> {
          out.emplace(co_await part_->replicate(v, acks));
        },
        asio::detached);
  }

  /// Runs replicate() to completion on an io_context, as a shard would.
  result<partition::append_outcome> replicate(std::vector<std::byte>& bytes, ack_level acks) {
    std::optional<result<partition::append_outcome>> out;
    asio::io_context io;
    start(io, bytes, acks, out);
    io.run();
    // The flush thread may still be inside its post to `io`: done with it before `io` goes.
    log_->wait_flushes();
    EXPECT_TRUE(out.has_value()) << "replicate did not complete";
    if (!out)
      return error(std::make_error_code(std::errc::timed_out), "not completed");
    return std::move(*out);
  }

  /// Holds the flush thread until release(): a flush asked meanwhile cannot complete.
  struct flush_gate {
    std::promise<void> held, go;
    explicit flush_gate(blocking_pool& pool) {
      auto f = go.get_future().share();
      pool.submit([this, f] {
        held.set_value();
        f.wait();
      });
      held.get_future().wait();
    }
    void release() { go.set_value(); }
  };

  std::shared_ptr<io::memory_file_system> mem_ = std::make_shared<io::memory_file_system>();
  std::shared_ptr<io::fault_file_system> fs_ = std::make_shared<io::fault_file_system>(mem_);
  manual_clock clock_;
  blocking_pool pool_{1, "flush"};
  std::shared_ptr<storage::log_dir> dir_ = std::make_shared<storage::log_dir>("data");
  model::ntp name_{"t", model::partition_id(0)};
  storage::log_config cfg_;
  partition_settings settings_;
  std::unique_ptr<storage::log> log_;
  std::unique_ptr<partition> part_;
};

TEST_F(partition_test, AcksAllCompletesOnceTheBatchIsDurable) {
  auto b = batch(3);
  auto out = replicate(b, ack_level::all);
  ASSERT_TRUE(out) << out.error().message();
  EXPECT_EQ(out->offsets.base.value(), 0);
  EXPECT_EQ(out->offsets.last.value(), 2);
  EXPECT_GE(log_->flushed_offset().value(), 3) << "acknowledged before it was durable";
  EXPECT_EQ(part_->high_watermark().value(), 3);
}

TEST_F(partition_test, AcksAllWaitsForTheFlush) {
  flush_gate gate(pool_);
  auto b = batch(2);
  std::optional<result<partition::append_outcome>> out;
  asio::io_context io;
  start(io, b, ack_level::all, out);
  io.run_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(out.has_value()) << "acks=all answered while the flush could not run";
  EXPECT_EQ(part_->high_watermark().value(), 2);  // committed: a single replica has it
  gate.release();
  io.restart();
  io.run();
  log_->wait_flushes();  // the flush thread is done with `io` before it goes
  ASSERT_TRUE(out.has_value());
  ASSERT_TRUE(*out) << (*out).error().message();
  EXPECT_GE(log_->flushed_offset().value(), 2);
}

TEST_F(partition_test, AcksAllReportsAFlushThatFails) {
  auto first = batch(1);
  ASSERT_TRUE(replicate(first, ack_level::all));  // the epoch checkpoint is written
  fs_->fail_syncs(true);
  auto b = batch(1);
  auto out = replicate(b, ack_level::all);
  EXPECT_FALSE(out) << "a batch that could not be made durable was acknowledged";
}

TEST_F(partition_test, LowerLevelsAndWriteCachingDoNotWaitForTheDisk) {
  auto first = batch(1);
  ASSERT_TRUE(replicate(first, ack_level::all));
  flush_gate gate(pool_);  // any flush waited for would never complete
  auto one = batch(1);
  auto leader = replicate(one, ack_level::leader);
  ASSERT_TRUE(leader) << leader.error().message();
  auto two = batch(1);
  auto none = replicate(two, ack_level::none);
  ASSERT_TRUE(none) << none.error().message();
  auto s = settings_;
  s.flush_before_ack = false;  // write caching
  part_->set_settings(s);
  auto three = batch(1);
  auto cached = replicate(three, ack_level::all);
  ASSERT_TRUE(cached) << cached.error().message();
  EXPECT_EQ(cached->offsets.base.value(), 3);
  EXPECT_EQ(part_->high_watermark().value(), 4);
  EXPECT_EQ(log_->flushed_offset().value(), 1);
  gate.release();
}

TEST_F(partition_test, FetchWaitersWakeWhenTheHighWatermarkAdvancesOnly) {
  int woken = 0;
  part_->add_waiter([&] { ++woken; });
  auto first = batch(2, /*pid=*/7, /*seq=*/0);
  auto out = replicate(first, ack_level::leader);
  ASSERT_TRUE(out) << out.error().message();
  EXPECT_EQ(woken, 1);
  EXPECT_EQ(part_->high_watermark().value(), 2);

  // A retry of the same batch appends nothing: the high watermark stays, nobody wakes.
  part_->add_waiter([&] { ++woken; });
  auto retry = batch(2, 7, 0);
  auto dup = replicate(retry, ack_level::all);
  ASSERT_TRUE(dup) << dup.error().message();
  EXPECT_TRUE(dup->duplicate);
  EXPECT_EQ(dup->offsets.base.value(), 0);
  EXPECT_EQ(woken, 1);
  EXPECT_EQ(part_->high_watermark().value(), 2);

  // The next batch wakes the waiter registered meanwhile, once.
  auto next = batch(1, 7, 2);
  ASSERT_TRUE(replicate(next, ack_level::leader));
  EXPECT_EQ(woken, 2);
  EXPECT_EQ(part_->high_watermark().value(), 3);
}

TEST_F(partition_test, TheHighWatermarkStartsAtTheRecoveredLogEnd) {
  auto b = batch(4);
  ASSERT_TRUE(replicate(b, ack_level::all));
  part_.reset();
  ASSERT_TRUE(log_->close());
  open();
  EXPECT_EQ(part_->high_watermark().value(), 4);
  auto r = part_->read(model::kafka_offset(0), 1 << 20, true);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->next.value(), 4);
}

}  // namespace
}  // namespace strom::cluster
