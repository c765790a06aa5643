#pragma once

// A log-linear latency histogram in the style of HdrHistogram: values below 2^P are counted
// exactly; above that, every power-of-two range [2^e, 2^(e+1)) is split into 2^(P-1) buckets
// of equal width, so a recorded value and the value reported for it differ by less than
// 2^-(P-1) of the value (0.8 % with the default P = 8). Values above the trackable maximum
// are clamped to it (and counted); min, max and the sum are kept exactly.
//
// Not thread-safe: each thread records into its own histogram and merges into a shared one.

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

namespace strom::bench {

class histogram {
 public:
  /// `precision_bits` P in [2, 16]; `max_value` is the largest value tracked without
  /// clamping (rounded up to the end of its bucket).
  explicit histogram(int precision_bits = 8, uint64_t max_value = uint64_t{1} << 40)
      : p_(precision_bits), max_trackable_(max_value) {
    if (p_ < 2 || p_ > 16) {
      throw std::invalid_argument("histogram precision must be 2..16 bits");
    }
    if (max_value < 1) {
      throw std::invalid_argument("histogram maximum must be positive");
    }
    counts_.assign(index_of(max_value) + 1, 0);
  }

  /// Bucket index of `v` (unclamped).
  [[nodiscard]] size_t index_of(uint64_t v) const {
    const uint64_t linear = uint64_t{1} << p_;
    if (v < linear) {
      return static_cast<size_t>(v);
    }
    const int e = std::bit_width(v) - 1;  // >= p_
    const int shift = e - p_ + 1;
    const uint64_t mantissa = v >> shift;  // in [2^(p-1), 2^p)
    return static_cast<size_t>(static_cast<uint64_t>(shift) * (linear >> 1) + mantissa);
  }
  /// Smallest value that falls into bucket `i`.
  [[nodiscard]] uint64_t lowest_in(size_t i) const {
    const uint64_t linear = uint64_t{1} << p_;
    if (i < linear) {
      return i;
    }
    const uint64_t half = linear >> 1;
    const uint64_t shift = i / half - 1;
    const uint64_t mantissa = i - shift * half;
    return mantissa << shift;
  }
  /// Largest value that falls into bucket `i`.
  [[nodiscard]] uint64_t highest_in(size_t i) const { return lowest_in(i + 1) - 1; }

  void record(uint64_t v, uint64_t n = 1) {
    if (n == 0) {
      return;
    }
    if (v > max_trackable_) {
      clamped_ += n;
    }
    const uint64_t c = std::min(v, max_trackable_);
    counts_[index_of(c)] += n;
    total_ += n;
    sum_ += static_cast<double>(v) * static_cast<double>(n);
    min_ = std::min(min_, v);
    max_ = std::max(max_, v);
  }

  /// Adds every count of `other`. REQUIRES: same precision and maximum.
  void merge(const histogram& other) {
    if (other.p_ != p_ || other.counts_.size() != counts_.size()) {
      throw std::invalid_argument("merging histograms of different shapes");
    }
    if (other.total_ == 0) {
      return;
    }
    for (size_t i = 0; i < counts_.size(); ++i) {
      counts_[i] += other.counts_[i];
    }
    total_ += other.total_;
    clamped_ += other.clamped_;
    sum_ += other.sum_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }

  void reset() {
    std::fill(counts_.begin(), counts_.end(), 0);
    total_ = 0;
    clamped_ = 0;
    sum_ = 0;
    min_ = std::numeric_limits<uint64_t>::max();
    max_ = 0;
  }

  [[nodiscard]] uint64_t count() const { return total_; }
  /// Values recorded above the trackable maximum.
  [[nodiscard]] uint64_t clamped() const { return clamped_; }
  [[nodiscard]] uint64_t min() const { return total_ == 0 ? 0 : min_; }
  [[nodiscard]] uint64_t max() const { return max_; }
  [[nodiscard]] double mean() const {
    return total_ == 0 ? 0.0 : sum_ / static_cast<double>(total_);
  }

  /// The value at percentile `q` (0..100): the highest value of the bucket holding the
  /// ceil(q/100 * count)-th smallest recording, never above max() nor below min().
  /// 0 when empty; q = 100 gives max().
  [[nodiscard]] uint64_t percentile(double q) const {
    if (total_ == 0) {
      return 0;
    }
    q = std::clamp(q, 0.0, 100.0);
    if (q >= 100.0) {
      return max_;
    }
    auto rank = static_cast<uint64_t>(std::ceil(q / 100.0 * static_cast<double>(total_)));
    rank = std::clamp<uint64_t>(rank, 1, total_);
    uint64_t seen = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank) {
        return std::clamp(highest_in(i), min_, max_);
      }
    }
    return max_;
  }

 private:
  int p_;
  uint64_t max_trackable_;
  std::vector<uint64_t> counts_;
  uint64_t total_ = 0;
  uint64_t clamped_ = 0;
  double sum_ = 0;
  uint64_t min_ = std::numeric_limits<uint64_t>::max();
  uint64_t max_ = 0;
};

}  // namespace strom::bench
