#pragma once

#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <thread>

#include "strom/base/blocking_pool.h"
#include "strom/base/clock.h"
#include "strom/io/fault_file_system.h"
#include "strom/io/memory_file_system.h"
#include "strom/storage/log.h"
#include "support/batches.h"

namespace strom::storage::test {

using model::kafka_next_offset;
using model::kafka_offset;
using model::leader_epoch;

/// A log over an in-memory file system wrapped in a fault injector, with a manual clock.
class log_fixture : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_.retention_ms = -1;  // test batches carry old timestamps
    open_log(true);
  }

  log_recovery open_log(bool clean) {
    l_.reset();
    log_recovery report;
    auto r = log::open(name_,
                       log::options{fs_.get(), &clock_,
                                    manual_flush_ ? static_cast<task_executor*>(&manual_) : &pool_,
                                    dir_, cfg_, nullptr, nullptr, cache_.get()},
                       clean, report);
    EXPECT_TRUE(r) << r.error().message();
    if (r)
      l_ = std::move(*r);
    return report;
  }

  /// Closes cleanly and reopens.
  log_recovery reopen_clean() {
    EXPECT_TRUE(l_->close());
    return open_log(true);
  }

  append_result append(int records, leader_epoch e = leader_epoch(0), timestamp_ms ts = 1000,
                       size_t value_bytes = 0) {
    auto b = strom::test::make_batch(records, ts, 0, value_bytes);
    auto r = l_->append(b, e);
    EXPECT_TRUE(r) << r.error().message();
    return r ? *r : append_result{};
  }

  std::vector<model::batch_header> read_headers(kafka_offset from, read_options ro = {}) {
    auto r = l_->read(from, ro);
    EXPECT_TRUE(r) << r.error().message();
    std::vector<model::batch_header> out;
    if (!r)
      return out;
    auto bytes = r->copy();
    EXPECT_TRUE(bytes);
    size_t pos = 0;
    while (pos < bytes->size()) {
      auto h = model::validate_batch(
          std::span(*bytes).subspan(pos,
                                    [&] {
                                      auto hh =
                                          model::decode_header(std::span(*bytes).subspan(pos));
                                      return hh ? hh->size_bytes() : bytes->size() - pos;
                                    }()),
          1 << 30);
      EXPECT_TRUE(h) << h.error().message();
      if (!h)
        break;
      out.push_back(*h);
      pos += h->size_bytes();
    }
    return out;
  }

  std::shared_ptr<io::memory_file_system> mem_ = std::make_shared<io::memory_file_system>();
  std::shared_ptr<io::fault_file_system> fs_ = std::make_shared<io::fault_file_system>(mem_);
  manual_clock clock_;
  blocking_pool pool_{1, "flush"};
  /// Runs the flush rounds instead of pool_ when manual_flush_ is set before open_log():
  /// the test completes flushes with manual_.run_one() / run_all().
  manual_executor manual_;
  bool manual_flush_ = false;
  std::shared_ptr<log_dir> dir_ = std::make_shared<log_dir>("data");
  model::ntp name_{"t", model::partition_id(0)};
  log_config cfg_;
  /// The descriptor cache of closed segments; none unless a test sets one before open_log().
  std::unique_ptr<file_cache> cache_;
  std::unique_ptr<log> l_;
};

}  // namespace strom::storage::test
