// The log as a Raft log: internal entries that take a Raft index, the offset map, the Raft
// API, and the defects that appear as soon as a term-start entry is written.
#include <chrono>
#include <future>

#include "log_fixture.h"
#include "strom/storage/errc.h"

namespace strom::storage::test {
namespace {

using namespace std::chrono_literals;
using raft_log_test = log_fixture;

// A flush round captures its target, fsyncs, then raises the flushed offset. A truncation
// that runs during the fsync (it must not wait for it: the owner thread never blocks on a
// disk) removes data the round counted; the round must not claim it.
TEST_F(raft_log_test, AFlushRoundNeverClaimsWhatATruncationDuringItRemoved) {
  manual_flush_ = true;
  open_log(true);
  append(5);  // offsets 0..4
  append(5);  // offsets 5..9
  std::atomic<int> done{0};
  std::atomic<bool> flushed_ok{false};
  l_->flush_async([&](status s) {
    flushed_ok = s.has_value();
    ++done;
  });
  ASSERT_EQ(manual_.pending(), 1u);

  std::atomic<bool> fired{false};
  std::future<result<kafka_next_offset>> cut;
  bool cut_in_time = false;
  fs_->on_sync([&] {
    if (fired.exchange(true))
      return;
    cut = std::async(std::launch::async, [&] { return l_->truncate(kafka_next_offset(5)); });
    cut_in_time = cut.wait_for(5s) == std::future_status::ready;
  });
  ASSERT_TRUE(manual_.run_one());  // the round, with the truncation inside its fsync
  fs_->on_sync(nullptr);
  EXPECT_TRUE(cut_in_time) << "the truncation waited for the flush round";
  auto end = cut.get();
  ASSERT_TRUE(end) << end.error().message();
  EXPECT_EQ(end->value(), 5);
  EXPECT_EQ(done.load(), 1);
  EXPECT_TRUE(flushed_ok.load());
  EXPECT_LE(l_->flushed_offset().value(), 5) << "flushed offset past the truncation";
  EXPECT_LE(l_->flushed_offset(), l_->log_end());

  // New data after the cut is not durable until a round that saw it says so.
  append(2);  // 5, 6
  EXPECT_LE(l_->flushed_offset().value(), 5);
  auto claimed = l_->flushed_offset();
  mem_->crash();  // nothing the first round did not sync survives
  manual_.run_all();
  l_.reset();
  manual_flush_ = false;
  open_log(false);
  EXPECT_GE(l_->log_end(), claimed);
}

}  // namespace
}  // namespace strom::storage::test
