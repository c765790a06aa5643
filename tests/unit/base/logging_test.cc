#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "strom/base/logging.h"

namespace strom::logging {
namespace {

using namespace std::chrono_literals;

TEST(rate_limit, LetsABurstThroughPerPeriodAndCountsTheRest) {
  rate_limit rl(10s, 3);
  auto t0 = std::chrono::steady_clock::time_point(1000s);
  EXPECT_EQ(rl.admit(t0), 0u);
  EXPECT_EQ(rl.admit(t0 + 1s), 0u);
  EXPECT_EQ(rl.admit(t0 + 2s), 0u);
  for (int i = 0; i < 100; ++i)
    EXPECT_FALSE(rl.admit(t0 + 3s));
  // The next period lets lines through again; the first says how many were dropped.
  EXPECT_EQ(rl.admit(t0 + 10s), 100u);
  EXPECT_EQ(rl.admit(t0 + 11s), 0u);
}

TEST(rate_limit, DroppedSuffixIsEmptyWhenNothingWasDropped) {
  EXPECT_EQ(dropped_suffix(0), "");
  EXPECT_EQ(dropped_suffix(7), " (7 similar lines dropped)");
}

TEST(logging, a_thread_logs_for_its_node_and_levels_apply_to_every_node) {
  EXPECT_EQ(get("cluster").name(), "cluster");  // no node named
  {
    node_scope scope(3);
    EXPECT_EQ(thread_node(), 3);
    EXPECT_EQ(get("cluster").name(), "cluster/3");
    std::string other;
    std::thread([&] { other = get("cluster").name(); }).join();
    EXPECT_EQ(other, "cluster");  // the node belongs to a thread
    {
      node_scope inner(4);
      EXPECT_EQ(get("cluster").name(), "cluster/4");
    }
    EXPECT_EQ(get("cluster").name(), "cluster/3");
  }
  EXPECT_EQ(thread_node(), std::nullopt);
  EXPECT_EQ(get("cluster").name(), "cluster");

  ASSERT_TRUE(set_level("groups", spdlog::level::err));
  {
    node_scope scope(5);  // a logger made after set_level takes the level too
    EXPECT_EQ(get("groups").level(), spdlog::level::err);
  }
  EXPECT_EQ(get("groups").level(), spdlog::level::err);
  EXPECT_FALSE(set_level("nonsense", spdlog::level::err));
  configure(options{});
  EXPECT_EQ(get("groups").level(), spdlog::level::info);
}

}  // namespace
}  // namespace strom::logging
