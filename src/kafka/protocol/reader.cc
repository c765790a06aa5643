#include "strom/kafka/protocol/reader.h"

#include <bit>
#include <cstring>

#include <fmt/format.h>

#include "strom/bytes/endian.h"
#include "strom/bytes/varint.h"

namespace strom::kafka::protocol {

status reader::check() const {
  if (!failed_) {
    return strom::ok();
  }
  return strom::error(code_, fmt::format("{} at byte {}", what_, fail_pos_));
}

void reader::fail(errc code, const char* what) {
  if (failed_) {
    return;
  }
  failed_ = true;
  code_ = code;
  fail_pos_ = pos_;
  what_ = what;
  pos_ = data_.size();  // nothing more to read
}

void reader::adopt_failure(const reader& field, size_t offset) {
  if (failed_) {
    return;
  }
  failed_ = true;
  code_ = field.code_;
  fail_pos_ = offset + field.fail_pos_;
  what_ = field.what_;
  pos_ = data_.size();
}

bool reader::need(size_t n, const char* what) {
  if (failed_) {
    return false;
  }
  if (n > remaining()) {
    fail(errc::truncated, what);
    return false;
  }
  return true;
}

int8_t reader::read_int8() {
  if (!need(1, "int8")) {
    return 0;
  }
  return static_cast<int8_t>(data_[pos_++]);
}

bool reader::read_bool() {
  return read_int8() != 0;
}

int16_t reader::read_int16() {
  if (!need(2, "int16")) {
    return 0;
  }
  auto v = bytes::read_be<int16_t>(data_.data() + pos_);
  pos_ += 2;
  return v;
}

int32_t reader::read_int32() {
  if (!need(4, "int32")) {
    return 0;
  }
  auto v = bytes::read_be<int32_t>(data_.data() + pos_);
  pos_ += 4;
  return v;
}

int64_t reader::read_int64() {
  if (!need(8, "int64")) {
    return 0;
  }
  auto v = bytes::read_be<int64_t>(data_.data() + pos_);
  pos_ += 8;
  return v;
}

uint16_t reader::read_uint16() {
  return static_cast<uint16_t>(read_int16());
}

uint32_t reader::read_uint32() {
  return static_cast<uint32_t>(read_int32());
}

double reader::read_float64() {
  return std::bit_cast<double>(read_int64());
}

uuid reader::read_uuid() {
  uuid u;
  if (!need(16, "uuid")) {
    return u;
  }
  std::memcpy(u.bytes.data(), data_.data() + pos_, 16);
  pos_ += 16;
  return u;
}

int32_t reader::read_varint() {
  if (failed_) {
    return 0;
  }
  auto d = bytes::decode_varint(data_.subspan(pos_));
  if (!d) {
    fail(remaining() < 5 ? errc::truncated : errc::invalid_varint, "varint");
    return 0;
  }
  pos_ += d->length;
  return static_cast<int32_t>(d->value);
}

int64_t reader::read_varlong() {
  if (failed_) {
    return 0;
  }
  auto d = bytes::decode_varlong(data_.subspan(pos_));
  if (!d) {
    fail(remaining() < 10 ? errc::truncated : errc::invalid_varint, "varlong");
    return 0;
  }
  pos_ += d->length;
  return d->value;
}

uint32_t reader::read_unsigned_varint() {
  if (failed_) {
    return 0;
  }
  auto d = bytes::decode_unsigned_varint(data_.subspan(pos_));
  if (!d) {
    // Truncated only if every byte present had its continuation bit set.
    bool all_continue = remaining() < 5;
    for (size_t i = pos_; all_continue && i < data_.size(); ++i) {
      all_continue = (static_cast<uint8_t>(data_[i]) & 0x80) != 0;
    }
    fail(all_continue ? errc::truncated : errc::invalid_varint, "unsigned varint");
    return 0;
  }
  pos_ += d->length;
  return static_cast<uint32_t>(d->value);
}

int64_t reader::read_length(bool compact, bool int16_length, const char* what) {
  int64_t n;
  if (compact) {
    n = static_cast<int64_t>(read_unsigned_varint()) - 1;
  } else if (int16_length) {
    n = read_int16();
  } else {
    n = read_int32();
  }
  if (failed_) {
    return -1;
  }
  if (n < -1) {
    fail(errc::invalid_length, what);
    return -1;
  }
  if (n > 0 && static_cast<uint64_t>(n) > remaining()) {
    fail(errc::truncated, what);
    return -1;
  }
  return n;
}

std::optional<std::string> reader::read_nullable_string(bool compact) {
  int64_t n = read_length(compact, true, "string");
  if (n < 0) {
    return std::nullopt;
  }
  auto p = reinterpret_cast<const char*>(data_.data() + pos_);
  pos_ += static_cast<size_t>(n);
  return std::string(p, static_cast<size_t>(n));
}

std::string reader::read_string(bool compact) {
  int64_t n = read_length(compact, true, "string");
  if (n < 0) {
    if (!failed_) {
      fail(errc::unexpected_null, "string");
    }
    return {};
  }
  auto p = reinterpret_cast<const char*>(data_.data() + pos_);
  pos_ += static_cast<size_t>(n);
  return std::string(p, static_cast<size_t>(n));
}

std::optional<std::vector<std::byte>> reader::read_nullable_bytes(bool compact) {
  int64_t n = read_length(compact, false, "bytes");
  if (n < 0) {
    return std::nullopt;
  }
  auto b = data_.subspan(pos_, static_cast<size_t>(n));
  pos_ += b.size();
  return std::vector<std::byte>(b.begin(), b.end());
}

std::vector<std::byte> reader::read_bytes(bool compact) {
  int64_t n = read_length(compact, false, "bytes");
  if (n < 0) {
    if (!failed_) {
      fail(errc::unexpected_null, "bytes");
    }
    return {};
  }
  auto b = data_.subspan(pos_, static_cast<size_t>(n));
  pos_ += b.size();
  return std::vector<std::byte>(b.begin(), b.end());
}

records reader::read_records(bool compact, bool nullable) {
  int64_t n = read_length(compact, false, "records");
  if (n < 0) {
    if (!failed_ && !nullable) {
      fail(errc::unexpected_null, "records");
    }
    return records::null();
  }
  auto b = data_.subspan(pos_, static_cast<size_t>(n));
  pos_ += b.size();
  return records(b);
}

std::span<const std::byte> reader::read_raw(size_t n) {
  if (!need(n, "raw bytes")) {
    return {};
  }
  auto b = data_.subspan(pos_, n);
  pos_ += n;
  return b;
}

int64_t reader::read_array_length(bool compact, size_t min_element_size) {
  int64_t n = compact ? static_cast<int64_t>(read_unsigned_varint()) - 1 : read_int32();
  if (failed_) {
    return -1;
  }
  if (n < -1) {
    fail(errc::invalid_length, "array length");
    return -1;
  }
  size_t min_size = min_element_size == 0 ? 1 : min_element_size;
  if (n > 0 && static_cast<uint64_t>(n) > remaining() / min_size) {
    fail(errc::invalid_length, "array length beyond input");
    return -1;
  }
  return n;
}

void reader::skip_tagged_fields() {
  read_tagged_fields([](uint32_t, reader&) { return false; });
}

}  // namespace strom::kafka::protocol
