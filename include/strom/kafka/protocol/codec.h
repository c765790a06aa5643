#pragma once

// The entry point for request handlers: decode a request frame, encode a response frame.
//
//   reader r(payload);                        // frame bytes after the 4-byte size prefix
//   auto h = decode_request_header(r);        // error => close the connection
//   if (!is_version_served(h->key, h->version)) {
//     if (h->key == api_key::api_versions)    // answer in the v0 format, never disconnect
//       send(encode_unsupported_api_versions_response(h->correlation_id));
//     else close();                           // what Kafka does for any other API
//   }
//   auto body = decode_request_body(h->key, h->version, r);   // error => close
//   ... std::get<produce_request>(*body) ...
//   auto f = encode_response_frame(h->correlation_id, h->version, produce_response{...});
//   if (!f) ...                               // too large to encode: a Kafka error instead

#include <cstdint>
#include <span>

#include "strom/base/result.h"
#include "strom/kafka/protocol/api.h"
#include "strom/kafka/protocol/error_code.h"
#include "strom/kafka/protocol/header.h"
#include "strom/kafka/protocol/messages.h"
#include "strom/kafka/protocol/reader.h"
#include "strom/kafka/protocol/writer.h"

namespace strom::kafka::protocol {

/// A complete response frame: size prefix, the response header that (M::api, version) calls
/// for, then the body. Record pieces that are file ranges stay file ranges in the frame.
/// Fails with errc::too_large_to_encode when the frame would pass `limit` bytes or a field
/// its length prefix (writer's class comment); never aborts.
template <typename M>
[[nodiscard]] result<frame> encode_response_frame(int32_t correlation_id, int16_t version,
                                                  const M& body,
                                                  uint64_t limit = writer::max_frame_bytes) {
  writer w = writer::for_frame(limit);
  encode_response_header(w, correlation_id, response_header_version(M::api, version));
  body.encode(w, version);
  return std::move(w).finish_frame();
}
[[nodiscard]] result<frame> encode_response_frame(int32_t correlation_id, int16_t version,
                                                  const response_body& body);

/// A complete request frame (client side: tests and tools). REQUIRES: h.key == M::api.
/// Fails as encode_response_frame does.
template <typename M>
[[nodiscard]] result<frame> encode_request_frame(const request_header& h, const M& body) {
  STROM_ASSERT(h.key == M::api, "request header for API {} with a body of API {}", to_int(h.key),
               to_int(M::api));
  writer w = writer::for_frame();
  encode_request_header(w, h);
  body.encode(w, h.version);
  return std::move(w).finish_frame();
}

/// A decoded request. The body's records point into the decoded payload.
struct request {
  request_header header;
  request_body body;
};
/// Decodes header and body of a request frame payload (the bytes after the size prefix).
/// Fails with errc::unsupported_version outside the codec's range (check is_version_served()
/// first when the ApiVersions fallback matters) and errc::unknown_api_key for other APIs.
[[nodiscard]] result<request> decode_request(std::span<const std::byte> payload);

/// Client side (tests, tools): decodes a response frame payload for M at `version`.
template <typename M>
[[nodiscard]] result<M> decode_response(std::span<const std::byte> payload, int16_t version,
                                        int32_t* correlation_id = nullptr) {
  reader r(payload);
  auto id = decode_response_header(r, response_header_version(M::api, version));
  if (!id) {
    return id.error();
  }
  if (correlation_id != nullptr) {
    *correlation_id = *id;
  }
  M body;
  STROM_TRY(body.decode(r, version));
  return body;
}

/// An ApiVersions response listing supported_apis() with the given error code.
[[nodiscard]] api_versions_response make_api_versions_response(error_code error = error_code::none);

/// The answer to an ApiVersions request of a version Strom does not serve (reference §2.2):
/// response header v0 and the v0 body (error_code UNSUPPORTED_VERSION, then the INT32-counted
/// api list, every supported API), whatever version the client asked for. The request body
/// is not parsed. Clients read the error, then retry with a version from the list.
[[nodiscard]] result<frame> encode_unsupported_api_versions_response(int32_t correlation_id);

}  // namespace strom::kafka::protocol
