#pragma once

#include <compare>
#include <cstdint>
#include <functional>

#include <fmt/format.h>

namespace strom {

/// A value of type T that only compares with values of the same Tag. Offsets, epochs and
/// ids are strong types so that one can never be passed where another is expected.
template <typename T, typename Tag>
class strong_type {
 public:
  using value_type = T;
  constexpr strong_type() = default;
  constexpr explicit strong_type(T v) : v_(v) {}
  [[nodiscard]] constexpr T value() const { return v_; }
  constexpr auto operator<=>(const strong_type&) const = default;

 private:
  T v_{};
};

}  // namespace strom

template <typename T, typename Tag>
struct std::hash<strom::strong_type<T, Tag>> {
  size_t operator()(const strom::strong_type<T, Tag>& v) const noexcept {
    return std::hash<T>{}(v.value());
  }
};

template <typename T, typename Tag>
struct fmt::formatter<strom::strong_type<T, Tag>> : fmt::formatter<T> {
  auto format(const strom::strong_type<T, Tag>& v, fmt::format_context& ctx) const {
    return fmt::formatter<T>::format(v.value(), ctx);
  }
};
