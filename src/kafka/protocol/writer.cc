#include "strom/kafka/protocol/writer.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "strom/base/assert.h"
#include "strom/bytes/endian.h"
#include "strom/bytes/varint.h"
#include "strom/kafka/protocol/errc.h"

namespace strom::kafka::protocol {

result<std::vector<std::byte>> frame::flatten(const read_fn& read_file) const {
  std::vector<std::byte> out;
  out.reserve(size_);
  for (const chunk& c : chunks_) {
    if (const auto* b = std::get_if<std::vector<std::byte>>(&c)) {
      out.insert(out.end(), b->begin(), b->end());
      continue;
    }
    const auto& r = std::get<file_range>(c);
    if (!read_file) {
      return strom::error(std::make_error_code(std::errc::operation_not_supported),
                          "frame has file ranges and no reader");
    }
    size_t at = out.size();
    out.resize(at + r.length);
    STROM_TRY(read_file(r, std::span<std::byte>(out).subspan(at)));
  }
  return out;
}

writer writer::for_frame(uint64_t limit) {
  writer w;
  w.framed_ = true;
  w.limit_ = limit;
  w.write_int32(0);
  return w;
}

void writer::fail(std::string why) {
  if (failure_.empty())
    failure_ = std::move(why);
}

bool writer::admit(uint64_t n) {
  if (failed())
    return false;
  if (n > limit_ || size() > limit_ - n) {
    fail(fmt::format("response larger than {} bytes", limit_));
    return false;
  }
  return true;
}

std::byte* writer::grow(size_t n) {
  if (!admit(n))
    return nullptr;
  size_t at = buf_.size();
  buf_.resize(at + n);
  return buf_.data() + at;
}

void writer::write_int8(int8_t v) {
  if (auto* p = grow(1))
    *p = static_cast<std::byte>(v);
}

void writer::write_int16(int16_t v) {
  if (auto* p = grow(2))
    bytes::write_be(p, v);
}

void writer::write_int32(int32_t v) {
  if (auto* p = grow(4))
    bytes::write_be(p, v);
}

void writer::write_int64(int64_t v) {
  if (auto* p = grow(8))
    bytes::write_be(p, v);
}

void writer::write_float64(double v) {
  write_int64(std::bit_cast<int64_t>(v));
}

void writer::write_uuid(const uuid& v) {
  write_raw(v.bytes);
}

void writer::write_varlong(int64_t v) {
  std::byte tmp[10];
  size_t n = bytes::encode_varlong(v, tmp);
  write_raw(std::span<const std::byte>(tmp, n));
}

void writer::write_unsigned_varint(uint32_t v) {
  std::byte tmp[5];
  size_t n = bytes::encode_unsigned_varint(v, tmp);
  write_raw(std::span<const std::byte>(tmp, n));
}

void writer::write_string(std::string_view s, bool compact) {
  if (compact) {
    write_unsigned_varint(static_cast<uint32_t>(s.size() + 1));
  } else {
    s = s.substr(0, std::numeric_limits<int16_t>::max());
    write_int16(static_cast<int16_t>(s.size()));
  }
  write_raw(std::as_bytes(std::span(s)));
}

void writer::write_null_string(bool compact) {
  if (compact) {
    write_unsigned_varint(0);
  } else {
    write_int16(-1);
  }
}

void writer::write_bytes(std::span<const std::byte> b, bool compact) {
  if (b.size() >= static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    fail(fmt::format("bytes field of {} bytes", b.size()));
    return;
  }
  if (compact) {
    write_unsigned_varint(static_cast<uint32_t>(b.size() + 1));
  } else {
    write_int32(static_cast<int32_t>(b.size()));
  }
  write_raw(b);
}

void writer::write_null_bytes(bool compact) {
  if (compact) {
    write_unsigned_varint(0);
  } else {
    write_int32(-1);
  }
}

void writer::write_records(const records& r, bool compact) {
  if (r.is_null()) {
    write_null_bytes(compact);
    return;
  }
  uint64_t n = r.size_bytes();
  if (n >= static_cast<uint64_t>(std::numeric_limits<int32_t>::max())) {
    fail(fmt::format("records field of {} bytes", n));
    return;
  }
  if (compact) {
    write_unsigned_varint(static_cast<uint32_t>(n + 1));
  } else {
    write_int32(static_cast<int32_t>(n));
  }
  for (const records::piece& p : r.pieces()) {
    if (const auto* m = std::get_if<memory_range>(&p)) {
      write_raw(m->data);
      continue;
    }
    const auto& f = std::get<file_range>(p);
    if (!admit(f.length))
      return;
    if (!buf_.empty()) {
      sealed_ += buf_.size();
      chunks_.emplace_back(std::move(buf_));
      buf_ = {};
    }
    sealed_ += f.length;
    chunks_.emplace_back(f);
  }
}

void writer::write_array_length(size_t n, bool compact) {
  if (n >= static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    fail(fmt::format("array of {} elements", n));
    return;
  }
  if (compact) {
    write_unsigned_varint(static_cast<uint32_t>(n + 1));
  } else {
    write_int32(static_cast<int32_t>(n));
  }
}

void writer::write_null_array(bool compact) {
  if (compact) {
    write_unsigned_varint(0);
  } else {
    write_int32(-1);
  }
}

void writer::write_raw(std::span<const std::byte> b) {
  if (b.empty())
    return;
  if (auto* p = grow(b.size()))
    std::memcpy(p, b.data(), b.size());
}

void writer::write_tagged_field(uint32_t tag, const writer& field) {
  if (field.failed()) {
    fail(field.failure());
    return;
  }
  std::span<const std::byte> b = field.memory();
  write_unsigned_varint(tag);
  write_unsigned_varint(static_cast<uint32_t>(b.size()));
  write_raw(b);
}

std::span<const std::byte> writer::memory() const {
  STROM_ASSERT(in_memory(), "writer holds file ranges");
  return buf_;
}

std::vector<std::byte> writer::take_memory() && {
  STROM_ASSERT(in_memory(), "writer holds file ranges");
  return std::move(buf_);
}

result<frame> writer::finish_frame() && {
  STROM_ASSERT(framed_, "finish_frame() on a writer not made by for_frame()");
  if (failed())
    return strom::error(errc::too_large_to_encode, failure_);
  uint64_t total = size();  // <= limit_ <= max_frame_bytes: the prefix can say it
  std::vector<std::byte>& first =
      chunks_.empty() ? buf_ : std::get<std::vector<std::byte>>(chunks_.front());
  bytes::write_be(first.data(), static_cast<int32_t>(total - 4));
  frame f;
  f.chunks_ = std::move(chunks_);
  if (!buf_.empty()) {
    f.chunks_.emplace_back(std::move(buf_));
  }
  f.size_ = total;
  return f;
}

}  // namespace strom::kafka::protocol
