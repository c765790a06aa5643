#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace strom::bytes {

/// CRC-32C (Castagnoli), the checksum of Kafka record batches, computed with ISA-L.
/// `crc32c_extend(crc32c(a), b) == crc32c(a ++ b)`.
[[nodiscard]] uint32_t crc32c(std::span<const std::byte> data);
[[nodiscard]] uint32_t crc32c_extend(uint32_t crc, std::span<const std::byte> data);

}  // namespace strom::bytes
