#include "strom/kafka/protocol/header.h"

#include <fmt/format.h>

#include "strom/bytes/endian.h"

namespace strom::kafka::protocol {

result<request_header> decode_request_header(reader& r) {
  if (r.remaining() < 4) {
    r.fail(errc::truncated, "request header");
    return r.check().error();
  }
  // Peek at key and version: they decide the header version.
  reader peek = r;
  auto key = static_cast<api_key>(peek.read_int16());
  int16_t version = peek.read_int16();
  return decode_request_header(r, request_header_version(key, version));
}

result<request_header> decode_request_header(reader& r, int16_t header_version) {
  request_header h;
  h.key = static_cast<api_key>(r.read_int16());
  h.version = r.read_int16();
  h.correlation_id = r.read_int32();
  if (header_version >= 1) {
    h.client_id = r.read_nullable_string(false);
  }
  if (header_version >= 2) {
    r.skip_tagged_fields();
  }
  STROM_TRY(r.check());
  return h;
}

void encode_request_header(writer& w, const request_header& h) {
  encode_request_header(w, h, request_header_version(h.key, h.version));
}

void encode_request_header(writer& w, const request_header& h, int16_t header_version) {
  w.write_int16(to_int(h.key));
  w.write_int16(h.version);
  w.write_int32(h.correlation_id);
  if (header_version >= 1) {
    if (h.client_id) {
      w.write_string(*h.client_id, false);
    } else {
      w.write_null_string(false);
    }
  }
  if (header_version >= 2) {
    w.write_unsigned_varint(0);
  }
}

void encode_response_header(writer& w, int32_t correlation_id, int16_t header_version) {
  w.write_int32(correlation_id);
  if (header_version >= 1) {
    w.write_unsigned_varint(0);  // exactly one 0x00: some clients skip one byte here
  }
}

result<int32_t> decode_response_header(reader& r, int16_t header_version) {
  int32_t correlation_id = r.read_int32();
  if (header_version >= 1) {
    r.skip_tagged_fields();
  }
  STROM_TRY(r.check());
  return correlation_id;
}

result<size_t> decode_frame_size(std::span<const std::byte, 4> prefix, size_t max_frame_bytes) {
  auto size = bytes::read_be<int32_t>(prefix.data());
  if (size < 0 || static_cast<size_t>(size) > max_frame_bytes) {
    return strom::error(errc::frame_too_large, fmt::format("frame size {}", size));
  }
  return static_cast<size_t>(size);
}

}  // namespace strom::kafka::protocol
