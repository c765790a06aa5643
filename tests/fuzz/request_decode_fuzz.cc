// libFuzzer target for the Kafka protocol decoders (built with clang only).
//
// Input: a request frame payload as the broker sees it (header + body, no size prefix).
// Checks: decoding never crashes or reads out of bounds; whatever decodes re-encodes to
// something that decodes again and re-encodes to the same bytes (the same header, and the
// same value but for NaNs, which compare unequal). The same bytes (after two selector bytes) are
// also decoded as a response body of a chosen API and version.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "strom/kafka/protocol/codec.h"

using namespace strom::kafka::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);

  auto req = decode_request(in);
  if (req) {
    writer w;
    encode_request_header(w, req->header);
    encode_body(w, req->header.version, req->body);
    auto again = decode_request(w.memory());
    if (!again || !(again->header == req->header)) {
      std::abort();
    }
    // The bodies compare by their encodings: a float64 field may hold a NaN, never equal to
    // itself, which a decoder must carry through unchanged all the same.
    writer w2;
    encode_request_header(w2, again->header);
    encode_body(w2, again->header.version, again->body);
    if (!std::ranges::equal(w.memory(), w2.memory())) {
      std::abort();
    }
  }

  if (size >= 2) {
    auto apis = codec_apis();
    const codec_versions& api = apis[data[0] % apis.size()];
    auto version =
        static_cast<int16_t>(api.min_version + data[1] % (api.max_version - api.min_version + 1));
    reader r(in.subspan(2));
    auto resp = decode_response_body(api.key, version, r);
    if (resp) {
      writer w;
      encode_body(w, version, *resp);
      reader again_reader(w.memory());
      auto again = decode_response_body(api.key, version, again_reader);
      if (!again) {
        std::abort();
      }
      writer w2;
      encode_body(w2, version, *again);
      if (!std::ranges::equal(w.memory(), w2.memory())) {
        std::abort();
      }
    }
  }
  return 0;
}
