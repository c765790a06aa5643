#include "strom/model/validated_batch.h"

#include <fmt/format.h>

#include <algorithm>

#include "model/record_parse.h"
#include "strom/base/assert.h"
#include "strom/bytes/endian.h"
#include "strom/model/compression.h"

namespace strom::model {
namespace {

namespace L = batch_layout;

error invalid(std::string what) {
  return error(batch_errc::invalid_record, std::move(what));
}

/// What check() found: the header as checked, and what the rewrite needs.
struct checked_batch {
  batch_header h;
  bool all_keyed = true;
  timestamp_ms max_ts = -1;
};

/// Every check of validate_for_append(), reading `batch` only.
result<checked_batch> check(std::span<const std::byte> batch, const validation_policy& p,
                            std::vector<record_error>* record_errors) {
  const bool client = p.origin == append_origin::client;
  const bool replica = p.origin == append_origin::replica;

  // What Kafka checks on the request (ProduceRequest.validateRecords) and while cutting the
  // record set into batches.
  if (batch.empty())
    return invalid("a produce request needs one record batch per partition");
  if (batch.size() < L::header_size) {
    return error(batch_errc::truncated,
                 fmt::format("{} bytes, smaller than a record batch header ({})", batch.size(),
                             L::header_size));
  }
  auto decoded = decode_header(batch);
  if (!decoded)
    return decoded.error();
  const batch_header& first = *decoded;
  if (first.magic != kafka_magic) {
    return error(batch_errc::bad_magic,
                 fmt::format("magic {}: only record batch magic 2 is accepted", first.magic));
  }
  if (client && first.is_control())
    return invalid("clients are not allowed to write control records");
  constexpr auto min_length = static_cast<int32_t>(L::header_size - L::log_overhead);
  if (first.batch_length >= min_length && first.size_bytes() < batch.size())
    return invalid("exactly one record batch per partition is accepted");
  if (client && first.base_offset != 0) {
    return invalid(
        fmt::format("the base offset of a produced batch must be 0, not {}", first.base_offset));
  }

  // The batch: length, size limit, CRC, attributes, count against lastOffsetDelta.
  auto checked = validate_batch(batch, first, p.max_batch_bytes,
                                replica ? batch_shape::compacted : batch_shape::produced);
  if (!checked)
    return checked.error();
  batch_header h = *checked;
  if (client && h.producer_id >= 0 && h.base_sequence < 0) {
    return invalid(fmt::format("invalid sequence number {} in a batch of producer id {}",
                               h.base_sequence, h.producer_id));
  }

  // The records, decompressed within the limit.
  std::vector<std::byte> inflated;
  auto section = batch.subspan(L::header_size);
  if (h.codec() != compression::none) {
    auto d = decompress(h.codec(), section, p.max_decompressed_bytes);
    if (!d) {
      if (d.error().is(compression_errc::too_large)) {
        return invalid(
            fmt::format("the records decompress to more than {} bytes", p.max_decompressed_bytes));
      }
      return error(batch_errc::bad_compression, d.error().message());
    }
    inflated = std::move(*d);
    section = inflated;
  }

  const bool lat_bit = h.log_append_time();
  bool all_keyed = true;
  bool timestamp_errors = false;
  size_t errors = 0;
  auto refuse = [&](int32_t index, std::string message) {
    if (record_errors != nullptr && record_errors->size() < max_record_errors)
      record_errors->push_back({index, std::move(message)});
    ++errors;
  };
  timestamp_ms max_ts = -1;
  bytes::cursor c(section);
  record_view v;  // reused: parse_record sets every field
  int64_t prev_delta = -1;
  for (int32_t i = 0; i < h.records_count; ++i) {
    if (c.at_end()) {
      return invalid(fmt::format("premature end of the records: {} announced, {} present",
                                 h.records_count, i));
    }
    size_t at = c.position();
    if (const char* bad = detail::parse_record(c, v))
      return invalid(fmt::format("record {} (byte {} of the records): {}", i, at, bad));
    // Compaction keeps each kept record's delta: increasing, within the batch's offsets.
    bool delta_ok = replica ? v.offset_delta > prev_delta && v.offset_delta <= h.last_offset_delta
                            : v.offset_delta == i;
    if (!delta_ok) {
      return invalid(fmt::format("record {} has offset delta {}; deltas must be 0 to {} in order",
                                 i, v.offset_delta, h.last_offset_delta));
    }
    prev_delta = v.offset_delta;
    if (replica) {
      all_keyed = all_keyed && v.key.has_value();
      continue;  // the leader took it: its keys and timestamps are not decided again
    }
    timestamp_ms ts = 0;
    if (__builtin_add_overflow(h.base_timestamp, v.timestamp_delta, &ts)) {
      return invalid(fmt::format("record {}: timestamp {} + {} overflows", i, h.base_timestamp,
                                 v.timestamp_delta));
    }
    max_ts = std::max(max_ts, ts);
    if (!v.key) {
      all_keyed = false;
      if (p.compacted) {
        refuse(i, "Compacted topic cannot accept message without key");
        continue;
      }
    }
    // A record's timestamp under LogAppendTime is the batch's maxTimestamp.
    timestamp_ms record_ts = lat_bit ? h.max_timestamp : ts;
    if ((p.log_append_time || record_ts == -1) && lat_bit) {
      timestamp_errors = true;
      refuse(i, fmt::format("Invalid timestamp type in record {}: producers must not set the "
                            "timestamp type to LogAppendTime",
                            i));
    }
  }
  if (!c.at_end()) {
    return invalid(fmt::format("{} bytes left over after the last of {} records", c.remaining(),
                               h.records_count));
  }
  if (errors > 0) {
    if (timestamp_errors)
      return error(batch_errc::invalid_timestamp,
                   "One or more records have been rejected due to invalid timestamp");
    return error(batch_errc::missing_key,
                 fmt::format("One or more records have been rejected due to {} record errors: "
                             "a compacted topic cannot accept records without a key",
                             errors));
  }

  return checked_batch{h, all_keyed, max_ts};
}

}  // namespace

result<validated_batch> validate_for_append(std::span<std::byte> batch, const validation_policy& p,
                                            std::vector<record_error>* record_errors) {
  auto c = check(batch, p, record_errors);
  if (!c)
    return c.error();
  batch_header h = c->h;
  // maxTimestamp as the records say (Kafka rewrites it the same way); a LogAppendTime topic
  // gets the append time from the partition instead. A replica's batch stays byte for byte
  // as the leader's.
  if (p.origin != append_origin::replica && !p.log_append_time &&
      (h.log_append_time() || h.max_timestamp != c->max_ts)) {
    h.attributes = static_cast<int16_t>(h.attributes & ~int16_t{0x08});
    h.max_timestamp = c->max_ts;
    rewrite_timestamps(batch, h.attributes, h.max_timestamp);
    h.crc = bytes::read_be<uint32_t>(batch.data() + L::crc);
  }
  return validated_batch(h, batch, c->all_keyed, p.origin);
}

result<batch_header> validate_replicated(std::span<const std::byte> batch,
                                         const validation_policy& p) {
  STROM_ASSERT(p.origin == append_origin::replica, "validate_replicated for another origin");
  auto c = check(batch, p, nullptr);
  if (!c)
    return c.error();
  return c->h;
}

void validated_batch::stamp(kafka_offset base, leader_epoch epoch) {
  stamp_batch(bytes_, base, epoch);
  header_.base_offset = base.value();
  header_.partition_leader_epoch = epoch.value();
}

void validated_batch::set_log_append_time(timestamp_ms now) {
  header_.attributes = static_cast<int16_t>(header_.attributes | 0x08);
  header_.max_timestamp = now;
  rewrite_timestamps(bytes_, header_.attributes, now);
  header_.crc = bytes::read_be<uint32_t>(bytes_.data() + L::crc);
}

}  // namespace strom::model
