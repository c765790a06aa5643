#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace strom::bytes {

/// Reads a big-endian integer of type T from `p` (no alignment needed).
/// REQUIRES: `p` points at sizeof(T) readable bytes.
template <typename T>
[[nodiscard]] inline T read_be(const std::byte* p) {
  static_assert(std::is_integral_v<T>);
  std::make_unsigned_t<T> v;
  std::memcpy(&v, p, sizeof(T));
  if constexpr (std::endian::native == std::endian::little && sizeof(T) > 1) {
    if constexpr (sizeof(T) == 2)
      v = __builtin_bswap16(v);
    if constexpr (sizeof(T) == 4)
      v = __builtin_bswap32(v);
    if constexpr (sizeof(T) == 8)
      v = __builtin_bswap64(v);
  }
  return static_cast<T>(v);
}

/// Writes `value` big-endian at `p`. REQUIRES: sizeof(T) writable bytes at `p`.
template <typename T>
inline void write_be(std::byte* p, T value) {
  static_assert(std::is_integral_v<T>);
  auto v = static_cast<std::make_unsigned_t<T>>(value);
  if constexpr (std::endian::native == std::endian::little && sizeof(T) > 1) {
    if constexpr (sizeof(T) == 2)
      v = __builtin_bswap16(v);
    if constexpr (sizeof(T) == 4)
      v = __builtin_bswap32(v);
    if constexpr (sizeof(T) == 8)
      v = __builtin_bswap64(v);
  }
  std::memcpy(p, &v, sizeof(T));
}

}  // namespace strom::bytes
