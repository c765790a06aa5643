#include "strom/model/records.h"

#include <fmt/format.h>

#include "strom/bytes/varint.h"
#include "strom/model/compression.h"

namespace strom::model {

namespace {
struct reader {
  std::span<const std::byte> in;
  size_t pos = 0;

  std::optional<int64_t> varlong() {
    auto d = bytes::decode_varlong(in.subspan(pos));
    if (!d)
      return std::nullopt;
    pos += d->length;
    return d->value;
  }
  std::optional<int64_t> varint() {
    auto d = bytes::decode_varint(in.subspan(pos));
    if (!d)
      return std::nullopt;
    pos += d->length;
    return d->value;
  }
  // Length-prefixed bytes; nullopt-of-nullopt means malformed.
  bool bytes_field(std::optional<std::span<const std::byte>>& out) {
    auto len = varint();
    if (!len || *len < -1)
      return false;
    if (*len == -1) {
      out.reset();
      return true;
    }
    if (static_cast<uint64_t>(*len) > in.size() - pos)
      return false;
    out = in.subspan(pos, static_cast<size_t>(*len));
    pos += static_cast<size_t>(*len);
    return true;
  }
};
}  // namespace

status for_each_record_in(std::span<const std::byte> records, int32_t count,
                          const std::function<bool(const record_view&)>& fn) {
  reader r{records};
  for (int32_t i = 0; i < count; ++i) {
    auto len = r.varint();
    if (!len || *len < 0 || static_cast<uint64_t>(*len) > r.in.size() - r.pos) {
      return error(batch_errc::truncated, fmt::format("record {} length", i));
    }
    reader rec{r.in.subspan(r.pos, static_cast<size_t>(*len))};
    r.pos += static_cast<size_t>(*len);
    record_view v;
    if (rec.in.empty())
      return error(batch_errc::truncated, fmt::format("record {}", i));
    v.attributes = static_cast<int8_t>(rec.in[0]);
    rec.pos = 1;
    auto ts = rec.varlong();
    auto od = rec.varint();
    v.key_pos = rec.pos;
    if (!ts || !od || !rec.bytes_field(v.key) || !rec.bytes_field(v.value)) {
      return error(batch_errc::truncated, fmt::format("record {} fields", i));
    }
    auto hc = rec.varint();
    if (!hc || *hc < 0)
      return error(batch_errc::truncated, fmt::format("record {} headers", i));
    v.timestamp_delta = *ts;
    v.offset_delta = *od;
    v.header_count = static_cast<int32_t>(*hc);
    v.body = rec.in;
    if (!fn(v))
      return ok();
  }
  if (r.pos != r.in.size())
    return error(batch_errc::bad_length, "bytes after the last record");
  return ok();
}

status for_each_record(std::span<const std::byte> batch, const batch_header& h,
                       const std::function<bool(const record_view&)>& fn) {
  if (h.codec() != compression::none) {
    return error(batch_errc::bad_attributes, "compressed batch");
  }
  if (batch.size() < batch_layout::header_size)
    return error(batch_errc::truncated);
  return for_each_record_in(batch.subspan(batch_layout::header_size), h.records_count, fn);
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
