#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include "strom/base/clock.h"

namespace strom::model {

/// Builds an uncompressed Kafka record batch (magic 2) the way a producer does: baseOffset 0,
/// partitionLeaderEpoch -1, contiguous offset deltas, CRC-32C filled in. Used by tests,
/// benchmarks and tools; the broker itself never re-encodes client batches.
class batch_builder {
 public:
  explicit batch_builder(timestamp_ms base_timestamp) : base_ts_(base_timestamp) {}

  /// Adds a record; a null key or value is written as length -1.
  batch_builder& add(std::optional<std::string_view> key, std::optional<std::string_view> value,
                     timestamp_ms ts);
  batch_builder& add(std::string_view key, std::string_view value) {
    return add(std::optional(key), std::optional(value), base_ts_);
  }
  /// Sets the idempotent-producer fields.
  batch_builder& producer(int64_t id, int16_t epoch, int32_t base_sequence);

  [[nodiscard]] size_t record_count() const { return count_; }
  /// Encodes the batch. The builder can be reused after reset().
  [[nodiscard]] std::vector<std::byte> build() const;
  void reset();

 private:
  timestamp_ms base_ts_;
  timestamp_ms max_ts_ = -1;
  int64_t producer_id_ = -1;
  int16_t producer_epoch_ = -1;
  int32_t base_sequence_ = -1;
  size_t count_ = 0;
  std::vector<std::byte> records_;
};

}  // namespace strom::model
