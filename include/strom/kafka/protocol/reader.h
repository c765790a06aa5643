#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "strom/base/result.h"
#include "strom/kafka/protocol/errc.h"
#include "strom/kafka/protocol/types.h"

namespace strom::kafka::protocol {

/// Bounds-checked reader of Kafka primitive types over a byte span (sans I/O).
///
/// Errors are sticky: the first failure is recorded, every later read returns a default value
/// without touching the input, and check() reports the failure with its byte position. No read
/// ever goes past the span, throws, or allocates from a length before checking it against the
/// bytes that remain. Strings and bytes are copied; records are views into the span, which the
/// caller keeps alive. A reader is a small value (span + position) owned by one thread; copying
/// it gives an independent cursor.
class reader {
 public:
  explicit reader(std::span<const std::byte> data) : data_(data) {}

  [[nodiscard]] size_t position() const { return pos_; }
  [[nodiscard]] size_t remaining() const { return data_.size() - pos_; }
  [[nodiscard]] bool ok() const { return !failed_; }
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
  bool need(size_t n, const char* what);
  /// A string/bytes length: -1 for null, else a length that fits in the remaining bytes.
  int64_t read_length(bool compact, bool int16_length, const char* what);
  /// Takes over the failure of a reader over our bytes starting at `offset`.
  void adopt_failure(const reader& field, size_t offset);

  std::span<const std::byte> data_;
  size_t pos_ = 0;
  bool failed_ = false;
  errc code_ = errc::truncated;
  size_t fail_pos_ = 0;
  const char* what_ = "";
};

template <typename F>
void reader::read_tagged_fields(F&& on_tag) {
  uint32_t count = read_unsigned_varint();
  // Every field takes at least two bytes (tag and size).
  if (failed_ || count > remaining() / 2) {
    if (!failed_) {
      fail(errc::invalid_length, "tagged field count");
    }
    return;
  }
  for (uint32_t i = 0; i < count && !failed_; ++i) {
    uint32_t tag = read_unsigned_varint();
    uint32_t size = read_unsigned_varint();
    if (failed_) {
      return;
    }
    if (size > remaining()) {
      fail(errc::truncated, "tagged field");
      return;
    }
    reader field(data_.subspan(pos_, size));
    size_t field_pos = pos_;
    pos_ += size;
    if (on_tag(tag, field) && !field.ok()) {
      adopt_failure(field, field_pos);
    }
  }
}

}  // namespace strom::kafka::protocol
