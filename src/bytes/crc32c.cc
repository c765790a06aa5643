#include "strom/bytes/crc32c.h"

#include <isa-l/crc.h>

#include <limits>

namespace strom::bytes {

uint32_t crc32c_extend(uint32_t crc, std::span<const std::byte> data) {
  // ISA-L's crc32_iscsi works on the non-inverted register: invert on entry and exit to get
  // the standard (RFC 3720) CRC-32C. Its length is an int, so feed large buffers in chunks.
  uint32_t reg = ~crc;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t left = data.size();
  constexpr size_t kChunk = size_t{1} << 30;
  while (left > 0) {
    size_t n = left < kChunk ? left : kChunk;
    reg = crc32_iscsi(const_cast<unsigned char*>(p), static_cast<int>(n), reg);
    p += n;
    left -= n;
  }
  return ~reg;
}

uint32_t crc32c(std::span<const std::byte> data) {
  return crc32c_extend(0, data);
}

}  // namespace strom::bytes
