#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <system_error>
#include <unordered_map>

#include "strom/base/result.h"
#include "strom/model/offsets.h"
#include "strom/model/record_batch.h"

namespace strom::cluster {

enum class producer_errc {
  out_of_order_sequence = 1,  ///< a gap or a rewind in the sequence numbers
  invalid_producer_epoch,     ///< an epoch older than the producer's current one
  invalid_sequence,           ///< an idempotent batch with a negative base sequence
};
const std::error_category& producer_category();
inline std::error_code make_error_code(producer_errc e) {
  return {static_cast<int>(e), producer_category()};
}

/// Idempotent-producer bookkeeping of one partition (Kafka's ProducerStateManager, minus
/// transactions): for each producer id, its epoch and its last 5 batches. A retried batch is
/// recognised by its sequence range and answered with its original offsets instead of being
/// appended again; a gap or rewind is OUT_OF_ORDER_SEQUENCE_NUMBER; an older epoch is
/// INVALID_PRODUCER_EPOCH. Owned by the partition's shard.
class producer_state {
 public:
  static constexpr size_t remembered_batches = 5;

  struct batch_meta {
    int32_t first_seq = 0;
    int32_t last_seq = 0;
    int64_t base_offset = 0;
    int64_t last_offset = 0;
  };

  /// Checks an idempotent batch before it is appended. Returns the earlier batch when this is
  /// a retry of one of the last five, nullopt when it is new and in sequence, or an error.
  result<std::optional<batch_meta>> check(const model::batch_header& h) const;
  /// Records an appended batch (whose header carries its assigned offsets).
  void record(const model::batch_header& h);
  [[nodiscard]] size_t producers() const { return producers_.size(); }

 private:
  struct entry {
    int16_t epoch = 0;
    std::deque<batch_meta> batches;
  };
  std::unordered_map<int64_t, entry> producers_;
};

}  // namespace strom::cluster

template <>
struct std::is_error_code_enum<strom::cluster::producer_errc> : std::true_type {};
