#include "strom/bytes/varint.h"

namespace strom::bytes {
namespace {

std::optional<decoded_varint> decode_raw(std::span<const std::byte> in, size_t max_bytes) {
  uint64_t result = 0;
  for (size_t i = 0; i < in.size() && i < max_bytes; ++i) {
    auto b = static_cast<uint8_t>(in[i]);
    result |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      return decoded_varint{static_cast<int64_t>(result), i + 1};
    }
  }
  return std::nullopt;  // truncated or longer than allowed
}

int64_t unzigzag(uint64_t v) {
  return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1));
}

}  // namespace

std::optional<decoded_varint> decode_varint(std::span<const std::byte> in) {
  auto r = decode_raw(in, 5);
  if (!r || static_cast<uint64_t>(r->value) > 0xffffffffULL)
    return std::nullopt;
  r->value = unzigzag(static_cast<uint64_t>(r->value));
  return r;
}

std::optional<decoded_varint> decode_varlong(std::span<const std::byte> in) {
  auto r = decode_raw(in, 10);
  if (!r)
    return std::nullopt;
  r->value = unzigzag(static_cast<uint64_t>(r->value));
  return r;
}

std::optional<decoded_varint> decode_unsigned_varint(std::span<const std::byte> in) {
  auto r = decode_raw(in, 5);
  if (!r || static_cast<uint64_t>(r->value) > 0xffffffffULL)
    return std::nullopt;
  return r;
}

size_t encode_varlong(int64_t v, std::byte* out) {
  uint64_t z = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  size_t n = 0;
  while (z >= 0x80) {
    out[n++] = static_cast<std::byte>((z & 0x7f) | 0x80);
    z >>= 7;
  }
  out[n++] = static_cast<std::byte>(z);
  return n;
}

size_t encode_unsigned_varint(uint32_t v, std::byte* out) {
  size_t n = 0;
  while (v >= 0x80) {
    out[n++] = static_cast<std::byte>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out[n++] = static_cast<std::byte>(v);
  return n;
}

size_t varlong_size(int64_t v) {
  uint64_t z = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  size_t n = 1;
  while (z >= 0x80) {
    z >>= 7;
    ++n;
  }
  return n;
}

}  // namespace strom::bytes
