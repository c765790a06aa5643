#include <gtest/gtest.h>
#include <pthread.h>

#include <atomic>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "strom/base/blocking_pool.h"
#include "strom/base/executor.h"
#include "strom/base/thread_name.h"

namespace strom {
namespace {

TEST(manual_executor, RunsNothingUntilToldThenOldestFirst) {
  manual_executor ex;
  std::vector<int> ran;
  ex.submit([&] { ran.push_back(1); });
  ex.submit([&] {
    ran.push_back(2);
    ex.submit([&] { ran.push_back(3); });  // a task may submit more
  });
  EXPECT_TRUE(ran.empty());
  EXPECT_EQ(ex.pending(), 2u);
  ASSERT_TRUE(ex.run_one());
  EXPECT_EQ(ran, (std::vector<int>{1}));
  EXPECT_EQ(ex.run_all(), 2u);
  EXPECT_EQ(ran, (std::vector<int>{1, 2, 3}));
  EXPECT_FALSE(ex.run_one());
}

TEST(blocking_pool, IsATaskExecutor) {
  blocking_pool pool(1, "test");
  task_executor& ex = pool;
  std::promise<int> p;
  ex.submit([&] { p.set_value(7); });
  EXPECT_EQ(p.get_future().get(), 7);
}

/// The calling thread's name, as `top -H` shows it.
std::string thread_name() {
  char name[16] = {};
  EXPECT_EQ(pthread_getname_np(pthread_self(), name, sizeof name), 0);
  return name;
}

TEST(blocking_pool, NamesItsThreads) {
  blocking_pool pool(2, "flush");
  std::promise<std::string> p;
  pool.submit([&] { p.set_value(thread_name()); });
  EXPECT_EQ(p.get_future().get(), "strom-flush");
}

TEST(set_thread_name, CutsToWhatLinuxKeeps) {
  std::promise<std::string> p;
  std::thread([&] {
    set_thread_name("a-name-far-too-long");
    p.set_value(thread_name());
  }).join();
  EXPECT_EQ(p.get_future().get(), "strom-a-name-fa");
}

}  // namespace
}  // namespace strom
