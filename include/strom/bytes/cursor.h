#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>

#include "strom/base/result.h"
#include "strom/bytes/endian.h"

namespace strom::bytes {

/// Why a cursor stopped reading.
enum class cursor_errc {
  truncated = 1,    ///< the input ended before the value did
  invalid_varint,   ///< a varint longer than allowed or out of range
  invalid_length,   ///< a negative length (other than null) or a count beyond the input
  unexpected_null,  ///< null where the format has no null
};
const std::error_category& cursor_category();
inline std::error_code make_error_code(cursor_errc e) {
  return {static_cast<int>(e), cursor_category()};
}

/// How a string, a byte string or an array announces its length.
enum class length_prefix {
  int16,            ///< INT16 (STRING, NULLABLE_STRING); -1 = null
  int32,            ///< INT32 (BYTES, ARRAY); -1 = null
  varint,           ///< zig-zag VARINT (record keys, values, headers); -1 = null
  unsigned_varint,  ///< UNSIGNED_VARINT holding length + 1 (COMPACT_*); 0 = null
};

/// A bounded reader over a byte span: big-endian integers, zig-zag and unsigned varints,
/// length-prefixed strings and byte strings, counts of elements. Sans I/O.
///
/// Every read is checked against the bytes that remain before anything is used, and every
/// length and count before anything is allocated or viewed. Errors are sticky: the first
/// failure is recorded with its byte position, every later read returns a default value
/// without touching the input, and check() reports the failure. A cursor never reads past its
/// span, never throws and never allocates. Strings and byte strings are views into the span,
/// which the caller keeps alive. A cursor is a small value (span + position) owned by one
/// thread; copying it gives an independent cursor.
///
/// Varints follow Kafka's limits: a VARINT or UNSIGNED_VARINT takes at most 5 bytes and must
/// fit 32 bits, a VARLONG at most 10 bytes.
class cursor {
 public:
  cursor() = default;
  explicit cursor(std::span<const std::byte> data) : data_(data) {}

  [[nodiscard]] size_t position() const { return pos_; }
  [[nodiscard]] size_t remaining() const { return data_.size() - pos_; }
  [[nodiscard]] bool at_end() const { return pos_ == data_.size(); }
  [[nodiscard]] bool ok() const { return !failed_; }
  [[nodiscard]] cursor_errc failure() const { return code_; }
  /// ok() as a status; the error names what failed and its byte offset in the span.
  [[nodiscard]] status check() const;
  /// Records a failure at the current position (the first one wins) and stops reading.
  /// `what` must outlive the cursor (a string literal).
  void fail(cursor_errc code, const char* what);

  int8_t read_int8() { return read_fixed<int8_t>("int8"); }
  int16_t read_int16() { return read_fixed<int16_t>("int16"); }
  int32_t read_int32() { return read_fixed<int32_t>("int32"); }
  int64_t read_int64() { return read_fixed<int64_t>("int64"); }
  uint16_t read_uint16() { return read_fixed<uint16_t>("uint16"); }
  uint32_t read_uint32() { return read_fixed<uint32_t>("uint32"); }
  uint64_t read_uint64() { return read_fixed<uint64_t>("uint64"); }
  /// Zig-zag VARINT (at most 5 bytes, 32 bits).
  int32_t read_varint() {
    uint64_t v = 0;
    if (!read_unsigned<5>(v, "varint")) [[unlikely]]
      return 0;
    return static_cast<int32_t>(unzigzag(v));
  }
  /// Zig-zag VARLONG (at most 10 bytes).
  int64_t read_varlong() {
    uint64_t v = 0;
    if (!read_unsigned<10>(v, "varlong")) [[unlikely]]
      return 0;
    return unzigzag(v);
  }
  /// UNSIGNED_VARINT (at most 5 bytes, 32 bits).
  uint32_t read_unsigned_varint() {
    uint64_t v = 0;
    if (!read_unsigned<5>(v, "unsigned varint")) [[unlikely]]
      return 0;
    return static_cast<uint32_t>(v);
  }

  /// `n` bytes as a view.
  std::span<const std::byte> read_raw(size_t n) {
    if (!need(n, "bytes")) [[unlikely]]
      return {};
    auto b = data_.subspan(pos_, n);
    pos_ += n;
    return b;
  }
  void skip(size_t n) { (void)read_raw(n); }

  /// A length announced with `prefix`: -1 for null, else a length that fits in the remaining
  /// bytes (checked before it is returned). A length below -1 fails with invalid_length, one
  /// beyond the input with truncated; both return -1 with ok() false.
  int64_t read_length(length_prefix prefix, const char* what = "length") {
    int64_t n = read_prefix(prefix);
    if (failed_) [[unlikely]]
      return -1;
    if (n < -1) [[unlikely]] {
      fail(cursor_errc::invalid_length, what);
      return -1;
    }
    if (n > 0 && static_cast<uint64_t>(n) > remaining()) [[unlikely]] {
      fail(cursor_errc::truncated, what);
      return -1;
    }
    return n;
  }
  /// A length-prefixed byte string; nullopt for null (and on failure: look at ok()).
  std::optional<std::span<const std::byte>> read_nullable_bytes(length_prefix prefix) {
    int64_t n = read_length(prefix, "bytes");
    if (n < 0)
      return std::nullopt;
    auto b = data_.subspan(pos_, static_cast<size_t>(n));
    pos_ += b.size();
    return b;
  }
  /// A length-prefixed byte string; null fails with unexpected_null.
  std::span<const std::byte> read_bytes(length_prefix prefix);
  std::optional<std::string_view> read_nullable_string(length_prefix prefix);
  std::string_view read_string(length_prefix prefix);

  /// The element count of an array announced with `prefix`: -1 for null, else a count such
  /// that `count * min_element_size` bytes remain (every element takes at least one byte),
  /// checked BEFORE the caller allocates anything. Counts beyond that fail with
  /// invalid_length, named `what`.
  int64_t read_count(length_prefix prefix, size_t min_element_size, const char* what = "count");

  /// A cursor over the next `n` bytes, which this cursor steps over. On failure (fewer than
  /// `n` bytes left) the returned cursor is empty and failed too.
  cursor sub(size_t n) {
    auto b = read_raw(n);
    cursor c(b);
    if (failed_) [[unlikely]]
      c.fail(code_, what_);
    return c;
  }
  /// Takes over the failure of a cursor made by sub() that started at `start` (the position
  /// of this cursor before the sub()), so that the error names a position in this span.
  void adopt(const cursor& inner, size_t start);

 private:
  bool need(size_t n, const char* what) {
    if (failed_) [[unlikely]]
      return false;
    if (n > remaining()) [[unlikely]] {
      fail(cursor_errc::truncated, what);
      return false;
    }
    return true;
  }
  template <typename T>
  T read_fixed(const char* what) {
    if (!need(sizeof(T), what))
      return T{};
    auto v = read_be<T>(data_.data() + pos_);
    pos_ += sizeof(T);
    return v;
  }
  /// The raw value of a length or count prefix (-1 = null; compact ones already minus one).
  int64_t read_prefix(length_prefix prefix) {
    switch (prefix) {
      case length_prefix::int16:
        return read_int16();
      case length_prefix::int32:
        return read_int32();
      case length_prefix::varint:
        return read_varint();
      case length_prefix::unsigned_varint:
        return static_cast<int64_t>(read_unsigned_varint()) - 1;
    }
    return -1;
  }
  /// Decodes an unsigned varint of at most MaxBytes bytes (5: the value must fit 32 bits).
  template <size_t MaxBytes>
  bool read_unsigned(uint64_t& out, const char* what) {
    if (failed_) [[unlikely]]
      return false;
    const std::byte* p = data_.data() + pos_;
    size_t n = remaining() < MaxBytes ? remaining() : MaxBytes;
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) {
      auto b = static_cast<uint64_t>(static_cast<uint8_t>(p[i]));
      v |= (b & 0x7f) << (7 * i);
      if (b < 0x80) {
        if (MaxBytes == 5 && v > 0xffffffffULL) [[unlikely]]
          break;
        pos_ += i + 1;
        out = v;
        return true;
      }
    }
    fail_varint(MaxBytes, what);
    return false;
  }
  static int64_t unzigzag(uint64_t v) { return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1)); }
  void fail_varint(size_t max_bytes, const char* what);

  std::span<const std::byte> data_;
  size_t pos_ = 0;
  bool failed_ = false;
  cursor_errc code_ = cursor_errc::truncated;
  size_t fail_pos_ = 0;
  const char* what_ = "";
};

}  // namespace strom::bytes

template <>
struct std::is_error_code_enum<strom::bytes::cursor_errc> : std::true_type {};
