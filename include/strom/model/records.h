#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "strom/base/result.h"
#include "strom/model/record_batch.h"

namespace strom::model {

/// One record of an uncompressed records section, viewing its bytes.
struct record_view {
  int8_t attributes = 0;
  int64_t offset_delta = 0;
  int64_t timestamp_delta = 0;
  std::optional<std::span<const std::byte>> key;
  std::optional<std::span<const std::byte>> value;
  int32_t header_count = 0;
  /// The whole record after its length prefix, and where its key field starts in it: a
  /// record can be re-encoded with another timestamp delta by copying body[key_pos..].
  std::span<const std::byte> body;
  size_t key_pos = 0;
  /// The encoded headers, after their count (every header checked: non-null key, lengths
  /// within the record).
  std::span<const std::byte> headers;
};

/// Calls `fn` for each record of an uncompressed batch until it returns false, as
/// for_each_record_in(records, h, fn). Compressed batches return batch_errc::bad_attributes.
status for_each_record(std::span<const std::byte> batch, const batch_header& h,
                       const std::function<bool(const record_view&)>& fn);

/// Calls `fn` for each of the `count` records of an uncompressed records section (the bytes
/// after the batch header, decompressed) until it returns false. Every record is parsed whole
/// before `fn` sees it (lengths, varints, key, value and every header checked against the
/// record; see docs/storage-format.md); offset deltas must be non-negative and strictly
/// increasing (compaction leaves gaps, nothing else does); bytes left over after the last
/// record are an error. Errors are batch_errc::invalid_record naming the record.
status for_each_record_in(std::span<const std::byte> records, int32_t count,
                          const std::function<bool(const record_view&)>& fn);
/// The same with the count and the offset range of `h`: every offset delta is also at most
/// lastOffsetDelta.
status for_each_record_in(std::span<const std::byte> records, const batch_header& h,
                          const std::function<bool(const record_view&)>& fn);

/// The records section of `batch`, decompressed when the batch is compressed; at most
/// `max_bytes` (a larger one fails with compression_errc::too_large).
result<std::vector<std::byte>> records_section(std::span<const std::byte> batch,
                                               const batch_header& h, size_t max_bytes);

/// Encodes one record: length prefix, then `attributes`, `timestamp_delta`, `offset_delta`
/// and `rest` (the key, value and headers fields, as in record_view::body[key_pos..]).
void append_record(std::vector<std::byte>& out, int8_t attributes, int64_t timestamp_delta,
                   int64_t offset_delta, std::span<const std::byte> rest);

}  // namespace strom::model
