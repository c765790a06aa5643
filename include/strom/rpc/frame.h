#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "strom/base/result.h"

namespace strom::rpc {

/// What a frame is (docs/architecture.md, "Inter-broker RPC").
enum class frame_kind : uint8_t {
  request = 0,   ///< expects a response with the same correlation id
  response = 1,  ///< answers the request with its correlation id
  oneway = 2,    ///< expects nothing back (Raft messages)
};

/// The outcome a response carries: `ok`, or why the request failed (then the payload is a
/// UTF-8 message).
enum class status_code : uint16_t {
  ok = 0,
  unknown_method = 1,
  bad_payload = 2,
  handler_failed = 3,
  shutting_down = 4,
};

/// The fixed part of a frame. On the wire, big-endian: size u32 (the bytes after it), version
/// u8, kind u8, method u16, status u16, correlation id u64, then the payload.
struct frame_header {
  static constexpr uint8_t current_version = 1;
  static constexpr size_t size_bytes = 4 + 1 + 1 + 2 + 2 + 8;
  uint8_t version = current_version;
  frame_kind kind = frame_kind::request;
  uint16_t method = 0;
  status_code status = status_code::ok;
  uint64_t correlation = 0;
};

struct frame {
  frame_header header;
  std::vector<std::byte> payload;
};

/// The whole frame, size prefix included.
[[nodiscard]] std::vector<std::byte> encode_frame(const frame_header& h,
                                                  std::span<const std::byte> payload);
/// Writes `h` into the first frame_header::size_bytes of `frame`, a whole frame whose payload
/// follows them (built in place, without the copy encode_frame makes); the size prefix is
/// the bytes after it.
void write_frame_header(const frame_header& h, std::span<std::byte> frame);

/// The size a frame's prefix announces (the bytes after the prefix), checked against the limit
/// before anything is allocated: errc::frame_too_large above `max_frame_bytes`, errc::bad_frame
/// below the fixed header.
[[nodiscard]] result<uint32_t> check_size(std::span<const std::byte, 4> prefix,
                                          uint32_t max_frame_bytes);

/// Decodes a frame's bytes after the size prefix (exactly `size` of them): errc::bad_frame for
/// an unknown version or kind.
[[nodiscard]] result<frame> decode_frame(std::span<const std::byte> body);
/// Decodes the fixed part of a frame after the size prefix (frame_header::size_bytes - 4
/// bytes; more are ignored), as decode_frame does: errc::bad_frame for an unknown version or
/// kind, or fewer bytes.
[[nodiscard]] result<frame_header> decode_frame_header(std::span<const std::byte> fixed);

}  // namespace strom::rpc
