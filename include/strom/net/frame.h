#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <utility>
#include <vector>

namespace strom::net {

/// An allocator whose resize leaves bytes uninitialised: a request frame is overwritten by the
/// socket read at once, so zero-filling it (and faulting its pages in for that) is waste.
template <typename T>
struct uninitialized_allocator : std::allocator<T> {
  using value_type = T;
  template <typename U>
  struct rebind {
    using other = uninitialized_allocator<U>;
  };
  uninitialized_allocator() = default;
  template <typename U>
  uninitialized_allocator(const uninitialized_allocator<U>&) noexcept {}  // NOLINT
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    if constexpr (sizeof...(Args) == 0)
      ::new (static_cast<void*>(p)) U;  // default-initialised: no zeroing
    else
      ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

/// The bytes of one request frame (without its size prefix).
using frame_bytes = std::vector<std::byte, uninitialized_allocator<std::byte>>;

/// One piece of an outgoing frame: bytes in memory, or a range of an open file that is sent
/// with sendfile (zero copy). `keepalive` keeps the file (or buffer owner) alive until sent.
struct out_chunk {
  std::vector<std::byte> bytes;
  int fd = -1;
  uint64_t offset = 0;
  uint64_t length = 0;
  std::shared_ptr<const void> keepalive;

  [[nodiscard]] bool is_file() const { return fd >= 0; }
  [[nodiscard]] uint64_t size() const { return is_file() ? length : bytes.size(); }
};

/// A response body; the connection writes the 4-byte size prefix itself.
struct out_frame {
  std::vector<out_chunk> chunks;
  [[nodiscard]] uint64_t size() const {
    uint64_t n = 0;
    for (const auto& c : chunks)
      n += c.size();
    return n;
  }
};

}  // namespace strom::net
