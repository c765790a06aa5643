#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "strom/base/result.h"
#include "strom/bytes/cursor.h"
#include "strom/kafka/protocol/errc.h"
#include "strom/kafka/protocol/types.h"

namespace strom::kafka::protocol {

/// Bounds-checked reader of Kafka primitive types over a byte span (sans I/O): the Kafka
/// protocol's types over the bytes module's cursor (bytes/cursor.h), which does every read and
/// every length check, with failures reported in this module's errc.
///
/// Errors are sticky: the first failure is recorded, every later read returns a default value
/// without touching the input, and check() reports the failure with its byte position. No read
/// ever goes past the span, throws, or allocates from a length before checking it against the
/// bytes that remain. Strings and bytes are copied; records are views into the span, which the
/// caller keeps alive. A reader is a small value (a cursor) owned by one thread; copying it
/// gives an independent reader.
class reader {
 public:
  explicit reader(std::span<const std::byte> data) : c_(data) {}

  [[nodiscard]] size_t position() const { return c_.position(); }
  [[nodiscard]] size_t remaining() const { return c_.remaining(); }
  [[nodiscard]] bool ok() const { return c_.ok(); }
  /// ok() as a status; the error names what failed and the byte offset.
  [[nodiscard]] status check() const;
  /// Records a failure at the current position (the first one wins) and stops reading.
  /// `what` must be a string literal.
  void fail(errc code, const char* what);

  int8_t read_int8();
  /// Any non-zero byte is true.
  bool read_bool();
  int16_t read_int16();
  int32_t read_int32();
  int64_t read_int64();
  uint16_t read_uint16();
  uint32_t read_uint32();
  double read_float64();
  uuid read_uuid();
  /// Zig-zag VARINT (at most 5 bytes) and VARLONG (at most 10 bytes).
  int32_t read_varint();
  int64_t read_varlong();
  /// UNSIGNED_VARINT, at most 5 bytes, 32 bits.
  uint32_t read_unsigned_varint();

  /// STRING (INT16 length) or COMPACT_STRING (unsigned varint length + 1). Null fails with
  /// errc::unexpected_null.
  std::string read_string(bool compact);
  /// NULLABLE_STRING or COMPACT_NULLABLE_STRING.
  std::optional<std::string> read_nullable_string(bool compact);
  /// BYTES (INT32 length) or COMPACT_BYTES. Null fails with errc::unexpected_null.
  std::vector<std::byte> read_bytes(bool compact);
  std::optional<std::vector<std::byte>> read_nullable_bytes(bool compact);
  /// RECORDS: NULLABLE_BYTES, or COMPACT_NULLABLE_BYTES when `compact`; a view, no copy.
  /// Null fails with errc::unexpected_null unless `nullable`.
  records read_records(bool compact, bool nullable = true);
  /// `n` raw bytes as a view.
  std::span<const std::byte> read_raw(size_t n);

  /// ARRAY (INT32 count, -1 = null) or COMPACT_ARRAY (unsigned varint count + 1, 0 = null)
  /// header. Returns -1 for null, else the count, checked so that `count * min_element_size`
  /// bytes remain (every element takes at least one byte) BEFORE anything is allocated.
  int64_t read_array_length(bool compact, size_t min_element_size);

  /// Reads a tagged-field section (flexible versions): a count, then per field its tag, its
  /// size and its bytes. For every field calls `on_tag(uint32_t tag, reader& field)` with a
  /// reader over exactly the field's bytes; on_tag returns true when it decoded the field
  /// (a failure in `field` then becomes this reader's failure) and false to skip it. Unknown
  /// tags are skipped by size.
  template <typename F>
  void read_tagged_fields(F&& on_tag);
  /// A tagged-field section whose fields are all skipped.
  void skip_tagged_fields();

 private:
  /// `compact`: unsigned varint + 1; else INT16 or INT32.
  static bytes::length_prefix prefix(bool compact, bool int16_length) {
    return compact        ? bytes::length_prefix::unsigned_varint
           : int16_length ? bytes::length_prefix::int16
                          : bytes::length_prefix::int32;
  }
  /// Takes over the failure of a reader over our bytes starting at `offset`.
  void adopt_failure(const reader& field, size_t offset);

  bytes::cursor c_;
  /// Set by fail(): the code to report instead of the cursor's own.
  std::optional<errc> code_;
};

template <typename F>
void reader::read_tagged_fields(F&& on_tag) {
  uint32_t count = read_unsigned_varint();
  // Every field takes at least two bytes (tag and size).
  if (!ok() || count > remaining() / 2) {
    if (ok()) {
      fail(errc::invalid_length, "tagged field count");
    }
    return;
  }
  for (uint32_t i = 0; i < count && ok(); ++i) {
    uint32_t tag = read_unsigned_varint();
    uint32_t size = read_unsigned_varint();
    if (!ok()) {
      return;
    }
    if (size > remaining()) {
      fail(errc::truncated, "tagged field");
      return;
    }
    size_t field_pos = position();
    reader field(c_.read_raw(size));
    if (on_tag(tag, field) && !field.ok()) {
      adopt_failure(field, field_pos);
    }
  }
}

}  // namespace strom::kafka::protocol
