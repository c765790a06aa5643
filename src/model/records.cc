#include "strom/model/records.h"

#include <fmt/format.h>

#include "strom/bytes/varint.h"

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

status for_each_record(std::span<const std::byte> batch, const batch_header& h,
                       const std::function<bool(const record_view&)>& fn) {
  if (h.codec() != compression::none) {
    return error(batch_errc::bad_attributes, "compressed batch");
  }
  if (batch.size() < batch_layout::header_size)
    return error(batch_errc::truncated);
  reader r{batch.subspan(batch_layout::header_size)};
  for (int32_t i = 0; i < h.records_count; ++i) {
    auto len = r.varint();
    if (!len || *len < 0 || static_cast<uint64_t>(*len) > r.in.size() - r.pos) {
      return error(batch_errc::truncated, fmt::format("record {} length", i));
    }
    reader rec{r.in.subspan(r.pos, static_cast<size_t>(*len))};
    r.pos += static_cast<size_t>(*len);
    record_view v;
    if (rec.in.empty())
      return error(batch_errc::truncated, fmt::format("record {}", i));
    rec.pos = 1;  // attributes
    auto ts = rec.varlong();
    auto od = rec.varint();
    if (!ts || !od || !rec.bytes_field(v.key) || !rec.bytes_field(v.value)) {
      return error(batch_errc::truncated, fmt::format("record {} fields", i));
    }
    auto hc = rec.varint();
    if (!hc || *hc < 0)
      return error(batch_errc::truncated, fmt::format("record {} headers", i));
    v.timestamp_delta = *ts;
    v.offset_delta = *od;
    v.header_count = static_cast<int32_t>(*hc);
    if (!fn(v))
      break;
  }
  return ok();
}

}  // namespace strom::model
