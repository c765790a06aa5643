#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "strom/base/clock.h"
#include "strom/base/result.h"
#include "strom/model/offsets.h"
#include "strom/model/record_batch.h"

namespace strom::model {

/// Who appends a batch (Kafka's AppendOrigin): a client's batch gets the checks Kafka makes
/// only for clients (baseOffset 0, no control batches, a sequence with every producer id);
/// the broker's own writers (the group coordinator, tools and tests) skip those. A replica's
/// batch is one its leader stored, taken byte for byte: its structure is checked (the
/// compacted shape allowed: fewer records than offsets, offset deltas increasing, none at
/// all), but nothing the leader decided is checked again or rewritten (keys on a compacted
/// topic, timestamps). Every other check is the same for all.
enum class append_origin { client, internal, replica };

/// What a batch is validated against: the origin and the target log's settings.
struct validation_policy {
  append_origin origin = append_origin::client;
  /// max.message.bytes: the largest batch, header included.
  size_t max_batch_bytes = 1048588;
  /// The largest decompressed records section; a compressed batch that inflates beyond it
  /// (a decompression bomb) is refused without decompressing further.
  size_t max_decompressed_bytes = size_t{64} << 20;
  /// cleanup.policy contains compact: every record needs a key.
  bool compacted = false;
  /// message.timestamp.type=LogAppendTime (the broker stamps the time; a client must not).
  bool log_append_time = false;
};

/// One refused record of a batch, as ProduceResponse v8+ reports it (record_errors).
struct record_error {
  int32_t batch_index = 0;
  std::string message;
};
/// At most this many record errors are reported per batch (the first ones).
inline constexpr size_t max_record_errors = 100;

class validated_batch;

/// Validates one record batch for appending, as Kafka's broker does (ProduceRequest's checks,
/// UnifiedLog.analyzeAndValidateRecords, LogValidator and DefaultRecord), and returns it as a
/// validated_batch. Nothing is appended anywhere; the batch's bytes may be rewritten in place
/// (see below). Checks, in order:
///  - exactly one batch of magic 2 (client: not a control batch), not empty;
///  - header length, batchLength against the bytes present, the size limit, CRC-32C,
///    compression codec and attributes, recordsCount == lastOffsetDelta + 1 > 0;
///  - client: baseOffset 0, and a producer id comes with a base sequence >= 0;
///  - the records section (decompressed within policy.max_decompressed_bytes): exactly
///    recordsCount records, each parsed whole (lengths, varints, key, value, headers), offset
///    deltas exactly 0, 1, ..., n-1 in order, no bytes left over, record timestamps
///    (baseTimestamp + delta) without overflow;
///  - per record (reported in `record_errors` when given, as Kafka's record_errors): a key on
///    a compacted topic; no LogAppendTime from a client on a LogAppendTime topic, nor one
///    without a timestamp.
/// Rewrites, as Kafka does, recomputing the CRC: maxTimestamp := the largest record timestamp
/// when the batch says otherwise; the LogAppendTime bit a client set on a CreateTime topic is
/// cleared. Errors are batch_errc values (docs/protocol-coverage.md lists the Kafka error code
/// of each); a records section that does not decompress is bad_compression, one that inflates
/// beyond the limit invalid_record.
[[nodiscard]] result<validated_batch> validate_for_append(
    std::span<std::byte> batch, const validation_policy& policy,
    std::vector<record_error>* record_errors = nullptr);

/// The checks validate_for_append() makes of a replica's batch (policy.origin must be
/// append_origin::replica), which rewrite nothing: for a batch the caller cannot or need not
/// change. Returns its header.
[[nodiscard]] result<batch_header> validate_replicated(std::span<const std::byte> batch,
                                                       const validation_policy& policy);

/// A record batch that passed validate_for_append(): its decoded header and a view of its
/// bytes. Only the validator makes one, so whoever takes one (cluster::partition::append,
/// storage::log::append) uses the header as it is instead of decoding and checking again.
/// It does not own the bytes: the caller keeps them alive (and unmodified but through this
/// value) while it is used. Owned by one thread.
class validated_batch {
 public:
  [[nodiscard]] const batch_header& header() const { return header_; }
  [[nodiscard]] std::span<const std::byte> bytes() const { return bytes_; }
  [[nodiscard]] size_t size_bytes() const { return bytes_.size(); }
  /// Every record has a key (what a compacted log requires).
  [[nodiscard]] bool all_keyed() const { return all_keyed_; }
  [[nodiscard]] append_origin origin() const { return origin_; }

  /// Stamps baseOffset and partitionLeaderEpoch (not under the CRC), bytes and header.
  void stamp(kafka_offset base, leader_epoch epoch);
  /// Switches the batch to LogAppendTime with maxTimestamp `now`; recomputes the CRC.
  void set_log_append_time(timestamp_ms now);

 private:
  friend result<validated_batch> validate_for_append(std::span<std::byte>, const validation_policy&,
                                                     std::vector<record_error>*);
  validated_batch(const batch_header& h, std::span<std::byte> bytes, bool all_keyed,
                  append_origin origin)
      : header_(h), bytes_(bytes), all_keyed_(all_keyed), origin_(origin) {}

  batch_header header_;
  std::span<std::byte> bytes_;
  bool all_keyed_ = false;
  append_origin origin_ = append_origin::client;
};

}  // namespace strom::model
