#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <system_error>
#include <vector>

#include "strom/base/clock.h"
#include "strom/base/result.h"
#include "strom/model/offsets.h"

namespace strom::model {

/// Layout of a Kafka record batch, magic 2 (docs/storage-format.md). All big-endian.
namespace batch_layout {
inline constexpr size_t base_offset = 0;
inline constexpr size_t batch_length = 8;
inline constexpr size_t partition_leader_epoch = 12;
inline constexpr size_t magic = 16;
inline constexpr size_t crc = 17;
inline constexpr size_t attributes = 21;
inline constexpr size_t last_offset_delta = 23;
inline constexpr size_t base_timestamp = 27;
inline constexpr size_t max_timestamp = 35;
inline constexpr size_t producer_id = 43;
inline constexpr size_t producer_epoch = 51;
inline constexpr size_t base_sequence = 53;
inline constexpr size_t records_count = 57;
inline constexpr size_t header_size = 61;
/// baseOffset and batchLength precede the length-counted part.
inline constexpr size_t log_overhead = 12;
/// The CRC covers attributes through the end of the batch.
inline constexpr size_t crc_start = attributes;
}  // namespace batch_layout

inline constexpr int8_t kafka_magic = 2;
/// Magic of Strom-private internal entries (Raft term starts, configuration). Such a batch
/// takes no Kafka offset and never reaches a client; any Kafka decoder rejects the magic.
inline constexpr int8_t internal_magic = 0x53;  // 'S'

enum class compression : uint8_t { none = 0, gzip = 1, snappy = 2, lz4 = 3, zstd = 4 };

/// Kinds of internal entries. Every kind is in the "takes no Kafka offset" set by
/// construction: an internal entry is recognised by its magic alone.
enum class internal_kind : uint16_t {
  term_start = 1,     ///< first entry a new leader writes in its term
  configuration = 2,  ///< replica-set membership
  checkpoint = 3,     ///< opaque bookkeeping record
  /// Left by compaction where a whole data batch was removed: baseOffset is that batch's
  /// next offset (so the segment's end offset never moves back) and the payload, when not
  /// empty, is the removed batch's 61-byte header (an idempotent producer's newest batch,
  /// kept so that its sequence state can be rebuilt).
  removed_batch = 4,
  /// A replicated DeleteRecords: the log start moves (payload: the new start).
  prefix_truncate = 5,
};

/// Whether entries of `kind` are Raft log entries (they take a Raft index and are
/// replicated). The others (checkpoint, removed_batch) are local bookkeeping of one replica:
/// they take neither a Kafka offset nor a Raft index. No internal kind takes a Kafka offset.
[[nodiscard]] constexpr bool takes_raft_index(internal_kind kind) {
  return kind == internal_kind::term_start || kind == internal_kind::configuration ||
         kind == internal_kind::prefix_truncate;
}

/// The decoded fixed header of a batch (Kafka or internal).
struct batch_header {
  int64_t base_offset = 0;
  int32_t batch_length = 0;
  int32_t partition_leader_epoch = -1;
  int8_t magic = kafka_magic;
  uint32_t crc = 0;
  int16_t attributes = 0;
  int32_t last_offset_delta = 0;
  int64_t base_timestamp = -1;
  int64_t max_timestamp = -1;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
  int32_t records_count = 0;

  /// Total size on disk and on the wire: 12 + batchLength.
  [[nodiscard]] size_t size_bytes() const {
    return batch_layout::log_overhead + static_cast<size_t>(batch_length);
  }
  [[nodiscard]] bool is_internal() const { return magic == internal_magic; }
  [[nodiscard]] compression codec() const { return static_cast<compression>(attributes & 0x7); }
  [[nodiscard]] bool is_control() const { return (attributes & 0x20) != 0; }
  [[nodiscard]] bool is_transactional() const { return (attributes & 0x10) != 0; }
  [[nodiscard]] bool log_append_time() const { return (attributes & 0x08) != 0; }
  /// Set by compaction (Kafka's KIP-534): baseTimestamp holds the time after which the
  /// batch's tombstones may be removed; record timestamps stay baseTimestamp + delta.
  [[nodiscard]] bool has_delete_horizon() const { return (attributes & delete_horizon_flag) != 0; }
  static constexpr int16_t delete_horizon_flag = 0x40;
  /// Number of Kafka offsets the batch covers (0 for internal entries).
  [[nodiscard]] int64_t offset_count() const {
    return is_internal() ? 0 : int64_t{last_offset_delta} + 1;
  }
  [[nodiscard]] kafka_offset first_offset() const { return kafka_offset(base_offset); }
  /// REQUIRES: !is_internal().
  [[nodiscard]] kafka_offset last_offset() const {
    return kafka_offset(base_offset + last_offset_delta);
  }
  /// The exclusive offset after the batch (== base offset for internal entries).
  [[nodiscard]] kafka_next_offset next_offset() const {
    return kafka_next_offset(base_offset + offset_count());
  }
  [[nodiscard]] internal_kind kind() const {
    return static_cast<internal_kind>(static_cast<uint16_t>(attributes));
  }
  /// Number of Raft indexes the entry spans: a data batch as many as Kafka offsets, an
  /// internal Raft entry one, a local internal entry none.
  [[nodiscard]] int64_t raft_span() const {
    if (!is_internal())
      return offset_count();
    return takes_raft_index(kind()) ? 1 : 0;
  }
  /// The Raft index an internal Raft entry carries (in producerId, under the CRC); nullopt
  /// for other entries and for internal entries written before Raft indexes existed.
  [[nodiscard]] std::optional<raft_index> stored_raft_index() const {
    if (!is_internal() || !takes_raft_index(kind()) || producer_id < 0)
      return std::nullopt;
    return raft_index(producer_id);
  }
};

enum class batch_errc {
  truncated = 1,   ///< fewer bytes than the header or batchLength says
  bad_length,      ///< batchLength out of range
  bad_magic,       ///< neither magic 2 nor the internal marker
  bad_crc,         ///< CRC-32C mismatch
  bad_count,       ///< recordsCount inconsistent with lastOffsetDelta
  bad_attributes,  ///< unknown compression codec or reserved bits set
  too_large,       ///< larger than the allowed maximum
  /// A record (or the records section) is malformed: a length, varint, header or offset
  /// delta is wrong, records are missing or bytes are left over (Kafka: INVALID_RECORD).
  invalid_record,
  missing_key,        ///< a record without a key for a compacted topic (INVALID_RECORD)
  invalid_timestamp,  ///< a timestamp Kafka's LogValidator refuses (INVALID_TIMESTAMP)
  /// The compressed records section is not a valid stream of its codec (CORRUPT_MESSAGE).
  bad_compression,
};
const std::error_category& batch_category();
inline std::error_code make_error_code(batch_errc e) {
  return {static_cast<int>(e), batch_category()};
}

/// Decodes the fixed header. Checks only that 61 bytes are present.
[[nodiscard]] result<batch_header> decode_header(std::span<const std::byte> in);

/// Checks the length fields of a header against `available` bytes and a maximum size,
/// without touching the body. Used before allocating or reading a batch.
[[nodiscard]] status check_length(const batch_header& h, size_t max_batch_bytes);

/// The record counts a data batch may have against its lastOffsetDelta: as produced, one
/// record per offset; as compaction left it, fewer records than offsets, none at all when every
/// record went (a replicated log keeps such an empty batch for the offsets it spans).
enum class batch_shape { produced, compacted };

/// Fully validates one batch that occupies exactly `batch`: header, length, magic, CRC-32C,
/// record count against lastOffsetDelta (recordsCount == lastOffsetDelta + 1 > 0, or
/// 0 <= recordsCount <= lastOffsetDelta + 1 for the compacted shape) and attributes.
[[nodiscard]] result<batch_header> validate_batch(std::span<const std::byte> batch,
                                                  size_t max_batch_bytes,
                                                  batch_shape shape = batch_shape::produced);
/// The same for a batch whose header `h` the caller decoded already (decode_header(batch)).
[[nodiscard]] result<batch_header> validate_batch(std::span<const std::byte> batch,
                                                  const batch_header& h, size_t max_batch_bytes,
                                                  batch_shape shape = batch_shape::produced);

/// Overwrites baseOffset and partitionLeaderEpoch in place (neither is under the CRC).
void stamp_batch(std::span<std::byte> batch, kafka_offset base, leader_epoch epoch);

/// Switches a batch to LogAppendTime: sets attribute bit 3 and maxTimestamp := `now`, and
/// recomputes the CRC (both fields are under it).
void set_log_append_time(std::span<std::byte> batch, timestamp_ms now);

/// Overwrites attributes and maxTimestamp and recomputes the CRC (both are under it).
void rewrite_timestamps(std::span<std::byte> batch, int16_t attributes, timestamp_ms max_timestamp);

/// Encodes a batch from header fields and an encoded (possibly compressed) records section:
/// batchLength and the CRC are computed, every other field is taken from `h` (magic included).
[[nodiscard]] std::vector<std::byte> encode_batch(const batch_header& h,
                                                  std::span<const std::byte> records);

/// Builds an internal entry: header with the internal magic, `kind` in attributes,
/// baseOffset = the Kafka offset it sits before, producerId = its Raft index (-1 when none:
/// local kinds), then `payload`, with a valid CRC.
[[nodiscard]] std::vector<std::byte> make_internal_entry(
    internal_kind kind, kafka_next_offset position, leader_epoch epoch, timestamp_ms now,
    std::span<const std::byte> payload, std::optional<raft_index> index = std::nullopt);

}  // namespace strom::model

template <>
struct std::is_error_code_enum<strom::model::batch_errc> : std::true_type {};
