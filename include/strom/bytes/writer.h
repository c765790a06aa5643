#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#include "strom/bytes/endian.h"

namespace strom::bytes {

/// Appends big-endian integers and length-prefixed strings to a growing buffer: the writing
/// side of `cursor` for the broker's own binary formats (INT16-prefixed strings, INT32-prefixed
/// byte strings). Sans I/O; owned by one thread.
class writer {
 public:
  template <typename T>
  void put(T v) {
    static_assert(std::is_integral_v<T>);
    auto at = out_.size();
    out_.resize(at + sizeof(T));
    write_be<T>(out_.data() + at, v);
  }
  void put_bool(bool b) { put<int8_t>(b ? 1 : 0); }
  /// INT16 length then the bytes (cursor::read_string(length_prefix::int16)).
  /// REQUIRES: s.size() <= INT16_MAX.
  void put_string(std::string_view s) {
    put<int16_t>(static_cast<int16_t>(s.size()));
    auto b = std::as_bytes(std::span(s));
    out_.insert(out_.end(), b.begin(), b.end());
  }
  /// INT32 length then the bytes (cursor::read_bytes(length_prefix::int32)).
  void put_bytes(std::span<const std::byte> b) {
    put<int32_t>(static_cast<int32_t>(b.size()));
    out_.insert(out_.end(), b.begin(), b.end());
  }

  [[nodiscard]] size_t size() const { return out_.size(); }
  [[nodiscard]] std::vector<std::byte> take() { return std::move(out_); }

 private:
  std::vector<std::byte> out_;
};

}  // namespace strom::bytes
