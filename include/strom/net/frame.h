#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace strom::net {

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
