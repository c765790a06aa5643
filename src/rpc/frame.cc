#include "strom/rpc/frame.h"

#include <fmt/format.h>

#include "strom/base/assert.h"
#include "strom/bytes/endian.h"
#include "strom/rpc/errc.h"

namespace strom::rpc {

using bytes::read_be;
using bytes::write_be;

std::vector<std::byte> encode_frame(const frame_header& h, std::span<const std::byte> payload) {
  std::vector<std::byte> out(frame_header::size_bytes + payload.size());
  if (!payload.empty())
    std::copy(payload.begin(), payload.end(), out.begin() + frame_header::size_bytes);
  write_frame_header(h, out);
  return out;
}

void write_frame_header(const frame_header& h, std::span<std::byte> frame) {
  STROM_ASSERT(frame.size() >= frame_header::size_bytes && frame.size() - 4 <= UINT32_MAX,
               "a frame of {} bytes", frame.size());
  auto* p = frame.data();
  write_be<uint32_t>(p, static_cast<uint32_t>(frame.size() - 4));
  write_be<uint8_t>(p + 4, h.version);
  write_be<uint8_t>(p + 5, static_cast<uint8_t>(h.kind));
  write_be<uint16_t>(p + 6, h.method);
  write_be<uint16_t>(p + 8, static_cast<uint16_t>(h.status));
  write_be<uint64_t>(p + 10, h.correlation);
}

result<uint32_t> check_size(std::span<const std::byte, 4> prefix, uint32_t max_frame_bytes) {
  auto size = read_be<uint32_t>(prefix.data());
  if (size < frame_header::size_bytes - 4)
    return error(errc::bad_frame,
                 fmt::format("a frame of {} bytes is shorter than its header", size));
  if (size > max_frame_bytes) {
    return error(errc::frame_too_large,
                 fmt::format("a frame of {} bytes, the limit is {}", size, max_frame_bytes));
  }
  return size;
}

result<frame_header> decode_frame_header(std::span<const std::byte> fixed) {
  if (fixed.size() < frame_header::size_bytes - 4)
    return error(errc::bad_frame, fmt::format("a frame of {} bytes", fixed.size()));
  frame_header h;
  const auto* p = fixed.data();
  h.version = read_be<uint8_t>(p);
  if (h.version != frame_header::current_version)
    return error(errc::bad_frame, fmt::format("frame version {}", h.version));
  auto kind = read_be<uint8_t>(p + 1);
  if (kind > static_cast<uint8_t>(frame_kind::oneway))
    return error(errc::bad_frame, fmt::format("frame kind {}", kind));
  h.kind = static_cast<frame_kind>(kind);
  h.method = read_be<uint16_t>(p + 2);
  h.status = static_cast<status_code>(read_be<uint16_t>(p + 4));
  h.correlation = read_be<uint64_t>(p + 6);
  return h;
}

result<frame> decode_frame(std::span<const std::byte> body) {
  auto h = decode_frame_header(body);
  if (!h)
    return h.error();
  frame f;
  f.header = *h;
  f.payload.assign(body.begin() + frame_header::size_bytes - 4, body.end());
  return f;
}

// --- errors ----------------------------------------------------------------------------------

namespace {
class category final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "strom.rpc"; }
  [[nodiscard]] std::string message(int c) const override {
    switch (static_cast<errc>(c)) {
      case errc::bad_frame:
        return "bad frame";
      case errc::frame_too_large:
        return "frame too large";
      case errc::bad_payload:
        return "bad payload";
      case errc::unknown_method:
        return "unknown method";
      case errc::disconnected:
        return "disconnected";
      case errc::timed_out:
        return "timed out";
      case errc::queue_full:
        return "outbound queue full";
      case errc::shutting_down:
        return "shutting down";
      case errc::handler_failed:
        return "handler failed";
    }
    return "unknown rpc error";
  }
};
}  // namespace

const std::error_category& rpc_category() {
  static const category c;
  return c;
}

}  // namespace strom::rpc
