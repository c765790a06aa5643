#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace strom::bytes {

/// Zig-zag varints as used by Kafka record fields (protobuf encoding).
/// Decoders never read past the span and reject over-long encodings.

struct decoded_varint {
  int64_t value;
  size_t length;  ///< bytes consumed
};

/// Decodes a zig-zag varint of at most 5 bytes (int32 range). nullopt when the input is
/// truncated, too long, or out of range.
[[nodiscard]] std::optional<decoded_varint> decode_varint(std::span<const std::byte> in);
/// Decodes a zig-zag varlong of at most 10 bytes.
[[nodiscard]] std::optional<decoded_varint> decode_varlong(std::span<const std::byte> in);
/// Decodes an unsigned varint (no zig-zag) of at most 5 bytes, as used by compact lengths.
[[nodiscard]] std::optional<decoded_varint> decode_unsigned_varint(std::span<const std::byte> in);

/// Encodes `v` zig-zag into `out` (at least 10 bytes). Returns the bytes written.
size_t encode_varlong(int64_t v, std::byte* out);
/// Encodes an unsigned varint into `out` (at least 5 bytes). Returns the bytes written.
size_t encode_unsigned_varint(uint32_t v, std::byte* out);

/// Encoded size of `v` as a zig-zag varlong.
[[nodiscard]] size_t varlong_size(int64_t v);

}  // namespace strom::bytes
