#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "strom/base/result.h"
#include "strom/kafka/protocol/api.h"
#include "strom/kafka/protocol/reader.h"
#include "strom/kafka/protocol/writer.h"

namespace strom::kafka::protocol {

/// Request header, versions 0-2:
///   v0: api_key INT16, api_version INT16, correlation_id INT32
///   v1: + client_id NULLABLE_STRING (INT16 length, also in v2: never compact)
///   v2: + tagged fields (none known; skipped on decode, written empty)
struct request_header {
  api_key key{};
  int16_t version = 0;
  int32_t correlation_id = 0;
  std::optional<std::string> client_id;

  friend bool operator==(const request_header&, const request_header&) = default;
};

/// Decodes a request header whose version follows from the key and version it starts with
/// (request_header_version()), so it works for any key and version, including an ApiVersions
/// request of a version above what Strom serves.
[[nodiscard]] result<request_header> decode_request_header(reader& r);
/// Decodes a request header of the given header version (0, 1 or 2).
[[nodiscard]] result<request_header> decode_request_header(reader& r, int16_t header_version);
/// Encodes `h` with the header version its key and version call for.
void encode_request_header(writer& w, const request_header& h);
void encode_request_header(writer& w, const request_header& h, int16_t header_version);

/// Response header: v0 correlation_id INT32; v1 + an (always empty) tagged-field section.
void encode_response_header(writer& w, int32_t correlation_id, int16_t header_version);
/// Returns the correlation id; unknown tagged fields of v1 are skipped.
[[nodiscard]] result<int32_t> decode_response_header(reader& r, int16_t header_version);

/// Kafka's default limit on a request frame (socket.request.max.bytes, 100 MiB).
inline constexpr size_t default_max_frame_bytes = 104857600;

/// Reads the 4-byte size prefix of a frame: the length of what follows. A negative size or
/// one above `max_frame_bytes` is errc::frame_too_large (Kafka closes the connection).
[[nodiscard]] result<size_t> decode_frame_size(std::span<const std::byte, 4> prefix,
                                               size_t max_frame_bytes = default_max_frame_bytes);

}  // namespace strom::kafka::protocol
