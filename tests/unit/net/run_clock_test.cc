// timed_executor and run_meter: what a coroutine runs counts, what it waits does not.
#include "strom/net/run_clock.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include <boost/asio/dispatch.hpp>

namespace strom::net {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

/// Keeps the thread busy for `d` (not asleep: sleeping would be waiting too).
void spin(std::chrono::nanoseconds d) {
  auto until = clock_type::now() + d;
  while (clock_type::now() < until) {
  }
}

double ms(uint64_t ns) {
  return static_cast<double>(ns) / 1e6;
}

TEST(run_clock, counts_running_and_not_waiting) {
  asio::io_context io;
  auto meter = std::make_shared<run_meter>();
  timed_executor ex(io.get_executor(), meter);
  static_assert(asio::execution::is_executor<decltype(ex)>::value);
  asio::any_io_executor any(ex);  // what a coroutine's executor is
  bool done = false;
  auto started = clock_type::now();
  asio::co_spawn(
      any,
      [&]() -> awaitable<void> {
        spin(30ms);
        // A timer of the coroutine's own executor, as handlers make them.
        asio::steady_timer t(co_await asio::this_coro::executor);
        t.expires_after(300ms);
        co_await t.async_wait(asio::use_awaitable);
        spin(20ms);
        // And one of the plain context.
        asio::steady_timer u(io);
        u.expires_after(200ms);
        co_await u.async_wait(asio::use_awaitable);
        done = true;
      },
      asio::detached);
  io.run();
  ASSERT_TRUE(done);
  EXPECT_GE(clock_type::now() - started, 550ms);
  auto counted = ms(meter->total());
  EXPECT_GE(counted, 50.0);
  EXPECT_LT(counted, 250.0);  // the 500 ms of waiting are not in it
}

TEST(run_clock, a_wait_on_another_thread_is_not_counted) {
  asio::io_context home, away;
  auto guard = asio::make_work_guard(away);
  std::thread other([&away] { away.run(); });
  auto meter = std::make_shared<run_meter>();
  timed_executor ex(home.get_executor(), meter);
  asio::co_spawn(
      ex,
      [&]() -> awaitable<void> {
        spin(10ms);
        // Work elsewhere: the coroutine is suspended meanwhile and resumes through `ex`.
        co_await asio::co_spawn(
            away,
            []() -> awaitable<void> {
              spin(200ms);
              co_return;
            },
            asio::use_awaitable);
        spin(10ms);
      },
      asio::detached);
  home.run();
  guard.reset();
  other.join();
  auto counted = ms(meter->total());
  EXPECT_GE(counted, 20.0);
  EXPECT_LT(counted, 150.0);
}

TEST(run_clock, nested_functions_count_once_each) {
  asio::io_context io;
  auto outer = std::make_shared<run_meter>();
  auto inner = std::make_shared<run_meter>();
  timed_executor out_ex(io.get_executor(), outer);
  timed_executor in_ex(io.get_executor(), inner);
  asio::post(out_ex, [&] {
    spin(20ms);
    // Runs inline (the context's thread): the outer clock stops meanwhile.
    asio::dispatch(in_ex, [] { spin(40ms); });
    spin(20ms);
  });
  io.run();
  EXPECT_GE(ms(outer->total()), 40.0);
  EXPECT_LT(ms(outer->total()), 70.0);
  EXPECT_GE(ms(inner->total()), 40.0);
  EXPECT_LT(ms(inner->total()), 70.0);
}

TEST(run_clock, take_returns_what_ran_since_the_last_take) {
  asio::io_context io;
  auto meter = std::make_shared<run_meter>();
  timed_executor ex(io.get_executor(), meter);
  uint64_t first = 0, second = 0, after_skip = 0;
  asio::post(ex, [&] {
    spin(20ms);
    first = meter->take();  // with the slice running now
    spin(5ms);
    second = meter->take();
    spin(10ms);
    meter->skip();
  });
  io.run();
  after_skip = meter->take();
  EXPECT_GE(ms(first), 20.0);
  EXPECT_GE(ms(second), 5.0);
  EXPECT_LT(ms(second), 20.0);
  // skip() dropped what was counted before it; the slice running then (10 ms) counts next.
  EXPECT_GE(ms(after_skip), 10.0);
  EXPECT_LT(ms(after_skip), 20.0);
}

TEST(run_clock, the_meter_outlives_the_last_owner_a_function_drops) {
  asio::io_context io;
  auto meter = std::make_shared<run_meter>();
  std::weak_ptr<run_meter> watch = meter;
  timed_executor ex(io.get_executor(), std::move(meter));
  asio::post(ex, [&ex] {
    ex = timed_executor(ex.inner(), std::make_shared<run_meter>());  // the first meter's owner
    spin(1ms);
  });
  io.run();
  EXPECT_TRUE(watch.expired());
}

TEST(run_clock, equality_and_properties) {
  asio::io_context io;
  auto m = std::make_shared<run_meter>();
  timed_executor a(io.get_executor(), m), b(io.get_executor(), m);
  timed_executor c(io.get_executor(), std::make_shared<run_meter>());
  EXPECT_TRUE(a == b);
  EXPECT_TRUE(a != c);
  EXPECT_EQ(&asio::query(a, asio::execution::context), &io);
  auto never = asio::require(a, asio::execution::blocking.never);
  EXPECT_EQ(never.meter(), m);
  EXPECT_EQ(asio::query(never, asio::execution::blocking), asio::execution::blocking.never);
  asio::any_io_executor any(a);
  EXPECT_TRUE(any == asio::any_io_executor(b));
  EXPECT_FALSE(any == asio::any_io_executor(c));
}

}  // namespace
}  // namespace strom::net
