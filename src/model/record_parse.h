// Private to the model module: the one parser of a record (record batch v2 layout), shared
// by record iteration and produce validation.
#pragma once

#include "strom/bytes/cursor.h"
#include "strom/model/records.h"

namespace strom::model::detail {

/// Parses the record at `c` (a cursor over a records section) into `v` and steps `c` over it.
/// Returns nullptr on success, else what is wrong with the record (a string literal); `c` is
/// then left where it stopped. Checks, as Kafka's DefaultRecord does: the length prefix is a
/// valid VARINT, not negative and within the section; attributes, timestamp delta (VARLONG)
/// and offset delta (VARINT) are present; key and value lengths are -1 or within the record;
/// the header count is not negative and not larger than the bytes left; every header has a
/// non-null key and a value of -1 or a length within the record; the record's bytes are
/// exactly consumed. Nothing is allocated.
inline const char* parse_record(bytes::cursor& c, record_view& v) {
  using bytes::length_prefix;
  int32_t len = c.read_varint();
  if (!c.ok())
    return c.failure() == bytes::cursor_errc::truncated ? "truncated record length"
                                                        : "record length is not a valid varint";
  if (len < 0)
    return "negative record length";
  if (static_cast<size_t>(len) > c.remaining())
    return "record length beyond the end of the records";
  const std::span<const std::byte> record = c.read_raw(static_cast<size_t>(len));
  bytes::cursor r(record);
  v.attributes = r.read_int8();
  v.timestamp_delta = r.read_varlong();
  v.offset_delta = r.read_varint();
  if (!r.ok())
    return "record shorter than its attributes, timestamp delta and offset delta";
  v.key_pos = r.position();
  v.key = r.read_nullable_bytes(length_prefix::varint);
  if (!r.ok())
    return "invalid record key length";
  v.value = r.read_nullable_bytes(length_prefix::varint);
  if (!r.ok())
    return "invalid record value length";
  int32_t count = r.read_varint();
  if (!r.ok())
    return "invalid record header count";
  if (count < 0)
    return "negative record header count";
  if (static_cast<size_t>(count) > r.remaining())
    return "record header count larger than the record";
  size_t headers_at = r.position();
  for (int32_t i = 0; i < count; ++i) {
    int64_t key_len = r.read_length(length_prefix::varint);
    if (!r.ok())
      return "invalid record header key length";
    if (key_len < 0)
      return "null record header key";
    r.skip(static_cast<size_t>(key_len));
    (void)r.read_nullable_bytes(length_prefix::varint);
    if (!r.ok())
      return "invalid record header value length";
  }
  if (!r.at_end())
    return "bytes left over after the record's headers";
  v.header_count = count;
  v.body = record;
  v.headers = record.subspan(headers_at);
  return nullptr;
}

}  // namespace strom::model::detail
