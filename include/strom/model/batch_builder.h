#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include "strom/base/clock.h"
#include "strom/model/record_batch.h"

namespace strom::model {

/// Builds a Kafka record batch (magic 2) the way a producer does: baseOffset 0,
/// partitionLeaderEpoch -1, contiguous offset deltas, records compressed with the chosen codec
/// (none by default), CRC-32C filled in. Used by tests, benchmarks and tools; the broker
/// never re-encodes client batches (compaction rebuilds them through encode_batch()).
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
  /// Compresses the records section with `c` at build().
  batch_builder& codec(compression c) {
    codec_ = c;
    return *this;
  }

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
  compression codec_ = compression::none;
  size_t count_ = 0;
  std::vector<std::byte> records_;
};

}  // namespace strom::model
