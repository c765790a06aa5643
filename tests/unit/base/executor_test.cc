#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <vector>

#include "strom/base/blocking_pool.h"
#include "strom/base/executor.h"

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
  blocking_pool pool(1);
  task_executor& ex = pool;
  std::promise<int> p;
  ex.submit([&] { p.set_value(7); });
  EXPECT_EQ(p.get_future().get(), 7);
}

}  // namespace
}  // namespace strom
