#include "strom/model/records.h"

#include <fmt/format.h>

#include <limits>

#include "model/record_parse.h"
#include "strom/bytes/varint.h"
#include "strom/model/compression.h"

namespace strom::model {

namespace {

status iterate(std::span<const std::byte> records, int32_t count, int64_t max_delta,
               const std::function<bool(const record_view&)>& fn) {
  if (count < 0)
    return error(batch_errc::invalid_record, fmt::format("negative record count {}", count));
  bytes::cursor c(records);
  int64_t previous = -1;
  record_view v;  // reused: parse_record sets every field
  for (int32_t i = 0; i < count; ++i) {
    if (c.at_end()) {
      return error(batch_errc::invalid_record,
                   fmt::format("{} records announced, {} present", count, i));
    }
    size_t at = c.position();
    if (const char* bad = detail::parse_record(c, v)) {
      return error(batch_errc::invalid_record,
                   fmt::format("record {} (byte {} of the records): {}", i, at, bad));
    }
    if (v.offset_delta <= previous || v.offset_delta > max_delta) {
      return error(batch_errc::invalid_record, fmt::format("record {} has offset delta {} after {}",
                                                           i, v.offset_delta, previous));
    }
    previous = v.offset_delta;
    if (!fn(v))
      return ok();
  }
  if (!c.at_end()) {
    return error(
        batch_errc::invalid_record,
        fmt::format("{} bytes left over after the last of {} records", c.remaining(), count));
  }
  return ok();
}

}  // namespace

status for_each_record_in(std::span<const std::byte> records, int32_t count,
                          const std::function<bool(const record_view&)>& fn) {
  return iterate(records, count, std::numeric_limits<int32_t>::max(), fn);
}

status for_each_record_in(std::span<const std::byte> records, const batch_header& h,
                          const std::function<bool(const record_view&)>& fn) {
  return iterate(records, h.records_count, h.last_offset_delta, fn);
}

status for_each_record(std::span<const std::byte> batch, const batch_header& h,
                       const std::function<bool(const record_view&)>& fn) {
  if (h.codec() != compression::none) {
    return error(batch_errc::bad_attributes, "compressed batch");
  }
  if (batch.size() < batch_layout::header_size)
    return error(batch_errc::truncated);
  return for_each_record_in(batch.subspan(batch_layout::header_size), h, fn);
}

result<std::vector<std::byte>> records_section(std::span<const std::byte> batch,
                                               const batch_header& h, size_t max_bytes) {
  if (batch.size() < batch_layout::header_size)
    return error(batch_errc::truncated);
  return decompress(h.codec(), batch.subspan(batch_layout::header_size), max_bytes);
}

void append_record(std::vector<std::byte>& out, int8_t attributes, int64_t timestamp_delta,
                   int64_t offset_delta, std::span<const std::byte> rest) {
  std::byte head[1 + 10 + 10];
  head[0] = static_cast<std::byte>(attributes);
  size_t n = 1;
  n += bytes::encode_varlong(timestamp_delta, head + n);
  n += bytes::encode_varlong(offset_delta, head + n);
  std::byte len[10];
  size_t ln = bytes::encode_varlong(static_cast<int64_t>(n + rest.size()), len);
  out.insert(out.end(), len, len + ln);
  out.insert(out.end(), head, head + n);
  out.insert(out.end(), rest.begin(), rest.end());
}

}  // namespace strom::model
