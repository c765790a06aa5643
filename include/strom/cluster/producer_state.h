#pragma once

#include <array>
#include <cstdint>
#include <list>
#include <optional>
#include <span>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "strom/base/clock.h"
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
/// transactions): for each producer id, its epoch, its last 5 batches and when it last
/// appended. Answers as Kafka 3.x does (docs/protocol-coverage.md, "Idempotent produce"):
/// - a retry of one of the last five batches is recognised by its sequence range and answered
///   with its original offsets instead of being appended again;
/// - an older epoch is INVALID_PRODUCER_EPOCH; a newer epoch must start at sequence 0;
/// - within an epoch a gap or rewind is OUT_OF_ORDER_SEQUENCE_NUMBER;
/// - an unknown producer id (never seen, expired or evicted) is accepted with any sequence:
///   since KIP-360 Kafka never answers UNKNOWN_PRODUCER_ID to a produce.
///
/// Bounded: a producer that has not appended for `expiration_ms` (producer.id.expiration.ms)
/// is forgotten by expire(), and when `max_producers` are remembered the least recently
/// appending one is forgotten to make room for a new one. A forgotten producer that comes back
/// is an unknown one. Owned by the partition's shard.
class producer_state {
 public:
  static constexpr size_t remembered_batches = 5;

  struct limits {
    /// producer.id.expiration.ms: forget a producer this long after its last append.
    int64_t expiration_ms = 86'400'000;
    /// Producers remembered at most; the least recently appending one makes room.
    size_t max_producers = 10'000;
  };

  struct batch_meta {
    int32_t first_seq = 0;
    int32_t last_seq = 0;
    int64_t base_offset = 0;
    int64_t last_offset = 0;
    bool operator==(const batch_meta&) const = default;
  };

  /// What is remembered of one producer.
  struct producer {
    int64_t id = -1;
    int16_t epoch = 0;
    /// Broker time of its last append (for batches rebuilt from the log: the batch's max
    /// timestamp, never later than the time of the rebuild).
    timestamp_ms last_seen = 0;
    /// Oldest first.
    std::array<batch_meta, remembered_batches> batches{};
    uint8_t count = 0;
    bool operator==(const producer&) const = default;
  };

  producer_state() : producer_state(limits{}) {}
  explicit producer_state(limits l) : limits_(l) {}
  // The index points into the list: a copy would point into the original's.
  producer_state(const producer_state&) = delete;
  producer_state& operator=(const producer_state&) = delete;
  producer_state(producer_state&&) noexcept = default;
  producer_state& operator=(producer_state&&) noexcept = default;
  ~producer_state() = default;
  /// Takes effect at once (a lower bound forgets the least recently appending producers).
  void set_limits(limits l);
  [[nodiscard]] const limits& current_limits() const { return limits_; }

  /// Checks an idempotent batch before it is appended. Returns the earlier batch when this is
  /// a retry of one of the last five, nullopt when it may be appended, or an error.
  [[nodiscard]] result<std::optional<batch_meta>> check(const model::batch_header& h) const;
  /// Records an appended batch (whose header carries its assigned offsets) at broker time
  /// `now`; the producer becomes the most recently appending one.
  void record(const model::batch_header& h, timestamp_ms now);
  /// Forgets producers idle for expiration_ms or longer; returns how many.
  size_t expire(timestamp_ms now);
  /// Orders the producers by last_seen (after a rebuild, where batch timestamps need not
  /// come in order), so that expire() finds the idle ones first.
  void sort_by_last_seen();

  /// The state as a snapshot payload (docs/storage-format.md, "State snapshots"): every
  /// producer, least recently appending first.
  [[nodiscard]] std::vector<std::byte> encode() const;
  /// Replaces the state with a decoded payload (every length checked; at most
  /// max_producers are kept, the most recent ones). An error leaves the state as it was.
  status decode(std::span<const std::byte> payload);
  /// Bytes of a payload holding `producers` producers at most.
  static size_t encoded_size_bound(size_t producers);
  [[nodiscard]] size_t producers() const { return by_id_.size(); }
  /// Producers forgotten to make room so far.
  [[nodiscard]] uint64_t evicted() const { return evicted_; }
  /// The state of one producer, if remembered.
  [[nodiscard]] const producer* find(int64_t id) const;

 private:
  using lru_list = std::list<producer>;  ///< least recently appending first
  void make_room();

  limits limits_;
  lru_list lru_;
  std::unordered_map<int64_t, lru_list::iterator> by_id_;
  uint64_t evicted_ = 0;
};

}  // namespace strom::cluster

template <>
struct std::is_error_code_enum<strom::cluster::producer_errc> : std::true_type {};
