#include "histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace strom::bench {
namespace {

TEST(Histogram, EmptyReportsZero) {
  histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile(50), 0u);
  EXPECT_EQ(h.percentile(100), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.mean(), 0.0);
}

TEST(Histogram, SmallValuesAreExact) {
  histogram h(8);
  for (uint64_t v = 0; v < 256; ++v) {
    h.record(v);
  }
  EXPECT_EQ(h.count(), 256u);
  EXPECT_EQ(h.percentile(50), 127u);  // the 128th smallest of 0..255
  EXPECT_EQ(h.percentile(100), 255u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_DOUBLE_EQ(h.mean(), 127.5);
}

TEST(Histogram, BucketsAreContiguousAndLogLinear) {
  histogram h(5, uint64_t{1} << 30);
  uint64_t prev_high = 0;
  const size_t last = h.index_of(uint64_t{1} << 40);  // far beyond the tracked maximum
  ASSERT_GT(last, 400u);
  for (size_t i = 0; i < last; ++i) {
    uint64_t lo = h.lowest_in(i);
    uint64_t hi = h.highest_in(i);
    if (i > 0) {
      EXPECT_EQ(lo, prev_high + 1) << "bucket " << i;
    }
    EXPECT_EQ(h.index_of(lo), i);
    EXPECT_EQ(h.index_of(hi), i);
    // The width of a bucket is at most 2^-(P-1) of its lowest value (or 1 when exact).
    EXPECT_LE(static_cast<double>(hi - lo), std::max(0.0, static_cast<double>(lo) / 16.0));
    prev_high = hi;
  }
}

TEST(Histogram, PercentilesWithinRelativeError) {
  histogram h(8);
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> d(12.0, 1.5);  // ns: ~160 us median, long tail
  std::vector<uint64_t> values;
  for (int i = 0; i < 200000; ++i) {
    auto v = static_cast<uint64_t>(d(rng));
    values.push_back(v);
    h.record(v);
  }
  std::sort(values.begin(), values.end());
  for (double q : {1.0, 50.0, 90.0, 99.0, 99.9, 99.99}) {
    auto rank = static_cast<size_t>(std::ceil(q / 100.0 * static_cast<double>(values.size())));
    uint64_t exact = values[rank - 1];
    uint64_t got = h.percentile(q);
    EXPECT_GE(got, exact) << "q=" << q;
    EXPECT_LE(static_cast<double>(got), static_cast<double>(exact) * (1.0 + 1.0 / 128) + 1)
        << "q=" << q;
  }
  EXPECT_EQ(h.percentile(100), values.back());
  EXPECT_EQ(h.max(), values.back());
  EXPECT_EQ(h.min(), values.front());
}

TEST(Histogram, MergeEqualsRecordingEverything) {
  histogram a;
  histogram b;
  histogram all;
  for (uint64_t v = 1; v < 100000; v += 7) {
    (v % 2 == 0 ? a : b).record(v * 13);
    all.record(v * 13);
  }
  a.merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.min(), all.min());
  EXPECT_EQ(a.max(), all.max());
  for (double q : {10.0, 50.0, 99.0, 99.99}) {
    EXPECT_EQ(a.percentile(q), all.percentile(q));
  }
  histogram other(7);
  EXPECT_THROW(a.merge(other), std::invalid_argument);
}

TEST(Histogram, ValuesAboveTheMaximumAreClampedButMaxIsExact) {
  histogram h(8, 1000);
  h.record(10);
  h.record(5000);
  EXPECT_EQ(h.clamped(), 1u);
  EXPECT_EQ(h.max(), 5000u);
  EXPECT_EQ(h.percentile(100), 5000u);
  EXPECT_GE(h.percentile(99), 1000u);
  EXPECT_LE(h.percentile(99), 5000u);
}

TEST(Histogram, WeightedRecordAndReset) {
  histogram h;
  h.record(100, 99);
  h.record(1'000'000, 1);
  EXPECT_EQ(h.count(), 100u);
  EXPECT_EQ(h.percentile(99), 100u);
  EXPECT_GE(h.percentile(99.5), 1'000'000u - 1'000'000u / 128);
  h.reset();
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile(99), 0u);
}

TEST(Histogram, RejectsBadShapes) {
  EXPECT_THROW(histogram(1), std::invalid_argument);
  EXPECT_THROW(histogram(17), std::invalid_argument);
}

}  // namespace
}  // namespace strom::bench
