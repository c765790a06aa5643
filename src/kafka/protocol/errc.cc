#include "strom/kafka/protocol/errc.h"

#include <string>

namespace strom::kafka::protocol {
namespace {
class protocol_category_impl final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "strom.kafka.protocol"; }
  [[nodiscard]] std::string message(int c) const override {
    switch (static_cast<errc>(c)) {
      case errc::truncated:
        return "truncated input";
      case errc::invalid_length:
        return "invalid length";
      case errc::invalid_varint:
        return "invalid varint";
      case errc::unexpected_null:
        return "null in a non-nullable field";
      case errc::unsupported_version:
        return "unsupported API version";
      case errc::unknown_api_key:
        return "unknown API key";
      case errc::frame_too_large:
        return "invalid frame size";
      case errc::too_large_to_encode:
        return "too large to encode";
    }
    return "unknown protocol error";
  }
};
}  // namespace

const std::error_category& protocol_category() {
  static protocol_category_impl c;
  return c;
}

}  // namespace strom::kafka::protocol
