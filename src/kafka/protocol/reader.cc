#include "strom/kafka/protocol/reader.h"

#include <bit>
#include <cstring>

#include <fmt/format.h>

namespace strom::kafka::protocol {

namespace {

errc from_cursor(bytes::cursor_errc e) {
  switch (e) {
    case bytes::cursor_errc::truncated:
      return errc::truncated;
    case bytes::cursor_errc::invalid_varint:
      return errc::invalid_varint;
    case bytes::cursor_errc::invalid_length:
      return errc::invalid_length;
    case bytes::cursor_errc::unexpected_null:
      return errc::unexpected_null;
  }
  return errc::truncated;
}

}  // namespace

status reader::check() const {
  auto s = c_.check();
  if (s) {
    return strom::ok();
  }
  return strom::error(code_.value_or(from_cursor(c_.failure())), s.error().detail());
}

void reader::fail(errc code, const char* what) {
  if (!c_.ok()) {
    return;
  }
  code_ = code;
  c_.fail(bytes::cursor_errc::invalid_length, what);  // the code reported is `code`
}

void reader::adopt_failure(const reader& field, size_t offset) {
  if (!c_.ok() || field.ok()) {
    return;
  }
  code_ = field.code_.value_or(from_cursor(field.c_.failure()));
  c_.adopt(field.c_, offset);
}

int8_t reader::read_int8() {
  return c_.read_int8();
}

bool reader::read_bool() {
  return read_int8() != 0;
}

int16_t reader::read_int16() {
  return c_.read_int16();
}

int32_t reader::read_int32() {
  return c_.read_int32();
}

int64_t reader::read_int64() {
  return c_.read_int64();
}

uint16_t reader::read_uint16() {
  return c_.read_uint16();
}

uint32_t reader::read_uint32() {
  return c_.read_uint32();
}

double reader::read_float64() {
  return std::bit_cast<double>(read_int64());
}

uuid reader::read_uuid() {
  uuid u;
  auto b = c_.read_raw(16);
  if (b.size() == 16) {
    std::memcpy(u.bytes.data(), b.data(), 16);
  }
  return u;
}

int32_t reader::read_varint() {
  return c_.read_varint();
}

int64_t reader::read_varlong() {
  return c_.read_varlong();
}

uint32_t reader::read_unsigned_varint() {
  return c_.read_unsigned_varint();
}

std::optional<std::string> reader::read_nullable_string(bool compact) {
  auto s = c_.read_nullable_string(prefix(compact, true));
  if (!s) {
    return std::nullopt;
  }
  return std::string(*s);
}

std::string reader::read_string(bool compact) {
  return std::string(c_.read_string(prefix(compact, true)));
}

std::optional<std::vector<std::byte>> reader::read_nullable_bytes(bool compact) {
  auto b = c_.read_nullable_bytes(prefix(compact, false));
  if (!b) {
    return std::nullopt;
  }
  return std::vector<std::byte>(b->begin(), b->end());
}

std::vector<std::byte> reader::read_bytes(bool compact) {
  auto b = c_.read_bytes(prefix(compact, false));
  return std::vector<std::byte>(b.begin(), b.end());
}

records reader::read_records(bool compact, bool nullable) {
  int64_t n = c_.read_length(prefix(compact, false), "records");
  if (n < 0) {
    if (c_.ok() && !nullable) {
      c_.fail(bytes::cursor_errc::unexpected_null, "records");
    }
    return records::null();
  }
  return records(c_.read_raw(static_cast<size_t>(n)));
}

std::span<const std::byte> reader::read_raw(size_t n) {
  return c_.read_raw(n);
}

int64_t reader::read_array_length(bool compact, size_t min_element_size) {
  return c_.read_count(prefix(compact, false), min_element_size, "array length");
}

void reader::skip_tagged_fields() {
  read_tagged_fields([](uint32_t, reader&) { return false; });
}

}  // namespace strom::kafka::protocol
