// The timer clock seam: a manual clock runs timers in (time, scheduling) order only when moved;
// the thread clock runs them on its thread and cancel() never races a running callback. The
// random seam: one seed, one sequence.
#include "strom/base/clock.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <set>
#include <string>
#include <vector>

#include "strom/base/random.h"

namespace strom {
namespace {

using namespace std::chrono_literals;

TEST(manual_clock, timers_run_only_when_time_moves_in_time_then_scheduling_order) {
  manual_clock clk(1000);
  std::vector<std::string> ran;
  auto t0 = clk.steady_now();
  clk.schedule(t0 + 20ms, [&] { ran.push_back("c@20"); });
  clk.schedule(t0 + 10ms, [&] { ran.push_back("a@10"); });
  clk.schedule(t0 + 10ms, [&] { ran.push_back("b@10"); });  // same time: after a
  auto gone = clk.schedule(t0 + 15ms, [&] { ran.push_back("cancelled"); });
  EXPECT_EQ(clk.pending(), 4u);
  EXPECT_TRUE(clk.cancel(gone));
  EXPECT_FALSE(clk.cancel(gone));
  EXPECT_EQ(clk.run_due(), 0u);
  EXPECT_TRUE(ran.empty());
  clk.advance(10ms);
  EXPECT_EQ(ran, (std::vector<std::string>{"a@10", "b@10"}));
  clk.advance(100ms);
  EXPECT_EQ(ran, (std::vector<std::string>{"a@10", "b@10", "c@20"}));
  EXPECT_EQ(clk.now_ms(), 1110);
  EXPECT_EQ(clk.pending(), 0u);
}

TEST(manual_clock, a_timer_sees_its_due_time_and_may_schedule_the_next_in_the_same_advance) {
  manual_clock clk(0);
  std::vector<timestamp_ms> seen;
  std::function<void()> tick = [&] {
    seen.push_back(clk.now_ms());
    clk.schedule_after(30ms, tick);
  };
  clk.schedule_after(30ms, tick);
  clk.advance(100ms);
  EXPECT_EQ(seen, (std::vector<timestamp_ms>{30, 60, 90}));
  EXPECT_EQ(clk.now_ms(), 100);
  EXPECT_EQ(clk.pending(), 1u);  // the one at 120
}

TEST(thread_timer_clock, runs_due_timers_on_its_thread_and_cancel_waits_for_a_running_one) {
  thread_timer_clock clk;
  std::promise<std::thread::id> ran;
  clk.schedule_after(1ms, [&] { ran.set_value(std::this_thread::get_id()); });
  auto f = ran.get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  EXPECT_NE(f.get(), std::this_thread::get_id());

  // A callback that is running when cancel() is called has returned when cancel() does.
  std::promise<void> started;
  std::atomic<bool> finished{false};
  auto id = clk.schedule_after(0ms, [&] {
    started.set_value();
    std::this_thread::sleep_for(50ms);
    finished = true;
  });
  started.get_future().wait();
  EXPECT_FALSE(clk.cancel(id));
  EXPECT_TRUE(finished.load());

  // A pending one never runs; stop() drops the rest.
  std::atomic<int> late{0};
  auto far = clk.schedule_after(1h, [&] { ++late; });
  EXPECT_TRUE(clk.cancel(far));
  clk.schedule_after(1h, [&] { ++late; });
  clk.stop();
  EXPECT_EQ(late.load(), 0);
}

TEST(random, one_seed_gives_one_sequence_and_uniform_stays_in_range) {
  seeded_random a(42), b(42), c(43);
  std::vector<uint64_t> va, vb, vc;
  for (int i = 0; i < 100; ++i) {
    va.push_back(a.next());
    vb.push_back(b.next());
    vc.push_back(c.next());
  }
  EXPECT_EQ(va, vb);
  EXPECT_NE(va, vc);
  EXPECT_EQ(a.seed(), 42u);
  // splitmix64's first output for seed 0, so that the sequence is the same on every platform.
  seeded_random zero(0);
  EXPECT_EQ(zero.next(), 0xe220a8397b1dcdafull);
  std::set<int64_t> seen;
  for (int i = 0; i < 10000; ++i) {
    auto v = a.uniform(-3, 3);
    ASSERT_GE(v, -3);
    ASSERT_LE(v, 3);
    seen.insert(v);
  }
  EXPECT_EQ(seen.size(), 7u);
  EXPECT_EQ(a.uniform(5, 5), 5);
  auto sys = make_system_random();
  EXPECT_NE(sys->next(), sys->next());
}

}  // namespace
}  // namespace strom
