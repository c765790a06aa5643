#pragma once

#include <cstdint>
#include <limits>

/// Arithmetic on 64-bit values that may come from clients or from disk (timestamps, retention
/// and lag settings up to INT64_MAX): signed overflow is undefined behaviour, so sums and
/// differences that can leave the range saturate at its ends, or wrap explicitly where the
/// Kafka protocol defines wrapping (Java `long` arithmetic on record timestamps).
namespace strom {

/// a + b, clamped to [INT64_MIN, INT64_MAX].
constexpr int64_t sat_add(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r))
    return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  return r;
}

/// a - b, clamped to [INT64_MIN, INT64_MAX].
constexpr int64_t sat_sub(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_sub_overflow(a, b, &r))
    return b < 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  return r;
}

/// a + b modulo 2^64, as Java computes `long` sums: what a Kafka client computes for a
/// record's timestamp (baseTimestamp + timestampDelta) whatever the values.
constexpr int64_t wrapping_add(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}

/// a - b modulo 2^64.
constexpr int64_t wrapping_sub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}

}  // namespace strom
