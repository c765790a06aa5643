#include "strom/kafka/protocol/codec.h"

namespace strom::kafka::protocol {

result<frame> encode_response_frame(int32_t correlation_id, int16_t version,
                                    const response_body& body) {
  writer w = writer::for_frame();
  encode_response_header(w, correlation_id, response_header_version(key_of(body), version));
  encode_body(w, version, body);
  return std::move(w).finish_frame();
}

result<request> decode_request(std::span<const std::byte> payload) {
  reader r(payload);
  auto h = decode_request_header(r);
  if (!h) {
    return h.error();
  }
  auto body = decode_request_body(h->key, h->version, r);
  if (!body) {
    return body.error();
  }
  return request{std::move(*h), std::move(*body)};
}

api_versions_response make_api_versions_response(error_code error) {
  api_versions_response resp;
  resp.error_code = error;
  for (const api_support& s : supported_apis()) {
    resp.api_keys.push_back({to_int(s.key), s.min_version, s.max_version});
  }
  return resp;
}

result<frame> encode_unsupported_api_versions_response(int32_t correlation_id) {
  return encode_response_frame(correlation_id, 0,
                               make_api_versions_response(error_code::unsupported_version));
}

}  // namespace strom::kafka::protocol
