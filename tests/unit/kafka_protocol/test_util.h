#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "strom/kafka/protocol/writer.h"

namespace strom::kafka::protocol::test {

/// Bytes from a list of small integers: bytes_of({0x00, 0x12}).
inline std::vector<std::byte> bytes_of(std::initializer_list<int> v) {
  std::vector<std::byte> out;
  for (int b : v) {
    out.push_back(static_cast<std::byte>(b));
  }
  return out;
}

inline std::vector<std::byte> bytes_of(std::string_view s) {
  std::vector<std::byte> out;
  for (char c : s) {
    out.push_back(static_cast<std::byte>(c));
  }
  return out;
}

inline std::vector<std::byte> concat(std::initializer_list<std::vector<std::byte>> parts) {
  std::vector<std::byte> out;
  for (const auto& p : parts) {
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

inline std::string hex(std::span<const std::byte> b) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  for (std::byte x : b) {
    auto v = static_cast<unsigned>(x);
    if (!s.empty()) {
      s += ' ';
    }
    s += digits[v >> 4];
    s += digits[v & 15];
  }
  return s;
}

/// The frame's bytes; REQUIRES: no file ranges.
inline std::vector<std::byte> flat(const frame& f) {
  auto r = f.flatten();
  return std::move(r).value();
}
/// The bytes of a frame that must have encoded.
inline std::vector<std::byte> flat(const result<frame>& f) {
  return flat(f.value());
}

}  // namespace strom::kafka::protocol::test
