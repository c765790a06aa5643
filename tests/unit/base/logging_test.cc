#include <gtest/gtest.h>

#include <chrono>

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

}  // namespace
}  // namespace strom::logging
